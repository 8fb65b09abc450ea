"""Samplers (``torch.utils.data.sampler``): the order in which a DataLoader visits indices.

Randomness comes from a ``compat.Generator`` (or the global one that ``compat.manual_seed``
seeds): each pass over a random sampler draws a fresh order from its stream, so a seeded run
repeats exactly and successive epochs differ.

>>> import compat as torch
>>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
[[0, 1], [2, 3], [4]]
>>> g = torch.Generator().manual_seed(0)
>>> sorted(RandomSampler(range(4), generator=g))
[0, 1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from compat.random import Generator, rng_of


def draw_seed(generator: Generator | None = None) -> int:
    """A fresh non-negative 63-bit seed from ``generator`` (default: the global generator).

    >>> import compat as torch
    >>> draw_seed(torch.Generator().manual_seed(3)) == draw_seed(torch.Generator().manual_seed(3))
    True
    """
    return int(rng_of(generator).integers(0, 2**63 - 1))


def permutation(n: int, generator: Generator | None = None) -> list[int]:
    """A random ordering of ``range(n)`` as a list of ints, drawn from ``generator``.

    >>> import compat as torch
    >>> sorted(permutation(5, torch.Generator().manual_seed(1)))
    [0, 1, 2, 3, 4]
    """
    return rng_of(generator).permutation(n).tolist()


class Sampler:
    """Base class: a sampler is an iterable of indices (or of index lists, for batch
    samplers), optionally with ``__len__``.

    >>> class Evens(Sampler):
    ...     def __iter__(self):
    ...         return iter([0, 2, 4])
    >>> list(Evens())
    [0, 2, 4]
    """

    def __init__(self, data_source: Any = None):
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1`` in order.

    >>> list(SequentialSampler("abc"))
    [0, 1, 2]
    """

    def __init__(self, data_source: Sized):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in random order: a fresh permutation per pass, or ``num_samples`` draws with
    ``replacement=True``. ``num_samples`` larger than the data repeats whole permutations.

    >>> import compat as torch
    >>> s = RandomSampler(range(3), num_samples=6, generator=torch.Generator().manual_seed(0))
    >>> sorted(s)
    [0, 0, 1, 1, 2, 2]
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got {replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer, but got {num_samples!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        """How many indices one pass yields (default: the size of the data)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        rng = rng_of(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, size=k).tolist())
        whole = [rng.permutation(n) for _ in range(k // n)]
        return iter(np.concatenate(whole + [rng.permutation(n)[:k % n]]).tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, fresh on each pass.

    >>> import compat as torch
    >>> sorted(SubsetRandomSampler([5, 7, 9], generator=torch.Generator().manual_seed(0)))
    [5, 7, 9]
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None):
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        return iter([self.indices[i] for i in permutation(len(self.indices), self.generator)])

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last, shorter
    one is dropped when ``drop_last``.

    >>> list(BatchSampler(range(5), batch_size=2, drop_last=True))
    [[0, 1], [2, 3]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        return self._batches(iter(self.sampler))  # the sampler draws its order now

    def _batches(self, indices: Iterator[int]) -> Iterator[list[int]]:
        batch: list[int] = []
        for idx in indices:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
