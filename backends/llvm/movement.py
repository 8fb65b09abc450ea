"""Native lowerings of the data-movement and ordering primitives: ``pad``, ``concatenate``,
``gather`` and ``scatter`` with index arrays, ``cumsum``, ``argmax``/``argmin``, ``argsort``,
``window_patches`` (im2col) and ``window_overlap_add`` (col2im).

Each rule has the ``OPAQUE`` signature ``rule(step, name, params) -> (function text,
builder)`` and gives exactly the answers of the primitive's numpy ``impl``: the same
element order for every sequential float sum (cumsum, scatter-add, overlap-add), numpy's
NaN rules (first NaN wins in argmax/argmin, NaNs sort last), last-write-wins for
duplicate indices of scatter-set. Every computed index is wrapped and clamped, or
proven in range by a static bound, so no access leaves its buffer; an operation numpy
rejects (an index into an empty axis, argmax of an empty axis) raises when compiled.

>>> import functorch_lite as fl, functorch_lite.numpy as fnp
>>> f = fl.jit(lambda x: fnp.cumsum(x), backend="llvm")
>>> f(np.arange(4.0)).tolist()
[0.0, 1.0, 3.0, 6.0]
"""

from __future__ import annotations

import numpy as np

from functorch_lite.fusion import View, contiguous_strides
from functorch_lite.ir import Literal
from functorch_lite.primitives import conv, reduce, shape
from functorch_lite.primitives import elementwise as E
from functorch_lite.primitives.index import gather_p, scatter_p, spec_layout

from .emit import I64, Builder, Loops, LType, const, function, load, ltype, store
from .emit import index as flat
from .lowering import ELEMENTWISE, convert, reduction

I32 = ltype(np.int32)
COMBINE = {"add": E.add_p, "mul": E.mul_p, "max": E.max_p, "min": E.min_p}


def _size(shp) -> int:
    return int(np.prod(shp, dtype=np.int64))


def _read(b: Builder, x, t: LType, params, idx) -> str:
    """Element ``idx`` (one i64 value per dim) of an operand: a View or a scalar Literal."""
    if isinstance(x, Literal):
        return const(np.asarray(x.val), t)
    return load(b, params[id(x.base)], t, flat(b, idx, x.strides, x.offset))


def _fill(b: Builder, ptr: str, t: LType, n: int, value) -> None:
    """``ptr[0:n] = value`` (a numpy scalar of ``t``'s dtype)."""
    loops = Loops(b, "fill")
    store(b, ptr, t, loops.open(n), const(value, t))
    loops.close()


def _copy(b: Builder, x, t: LType, params, shp, ptr: str, strides, offset: int = 0) -> None:
    """Write operand ``x`` (of shape ``shp``) to ``ptr[offset + i . strides]``."""
    loops = Loops(b, "copy")
    idx = loops.nest(shp)
    store(b, ptr, t, flat(b, idx, strides, offset), _read(b, x, t, params, idx))
    loops.close_all()


def _combine(b: Builder, prim, t: LType, x: str, y: str) -> str:
    return ELEMENTWISE[prim](b, [t, t], t, [x, y], {})


def _pick(b: Builder, c: str, ty: str, x: str, y: str) -> str:
    """``c ? x : y`` for a data-dependent ``c``: marked unpredictable so that LLVM keeps a
    conditional move instead of a branch that mispredicts half the time."""
    return b.emit(f"select i1 {c}, {ty} {x}, {ty} {y}, !unpredictable !{{}}")


def _minmax(b: Builder, op: str, x: str, y: str) -> str:
    return b.intrinsic(f"llvm.{op}.i64", "i64", [("i64", x), ("i64", y)])


def _out(step, params, k: int = 0):
    """(Var, LType, pointer, row-major strides) of output ``k``."""
    v = step.eqn.outvars[k]
    return v, ltype(v.aval.dtype), params[id(v)], contiguous_strides(v.aval.shape)


def _done(name, params, b):
    return function(name, params, b, noalias=False), b


# --------------------------------------------------------------------------- pad, concatenate


def _pad(step, name, params):
    """Fill with ``value`` (when anything is padding), then copy the part of the operand
    that survives negative padding to its strided place: O(output + operand)."""
    e, b = step.eqn, Builder()
    (x,) = step.inputs
    out, t, po, ostr = _out(step, params)
    xshape = e.invars[0].aval.shape
    starts, counts, dst_strides, offset = [], [], [], 0
    for n, m, st, (lo, _, interior) in zip(xshape, out.aval.shape, ostr,
                                           e.params["padding_config"]):
        gap = interior + 1
        # source i lands at lo + i * gap; keep those inside [0, m)
        first = -(-max(-lo, 0) // gap)
        last = min(n, (m - 1 - lo) // gap + 1) if m - 1 - lo >= 0 else 0
        starts.append(first)
        counts.append(max(last - first, 0))
        dst_strides.append(st * gap)
        offset += (lo + first * gap) * st
    if _size(counts) < _size(out.aval.shape):
        _fill(b, po, t, _size(out.aval.shape), np.asarray(e.params["value"], t.dtype))
    if _size(counts):
        src = x if isinstance(x, Literal) else x.slice(
            starts, [s + c for s, c in zip(starts, counts)], [1] * len(starts))
        _copy(b, src, t, params, counts, po, dst_strides, offset)
    return _done(name, params, b)


def _concatenate(step, name, params):
    """One copy loop per operand into its slab of the output: O(output)."""
    e, b = step.eqn, Builder()
    out, t, po, ostr = _out(step, params)
    dim, start = e.params["dimension"], 0
    for x, v in zip(step.inputs, e.invars):
        _copy(b, x, t, params, v.aval.shape, po, ostr, start * ostr[dim])
        start += v.aval.shape[dim]
    return _done(name, params, b)


# --------------------------------------------------------------------------- gather, scatter


def _clamp_index(b: Builder, t: LType, i: str, n: int) -> str:
    """An index-array value as numpy's ``_np_index`` reads it: negative values wrap once,
    then clamp into ``[0, max(n - 1, 0)]`` (as i64)."""
    top = str(max(n - 1, 0))
    if t.kind in "ub":
        wide = i if t.bits == 64 else b.emit(f"zext {t.reg} {i} to i64")
        return _minmax(b, "umin", wide, top)  # unsigned: u64 beyond 2**63 stays large
    wide = i if t.bits == 64 else b.emit(f"sext {t.reg} {i} to i64")
    neg = b.emit(f"icmp slt i64 {wide}, 0")
    shifted = b.emit(f"add i64 {wide}, {n}")
    wrapped = b.select(neg, "i64", shifted, wide)
    return _minmax(b, "smin", _minmax(b, "smax", wrapped, "0"), top)


class _Indexer:
    """Where element ``oidx`` of ``operand[spec, arrays...]`` lives in the operand: the
    shared address computation of gather (a read) and scatter (a write)."""

    def __init__(self, step, params, op_shape, spec, first):
        self.params, self.spec, self.op_shape = params, spec, op_shape
        avals = [v.aval for v in step.eqn.invars[first:]]
        self.shape, self.adv_pos, self.bshape = spec_layout(op_shape, spec,
                                                            [a.shape for a in avals])
        self.arrays = []
        for x, a in zip(step.inputs[first:], avals):
            if isinstance(x, View):  # broadcast to the common index shape: stride 0
                r = len(self.bshape)
                x = x.broadcast(self.bshape, tuple(range(r - len(a.shape), r)))
            self.arrays.append((x, ltype(a.dtype)))
        if _size(op_shape) == 0 and _size(self.shape) > 0:
            raise IndexError(f"gather/scatter: index into an empty axis of shape {op_shape} "
                             f"(spec {spec})")

    def walk(self, b: Builder, loops: Loops) -> tuple[list[str], list[str]]:
        """Open loops over the result; returns its coordinates and the operand's (i64
        values). The index arrays are read and clamped once per broadcast position,
        before the loops of the dims after them: the step's buffers may alias, so LLVM
        would not hoist those loads out of the inner loops itself."""
        nb, p = len(self.bshape), self.adv_pos
        if p is None:
            idx = loops.nest(self.shape)
            return idx, self._coords(b, idx, {})
        head = loops.nest(self.shape[:p + nb])
        read, d = {}, 0
        for e in self.spec:
            if e[0] == "i":
                x, t = self.arrays[e[1]]
                value = _read(b, x, t, self.params, head[p:])
                read[d] = _clamp_index(b, t, value, self.op_shape[d])
            d += e[0] != "n"
        idx = head + loops.nest(self.shape[p + nb:])
        return idx, self._coords(b, idx[:p] + idx[p + nb:], read)

    def _coords(self, b: Builder, basic, read) -> list[str]:
        """Operand coordinates from the result's basic (slice and new-axis) coordinates
        and the clamped index-array values ``read`` (by operand dim)."""
        out, j, d = [], 0, 0
        for e in self.spec:
            if e[0] == "n":
                j += 1
                continue
            n = self.op_shape[d]
            if e[0] == "s":
                start, _, step = e[1:]
                i = basic[j]
                scaled = i if step == 1 else b.emit(f"mul i64 {i}, {step}")
                out.append(scaled if start == 0 else b.emit(f"add i64 {scaled}, {start}"))
                j += 1
            elif e[0] == "c":
                c = e[1] + n if e[1] < 0 else e[1]
                if not 0 <= c < n:
                    raise IndexError(f"index {e[1]} is out of bounds for axis {d} with size {n}")
                out.append(str(c))
            else:
                out.append(read[d])
            d += 1
        return out


def _gather(step, name, params):
    """A loop over the result; each element reads the operand at its (clamped) index:
    O(result)."""
    e, b = step.eqn, Builder()
    x = step.inputs[0]
    out, t, po, ostr = _out(step, params)
    ix = _Indexer(step, params, e.invars[0].aval.shape, e.params["spec"], 1)
    loops = Loops(b, "g")
    idx, at = ix.walk(b, loops)
    val = _read(b, x, t, params, at)
    store(b, po, t, flat(b, idx, ostr), val)
    loops.close_all()
    return _done(name, params, b)


def _scatter(step, name, params):
    """Copy the operand, then apply the updates one by one in row-major order (numpy's
    order: the last of duplicate ``set`` writes wins; add/mul/max/min accumulate as
    ``ufunc.at``): O(operand + updates)."""
    e, b = step.eqn, Builder()
    x, upd = step.inputs[:2]
    out, t, po, ostr = _out(step, params)
    op_shape = e.invars[0].aval.shape
    ix = _Indexer(step, params, op_shape, e.params["spec"], 2)
    _copy(b, x, t, params, op_shape, po, ostr)
    loops = Loops(b, "s")
    idx, at = ix.walk(b, loops)
    u = _read(b, upd, t, params, idx)
    at = flat(b, at, ostr)
    mode = e.params["mode"]
    if mode != "set":
        u = _combine(b, COMBINE[mode], t, load(b, po, t, at), u)
    store(b, po, t, at, u)
    loops.close_all()
    return _done(name, params, b)


# --------------------------------------------------------------------------- scans along an axis


def _split(shp, axis):
    return list(shp[:axis]), shp[axis], list(shp[axis + 1:])


def _cumsum(step, name, params):
    """Sequential sums in numpy's order (first element as is, then running ``+``), with
    the scanned axis outside the dims after it so those vectorize: O(n)."""
    e, b = step.eqn, Builder()
    (x,) = step.inputs
    out, t, po, ostr = _out(step, params)
    axis, rev = e.params["axis"], e.params.get("reverse", False)
    outer, n, inner = _split(out.aval.shape, axis)
    if n == 0 or _size(out.aval.shape) == 0:
        return _done(name, params, b)
    first = str(n - 1 if rev else 0)
    loops = Loops(b, "c0")
    o, i = loops.nest(outer), loops.nest(inner)
    at = o + [first] + i
    store(b, po, t, flat(b, at, ostr), _read(b, x, t, params, at))
    loops.close_all()
    loops = Loops(b, "c1")
    o, j = loops.nest(outer), loops.open(n - 1)
    if rev:  # positions n-2 .. 0, each after its successor
        a = b.emit(f"sub i64 {n - 2}, {j}")
        prev = b.emit(f"add i64 {a}, 1")
    else:
        a = b.emit(f"add i64 {j}, 1")
        prev = j
    i = loops.nest(inner)
    at = o + [a] + i
    acc = load(b, po, t, flat(b, o + [prev] + i, ostr))
    store(b, po, t, flat(b, at, ostr),
          _combine(b, E.add_p, t, acc, _read(b, x, t, params, at)))
    loops.close_all()
    return _done(name, params, b)


def _before(b: Builder, t: LType, x: str, y: str, mirrored: bool) -> str:
    """``x`` strictly before ``y`` in numpy's sorting order (NaNs last, equal to each
    other), or, ``mirrored``, strictly after it."""
    if mirrored:
        x, y = y, x
    if t.kind == "f":
        lt = b.emit(f"fcmp olt {t.reg} {x}, {y}")
        y_nan = b.emit(f"fcmp uno {t.reg} {y}, {y}")
        x_num = b.emit(f"fcmp ord {t.reg} {x}, {x}")
        return b.emit(f"or i1 {lt}, {b.emit(f'and i1 {y_nan}, {x_num}')}")
    return b.emit(f"icmp {'slt' if t.kind == 'i' else 'ult'} {t.reg} {x}, {y}")


def _improves(b: Builder, t: LType, v: str, cur: str, greater: bool) -> str:
    """numpy's argmax (argmin) step: ``v`` replaces the best ``cur`` when strictly greater
    (less), or when it is the first NaN."""
    if t.kind == "f":
        strict = b.emit(f"fcmp {'ogt' if greater else 'olt'} {t.reg} {v}, {cur}")
        v_nan = b.emit(f"fcmp uno {t.reg} {v}, {v}")
        cur_num = b.emit(f"fcmp ord {t.reg} {cur}, {cur}")
        return b.emit(f"or i1 {strict}, {b.emit(f'and i1 {v_nan}, {cur_num}')}")
    pred = ("sgt" if greater else "slt") if t.kind == "i" else ("ugt" if greater else "ult")
    return b.emit(f"icmp {pred} {t.reg} {v}, {cur}")


def _argext(greater: bool):
    def rule(step, name, params):
        """numpy's argmax/argmin (first occurrence; the first NaN wins). A row that is
        contiguous in the loop order takes two vectorizable passes: the extreme value
        (NaN-propagating), then the first position equal to it (or the first NaN).
        Otherwise the output holds each row's best position so far while the axis is
        walked outside the dims after it, and each step compares with the value at
        that position: O(n) either way."""
        e, b = step.eqn, Builder()
        (x,) = step.inputs
        out, ot, po, ostr = _out(step, params)
        t = ltype(e.invars[0].aval.dtype)
        (axis,) = e.params["axes"]
        outer, n, inner = _split(e.invars[0].aval.shape, axis)
        if n == 0:  # numpy raises even when the result is empty
            raise ValueError(f"{e.prim.name}: attempt to get {e.prim.name} of an empty sequence")
        if _size(out.aval.shape) == 0:
            return _done(name, params, b)
        loops = Loops(b, "a")
        if _size(inner) > 1 and np.iinfo(ot.dtype).max >= n - 1:
            o, i = loops.nest(outer), loops.nest(inner)
            store(b, po, ot, flat(b, o + i, ostr), const(0, ot))
            loops.close_all()
            o, j, i = loops.nest(outer), loops.open(n - 1), loops.nest(inner)
            a = b.emit(f"add i64 {j}, 1")
            at = flat(b, o + i, ostr)
            best = convert(b, ot, I64, load(b, po, ot, at))
            cur = _read(b, x, t, params, o + [best] + i)
            take = _improves(b, t, _read(b, x, t, params, o + [a] + i), cur, greater)
            store(b, po, ot, at, b.select(take, ot.reg, convert(b, I64, ot, a),
                                          convert(b, I64, ot, best)))
            loops.close_all()
            return _done(name, params, b)
        o, i = loops.nest(outer), loops.nest(inner)
        identity, combine = reduction("reduce_max" if greater else "reduce_min", t)
        m = b.alloca(t.reg)
        b.do(f"store {t.reg} {identity}, ptr {m}")
        scan = Loops(b, "am")
        v = _read(b, x, t, params, o + [scan.open(n)] + i)
        b.do(f"store {t.reg} {combine(b, b.emit(f'load {t.reg}, ptr {m}'), v)}, ptr {m}")
        scan.close()
        best = b.emit(f"load {t.reg}, ptr {m}")
        first = b.alloca("i64")
        b.do(f"store i64 {n - 1}, ptr {first}")
        find = Loops(b, "af")
        a = find.open(n)
        v = _read(b, x, t, params, o + [a] + i)
        if t.kind == "f":  # the extreme is NaN exactly when some element is
            best_nan = b.emit(f"fcmp uno {t.reg} {best}, {best}")
            hit = b.select(best_nan, "i1", b.emit(f"fcmp uno {t.reg} {v}, {v}"),
                           b.emit(f"fcmp oeq {t.reg} {v}, {best}"))
        else:
            hit = b.emit(f"icmp eq {t.reg} {v}, {best}")
        cand = b.select(hit, "i64", a, str(n - 1))
        b.do(f"store i64 {_minmax(b, 'umin', b.emit(f'load i64, ptr {first}'), cand)}, "
             f"ptr {first}")
        find.close()
        res = convert(b, I64, ot, b.emit(f"load i64, ptr {first}"))
        store(b, po, ot, flat(b, o + i, ostr), res)
        loops.close_all()
        return _done(name, params, b)

    return rule


def _argsort(step, name, params):
    """Stable bottom-up merge sort of each row's positions, with no scratch memory: every
    int64 output slot holds two int32 positions, the low half one buffer and the high
    half the other, and each pass merges runs of width 1, 2, 4... from one half into the
    other; the last pass's half is widened in place. Merges take the left run's element
    unless the right one is strictly before it (stable); the descending order is the
    same merge with the comparison mirrored, which equals ``_argsort_impl``'s
    flip-sort-flip. O(n log n) per row of n, all indices clamped into the row."""
    e, b = step.eqn, Builder()
    (x,) = step.inputs
    out, ot, po, ostr = _out(step, params)
    t = ltype(e.invars[0].aval.dtype)
    axis, desc = e.params["axis"], e.params.get("descending", False)
    outer, n, inner = _split(e.invars[0].aval.shape, axis)
    if n == 0 or _size(out.aval.shape) == 0:
        return _done(name, params, b)
    if n >= 2 ** 31:
        raise NotImplementedError(f"argsort: rows of {n} elements (at most 2**31 - 1)")
    passes = (n - 1).bit_length()
    loops = Loops(b, "r")
    o, i = loops.nest(outer), loops.nest(inner)
    row = flat(b, o + ["0"] + i, ostr)  # the row's first slot; its slots are `step` apart
    step_ = ostr[axis]

    def half(h, k):  # the i32 element of half h (0/1 value) of slot k
        s = b.emit(f"mul i64 {k}, {step_ * 2}")
        s = b.emit(f"add i64 {s}, {h}")
        return b.emit(f"add i64 {s}, {b.emit(f'mul i64 {row}, 2')}")

    def key(pos32):
        p = b.emit(f"sext i32 {pos32} to i64")
        return _read(b, x, t, params, o + [p] + i)

    init = Loops(b, "ri")
    k = init.open(n)
    store(b, po, I32, half("0", k), b.emit(f"trunc i64 {k} to i32"))
    init.close()
    ps = Loops(b, "rp")
    p = ps.open(passes)
    width = b.emit(f"shl i64 1, {p}")
    src = b.emit(f"and i64 {p}, 1")
    dst = b.emit(f"xor i64 {src}, 1")
    span = b.emit(f"shl i64 {width}, 1")
    nblocks = b.emit(f"udiv i64 {b.emit(f'add i64 {n - 1}, {span}')}, {span}")
    blocks = Loops(b, "rb")
    blk = blocks.open(nblocks)
    lo = b.emit(f"mul i64 {blk}, {span}")
    mid = _minmax(b, "smin", b.emit(f"add i64 {lo}, {width}"), str(n))
    hi = _minmax(b, "smin", b.emit(f"add i64 {lo}, {span}"), str(n))
    last_l, last_r = b.emit(f"sub i64 {mid}, 1"), b.emit(f"sub i64 {hi}, 1")

    def fetch(k, last):
        """The position at ``src[min(k, last)]`` (a clamped read inside the block: flags
        discard what a run's end sees) and its key."""
        pos = load(b, po, I32, half(src, _minmax(b, "smin", k, last)))
        return pos, key(pos)

    # each run's head (position, key) lives in registers; the next candidates are loaded
    # before the comparison decides, so the loads leave the loop's critical path
    names = ("i64", "i64", "i32", t.reg, "i32", t.reg)
    cells = [b.alloca(ty) for ty in names]
    for cell, ty, v in zip(cells, names, (lo, mid) + fetch(lo, last_l) + fetch(mid, last_r)):
        b.do(f"store {ty} {v}, ptr {cell}")
    merge = Loops(b, "rm")
    m = merge.open(b.emit(f"sub i64 {hi}, {lo}"))
    li, ri, lp, lk, rp, rk = (b.emit(f"load {ty}, ptr {c}") for ty, c in zip(names, cells))
    right_left = b.emit(f"icmp slt i64 {ri}, {hi}")
    left_done = b.emit(f"icmp sge i64 {li}, {mid}")
    before = _before(b, t, rk, lk, desc)
    take = b.emit(f"and i1 {right_left}, {b.emit(f'or i1 {left_done}, {before}')}")
    store(b, po, I32, half(dst, b.emit(f"add i64 {lo}, {m}")), _pick(b, take, "i32", rp, lp))
    nl, nlk = fetch(b.emit(f"add i64 {li}, 1"), last_l)
    nr, nrk = fetch(b.emit(f"add i64 {ri}, 1"), last_r)
    step_r = b.emit(f"zext i1 {take} to i64")
    new = (b.emit(f"add i64 {li}, {b.emit(f'xor i64 {step_r}, 1')}"),
           b.emit(f"add i64 {ri}, {step_r}"),
           _pick(b, take, "i32", lp, nl), _pick(b, take, t.reg, lk, nlk),
           _pick(b, take, "i32", nr, rp), _pick(b, take, t.reg, nrk, rk))
    for cell, ty, v in zip(cells, names, new):
        b.do(f"store {ty} {v}, ptr {cell}")
    merge.close()
    blocks.close()
    ps.close()
    fin = Loops(b, "rw")
    k = fin.open(n)
    pos = load(b, po, I32, half(str(passes % 2), k))
    slot = b.emit(f"add i64 {row}, {b.emit(f'mul i64 {k}, {step_}')}")
    store(b, po, ot, slot, b.emit(f"sext i32 {pos} to i64"))
    fin.close()
    loops.close_all()
    return _done(name, params, b)


# --------------------------------------------------------------------------- sliding windows


def _opaque(b: Builder, n: str) -> str:
    """``n``, hidden from the optimiser (an empty inline asm that returns its operand).

    A short inner loop with a constant trip count (a window op's row of 30) is fully
    unrolled by LLVM, which then vectorizes the loop around it with gathers and
    scatters: 10-20x slower than vectorizing the row itself, which it does when the
    count is unknown."""
    return b.emit(f'call i64 asm "", "=r,0"(i64 {n})')


def _window_nest(b: Builder, loops: Loops, lead, window, spatial, out_spatial, p,
                 rmw: bool = False):
    """Open loops over the lead dims, the window offsets ``k`` and, per spatial dim, the
    output positions ``o`` whose input position ``o*stride + k*dilation - lo`` lies
    inside the operand (a range computed per ``k``); returns (lead, k, o, input pos).
    The innermost count is hidden from LLVM (``_opaque``) when that loop walks memory
    contiguously or updates it in place (``rmw``), where vectorizing it pays."""
    li = loops.nest(lead)
    ki = loops.nest(window)
    ranges = []
    for k, n, m, s, d, (lo, hi) in zip(ki, spatial, out_spatial, p["strides"], p["dilation"],
                                       p["padding"]):
        if lo == 0 and hi == 0:  # every position is inside
            ranges.append(("0", str(m)))
            continue
        # o >= ceil((lo - k*d) / s) and o*s <= n - 1 + lo - k*d
        a = b.emit(f"sub i64 {lo}, {b.emit(f'mul i64 {k}, {d}')}")
        up = b.emit(f"add i64 {_minmax(b, 'smax', a, '0')}, {s - 1}")
        first = b.emit(f"sdiv i64 {up}, {s}")
        c = b.emit(f"add i64 {a}, {n - 1}")
        stop = b.emit(f"add i64 {b.emit(f'sdiv i64 {c}, {s}')}, 1")
        stop = b.select(b.emit(f"icmp slt i64 {c}, 0"), "i64", "0", stop)
        stop = _minmax(b, "smin", stop, str(m))
        ranges.append((first, _minmax(b, "smax", b.emit(f"sub i64 {stop}, {first}"), "0")))
    if ranges and (rmw or p["strides"][-1] == 1):
        ranges[-1] = (ranges[-1][0], _opaque(b, ranges[-1][1]))
    oi, pi = [], []
    for k, (first, count), s, d, (lo, _) in zip(ki, ranges, p["strides"], p["dilation"],
                                                p["padding"]):
        j = loops.open(count)
        o = j if first == "0" else b.emit(f"add i64 {first}, {j}")
        pos = b.emit(f"add i64 {b.emit(f'mul i64 {o}, {s}')}, {b.emit(f'mul i64 {k}, {d}')}")
        oi.append(o)
        pi.append(pos if lo == 0 else b.emit(f"sub i64 {pos}, {lo}"))
    return li, ki, oi, pi


def _window_patches(step, name, params):
    """Fill with ``pad_value`` when there is padding, then copy every in-range window
    entry: O(result)."""
    e, b = step.eqn, Builder()
    (x,) = step.inputs
    out, t, po, ostr = _out(step, params)
    p = e.params
    nw = len(p["window_shape"])
    xshape = e.invars[0].aval.shape
    lead, spatial = xshape[:len(xshape) - nw], xshape[len(xshape) - nw:]
    out_spatial = out.aval.shape[len(out.aval.shape) - nw:]
    total = _size(out.aval.shape)
    if total == 0:
        return _done(name, params, b)
    if any(lo or hi for lo, hi in p["padding"]):
        _fill(b, po, t, total, np.asarray(p.get("pad_value", 0.0)).astype(t.dtype))
    loops = Loops(b, "w")
    li, ki, oi, pi = _window_nest(b, loops, lead, p["window_shape"], spatial, out_spatial, p)
    store(b, po, t, flat(b, li + ki + oi, ostr), _read(b, x, t, params, li + pi))
    loops.close_all()
    return _done(name, params, b)


def _window_overlap_add(step, name, params):
    """Zero the result, then add every window entry back to its input position, window
    offsets in row-major order for each position as numpy's overlapping path does (and
    a plain store when windows are disjoint, as its strided assignment does):
    O(result + operand)."""
    e, b = step.eqn, Builder()
    (ct,) = step.inputs
    out, t, po, ostr = _out(step, params)
    p = e.params
    window = p["window_shape"]
    spatial = p["spatial_shape"]
    cshape = e.invars[0].aval.shape
    lead = cshape[:len(cshape) - 2 * len(window)]
    out_spatial = cshape[len(cshape) - len(window):]
    if _size(out.aval.shape) == 0:
        return _done(name, params, b)
    _fill(b, po, t, _size(out.aval.shape), np.zeros((), t.dtype))
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(window, p["strides"], p["dilation"]))
    loops = Loops(b, "w")
    li, ki, oi, pi = _window_nest(b, loops, lead, window, spatial, out_spatial, p,
                                  not disjoint)
    v = _read(b, ct, t, params, li + ki + oi)
    at = flat(b, li + pi, ostr)
    if not disjoint:
        v = _combine(b, E.add_p, t, load(b, po, t, at), v)
    store(b, po, t, at, v)
    loops.close_all()
    return _done(name, params, b)


LOWERINGS = {
    shape.pad_p: _pad,
    shape.concatenate_p: _concatenate,
    gather_p: _gather,
    scatter_p: _scatter,
    reduce.cumsum_p: _cumsum,
    reduce.argmax_p: _argext(True),
    reduce.argmin_p: _argext(False),
    reduce.argsort_p: _argsort,
    conv.window_patches_p: _window_patches,
    conv.window_overlap_add_p: _window_overlap_add,
}
