"""The blocked matrix product (``backends/llvm/gemm.py``) called directly: every shape
class (edge tiles, sums split into blocks, sizes 1), every operand layout (row-major,
transposed, broadcast with stride 0, reversed with negative strides), both float types,
against numpy in float64; guard zones around C and the scratch catch any write out of
bounds, and inaccessible pages any access past an operand (also of the product run in
pieces, as threads run it; test_gemm_threads.py checks the pieces). The vector width is
the host's and also the narrower ones (their code runs anywhere, legalised by LLVM)."""

from __future__ import annotations

import ctypes
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.llvm import compiler, gemm

GUARD = 64  # elements of sentinel on each side
_fns: dict = {}


def _gemm(dtype, vector_bytes):
    key = (np.dtype(dtype).name, vector_bytes)
    if key not in _fns:
        lib = compiler.library(gemm.define(dtype, vector_bytes))
        i64, ptr = ctypes.c_int64, ctypes.c_void_p
        _fns[key] = (lib, ctypes.CFUNCTYPE(None, i64, i64, i64, ptr, i64, i64, ptr, i64, i64,
                                           ptr, i64, ptr)(lib.address(gemm.symbol(dtype))))
    return _fns[key][1]


def _operand(rng, shape, dtype, layout):
    """(array view, element strides) of ``shape`` laid out as ``layout``."""
    r, c = shape
    if layout == "row":
        x = rng.standard_normal((r, c)).astype(dtype)
    elif layout == "col":
        x = np.asfortranarray(rng.standard_normal((r, c)).astype(dtype))
    elif layout == "bcast_row":  # every row the same: row stride 0
        x = np.broadcast_to(rng.standard_normal((1, c)).astype(dtype), (r, c))
    else:  # reversed both ways: negative strides
        x = rng.standard_normal((r, c)).astype(dtype)[::-1, ::-1]
    it = x.dtype.itemsize
    return x, (x.strides[0] // it, x.strides[1] // it)


def check(m, n, k, dtype, la, lb, vector_bytes, seed=0):
    rng = np.random.default_rng(seed)
    a, (sam, sak) = _operand(rng, (m, k), dtype, la)
    b, (sbk, sbn) = _operand(rng, (k, n), dtype, lb)
    ldc = n + 3  # C is a block of a wider array: the columns beyond n must stay untouched
    cbuf = np.full(2 * GUARD + max(m * ldc, 1), 7.0, dtype)
    c = cbuf[GUARD:GUARD + m * ldc].reshape(max(m, 0), ldc)
    nscratch = gemm.scratch_bytes(m, n, k, dtype, vector_bytes) // np.dtype(dtype).itemsize
    sbuf = np.full(2 * GUARD + nscratch, 7.0, dtype)
    _gemm(dtype, vector_bytes)(m, n, k, a.__array_interface__["data"][0], sam, sak,
                               b.__array_interface__["data"][0], sbk, sbn,
                               c.__array_interface__["data"][0] if m else 0, ldc,
                               sbuf[GUARD:].__array_interface__["data"][0])
    ref = a.astype(np.float64) @ b.astype(np.float64)
    tol = (1e-5 if np.dtype(dtype) == np.float32 else 1e-13) * max(k, 1)
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64) + 1e-30
    assert (np.abs(c[:, :n] - ref) <= tol * scale).all()
    assert (c[:, n:] == 7.0).all(), "wrote past n columns"
    assert (cbuf[:GUARD] == 7.0).all() and (cbuf[GUARD + m * ldc:] == 7.0).all()
    assert (sbuf[:GUARD] == 7.0).all() and (sbuf[GUARD + nscratch:] == 7.0).all()


LAYOUTS = ["row", "col", "bcast_row", "reversed"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 2, 2), (2, 1, 3), (12, 32, 1),
                                   (13, 33, 2), (11, 31, 300), (25, 65, 513), (100, 100, 100),
                                   (3, 200, 1000), (300, 3, 5)])
def test_shapes_and_layouts(dtype, shape):
    for la in LAYOUTS:
        for lb in LAYOUTS:
            check(*shape, dtype, la, lb, compiler.vector_bytes())


@pytest.mark.parametrize("vector_bytes", [16, 32, 64])
def test_every_vector_width(vector_bytes):
    for dtype in (np.float32, np.float64):
        check(29, 70, 130, dtype, "row", "col", vector_bytes)


def test_blocks_of_the_sum_and_of_rows_and_columns():
    bl = gemm.blocking(np.float32, compiler.vector_bytes())
    # more rows than one A block, more columns than one B block, a sum split unevenly
    check(bl.mc + 5, bl.nc + 7, 2 * bl.kc + 3, np.float32, "row", "row",
          compiler.vector_bytes())


def test_empty_sum_gives_zeros_and_empty_outputs_touch_nothing():
    for m, n, k in ((3, 4, 0), (0, 4, 5), (3, 0, 5)):
        check(m, n, k, np.float32, "row", "row", compiler.vector_bytes())


@settings(max_examples=40)
@given(m=st.integers(1, 40), n=st.integers(1, 80), k=st.integers(1, 60),
       la=st.sampled_from(LAYOUTS), lb=st.sampled_from(LAYOUTS),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 100))
def test_drawn_products(m, n, k, la, lb, dtype, seed):
    check(m, n, k, dtype, la, lb, compiler.vector_bytes(), seed)


def test_special_values_propagate():
    f = _gemm(np.float64, compiler.vector_bytes())
    a = np.array([[np.inf, 1.0], [np.nan, 0.0], [-0.0, -0.0]])
    b = np.array([[1.0, 0.0], [2.0, -0.0]])
    c = np.empty((3, 2))
    scratch = np.empty(gemm.scratch_bytes(3, 2, 2, np.float64, compiler.vector_bytes()), np.uint8)
    f(3, 2, 2, a.ctypes.data, 2, 1, b.ctypes.data, 2, 1, c.ctypes.data, 2, scratch.ctypes.data)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(c, a @ b)


FENCED = r"""
import ctypes, itertools, mmap, sys
import numpy as np
from backends.llvm import compiler, gemm

libc = ctypes.CDLL(None)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
PAGE = mmap.PAGESIZE
keep = []


def fenced(values, at_end):
    # a copy of ``values`` right against an inaccessible page (after its last byte, or
    # before its first): any read or write beyond the array faults
    raw = np.ascontiguousarray(values)
    n = raw.nbytes
    total = -(-max(n, 1) // PAGE) * PAGE + 2 * PAGE
    m = mmap.mmap(-1, total)
    base = ctypes.addressof(ctypes.c_char.from_buffer(m))
    for page in (base, base + total - PAGE):
        assert libc.mprotect(page, PAGE, 0) == 0
    start = total - PAGE - n if at_end else PAGE
    arr = np.frombuffer(m, raw.dtype, raw.size, start).reshape(raw.shape)
    arr[...] = raw
    keep.append(m)
    return arr


vb = compiler.vector_bytes()
rng = np.random.default_rng(0)
for dtype in (np.float32, np.float64):
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib = compiler.library(gemm.define(dtype, vb))
    f = ctypes.CFUNCTYPE(None, i64, i64, i64, ptr, i64, i64, ptr, i64, i64, ptr, i64, ptr)(
        lib.address(gemm.symbol(dtype)))
    part = ctypes.CFUNCTYPE(None, ptr, i64, i64, i64)(lib.address(gemm.part_symbol(dtype)))
    it = np.dtype(dtype).itemsize
    for (m, n, k), at_end, ta, tb, rev in itertools.product(
            [(1, 1, 2), (5, 3, 7), (13, 33, 17), (100, 100, 100), (25, 70, 300)],
            (True, False), (False, True), (False, True), (False, True)):
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
        A, B = fenced(a, at_end), fenced(b, at_end)
        A, B = (A.T if ta else A), (B.T if tb else B)
        if rev:
            A, B = A[::-1, ::-1], B[::-1, ::-1]
        C = fenced(np.zeros((m, n), dtype), at_end)
        S = fenced(np.zeros(gemm.scratch_bytes(m, n, k, dtype, vb) // it, dtype), at_end)
        f(m, n, k, A.__array_interface__["data"][0], A.strides[0] // it, A.strides[1] // it,
          B.__array_interface__["data"][0], B.strides[0] // it, B.strides[1] // it,
          C.__array_interface__["data"][0], n, S.__array_interface__["data"][0])
        ref = A.astype(np.float64) @ B.astype(np.float64)
        assert np.allclose(C, ref, rtol=1e-4, atol=1e-4 * k), (m, n, k, at_end, ta, tb, rev)
        # the same product as 3 threads share it (thread slot s takes ranges s, s + 3 of
        # the micro-tiles), along rows, then columns
        for axis in (0, 1):
            C2 = fenced(np.zeros((m, n), dtype), at_end)
            S = fenced(np.zeros(gemm.scratch_bytes(m, n, k, dtype, vb, 3, axis) // it,
                                dtype), at_end)
            count, _ = gemm.tiles(m, n, axis, dtype, vb)
            cut = gemm.pieces(count, 3)
            block = np.array([m, n, k, A.__array_interface__["data"][0], A.strides[0] // it,
                              A.strides[1] // it, B.__array_interface__["data"][0],
                              B.strides[0] // it, B.strides[1] // it,
                              C2.__array_interface__["data"][0], n,
                              S.__array_interface__["data"][0], cut, axis], np.int64)
            for p in range(cut):
                part(block.ctypes.data, p * count // cut, (p + 1) * count // cut, p % 3)
            assert np.array_equal(C2, C), (m, n, k, at_end, ta, tb, rev, axis)
print("ok")
"""


def test_no_read_or_write_outside_any_operand():
    # operands, output and scratch each sit against inaccessible pages, both ends in turn
    root = pathlib.Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    r = subprocess.run([sys.executable, "-c", FENCED], cwd=root, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]
