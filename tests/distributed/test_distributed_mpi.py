"""functorch_lite.distributed on real MPI jobs (mpiexec -n 2 and 3 from the test, under a
timeout) and as a world of one process; each job bundles many checks (see jobs/)."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpi_helpers import ROOT, env, needs_mpi, run_job, run_plain

from functorch_lite import distributed as dist


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_against_numpy_on_every_rank(n):
    # all_reduce (sum/mean/max/min), broadcast from two roots, all_gather, reduce_scatter,
    # send/recv around a ring, barrier, buckets, iall_reduce, data_parallel vs one process
    out = run_job("collectives.py", n)
    assert out.returncode == 0, out.stdout
    for r in range(n):
        assert f"rank {r} of {n}: ok" in out.stdout, out.stdout


@needs_mpi
def test_mismatches_are_reported_and_a_failing_rank_ends_the_job():
    start = time.monotonic()
    out = run_job("failures.py", 2, timeout=60)
    assert out.returncode != 0, out.stdout
    assert time.monotonic() - start < 30, "the job hung until the timeout"
    text = out.stdout
    for r in range(2):
        # each mismatch raised a ValueError on every rank, naming both ranks' shapes
        assert f"rank {r} caught: functorch_lite.distributed.all_reduce" in text, text
        assert f"rank {r} caught: functorch_lite.distributed.all_gather" in text, text
        assert f"rank {r} in step" in text, text
    assert "rank 1 caught: functorch_lite.distributed.recv: rank 0 sent" in text, text
    assert "[rank 1] Traceback (most recent call last):" in text, text
    assert "[rank 1] RuntimeError: rank one fails on purpose" in text, text
    assert "passed the barrier" not in text, text


@needs_mpi
def test_world_of_one_without_mpiexec():
    # also: `import functorch_lite` loads no mpi4py, the docstring examples, and every
    # check of collectives.py with one rank
    out = run_plain("single.py")
    assert out.returncode == 0, out.stdout
    assert "rank 0 of 1: ok" in out.stdout and "single: ok" in out.stdout, out.stdout


@needs_mpi
def test_abort_ends_the_process_with_its_status():
    code = ("from functorch_lite import distributed as dist\n"
            "dist.init(); dist.abort(3, 'bad data'); print('still running')")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=env(), cwd=ROOT, timeout=60)
    assert out.returncode == 3, out.stdout
    assert "[rank 0] bad data" in out.stdout and "still running" not in out.stdout, out.stdout


@pytest.fixture
def outside_a_job():
    # another test in this process may have joined a world of one; leave it, then rejoin
    was = dist.is_initialized()
    dist.finalize()
    yield
    if was:
        dist.init()


def test_collectives_before_init_name_the_fix(outside_a_job):
    assert not dist.is_initialized()
    for call in (lambda: dist.all_reduce(np.ones(2)), lambda: dist.broadcast([1.0]),
                 lambda: dist.rank(), lambda: dist.barrier(), lambda: dist.send(1.0, 1),
                 lambda: dist.data_parallel(lambda p, b: p)(1.0, 2.0)):
        with pytest.raises(RuntimeError, match=r"call functorch_lite\.distributed\.init\(\) "
                                               "first"):
            call()
    with pytest.raises(RuntimeError, match=r"distributed\.all_gather: "):
        dist.all_gather(1.0)


def test_init_without_mpi4py_says_what_to_install(outside_a_job, monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install functorch_lite\[distributed\]"):
        dist.init()
    assert not dist.is_initialized()


def test_import_does_not_load_mpi4py():
    code = "import sys, functorch_lite; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env(), cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


SPECS = st.lists(st.tuples(st.lists(st.integers(0, 5), max_size=3).map(tuple),
                           st.sampled_from(["float32", "float64", "int32", "float16", "bool"])),
                 max_size=8)


@settings(max_examples=30)
@given(SPECS, st.integers(1, 200))
def test_bucket_plan_partitions_the_leaves(specs, cap):
    # planning is local (no MPI): every leaf in exactly one bucket of its wire dtype, in
    # the given order; a bucket over the cap holds a single leaf
    plan = dist.Buckets(specs, bucket_bytes=cap)
    seen = []
    for b in plan.buckets:
        assert all(dist.buckets.wire_dtype(specs[i][1]) == b.dtype for i in b.leaves)
        assert b.leaves == sorted(b.leaves)
        sizes = [int(np.prod(specs[i][0])) for i in b.leaves]
        assert b.offsets == list(np.cumsum([0] + sizes[:-1])) and b.size == sum(sizes)
        assert b.nbytes <= cap or len(b.leaves) == 1
        seen += b.leaves
    assert sorted(seen) == list(range(len(specs)))
    # consecutive buckets of one dtype could not have been merged under the cap
    for a, b in zip(plan.buckets, plan.buckets[1:]):
        if a.dtype == b.dtype:
            first = int(np.prod(specs[b.leaves[0]][0])) * b.dtype.itemsize
            assert a.nbytes + first > cap


@settings(max_examples=30)
@given(SPECS, st.integers(1, 3))
def test_byte_buffers_round_trip(specs, rows):
    rs = np.random.RandomState(0)
    arrays = [np.asarray(rs.randn(*shape) * 9).astype(dtype) for shape, dtype in specs]
    buf = dist.buckets.pack_bytes(arrays)
    stacked = np.concatenate([buf] * rows)
    for got, a in zip(dist.buckets.unpack_bytes(stacked, [(a.shape, a.dtype) for a in arrays],
                                                lead=(rows,)), arrays):
        assert got.dtype == a.dtype and got.flags.c_contiguous
        np.testing.assert_array_equal(got, np.stack([a] * rows))
        assert got.ctypes.data % a.dtype.itemsize == 0  # aligned views
    dist.buckets.give_back(buf)
