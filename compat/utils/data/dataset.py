"""Datasets (``torch.utils.data.dataset``): the map-style and iterable protocols, and the
usual wrappers over them.

A map-style dataset has ``__getitem__(index)`` and ``__len__``; an iterable one has
``__iter__``. Anything with that shape works with :class:`~compat.utils.data.DataLoader`;
subclassing these classes only adds ``+`` (concatenation) and documents intent.

>>> import compat as torch
>>> from compat.utils.data import TensorDataset, random_split
>>> ds = TensorDataset(torch.arange(10.0), torch.arange(10))
>>> train, val = random_split(ds, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
>>> len(train), len(val)
(8, 2)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

from compat.random import Generator
from compat.utils.data.sampler import permutation

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__``.

    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return i * i
    >>> [Squares()[i] for i in range(4)], len(Squares() + Squares())
    ([0, 1, 4, 9], 8)
    """

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: subclasses define ``__iter__``.

    With ``num_workers > 0`` every worker process iterates its own copy; use
    :func:`~compat.utils.data.get_worker_info` inside ``__iter__`` to give each worker a
    different share, as in PyTorch.

    >>> class Count(IterableDataset):
    ...     def __iter__(self):
    ...         return iter(range(3))
    >>> list(Count())
    [0, 1, 2]
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: Dataset[T_co]) -> Any:
        raise TypeError("IterableDatasets cannot be concatenated with +; chain their "
                        "iterators in a new IterableDataset instead")


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``; all tensors share their first size.

    >>> import compat as torch
    >>> ds = TensorDataset(torch.zeros(5, 2), torch.arange(5))
    >>> x, y = ds[3]
    >>> tuple(x.shape), y.item(), len(ds)
    ((2,), 3, 5)
    """

    def __init__(self, *tensors: Any):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = [t.shape[0] if len(t.shape) else None for t in tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = [tuple(t.shape) for t in tensors]
            raise ValueError(f"Size mismatch between tensors: TensorDataset needs tensors with "
                             f"the same first dimension, got shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> Subset(range(10), [7, 2])[1]
    2
    """

    def __init__(self, dataset: Any, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: int) -> T_co:
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset[T_co]):
    """Map-style datasets one after the other.

    >>> ds = ConcatDataset([range(3), range(10, 12)])
    >>> len(ds), ds[3], ds[-1]
    (5, 10, 11)
    """

    def __init__(self, datasets: Sequence[Any]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not take IterableDatasets; chain their "
                                "iterators in a new IterableDataset instead")
        self.cumulative_sizes = list(_running_sum(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> T_co:
        if idx < 0:
            if -idx > len(self):
                raise IndexError(f"index {idx} is out of range for a dataset of {len(self)}")
            idx += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which == len(self.datasets):
            raise IndexError(f"index {idx} is out of range for a dataset of {len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def _running_sum(values: Any) -> Iterator[int]:
    total = 0
    for v in values:
        total += v
        yield total


def _split_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    """Integer lengths; fractions summing to 1 are turned into counts as PyTorch does (floor,
    then the remainder handed out one by one from the first split)."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(f < 0 or f > 1 for f in lengths):
            raise ValueError(f"fractions given to random_split must lie in [0, 1]: {lengths}")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        return counts
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths {sum(lengths)} does not equal the length of "
                         f"the input dataset {n}; pass counts summing to {n} or fractions "
                         "summing to 1")
    return [int(k) for k in lengths]


def random_split(dataset: Any, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s of the given
    ``lengths`` (counts, or fractions summing to 1). ``generator`` (default: the global one
    that ``compat.manual_seed`` seeds) makes the split reproducible.

    >>> import compat as torch
    >>> a, b = random_split(range(5), [3, 2], generator=torch.Generator().manual_seed(42))
    >>> sorted(list(a) + list(b))
    [0, 1, 2, 3, 4]
    """
    counts = _split_lengths(len(dataset), lengths)
    order = permutation(sum(counts), generator)
    return [Subset(dataset, order[end - k:end])
            for k, end in zip(counts, _running_sum(counts))]
