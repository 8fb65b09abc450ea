"""compat.utils.data: datasets, samplers, collation and the DataLoader with and without
worker processes (ordering, seeding, errors, early exits, persistent workers)."""

from __future__ import annotations

import collections
import gc
import multiprocessing
import os
import time

import numpy as np
import pytest

import compat as torch
from compat.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)


def xy(n=10):
    return TensorDataset(torch.tensor(np.arange(n, dtype=np.float32) * 10), torch.tensor(
        np.arange(n)))


def ys(loader):
    return [y.tolist() for _, y in loader]


def no_children():
    """Whether every worker process has gone (active_children also reaps the finished)."""
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    return multiprocessing.active_children() == []


# --------------------------------------------------------------------------- datasets


def test_tensor_dataset_subset_concat():
    ds = xy(5)
    x, y = ds[3]
    assert x.item() == 30.0 and y.item() == 3 and len(ds) == 5
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(torch.tensor([1, 2]), torch.tensor([1, 2, 3]))
    sub = Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[0][1].item() == 4
    cat = ConcatDataset([range(3), range(10, 12)])
    assert [cat[i] for i in range(len(cat))] == [0, 1, 2, 10, 11] and cat[-1] == 11
    with pytest.raises(IndexError):
        cat[5]
    assert len(ds + ds) == 10


def test_random_split_counts_fractions_and_seed():
    a, b = random_split(range(10), [7, 3], generator=torch.Generator().manual_seed(1))
    assert sorted(list(a) + list(b)) == list(range(10)) and (len(a), len(b)) == (7, 3)
    again = random_split(range(10), [7, 3], generator=torch.Generator().manual_seed(1))
    assert list(again[0]) == list(a)
    parts = random_split(range(10), [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    assert [len(p) for p in random_split(range(5), [0.5, 0.5])] == [3, 2]
    torch.manual_seed(3)
    first = list(random_split(range(10), [5, 5])[0])
    torch.manual_seed(3)
    assert list(random_split(range(10), [5, 5])[0]) == first
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(range(10), [3, 3])


# --------------------------------------------------------------------------- samplers


def test_samplers():
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    s = RandomSampler(range(8), generator=torch.Generator().manual_seed(0))
    e1, e2 = list(s), list(s)
    assert sorted(e1) == list(range(8)) and e1 != e2  # a fresh order every epoch
    assert list(RandomSampler(range(8), generator=torch.Generator().manual_seed(0))) == e1
    rep = RandomSampler(range(3), replacement=True, num_samples=20,
                        generator=torch.Generator().manual_seed(0))
    assert len(list(rep)) == 20 and set(rep) <= {0, 1, 2} and len(rep) == 20
    assert sorted(RandomSampler(range(3), num_samples=7)) == [0, 0, 0, 1, 1, 2, 2]
    assert sorted(SubsetRandomSampler([5, 9, 7])) == [5, 7, 9]
    b = BatchSampler(range(5), 2, drop_last=False)
    assert list(b) == [[0, 1], [2, 3], [4]] and len(b) == 3
    assert len(BatchSampler(range(5), 2, drop_last=True)) == 2
    with pytest.raises(ValueError, match="positive integer"):
        BatchSampler(range(5), 0, False)


# --------------------------------------------------------------------------- collate

Point = collections.namedtuple("Point", "x y")


def test_default_collate_nested_structures():
    batch = [({"img": np.full((2,), i, np.float32), "name": f"s{i}", "k": [i, float(i)]},
              Point(i, True)) for i in range(3)]
    out = default_collate(batch)
    assert isinstance(out, list) and len(out) == 2  # a tuple comes back as a list
    d, p = out
    assert d["img"].shape == (3, 2) and d["img"].dtype == torch.float32
    assert d["name"] == ["s0", "s1", "s2"]
    assert d["k"][0].dtype == torch.int64 and d["k"][1].dtype == torch.float64
    assert isinstance(p, Point) and p.x.tolist() == [0, 1, 2] and p.y.dtype == torch.bool
    t = default_collate([torch.tensor([1, 2]), torch.tensor([3, 4])])
    assert t.tolist() == [[1, 2], [3, 4]] and t.dtype == torch.int64
    assert default_collate([np.float32(1), np.float32(2)]).dtype == torch.float32
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <class 'NoneType'>"):
        default_collate([None, None])
    conv = default_convert({"a": np.arange(2), "b": (np.zeros(1), "s")})
    assert conv["a"].tolist() == [0, 1] and isinstance(conv["b"], list) and conv["b"][1] == "s"


# --------------------------------------------------------------------------- single process


def test_loader_order_len_drop_last_and_options():
    ds = xy(10)
    assert ys(DataLoader(ds, batch_size=4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert ys(DataLoader(ds, batch_size=4, drop_last=True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    bs = DataLoader(ds, batch_sampler=[[9, 0], [5]])
    assert ys(bs) == [[9, 0], [5]] and len(bs) == 2
    assert ys(DataLoader(ds, batch_size=3, sampler=[2, 1, 0])) == [[2, 1, 0]]
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 10 and single[2][1].item() == 2
    assert list(DataLoader([np.ones(2)], batch_size=None))[0].dtype == torch.float64
    assert list(DataLoader(range(3), collate_fn=lambda b: b)) == [[0], [1], [2]]
    for bad in (dict(shuffle=True, sampler=[0]), dict(batch_sampler=[[0]], batch_size=2),
                dict(batch_size=None, drop_last=True), dict(num_workers=-1),
                dict(persistent_workers=True)):
        with pytest.raises(ValueError):
            DataLoader(ds, **bad)


def test_shuffle_is_reproducible_from_manual_seed_and_generator():
    ds = xy(12)
    torch.manual_seed(0)
    a = ys(DataLoader(ds, batch_size=5, shuffle=True))
    b = ys(DataLoader(ds, batch_size=5, shuffle=True))
    torch.manual_seed(0)
    assert ys(DataLoader(ds, batch_size=5, shuffle=True)) == a and a != b
    assert sorted(sum(a, [])) == list(range(12))
    loader = DataLoader(ds, batch_size=5, shuffle=True,
                        generator=torch.Generator().manual_seed(7))
    e1, e2 = ys(loader), ys(loader)
    assert e1 != e2
    assert ys(DataLoader(ds, batch_size=5, shuffle=True,
                         generator=torch.Generator().manual_seed(7))) == e1


class Stream(IterableDataset):
    def __init__(self, n, shard=False):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if self.shard and info is not None:
            return iter(range(info.id, self.n, info.num_workers))
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_iterable_dataset_single_process():
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2, drop_last=True)] == [
        [0, 1], [2, 3]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    assert len(DataLoader(Stream(5), batch_size=2)) == 3
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(5), shuffle=True)


# --------------------------------------------------------------------------- workers


class Tagged(Dataset):
    """(index, worker id, worker pid); with ``slow``, item 0 takes a while, so later
    batches arrive first and must wait their turn."""

    def __init__(self, slow=False):
        self.slow = slow

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 0 and self.slow:
            time.sleep(0.2)
        return i, get_worker_info().id, os.getpid()


def test_workers_return_batches_in_order_with_worker_info():
    loader = DataLoader(Tagged(slow=True), batch_size=2, num_workers=2)
    batches = list(loader)
    assert [b[0].tolist() for b in batches] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert [b[1].tolist() for b in batches] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    assert {p for b in batches for p in b[2].tolist()} - {os.getpid()} == set(
        p for b in batches for p in b[2].tolist())
    assert no_children()


def test_workers_match_single_process_shuffle_and_seed_workers():
    ds = xy(20)
    kw = dict(batch_size=3, shuffle=True)
    single = ys(DataLoader(ds, generator=torch.Generator().manual_seed(5), **kw))
    multi = ys(DataLoader(ds, num_workers=2, generator=torch.Generator().manual_seed(5), **kw))
    assert multi == single

    class Seeds(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.tensor(np.random.randint(0, 2**30)), get_worker_info().seed

    def run():
        loader = DataLoader(Seeds(), batch_size=1, num_workers=2,
                            generator=torch.Generator().manual_seed(11))
        return [(a.item(), s.item()) for a, s in loader]

    first = run()
    assert run() == first  # reproducible
    assert first[0][1] + 1 == first[1][1]  # base_seed + worker_id
    assert first[0][0] != first[1][0]  # numpy's global generator differs per worker


def test_worker_init_fn_and_persistent_workers_keep_processes():
    calls = multiprocessing.get_context("fork").Queue()
    loader = DataLoader(Tagged(), batch_size=4, num_workers=2, persistent_workers=True,
                        worker_init_fn=lambda wid: calls.put(wid))
    first = list(loader)
    second = list(loader)
    pids = {p for b in first for p in b[2].tolist()}
    assert pids == {p for b in second for p in b[2].tolist()} and len(pids) == 2
    assert sorted(calls.get(timeout=5) for _ in range(2)) == [0, 1]
    assert calls.empty()  # worker_init_fn ran once per worker, not once per epoch
    # an epoch abandoned early does not leak stale batches into the next one
    for _ in loader:
        break
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    it = iter(loader)
    next(it)
    newer = iter(loader)
    with pytest.raises(RuntimeError, match="superseded"):
        next(it)
    assert len(list(newer)) == 2
    del loader, it, newer
    gc.collect()
    assert no_children()


class Faulty(Dataset):
    """Item 3 raises ValueError, or with ``die`` its worker exits with status 3."""

    def __init__(self, die=False):
        self.die = die

    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3 and self.die:
            os._exit(3)
        if i == 3:
            raise ValueError(f"sample {i} is broken")
        return i


def test_worker_exception_carries_worker_traceback_and_leaves_no_process():
    with pytest.raises(ValueError) as info:
        list(DataLoader(Faulty(), batch_size=1, num_workers=2))
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 1" in msg
    assert "Original Traceback" in msg and "in __getitem__" in msg
    assert "sample 3 is broken" in msg
    assert no_children()


def test_key_error_and_odd_exception_types_and_unpicklable_batches():
    class Missing(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {}["absent"]

    with pytest.raises(KeyError, match="Original Traceback"):
        list(DataLoader(Missing(), num_workers=1))

    class Odd(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)

    class RaisesOdd(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            raise Odd(1, 2)

    with pytest.raises(RuntimeError, match="Caught Odd"):  # Odd(msg) cannot be rebuilt
        list(DataLoader(RaisesOdd(), num_workers=1))
    with pytest.raises(Exception, match="sending the batch back"):
        list(DataLoader([0, 1], num_workers=1, collate_fn=lambda b: (lambda: b)))
    assert no_children()


def test_early_break_and_garbage_collection_stop_the_workers():
    loader = DataLoader(xy(40), batch_size=2, num_workers=2)
    for _ in loader:
        break
    assert no_children()
    it = iter(loader)
    next(it)
    assert len(multiprocessing.active_children()) == 2
    del it
    assert no_children()


def test_a_dead_worker_raises_instead_of_hanging():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(Faulty(die=True), num_workers=2))
    assert time.monotonic() - start < 5 and no_children()


def test_timeout():
    class Sleepy(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            time.sleep(5)

    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        list(DataLoader(Sleepy(), num_workers=1, timeout=0.3))
    assert no_children()


def test_iterable_dataset_with_workers():
    # every worker iterates its own copy (PyTorch's semantics)...
    got = sorted(v for b in DataLoader(Stream(5), batch_size=2, num_workers=2)
                 for v in b.tolist())
    assert got == sorted(list(range(5)) * 2)
    # ...unless the dataset shards itself with get_worker_info()
    batches = [b.tolist() for b in DataLoader(Stream(7, shard=True), batch_size=2,
                                              num_workers=2)]
    assert batches == [[0, 2], [1, 3], [4, 6], [5]]
    assert sorted(DataLoader(Stream(3), batch_size=None, num_workers=2)) == [0, 0, 1, 1, 2, 2]
    loader = DataLoader(Stream(6, shard=True), batch_size=2, num_workers=2,
                        persistent_workers=True)
    assert list(map(len, loader)) == list(map(len, loader)) == [2, 2, 1, 1]
    del loader
    gc.collect()
    assert no_children()


def test_spawn_start_method():
    ds = xy(6)
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    assert ys(loader) == [[0, 1, 2, 3], [4, 5]]
    assert no_children()
