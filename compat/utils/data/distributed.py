"""``DistributedSampler`` (``torch.utils.data.distributed``): each rank of a data-parallel
job visits its own equal share of a data set.

Every rank draws the same permutation (seeded by ``seed + epoch``, so ``set_epoch``
reshuffles and all ranks agree without communicating), pads it by repeating indices from
its start until it splits evenly (or, with ``drop_last``, cuts the tail), and keeps every
``num_replicas``-th index starting at its ``rank``: the shards cover the data set exactly
once per epoch (plus the few padded repeats).

>>> s = DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
>>> list(s), len(s)
([1, 4, 7, 0], 4)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

from compat import distributed as dist
from compat.random import Generator
from compat.utils.data.sampler import Sampler, permutation


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` visits this epoch.

    Args:
        dataset: a sized data set.
        num_replicas: how many ranks share it (default: ``compat.distributed``'s world size).
        rank: this rank (default: ``compat.distributed.get_rank()``).
        shuffle: a random order (the same on every rank for a given ``seed`` and epoch).
        seed: the seed of the order; must be the same on every rank.
        drop_last: drop the tail that does not split evenly instead of padding with
            indices from the start.

    Call ``set_epoch(epoch)`` before each epoch (before making the DataLoader iterator),
    or every epoch visits the same order.

    >>> shards = [DistributedSampler(range(5), num_replicas=2, rank=r) for r in (0, 1)]
    >>> for s in shards:
    ...     s.set_epoch(3)
    >>> [len(s) for s in shards], sorted(set(list(shards[0]) + list(shards[1])))
    ([3, 3], [0, 1, 2, 3, 4])
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None,
                 rank: int | None = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be at least 1, got "
                             f"{num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = seed
        n = len(dataset)
        if drop_last and n % num_replicas:
            # the largest equal share: every rank gets floor(n / num_replicas)
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = permutation(n, Generator().manual_seed(self.seed + self.epoch))
        else:
            indices = list(range(n))
        short = self.total_size - len(indices)
        if short > 0:
            repeats = math.ceil(short / len(indices))
            indices += (indices * repeats)[:short]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (all ranks must pass the same number)."""
        self.epoch = epoch
