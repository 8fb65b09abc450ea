"""Lowerings of the steps that are not fused loops, keyed by primitive: each takes an
``Opaque`` step, its function name and the parameter name of every buffer it touches,
and returns (function text, builder).

``name`` (a checkpoint tag, normally dropped by ``rewrite.optimize``) copies its operand, so a
program compiles whatever passes ran; ``custom_lin`` (the tangent of a ``custom_vjp``
function, staged by ``jit`` of a ``jvp`` or ``linearize``) raises the reference
interpreter's error at compile time.

``dot_general`` calls the OpenBLAS that numpy ships (``scipy_cblas_[sd]gemm64_``, ILP64)
when both operands are views a GEMM can read directly (a transpose becomes a ``Trans``
flag, never a copy), one call per batch index; anything else (integers, mixed types,
strides BLAS cannot take) runs as a plain loop nest.
"""

from __future__ import annotations

import numpy as np

from functorch_lite.checkpoint import name_p
from functorch_lite.custom import custom_lin_p
from functorch_lite.fusion import View, contiguous_strides
from functorch_lite.ir import Literal
from functorch_lite.primitives import linalg

from . import movement
from .emit import Builder, Loops, const, element, function, index, load, ltype, store
from .lowering import convert

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
GEMM = {"float32": ("scipy_cblas_sgemm64_", "float"), "float64": ("scipy_cblas_dgemm64_",
                                                                   "double")}


def _group(view: View, dims) -> tuple[int, int] | None:
    """(size, stride) of ``dims`` walked as one row-major dimension, or None."""
    dims = [d for d in dims if view.shape[d] != 1]
    size = int(np.prod([view.shape[d] for d in dims], dtype=np.int64))
    if not dims:
        return 1, 0
    for a, c in zip(dims, dims[1:]):
        if view.strides[a] != view.strides[c] * view.shape[c]:
            return None
    return size, view.strides[dims[-1]]


def _matrix(view: View, rows, cols):
    """(rows, cols, leading dimension, transposed?) for BLAS, or None when no leading
    dimension describes the view (e.g. a broadcast row with stride 0)."""
    r, c = _group(view, rows), _group(view, cols)
    if r is None or c is None:
        return None
    (nr, sr), (nc, sc) = r, c
    if (nc == 1 or sc == 1) and (nr == 1 or sr >= max(nc, 1)):
        return nr, nc, sr if nr > 1 else max(nc, 1), False
    if (nr == 1 or sr == 1) and (nc == 1 or sc >= max(nr, 1)):
        return nr, nc, sc if nc > 1 else max(nr, 1), True
    return None


def _free(ndim, contract, batch):
    return [i for i in range(ndim) if i not in contract and i not in batch]


def _dot_general(step, name, params):
    e = step.eqn
    lhs, rhs = step.inputs
    if isinstance(lhs, Literal) or isinstance(rhs, Literal):
        raise NotImplementedError("llvm backend: dot_general of a literal")
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    out = e.outvars[0]
    ot = ltype(out.aval.dtype)
    lt, rt = ltype(e.invars[0].aval.dtype), ltype(e.invars[1].aval.dtype)
    lf = _free(len(lhs.shape), lc, lb)
    rf = _free(len(rhs.shape), rc, rb)
    b = Builder()
    b.externals = set()
    pl, pr, po = params[id(lhs.base)], params[id(rhs.base)], params[id(out)]
    bsizes = [lhs.shape[d] for d in lb]
    m = int(np.prod([lhs.shape[d] for d in lf], dtype=np.int64))
    n = int(np.prod([rhs.shape[d] for d in rf], dtype=np.int64))
    k = int(np.prod([lhs.shape[d] for d in lc], dtype=np.int64))
    nbatch = int(np.prod(bsizes, dtype=np.int64))
    a = _matrix(lhs, lf, list(lc))
    bm = _matrix(rhs, list(rc), rf)
    blas = (ot.dtype.name in GEMM and lt == ot and rt == ot and a is not None
            and bm is not None and m > 0 and n > 0
            and min(lhs.strides + rhs.strides, default=0) >= 0)
    if nbatch == 0 or m == 0 or n == 0:
        return function(name, params, b, noalias=False), b
    if blas and k <= 1:
        # no sum (an outer product, k == 1): BLAS would zero the output, then add the
        # products; the loop nest writes each product once, vectorized along the row
        blas = False
    if blas:
        fn, fty = GEMM[ot.dtype.name]
        b.externals.add(fn)
        b.intrinsics.add(f"declare void @{fn}(i32, i32, i32, i64, i64, i64, {fty}, ptr, i64, "
                         f"ptr, i64, {fty}, ptr, i64)")
        loops = Loops(b, "bt")
        idx = loops.nest(bsizes)
        oa = index(b, idx, [lhs.strides[d] for d in lb], lhs.offset)
        ob = index(b, idx, [rhs.strides[d] for d in rb], rhs.offset)
        oc = index(b, idx, [s * m * n for s in contiguous_strides(bsizes)])
        _, _, lda, ta = a
        _, _, ldb, tb = bm
        pa, pb, pc = element(b, pl, lt, oa), element(b, pr, rt, ob), element(b, po, ot, oc)
        b.do(f"call void @{fn}(i32 {ROW_MAJOR}, i32 {TRANS if ta else NO_TRANS}, "
             f"i32 {TRANS if tb else NO_TRANS}, i64 {m}, i64 {n}, i64 {k}, "
             f"{fty} {const(1, ot)}, ptr {pa}, i64 {lda}, ptr {pb}, i64 {ldb}, "
             f"{fty} {const(0, ot)}, ptr {pc}, i64 {n})")
        loops.close_all()
        return function(name, params, b, noalias=False), b
    # loop nest: batch, lhs free, rhs free, then the contraction innermost
    lfs = [lhs.shape[d] for d in lf]
    rfs = [rhs.shape[d] for d in rf]
    csz = [lhs.shape[d] for d in lc]
    loops = Loops(b, "d")
    idx = loops.nest(bsizes + lfs + rfs)
    ib, il, ir = idx[:len(lb)], idx[len(lb):len(lb) + len(lf)], idx[len(lb) + len(lf):]
    out_strides = contiguous_strides(bsizes + lfs + rfs)
    acc = b.alloca(ot.reg)
    b.do(f"store {ot.reg} {const(0, ot)}, ptr {acc}")
    inner = Loops(b, "c")
    cidx = inner.nest(csz)
    li = index(b, ib + il + cidx, [lhs.strides[d] for d in list(lb) + lf + list(lc)],
                lhs.offset)
    ri = index(b, ib + ir + cidx, [rhs.strides[d] for d in list(rb) + rf + list(rc)],
                rhs.offset)
    x = convert(b, lt, ot, load(b, pl, lt, li))
    y = convert(b, rt, ot, load(b, pr, rt, ri))
    cur = b.emit(f"load {ot.reg}, ptr {acc}")
    if ot.kind == "f":
        prod = b.emit(f"fmul {ot.reg} {x}, {y}")
        s = b.emit(f"fadd reassoc {ot.reg} {cur}, {prod}")
    elif ot.kind == "b":
        prod = b.emit(f"and i1 {x}, {y}")
        s = b.emit(f"or i1 {cur}, {prod}")
    else:
        prod = b.emit(f"mul {ot.reg} {x}, {y}")
        s = b.emit(f"add {ot.reg} {cur}, {prod}")
    b.do(f"store {ot.reg} {s}, ptr {acc}")
    inner.close_all()
    final = b.emit(f"load {ot.reg}, ptr {acc}")
    store(b, po, ot, index(b, idx, out_strides), final)
    loops.close_all()
    return function(name, params, b, noalias=False), b


def _identity(step, name, params):
    """The operand (a view) copied to the output, element by element."""
    (x,) = step.inputs
    out = step.eqn.outvars[0]
    t = ltype(out.aval.dtype)
    b = Builder()
    loops = Loops(b, "id")
    idx = loops.nest(x.shape)
    v = load(b, params[id(x.base)], t, index(b, idx, x.strides, x.offset))
    store(b, params[id(out)], t, index(b, idx, contiguous_strides(x.shape)), v)
    loops.close_all()
    return function(name, params, b), b


def _custom_lin(step, name, params):
    # the numpy interpreter raises this when the program runs; no code could do better
    custom_lin_p.impl(**step.eqn.params)
    raise AssertionError("custom_lin's impl always raises")


OPAQUE = {linalg.dot_general_p: _dot_general, name_p: _identity, custom_lin_p: _custom_lin,
          **movement.LOWERINGS}
