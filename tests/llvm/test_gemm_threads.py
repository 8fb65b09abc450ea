"""The blocked matrix product shared among threads (``gemm.split``, ``fl_gemm_*_part``
run by ``fl_parallel``): pieces of C computed by one thread or several at once equal the
plain call bit for bit, and compiled programs give the same bits with 1, 2 or 3 threads (more
threads than this machine has cores), on odd shapes, transposed operands and batches,
against numpy. Speed is measured in benchmarks/run.py (W3)."""

from __future__ import annotations

import ctypes
import os
import pathlib
import subprocess
import sys
import threading

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import backends
import functorch_lite as fl
import functorch_lite.numpy as fnp
from backends.llvm import compiler, gemm

VB = compiler.vector_bytes()
GUARD = 256  # bytes of sentinel after the scratch
_fns: dict = {}


def _lib(dtype):
    key = np.dtype(dtype).name
    if key not in _fns:
        lib = compiler.library(gemm.define(dtype, VB))
        i64, ptr = ctypes.c_int64, ctypes.c_void_p
        whole = ctypes.CFUNCTYPE(None, i64, i64, i64, ptr, i64, i64, ptr, i64, i64, ptr, i64,
                                 ptr)(lib.address(gemm.symbol(dtype)))
        part = ctypes.CFUNCTYPE(None, ptr, i64, i64, i64)(
            lib.address(gemm.part_symbol(dtype)))
        _fns[key] = (lib, whole, part)
    return _fns[key][1:]


def _addr(x) -> int:
    return x.__array_interface__["data"][0]


def _operands(m, n, k, dtype, ta, tb, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return (a.T if ta else a), (b.T if tb else b)


def _strides(x):
    return x.strides[0] // x.itemsize, x.strides[1] // x.itemsize


def _shared(a, b, threads, axis, together):
    """C from ``fl_gemm_*_part`` as ``fl_parallel`` runs it for ``threads`` threads along
    ``axis``: the micro-tiles cut into ``gemm.pieces`` ranges, thread slot ``s`` taking
    ranges ``s``, ``s + threads``... With ``together`` one Python thread per slot (they
    may run at once); else one range at a time, checking what would race when threads do
    run at once, whether or not this machine lets them overlap in time: each range writes
    exactly its own rows or columns of C, and each slot packs into scratch no other slot
    touches. Nothing is written past ``scratch_bytes``."""
    (m, k), n = a.shape, b.shape[1]
    _, part = _lib(a.dtype)
    c = np.full((m, n), 7.0, a.dtype)
    need = gemm.scratch_bytes(m, n, k, a.dtype, VB, threads, axis)
    scratch = np.full(need + GUARD, 0xAB, np.uint8)
    count, unit = gemm.tiles(m, n, axis, a.dtype, VB)
    cut = gemm.pieces(count, threads)
    block = np.array([m, n, k, _addr(a), *_strides(a), _addr(b), *_strides(b), _addr(c), n,
                      _addr(scratch), cut, axis], np.int64)
    assert len(block) == len(gemm.PART_FIELDS)
    ranges = [(p * count // cut, (p + 1) * count // cut) for p in range(cut)]

    def slot(s):
        for lo, hi in ranges[s::threads]:
            part(_addr(block), lo, hi, s)

    if together:
        ts = [threading.Thread(target=slot, args=(s,)) for s in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert (scratch[need:] == 0xAB).all(), "a thread wrote past the scratch"
        return c
    size = n if axis else m
    regions = {}
    for p, (lo, hi) in enumerate(ranges):
        s = p % threads
        before = c.copy()
        scratch[:need] = 0xAB
        part(_addr(block), lo, hi, s)
        written = (c != before).any(axis=1 - axis)
        mine = (np.arange(size) >= lo * unit) & (np.arange(size) < hi * unit)
        assert (written == mine).all(), "a range wrote rows/columns not its own"
        touched = np.flatnonzero(scratch[:need] != 0xAB)
        if touched.size:
            first, last = regions.get(s, (touched[0], touched[-1]))
            regions[s] = (min(first, touched[0]), max(last, touched[-1]))
    spans = sorted(regions.values())
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end < start, "two threads share scratch"
    assert (scratch[need:] == 0xAB).all(), "a thread wrote past the scratch"
    return c


def _whole(a, b):
    (m, k), n = a.shape, b.shape[1]
    whole, _ = _lib(a.dtype)
    c = np.empty((m, n), a.dtype)
    scratch = np.empty(max(gemm.scratch_bytes(m, n, k, a.dtype, VB), 1), np.uint8)
    whole(m, n, k, _addr(a), *_strides(a), _addr(b), *_strides(b), _addr(c), n,
          _addr(scratch))
    return c


def _close(c, a, b):
    ref = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64) + 1e-30
    tol = (1e-5 if a.dtype == np.float32 else 1e-13) * a.shape[1]
    assert (np.abs(c - ref) <= tol * scale).all()


SIZES = [1, 7, 13, 255, 257, 513]


@settings(max_examples=12)
@given(m=st.sampled_from(SIZES), n=st.sampled_from(SIZES), k=st.sampled_from(SIZES[1:]),
       ta=st.booleans(), tb=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]),
       axis=st.sampled_from([0, 1]), threads=st.integers(1, 5), seed=st.integers(0, 9))
def test_pieces_equal_the_whole_product_bitwise(m, n, k, ta, tb, dtype, axis, threads, seed):
    a, b = _operands(m, n, k, dtype, ta, tb, seed)
    want = _whole(a, b)
    _close(want, a, b)
    np.testing.assert_array_equal(_shared(a, b, threads, axis, together=False), want)
    np.testing.assert_array_equal(_shared(a, b, threads, axis, together=True), want)


def test_more_threads_than_tiles_leave_the_extra_threads_idle():
    # 13 columns are one micro-tile wide: one piece, the other threads find none
    a, b = _operands(40, 13, 30, np.float32, False, False, 0)
    np.testing.assert_array_equal(_shared(a, b, 4, 1, together=True), _whole(a, b))


def test_split_picks_columns_rows_or_one_thread():
    f32 = np.float32
    # W3's products: columns (A is read in place, so no part packs it again)
    for m, n, k, sa, sb in [(256, 512, 784, (784, 1), (512, 1)),
                            (512, 512, 256, (1, 512), (512, 1)),
                            (256, 512, 512, (512, 1), (1, 512))]:
        axis, threads = gemm.split(m, n, k, sa, sb, f32, VB)
        assert axis == 1 and 2 <= threads <= -(-n // gemm.blocking(f32, VB).nr)
    # small products stay on one thread; W3's last layer too (2.6 MFLOP)
    assert gemm.split(128, 128, 128, (128, 1), (128, 1), f32, VB)[1] == 1
    assert gemm.split(256, 10, 512, (512, 1), (10, 1), f32, VB)[1] == 1
    # A without a unit stride (packed) and a small B read in place: rows
    assert gemm.split(4096, 64, 64, (128, 2), (64, 1), f32, VB) == (
        0, 2 * 4096 * 64 * 64 // gemm.FLOPS_PER_THREAD)
    # a single column panel: rows whatever the layouts
    assert gemm.split(4096, 13, 1024, (1024, 1), (13, 1), f32, VB) == (
        0, 2 * 4096 * 13 * 1024 // gemm.FLOPS_PER_THREAD)
    # the thread count follows the work (a thread per FLOPS_PER_THREAD), at most one per
    # micro-tile column
    nr = gemm.blocking(f32, VB).nr
    assert gemm.split(1024, 1024, 1024, (1024, 1), (1024, 1), f32, VB)[1] == min(
        1024 // nr, 2 * 1024 ** 3 // gemm.FLOPS_PER_THREAD, gemm.MAX_THREADS)


def _compiled_with(monkeypatch, threads, f, *args):
    monkeypatch.setenv("FUNCTORCH_LITE_THREADS", str(threads))
    prog = backends.get("llvm").compile(fl.make_ir(f)(*args))
    assert prog.threads == threads
    return [np.asarray(r) for r in prog(*args)]


def _same_bits_for_any_thread_count(monkeypatch, f, args, refs, parallel=True):
    text = backends.get("llvm").lower_text(fl.make_ir(f)(*args))
    assert ("call void @fl_parallel(ptr @fl_gemm_" in text) == parallel
    one = _compiled_with(monkeypatch, 1, f, *args)
    for r, want in zip(one, refs):
        assert r.shape == want.shape
        np.testing.assert_allclose(r, want, rtol=2e-4, atol=2e-4 * np.abs(want).max())
    for threads in (2, 3, 16):
        for r, r1 in zip(_compiled_with(monkeypatch, threads, f, *args), one):
            np.testing.assert_array_equal(r, r1)


def test_large_products_give_the_same_bits_on_any_number_of_threads(monkeypatch):
    # each product is large enough to be shared (>= 2 * FLOPS_PER_THREAD): plain,
    # both operands transposed, and a batch whose every product is shared
    def f(a, b, c, e, x, w):
        return a @ b, c.T @ e.T, fnp.matmul(x, w)

    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s).astype(np.float32)
            for s in [(257, 513), (513, 255), (513, 257), (255, 513), (2, 257, 257),
                      (2, 257, 255)]]
    a, b, c, e, x, w = args
    _same_bits_for_any_thread_count(monkeypatch, f, args, [a @ b, c.T @ e.T, x @ w])


def test_small_odd_products_split_when_allowed(monkeypatch):
    # every product shared (a thread per flop): one row, a single column tile (rows are
    # split), an A with no unit stride (packed), float64, a batch; then the same products
    # at the real threshold stay on one thread
    def f(a, b, c, d, x, y, p, q):
        return a @ b, c @ d, x[:, ::2] @ y, p @ q

    rng = np.random.default_rng(1)
    shapes = [(1, 13), (13, 257), (257, 7), (7, 13), (255, 14), (7, 33), (3, 13, 7),
              (3, 7, 255)]
    args = [rng.standard_normal(s).astype(np.float64 if len(s) == 3 else np.float32)
            for s in shapes]
    a, b, c, d, x, y, p, q = args
    refs = [a @ b, c @ d, x[:, ::2] @ y, p @ q]
    _same_bits_for_any_thread_count(monkeypatch, f, args, refs, parallel=False)
    monkeypatch.setattr(gemm, "FLOPS_PER_THREAD", 1)
    _same_bits_for_any_thread_count(monkeypatch, f, args, refs)


def test_a_product_inside_a_loop_runs_on_one_thread(monkeypatch):
    # a nested program (the loop's body) gets no thread count: its product is the plain
    # call, and the program still computes what numpy does
    monkeypatch.setattr(gemm, "FLOPS_PER_THREAD", 1)

    def f(h, w):
        return fl.lax.fori_loop(0, 3, lambda i, h: fnp.tanh(h @ w), h)

    rng = np.random.default_rng(2)
    h = rng.standard_normal((13, 40)).astype(np.float32)
    w = (rng.standard_normal((40, 40)) / 8).astype(np.float32)
    want = h.astype(np.float64)
    for _ in range(3):
        want = np.tanh(want @ w)
    got = _compiled_with(monkeypatch, 2, f, h, w)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_no_sum_needs_no_scratch_and_a_sum_of_one_term_splits():
    assert gemm.scratch_bytes(7, 13, 0, np.float32, VB, 3, 1) == 0
    a, b = _operands(30, 70, 1, np.float32, False, False, 3)
    np.testing.assert_array_equal(_shared(a, b, 3, 1, together=True), _whole(a, b))


CHURN = r"""
import gc, os
import numpy as np
import backends, functorch_lite as fl
from backends.llvm import gemm
gemm.FLOPS_PER_THREAD = 1
os.environ["FUNCTORCH_LITE_THREADS"] = "16"
a = np.ones((40, 300), np.float32)
for _ in range(150):
    prog = backends.get("llvm").compile(fl.make_ir(lambda a: a @ a.T)(a))
    assert (prog(a)[0] == 300).all()
    del prog
    gc.collect()
print("ok")
"""


def test_threads_that_end_late_outlive_their_program():
    # the caller waits for pieces, not threads: a helper may still be running (or not yet
    # started) when its program is freed, so what it runs must not be the program's code
    root = pathlib.Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    r = subprocess.run([sys.executable, "-c", CHURN], cwd=root, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]
