"""Indexing primitives: ``gather`` (numpy-style indexing on reads) and ``scatter``
(functional ``x.at[idx].set/add/multiply/max/min``).

Both take a static *index spec*, one entry per operand dimension consumed:
``("s", start, stop, step)`` a static slice, ``("c", i)`` a static integer,
``("i", k)`` the k-th index-array operand, ``("n",)`` a new axis. Result shapes
follow numpy's rules for mixing basic and advanced indices. Index arrays wrap
negative values once and are clamped into range, so no index is ever out of
bounds (JAX's choice; numpy would raise).
"""

from __future__ import annotations

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..placement import array_module, as_ndarray, is_gpu, to_host
from ..rules import Zero, is_undefined
from . import elementwise
from .elementwise import add, add_tangents, convert, div, eq, full_like, iota, mul
from .shape import (
    bdim_to_front,
    broadcast_in_dim,
    instantiate_zeros,
    moveaxis,
    reshape,
    transpose,
    zeros_like_aval,
)


def _slice_len(start, stop, step):
    return len(range(start, stop, step))


def spec_layout(op_shape, spec, idx_shapes):
    """(output shape, position of the broadcast index dims in it, broadcast index shape)."""
    has_arrays = any(e[0] == "i" for e in spec)
    basic, adv_at, adv_pos, dim = [], [], None, 0
    for pos, e in enumerate(spec):
        kind = e[0]
        if kind == "s":
            basic.append(_slice_len(*e[1:]))
            dim += 1
        elif kind == "n":
            basic.append(1)
        else:
            dim += 1
            if has_arrays:
                adv_at.append(pos)
                if adv_pos is None:
                    adv_pos = len(basic)
    if dim != len(op_shape):
        raise IndexError(f"gather: index spec consumes {dim} dims of shape {op_shape}")
    if not has_arrays:
        return tuple(basic), None, ()
    try:
        bshape = np.broadcast_shapes(*[tuple(s) for s in idx_shapes])
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together with "
                         "shapes " + " ".join(str(tuple(s)) for s in idx_shapes)) from None
    adjacent = adv_at == list(range(adv_at[0], adv_at[-1] + 1))
    if not adjacent:
        adv_pos = 0
    return tuple(basic[:adv_pos]) + bshape + tuple(basic[adv_pos:]), adv_pos, bshape


def _np_index(op_shape, spec, idxs):
    out, dim = [], 0
    for e in spec:
        if e[0] == "s":
            start, stop, step = e[1:]
            # specs hold normalised bounds (slice.indices); a negative step running to the
            # front has stop == -1, which numpy would read as "the last element"
            out.append(slice(start, None if stop < 0 else stop, step))
            dim += 1
        elif e[0] == "n":
            out.append(None)
        elif e[0] == "c":
            out.append(e[1])
            dim += 1
        else:
            n = op_shape[dim]
            i = as_ndarray(idxs[e[1]])
            i = np.where(i < 0, i + n, i)
            out.append(np.clip(i, 0, max(n - 1, 0)))
            dim += 1
    return tuple(out)


# ------------------------------------------------------------------ gather

gather_p = Primitive("gather")


def _gather_aval(op, *idx, spec):
    for i in idx:
        if i.dtype.kind not in "iu":
            raise IndexError(f"gather: index arrays must be integers, got {i.str_short()}")
    shape, _, _ = spec_layout(op.shape, spec, [i.shape for i in idx])
    return ShapedArray(shape, op.dtype, op.weak_type)


def _gather_impl(op, *idx, spec):
    op = as_ndarray(op)
    return as_ndarray(op[_np_index(op.shape, spec, idx)])


def _gather_jvp(primals, tangents, spec):
    op, *idx = primals
    out = gather_p.bind(op, *idx, spec=spec)
    if type(tangents[0]) is Zero:
        return out, Zero(get_aval(out).strip_weak())
    return out, gather_p.bind(tangents[0], *idx, spec=spec)


def _gather_transpose(ct, op, *idx, spec):
    if type(ct) is Zero:
        return [Zero(op.aval)] + [None] * len(idx)
    zeros = zeros_like_aval(op.aval)
    return [scatter_p.bind(zeros, ct, *idx, spec=spec, mode="add")] + [None] * len(idx)


gather_p.impl = _gather_impl
gather_p.abstract_eval = _gather_aval
gather_p.jvp = _gather_jvp
gather_p.transpose = _gather_transpose


def _batched_spec(op_shape_b, spec, idx_vals, idx_dims, op_batched, size):
    """Rewrite (spec, indices) so that the batch dimension is indexed explicitly.

    Returns (new spec, new index operands, batch dim of the result, perm): when ``op`` is
    batched, an iota index over the batch dim is prepended, which makes numpy place all
    broadcast index dims first; ``perm`` (or None) transposes that result into the
    per-example layout (batch dim first), where the index dims may sit after some slices.
    """
    idx_shapes = [get_aval(i).shape for i in idx_vals]
    # some index is batched: give every index array a leading batch dim of full rank
    unb = [s if d is None else s[:d] + s[d + 1:] for s, d in zip(idx_shapes, idx_dims)]
    rank = max((len(s) for s in unb), default=0)
    new_idx = []
    for x, d, s in zip(idx_vals, idx_dims, unb):
        if d is None:
            full = (size,) + (1,) * (rank - len(s)) + tuple(s)
            x = broadcast_in_dim(x, (size,) + (1,) * (rank - len(s)) + tuple(s),
                                   tuple(range(1 + rank - len(s), 1 + rank)))
            x = broadcast_in_dim(x, full, tuple(range(len(full))))
        else:
            x = moveaxis(x, d, 0)
            x = reshape(x, (size,) + (1,) * (rank - len(s)) + tuple(s))
        new_idx.append(x)
    new_spec = tuple(spec)
    perm = None
    if op_batched:
        it = iota(np.int64, (size,) + (1,) * rank, 0)
        new_idx.append(it)
        new_spec = (("i", len(new_idx) - 1),) + new_spec
        # where the index dims go for one example (op without its batch dim)
        out_unb, p, bshape = spec_layout(op_shape_b[1:], spec, unb)
        if p:
            r, nd = len(bshape), len(out_unb) + 1
            perm = ((0,) + tuple(range(1 + r, 1 + r + p)) + tuple(range(1, 1 + r))
                    + tuple(range(1 + r + p, nd)))
    shapes = [get_aval(i).shape for i in new_idx]
    _, adv_pos, _ = spec_layout(op_shape_b, new_spec, shapes)
    return new_spec, new_idx, adv_pos, perm


def _gather_batch(size, vals, dims, spec):
    op, *idx = vals
    od, *ids = dims
    if od is not None:
        op = moveaxis(op, od, 0)
    shape = get_aval(op).shape
    if all(d is None for d in ids):
        new_spec = (("s", 0, size, 1),) + tuple(spec)
        _, adv_pos, bshape = spec_layout(shape, new_spec, [get_aval(i).shape for i in idx])
        out_dim = len(bshape) if adv_pos == 0 else 0
        return gather_p.bind(op, *idx, spec=new_spec), out_dim
    new_spec, new_idx, adv_pos, perm = _batched_spec(shape, spec, idx, ids, od is not None,
                                                     size)
    out = gather_p.bind(op, *new_idx, spec=new_spec)
    if perm is not None:
        return transpose(out, perm), 0
    return out, adv_pos


gather_p.batch = _gather_batch

# ------------------------------------------------------------------ scatter

scatter_p = Primitive("scatter")
_UFUNC = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def _scatter_aval(op, upd, *idx, spec, mode):
    shape, _, _ = spec_layout(op.shape, spec, [i.shape for i in idx])
    if upd.shape != shape:
        raise ValueError(f"scatter: updates of shape {upd.shape} do not match the indexed "
                         f"shape {shape} of an operand of shape {op.shape}")
    if upd.dtype != op.dtype:
        raise TypeError(f"scatter: updates dtype {upd.dtype.name} differs from operand "
                        f"{op.dtype.name}")
    return op


def _scatter_impl(op, upd, *idx, spec, mode):
    if mode == "mul" and is_gpu(op):
        # CuPy's ufunc.at covers add, max and min, not multiply: this one runs on the host
        xp = array_module(op)
        with xp.cuda.Device(op.device.id):
            return xp.asarray(_scatter_impl(to_host(op), to_host(upd),
                                            *map(to_host, idx), spec=spec, mode=mode))
    out = array_module(op).array(op, copy=True)
    tup = _np_index(out.shape, spec, idx)
    if mode == "set":
        out[tup] = upd
    else:
        _UFUNC[mode].at(out, tup, upd)
    return out


def _scatter_jvp(primals, tangents, spec, mode):
    op, upd, *idx = primals
    top, tupd = tangents[0], tangents[1]
    out = scatter_p.bind(op, upd, *idx, spec=spec, mode=mode)
    aval = get_aval(out).strip_weak()
    if type(top) is Zero and type(tupd) is Zero:
        return out, Zero(aval)
    if mode in ("set", "add"):
        return out, scatter_p.bind(instantiate_zeros(top), instantiate_zeros(tupd), *idx,
                                   spec=spec, mode=mode)
    zeros = zeros_like_aval(aval)
    if mode == "mul":  # exact when indices are unique (as JAX's rule)
        t = Zero(aval) if type(top) is Zero else scatter_p.bind(top, upd, *idx, spec=spec,
                                                                  mode="mul")
        if type(tupd) is not Zero:
            others = gather_p.bind(op, *idx, spec=spec)
            t = add_tangents(t, scatter_p.bind(zeros, mul(others, tupd), *idx, spec=spec,
                                               mode="add"))
        return out, t
    # max / min: the tangent comes from whichever side attained the value (mean over ties)
    from_op = convert(eq(out, op), aval.dtype)
    from_upd = convert(eq(gather_p.bind(out, *idx, spec=spec), upd), aval.dtype)
    count = add(from_op, scatter_p.bind(zeros, from_upd, *idx, spec=spec, mode="add"))
    num = Zero(aval) if type(top) is Zero else mul(top, from_op)
    if type(tupd) is not Zero:
        num = add_tangents(num, scatter_p.bind(zeros, mul(tupd, from_upd), *idx, spec=spec,
                                               mode="add"))
    return out, div(instantiate_zeros(num), elementwise.max(count, full_like(count, 1)))


def _scatter_transpose(ct, op, upd, *idx, spec, mode):
    nones = [None] * len(idx)
    if mode not in ("set", "add", "mul"):
        raise TypeError(f"scatter-{mode} is not linear")
    if mode == "mul":
        if is_undefined(upd):
            raise TypeError("scatter-mul is not linear in its updates")
        r = Zero(op.aval) if type(ct) is Zero else scatter_p.bind(ct, upd, *idx, spec=spec,
                                                                   mode="mul")
        return [r, None] + nones
    c_op = c_upd = None
    if is_undefined(op):
        if type(ct) is Zero:
            c_op = Zero(op.aval)
        elif mode == "add":
            c_op = ct
        else:
            c_op = scatter_p.bind(ct, zeros_like_aval(upd.aval if is_undefined(upd)
                                                        else get_aval(upd)),
                                  *idx, spec=spec, mode="set")
    if is_undefined(upd):
        c_upd = Zero(upd.aval) if type(ct) is Zero else gather_p.bind(ct, *idx, spec=spec)
    return [c_op, c_upd] + nones


def _scatter_batch(size, vals, dims, spec, mode):
    op, upd, *idx = vals
    od, ud, *ids = dims
    op = moveaxis(op, od, 0) if od is not None else broadcast_in_dim(
        op, (size,) + get_aval(op).shape, tuple(range(1, get_aval(op).ndim + 1)))
    shape = get_aval(op).shape
    perm = None
    if all(d is None for d in ids):
        new_spec = (("s", 0, size, 1),) + tuple(spec)
        new_idx = list(idx)
        _, adv_pos, bshape = spec_layout(shape, new_spec, [get_aval(i).shape for i in idx])
        upd_dim = len(bshape) if adv_pos == 0 else 0
    else:
        new_spec, new_idx, upd_dim, perm = _batched_spec(shape, spec, idx, ids, True, size)
    # updates come in the per-example layout: put the batch dim first, then (batched
    # indices) transpose into the layout of the batched index expression
    upd = bdim_to_front(upd, ud, size)
    if perm is not None:
        upd = transpose(upd, tuple(int(i) for i in np.argsort(perm)))
    upd = moveaxis(upd, 0, upd_dim)
    return scatter_p.bind(op, upd, *new_idx, spec=new_spec, mode=mode), 0


scatter_p.impl = _scatter_impl
scatter_p.abstract_eval = _scatter_aval
scatter_p.jvp = _scatter_jvp
scatter_p.transpose = _scatter_transpose
scatter_p.batch = _scatter_batch


# ------------------------------------------------------------------ binders (lax re-exports)


def gather(operand, indices, spec):
    """``operand[index expression]`` described by a static ``spec`` (see this module's doc)."""
    return gather_p.bind(operand, *indices, spec=tuple(spec))


def scatter(operand, updates, indices, spec, mode):
    """Functional ``operand.at[index expression]`` update; ``mode`` is set/add/mul/max/min."""
    return scatter_p.bind(operand, updates, *indices, spec=tuple(spec), mode=mode)
