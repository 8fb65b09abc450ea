"""Lowerings of the steps that are not fused loops, keyed by primitive: each takes an
``Opaque`` step, its function name and the parameter name of every buffer it touches,
and returns (function text, builder).

``name`` (a checkpoint tag, normally dropped by ``rewrite.optimize``) copies its operand, so a
program compiles whatever passes ran; ``custom_lin`` (the tangent of a ``custom_vjp``
function, staged by ``jit`` of a ``jvp`` or ``linearize``) raises the reference
interpreter's error at compile time.

``dot_general`` on float32/float64 operands calls the blocked product of ``gemm.py``
(a library module compiled once per machine) with each operand's strides, so
transposed, broadcast or reversed operands are read where they are, never copied; one
call per batch index, with packing scratch in the program's arena. A product large
enough (``gemm.split``) is shared among the program's threads, which take pieces of C
(ranges of micro-tiles) in turn through ``fl_parallel``, each thread packing into
scratch of its own; with one thread it is the plain call. Anything else
(integers, mixed types, operand dims no stride can walk, a matrix-vector product,
a product with no sum) runs as a plain loop nest.
"""

from __future__ import annotations

import numpy as np

from functorch_lite.checkpoint import name_p
from functorch_lite.custom import custom_lin_p
from functorch_lite.fusion import View, contiguous_strides
from functorch_lite.ir import Literal
from functorch_lite.primitives import linalg

from . import gemm, movement
from .compiler import vector_bytes
from .emit import Builder, Loops, const, element, function, index, load, ltype, store
from .lowering import convert


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


def _free(ndim, contract, batch):
    return [i for i in range(ndim) if i not in contract and i not in batch]


def _gemm_plan(step):
    """(m, n, k, (A's row and sum strides), (B's sum and column strides)) when the blocked
    product runs this step, else None."""
    e = step.eqn
    lhs, rhs = step.inputs
    if isinstance(lhs, Literal) or isinstance(rhs, Literal):
        return None
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    ot = np.dtype(e.outvars[0].aval.dtype)
    if ot not in (np.float32, np.float64) or e.invars[0].aval.dtype != ot \
            or e.invars[1].aval.dtype != ot:
        return None
    lf, rf = _free(len(lhs.shape), lc, lb), _free(len(rhs.shape), rc, rb)
    am, ak = _group(lhs, lf), _group(lhs, list(lc))
    bk, bn = _group(rhs, list(rc)), _group(rhs, rf)
    if None in (am, ak, bk, bn):
        return None
    (m, sam), (k, sak), (_, sbk), (n, sbn) = am, ak, bk, bn
    # a matrix-vector product or no sum: the loop nest vectorizes along what there is
    if n < 2 or k < 2 or m < 1:
        return None
    return m, n, k, (sam, sak), (sbk, sbn)


def _gemm_split(step, plan) -> tuple[int, int]:
    """(axis, threads) of ``gemm.split`` for the product ``plan`` describes."""
    m, n, k, sa, sb = plan
    return gemm.split(m, n, k, sa, sb, step.eqn.outvars[0].aval.dtype, vector_bytes())


def _dot_scratch(step) -> int:
    """Bytes of arena scratch a ``dot_general`` step needs (packed blocks, one region per
    thread that may share the product)."""
    plan = _gemm_plan(step)
    if plan is None:
        return 0
    m, n, k, _, _ = plan
    axis, threads = _gemm_split(step, plan)
    return gemm.scratch_bytes(m, n, k, step.eqn.outvars[0].aval.dtype, vector_bytes(),
                              threads, axis)


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
    pl, pr, po = params[id(lhs.base)], params[id(rhs.base)], params[id(out)]
    bsizes = [lhs.shape[d] for d in lb]
    m = int(np.prod([lhs.shape[d] for d in lf], dtype=np.int64))
    n = int(np.prod([rhs.shape[d] for d in rf], dtype=np.int64))
    nbatch = int(np.prod(bsizes, dtype=np.int64))
    plan = _gemm_plan(step)
    if nbatch == 0 or m == 0 or n == 0:
        return function(name, params, b, noalias=False), b
    if plan is not None:
        _, _, k, (sam, sak), (sbk, sbn) = plan
        fn, part = gemm.symbol(out.aval.dtype), gemm.part_symbol(out.aval.dtype)
        lib = gemm.define(out.aval.dtype, vector_bytes())
        b.libraries = {fn: lib}
        b.intrinsics.add(f"declare void @{fn}(i64, i64, i64, ptr, i64, i64, ptr, i64, i64, "
                         "ptr, i64, ptr)")
        axis, threads = _gemm_split(step, plan)
        if threads > 1:  # the function takes the thread count (at most ``threads``) last
            b.parallel = threads
            b.libraries[part] = lib
            b.intrinsics.add(f"declare void @{part}(ptr, i64, i64, i64)")
            b.intrinsics.add("declare i64 @llvm.smin.i64(i64, i64)")
            count, _ = gemm.tiles(m, n, axis, out.aval.dtype, vector_bytes())
            block = b.alloca(f"[{len(gemm.PART_FIELDS)} x i64]")
        loops = Loops(b, "bt")
        idx = loops.nest(bsizes)
        oa = index(b, idx, [lhs.strides[d] for d in lb], lhs.offset)
        ob = index(b, idx, [rhs.strides[d] for d in rb], rhs.offset)
        oc = index(b, idx, [s * m * n for s in contiguous_strides(bsizes)])
        pa, pb, pc = element(b, pl, lt, oa), element(b, pr, rt, ob), element(b, po, ot, oc)
        call = (f"call void @{fn}(i64 {m}, i64 {n}, i64 {k}, ptr {pa}, i64 {sam}, i64 {sak}, "
                f"ptr {pb}, i64 {sbk}, i64 {sbn}, ptr {pc}, i64 {n}, ptr %scratch)")
        if threads > 1:
            # one thread: the plain call; more: they share pieces of C
            one = b.emit("icmp sle i64 %threads, 1")
            b.do(f"br i1 {one}, label %single, label %shared")
            b.label("single")
            b.do(call)
            b.do("br label %called")
            b.label("shared")
            cut = b.emit(f"mul i64 %threads, {gemm.PIECES_PER_THREAD}")
            cut = b.emit(f"call i64 @llvm.smin.i64(i64 {cut}, i64 {count})")  # gemm.pieces
            fields = dict(m=m, n=n, k=k, a=pa, sam=sam, sak=sak, b=pb, sbk=sbk, sbn=sbn,
                          c=pc, ldc=n, scratch="%scratch", pieces=cut, axis=axis)
            for i, field in enumerate(gemm.PART_FIELDS):
                at = b.emit(f"getelementptr i64, ptr {block}, i64 {i}")
                ty = "ptr" if field in ("a", "b", "c", "scratch") else "i64"
                b.do(f"store {ty} {fields[field]}, ptr {at}")
            b.do(f"call void @fl_parallel(ptr @{part}, ptr {block}, i64 {count}, "
                 f"i64 %threads, i64 {cut})")
            b.do("br label %called")
            b.label("called")
        else:
            b.do(call)
        loops.close_all()
        text = function(name, params, b, noalias=False)
        tail = ", ptr %scratch, i64 %threads" if threads > 1 else ", ptr %scratch"
        return text.replace(") #0 {", f"{tail}) #0 {{", 1), b
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
# bytes of arena scratch a step needs while it runs, for the steps that need any
SCRATCH = {linalg.dot_general_p: _dot_scratch}
