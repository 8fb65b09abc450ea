"""The DataLoader's worker processes: starting them, handing out tasks, collecting answers
while watching that every worker is still alive, and stopping them for sure.

Start method: ``fork`` where the platform has it and it is safe (Linux), as PyTorch does
there: workers start in milliseconds and a script's dataset need not be importable or
picklable. Elsewhere (or with ``multiprocessing_context="spawn"``/``"forkserver"``) the
dataset, collate function and ``worker_init_fn`` must pickle, and a script's top level must sit
under ``if __name__ == "__main__":``.

Stopping never depends on the caller: a :class:`WorkerPool` registers a ``weakref.finalize``
that sends each worker ``None``, waits briefly, then terminates stragglers. It runs on
:meth:`WorkerPool.close`, when the pool is garbage collected (an iterator dropped after an
early ``break``) and at interpreter exit.

>>> start_method("spawn").get_start_method()
'spawn'
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import sys
import time
import weakref
from typing import Any

from compat.utils.data.worker import POLL_SECONDS, worker_loop

STOP_GRACE_SECONDS = 2.0  # how long a worker may take to finish its task when told to stop


def start_method(context: Any) -> Any:
    """The multiprocessing context to start workers with (see the module docstring)."""
    if context is None:
        chosen = multiprocessing.get_start_method(allow_none=True)
        if chosen is None and sys.platform.startswith("linux"):
            chosen = "fork"
        return multiprocessing.get_context(chosen)
    if isinstance(context, str):
        return multiprocessing.get_context(context)
    return context


def _stop(workers: list, index_queues: list, result_queue: Any, stopping: Any) -> None:
    """Stop the workers: ask (they skip the tasks still queued), wait up to
    STOP_GRACE_SECONDS, then terminate and kill."""
    stopping.set()
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):  # queue already closed
            pass
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
    for w in workers:
        if w.is_alive():
            w.terminate()
            w.join(1.0)
        if w.is_alive():
            w.kill()
            w.join()
    for q in [*index_queues, result_queue]:
        q.cancel_join_thread()
        q.close()


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class WorkerPool:
    """``num_workers`` worker processes serving one DataLoader (see the module docstring).

    ``send(worker, task)`` queues a task; ``receive(timeout)`` returns the next answer
    ``(epoch, task_id, payload)``, raising RuntimeError when a worker has died or when
    ``timeout`` (seconds, 0 for none) passes without an answer.

    >>> pool = WorkerPool(["a", "b"], num_workers=1, auto_collation=True, collate_fn=list,
    ...                   drop_last=False, base_seed=0, worker_init_fn=None)
    >>> pool.send(0, (pool.new_epoch(), 0, [1, 0]))
    >>> pool.receive()
    (1, 0, ['b', 'a'])
    >>> pool.close()
    """

    def __init__(self, dataset: Any, num_workers: int, auto_collation: bool, collate_fn: Any,
                 drop_last: bool, base_seed: int, worker_init_fn: Any, context: Any = None):
        ctx = start_method(context)
        self.num_workers = num_workers
        self.result_queue = ctx.Queue()
        self.index_queues: list = []
        self.workers: list = []
        self.epoch = 0
        stopping = ctx.Event()
        self._finalizer = weakref.finalize(self, _stop, self.workers, self.index_queues,
                                           self.result_queue, stopping)
        for worker_id in range(num_workers):
            index_queue = ctx.Queue()
            w = ctx.Process(target=worker_loop, daemon=True, args=(
                dataset, index_queue, self.result_queue, stopping, auto_collation, collate_fn,
                drop_last, base_seed, worker_init_fn, worker_id, num_workers, os.getpid()))
            w.start()
            self.index_queues.append(index_queue)
            self.workers.append(w)

    @property
    def closed(self) -> bool:
        """Whether the workers have been stopped."""
        return not self._finalizer.alive

    def new_epoch(self) -> int:
        """Start a new pass; answers to older passes' tasks are dropped by the receiver."""
        self.epoch += 1
        return self.epoch

    def send(self, worker_id: int, task: tuple) -> None:
        """Queue ``task`` (epoch, task_id, indices) for worker ``worker_id``."""
        self.index_queues[worker_id].put(task)

    def receive(self, timeout: float = 0) -> tuple:
        """The next answer ``(epoch, task_id, payload)`` with the payload unpickled."""
        start = time.monotonic()
        while True:
            try:
                epoch, task_id, blob = self.result_queue.get(timeout=POLL_SECONDS)
                return epoch, task_id, pickle.loads(blob)
            except queue.Empty:
                pass
            dead = [(i, w) for i, w in enumerate(self.workers) if not w.is_alive()]
            if dead:
                i, w = dead[0]
                self.close(grace=0)
                raise RuntimeError(
                    f"DataLoader worker {i} (pid {w.pid}) exited unexpectedly with "
                    f"{_describe_exit(w.exitcode)}; if it ran out of memory, lower "
                    "batch_size or num_workers, or set num_workers=0 to see the error "
                    "in this process")
            if timeout and time.monotonic() - start > timeout:
                self.close(grace=0)
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for "
                                   "a batch from its workers; raise the DataLoader's timeout= "
                                   "or look for a stuck __getitem__")

    def close(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop the workers now (idempotent); ``grace=0`` terminates them at once (after a
        failure, when what they are doing is no longer wanted)."""
        if grace == 0:
            for w in self.workers:
                w.terminate()
        self._finalizer()
