"""DataLoader (``torch.utils.data.DataLoader``): batches from a dataset, in the main process
or in worker processes.

>>> import compat as torch
>>> from compat.utils.data import DataLoader, TensorDataset
>>> ds = TensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))
>>> [tuple(x.shape) for x, y in DataLoader(ds, batch_size=2)]
[(2, 2), (2, 2), (1, 2)]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from compat.random import Generator
from compat.utils.data.collate import default_collate, default_convert
from compat.utils.data.dataset import IterableDataset
from compat.utils.data.fetch import make_fetcher
from compat.utils.data.pool import WorkerPool
from compat.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    draw_seed,
)
from compat.utils.data.worker import EXHAUSTED, WorkerFailure


class _InfiniteNoneSampler(Sampler):
    """The 'indices' of an IterableDataset: ``None`` forever (the fetcher ignores them)."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``) or an IterableDataset.
        batch_size: samples per batch; ``None`` turns batching off (one sample at a time,
            numpy arrays converted to Tensors).
        shuffle: a fresh random order every epoch (drawn from ``generator``, or from the
            global generator that ``compat.manual_seed`` seeds).
        sampler / batch_sampler: custom index orders (mutually exclusive with ``shuffle``;
            ``batch_sampler`` also with ``batch_size``/``drop_last``).
        num_workers: worker processes loading batches in parallel (0: in this process).
            Batches come back in sampler order; an exception in a worker is raised here
            with the worker's traceback; a worker that dies raises RuntimeError.
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        pin_memory: accepted for compatibility; has no effect (no pinned host memory here).
        drop_last: drop the last, incomplete batch.
        generator: the ``compat.Generator`` for shuffling and for the workers' base seed.
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        persistent_workers: keep the workers alive between epochs.
        timeout: (keyword) seconds to wait for a batch from the workers (0: no limit).
        prefetch_factor: (keyword) tasks in flight per worker (default 2).
        multiprocessing_context: (keyword) start method name or context (default: ``fork``
            on Linux, the platform default elsewhere).

    Each worker is seeded with ``base_seed + worker_id`` (``compat``, ``random`` and numpy's
    global generator), where ``base_seed`` is drawn from ``generator`` when the workers
    start. Unlike PyTorch, numpy's global generator is seeded too, so numpy-based
    augmentation differs between workers.

    >>> import compat as torch
    >>> loader = DataLoader(list(range(6)), batch_size=4, shuffle=True,
    ...                     generator=torch.Generator().manual_seed(0))
    >>> [len(b) for b in loader], len(loader)
    ([4, 2], 2)
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = False,
                 sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, generator: Generator | None = None,
                 worker_init_fn: Callable[[int], None] | None = None,
                 persistent_workers: bool = False, *, timeout: float = 0,
                 prefetch_factor: int | None = None, multiprocessing_context: Any = None):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers option should be a non-negative integer, got "
                             f"{num_workers!r}; use num_workers=0 to disable multiprocessing")
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing; let num_workers > 0 to enable it")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}; shuffle inside "
                                 "the dataset's __iter__ instead")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler and batch_sampler options; an IterableDataset "
                                 "decides its own order")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            sampler = (_InfiniteNoneSampler() if iterable else
                       RandomSampler(dataset, generator=generator) if shuffle else
                       SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_sampler is not None else default_convert)
        self.pin_memory = pin_memory
        self.generator = generator
        self.worker_init_fn = worker_init_fn
        self.persistent_workers = persistent_workers
        self.timeout = timeout
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.multiprocessing_context = multiprocessing_context
        self._pool: WorkerPool | None = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Iterable:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    def __iter__(self) -> Iterator[Any]:
        # the sampler draws its order before the workers draw their seed, so a seeded
        # shuffle gives the same batches whatever num_workers is
        indices = iter(self._index_sampler)
        if self.num_workers == 0:
            return _SingleProcessIter(self, indices)
        if not self.persistent_workers:
            return _MultiProcessIter(self, indices, self._start_pool(), owns_pool=True)
        if self._pool is None or self._pool.closed:
            self._pool = self._start_pool()
        return _MultiProcessIter(self, indices, self._pool, owns_pool=False)

    def _start_pool(self) -> WorkerPool:
        return WorkerPool(self.dataset, self.num_workers, self._auto_collation, self.collate_fn,
                          self.drop_last, draw_seed(self.generator), self.worker_init_fn,
                          self.multiprocessing_context)


class _SingleProcessIter:
    """Batches loaded in this process."""

    def __init__(self, loader: DataLoader, indices: Iterator):
        self._length = loader
        self._indices = indices
        self._fetcher = make_fetcher(loader.dataset, loader._auto_collation,
                                     loader.collate_fn, loader.drop_last)

    def __iter__(self) -> _SingleProcessIter:
        return self

    def __len__(self) -> int:
        return len(self._length)

    def __next__(self) -> Any:
        return self._fetcher.fetch(next(self._indices))


class _MultiProcessIter:
    """Batches loaded by a WorkerPool, returned in task order.

    Tasks go round-robin to the workers that are still producing, keeping
    ``prefetch_factor`` per worker in flight; answers that arrive early wait in a buffer.
    For an IterableDataset a worker's EXHAUSTED answer retires it; the pass ends when no
    task is outstanding.
    """

    def __init__(self, loader: DataLoader, indices: Iterator, pool: WorkerPool,
                 owns_pool: bool):
        self._loader = loader
        self._pool = pool
        self._owns_pool = owns_pool
        self._epoch = pool.new_epoch()
        self._indices = indices
        self._active = [True] * pool.num_workers
        self._next_worker = 0
        self._sent = 0
        self._received = 0
        self._buffer: dict[int, Any] = {}
        self._task_worker: dict[int, int] = {}
        for _ in range(loader.prefetch_factor * pool.num_workers):
            self._send()

    def __iter__(self) -> _MultiProcessIter:
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def _send(self) -> None:
        """Give the next index batch to the next producing worker, if there is one."""
        if not any(self._active):
            return
        index = next(self._indices, StopIteration)
        if index is StopIteration:
            return
        while not self._active[self._next_worker]:
            self._next_worker = (self._next_worker + 1) % len(self._active)
        worker = self._next_worker
        self._next_worker = (worker + 1) % len(self._active)
        self._pool.send(worker, (self._epoch, self._sent, index))
        self._task_worker[self._sent] = worker
        self._sent += 1

    def __next__(self) -> Any:
        while True:
            if self._received == self._sent or self._pool.closed:
                self._finish()
                raise StopIteration
            if self._pool.epoch != self._epoch:
                raise RuntimeError("this DataLoader iterator was superseded: a new pass over "
                                   "the same DataLoader (persistent_workers=True) started; "
                                   "use one iterator at a time")
            if self._received in self._buffer:
                payload = self._buffer.pop(self._received)
                worker = self._task_worker.pop(self._received)
                self._received += 1
                if isinstance(payload, str) and payload == EXHAUSTED:
                    self._active[worker] = False
                    continue
                self._send()
                if isinstance(payload, WorkerFailure):
                    self._finish()
                    payload.reraise()
                return payload
            epoch, task_id, payload = self._pool.receive(self._loader.timeout)
            if epoch == self._epoch:
                self._buffer[task_id] = payload

    def _finish(self) -> None:
        """Stop the workers of a pool this iterator owns (a persistent one stays)."""
        if self._owns_pool:
            self._pool.close()
