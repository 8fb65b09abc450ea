"""Fetchers: turn what the sampler yields into one collated batch, for map-style and for
iterable datasets. The DataLoader runs them in the main process or inside each worker.

>>> f = MapFetcher(["a", "b", "c"], auto_collation=True, collate_fn=list)
>>> f.fetch([2, 0])
['c', 'a']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from compat.utils.data.dataset import IterableDataset


class MapFetcher:
    """Reads ``dataset[i]`` for each index of a batch (or the one index when
    ``auto_collation`` is off) and collates.

    >>> MapFetcher([10, 20], auto_collation=False, collate_fn=str).fetch(1)
    '20'
    """

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool = False):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn

    def fetch(self, index: Any) -> Any:
        """The collated batch for ``index`` (a list of indices, or one index)."""
        if self.auto_collation:
            return self.collate_fn([self.dataset[i] for i in index])
        return self.collate_fn(self.dataset[index])


class IterableFetcher:
    """Pulls ``len(index)`` samples from the dataset's iterator per batch (one sample when
    ``auto_collation`` is off); raises StopIteration when the stream ends (or when only a
    short batch is left and ``drop_last``).

    >>> f = IterableFetcher(range(5), auto_collation=True, collate_fn=list, drop_last=True)
    >>> f.fetch([None] * 2), f.fetch([None] * 2)
    ([0, 1], [2, 3])
    """

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool = False):
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index: Sequence[Any] | None) -> Any:
        """The next collated batch; StopIteration once the stream is used up."""
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        samples = []
        for _ in index:
            try:
                samples.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not samples or (self.drop_last and len(samples) < len(index)):
            raise StopIteration
        return self.collate_fn(samples)


def make_fetcher(dataset: Any, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> MapFetcher | IterableFetcher:
    """The fetcher for ``dataset``'s kind; an iterable one starts a fresh pass over it.

    >>> type(make_fetcher([1], True, list, False)).__name__
    'MapFetcher'
    """
    kind = IterableFetcher if isinstance(dataset, IterableDataset) else MapFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)
