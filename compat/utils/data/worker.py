"""What runs inside a DataLoader worker process, and what it sends back.

A worker seeds its random generators (``compat``'s, Python's ``random`` and numpy's global
one) with ``base_seed + worker_id``, runs ``worker_init_fn(worker_id)``, then serves tasks
``(epoch, task_id, indices)`` from its index queue until it receives ``None`` or finds its
parent process gone (or the ``stopping`` event set: the tasks still queued are then
skipped). Each answer is ``(epoch, task_id, payload)`` where the payload is the
batch pickled by the worker itself (so an unpicklable batch becomes an error report instead of
silently vanishing in the queue's feeder thread), :class:`WorkerFailure` for an exception, or
:data:`EXHAUSTED` when an iterable dataset's stream has ended for that worker.

>>> get_worker_info() is None      # in the main process
True
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from compat.random import manual_seed
from compat.utils.data.fetch import make_fetcher

POLL_SECONDS = 0.1  # how often an idle worker checks that its parent is still alive
EXHAUSTED = "compat.utils.data: worker stream exhausted"


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker: its ``id`` (0-based), the
    ``num_workers`` of its DataLoader, the ``seed`` it was given and its copy of the
    ``dataset``.

    >>> WorkerInfo(id=0, num_workers=2, seed=7, dataset=None).num_workers
    2
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any


_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the calling DataLoader worker process, or ``None`` in the
    main process. An IterableDataset uses it to give each worker its own share:

    >>> class Shard:                        # doctest: +SKIP
    ...     def __iter__(self):
    ...         info = get_worker_info()
    ...         start, step = (0, 1) if info is None else (info.id, info.num_workers)
    ...         return iter(range(start, 100, step))
    """
    return _info


class _KeyErrorMessage(str):
    """KeyError quotes its message through repr; this keeps a multi-line one readable."""

    def __repr__(self):
        return str(self)


class WorkerFailure:
    """An exception raised in a worker, carried to the main process as its type and its
    traceback text; :meth:`reraise` raises it there, as PyTorch's ExceptionWrapper does.

    >>> try:
    ...     raise ValueError("bad sample")
    ... except ValueError as e:
    ...     failure = WorkerFailure(e, worker_id=1)
    >>> failure.message.splitlines()[0]
    'Caught ValueError in DataLoader worker process 1.'
    """

    def __init__(self, exc: BaseException, worker_id: int, where: str = ""):
        self.exc_type = type(exc)
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.message = (f"Caught {type(exc).__name__} in DataLoader worker process "
                        f"{worker_id}{where}.\nOriginal {tb}")

    def reraise(self) -> None:
        """Raise the worker's exception type with the worker's traceback as its message
        (a RuntimeError when that type cannot be built from one message)."""
        msg = _KeyErrorMessage(self.message) if self.exc_type is KeyError else self.message
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exc

    def __reduce__(self):
        # the exception type travels by name; one that does not unpickle becomes RuntimeError
        return (_rebuild_failure, (self.message, _type_ref(self.exc_type)))


def _type_ref(exc_type: type) -> tuple[str, str]:
    return exc_type.__module__, exc_type.__qualname__


def _rebuild_failure(message: str, ref: tuple[str, str]) -> WorkerFailure:
    """Unpickle a failure; its exception type is looked up among the modules the main
    process has loaded (never imported), falling back to RuntimeError."""
    failure = WorkerFailure.__new__(WorkerFailure)
    failure.message = message
    obj: Any = sys.modules.get(ref[0])
    for part in ref[1].split("."):
        obj = getattr(obj, part, None)
    is_exc = isinstance(obj, type) and issubclass(obj, BaseException)
    failure.exc_type = obj if is_exc else RuntimeError
    return failure


def _seed_worker(seed: int) -> None:
    """Seed ``compat``'s global generator, ``random`` and numpy's global generator."""
    manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def _pack(payload: Any, worker_id: int) -> bytes:
    """``payload`` pickled for the result queue; a batch that cannot be pickled becomes a
    :class:`WorkerFailure` saying so."""
    try:
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        return pickle.dumps(WorkerFailure(e, worker_id, " (sending the batch back)"))


def worker_loop(dataset: Any, index_queue: Any, result_queue: Any, stopping: Any,
                auto_collation: bool, collate_fn: Any, drop_last: bool, base_seed: int,
                init_fn: Any, worker_id: int, num_workers: int, parent_pid: int) -> None:
    """The body of a worker process (see the module docstring); :class:`WorkerPool`
    (``compat.utils.data.pool``) starts it and shows it at work."""
    global _info
    init_failure = None
    try:
        _seed_worker(base_seed + worker_id)
        _info = WorkerInfo(worker_id, num_workers, base_seed + worker_id, dataset)
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as e:
        init_failure = WorkerFailure(e, worker_id, " (in worker_init_fn)")
    epoch, fetcher = None, None
    try:
        while True:
            try:
                task = index_queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if os.getppid() != parent_pid:  # orphaned: the main process died
                    break
                continue
            if task is None or stopping.is_set():  # shutting down: queued tasks are moot
                break
            task_epoch, task_id, index = task
            payload: Any = init_failure
            if init_failure is None:
                try:
                    if task_epoch != epoch:  # a new pass: an iterable dataset restarts
                        fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
                        epoch = task_epoch
                    payload = fetcher.fetch(index)
                except StopIteration:
                    payload = EXHAUSTED
                except Exception as e:
                    payload = WorkerFailure(e, worker_id)
            result_queue.put((task_epoch, task_id, _pack(payload, worker_id)))
            del payload
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the main one reports
        pass
    # leave without waiting for the queue's feeder thread: the main process may have stopped
    # reading (early break), and what it has not read is no longer wanted
    result_queue.cancel_join_thread()
