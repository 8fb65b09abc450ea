"""Data movement: broadcast_in_dim, reshape, transpose, rev, pad, concatenate, slice, and
reduce_sum (broadcast's transpose) -- the bottom layer of primitives.

All are linear; each transpose rule is the "opposite" movement of the cotangent, so
broadcast_in_dim and reduce_sum transpose into each other and live together here. Next
to the primitives sit their binders (``lax`` re-exports them) and the rule helpers built
from these moves alone: symbolic-zero instantiation, ``deflinear``, ``moveaxis`` and
``bdim_to_front``. Every other primitive family is layered above this module.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..dtypes import is_python_scalar
from ..placement import array_module, as_ndarray
from ..rules import Zero, is_undefined

# ------------------------------------------------------------------ rule helpers


def zeros_like_aval(aval: ShapedArray):
    """A zero array of ``aval``'s shape and dtype (a broadcast scalar, never a constant)."""
    return broadcast_in_dim(np.zeros((), aval.dtype), aval.shape, ())


def instantiate_zeros(t):
    """Materialise a symbolic zero; any other value is returned as is."""
    if type(t) is Zero:
        return zeros_like_aval(t.aval)
    return t


def deflinear(prim: Primitive, transpose_fn):
    """A primitive linear in all its array inputs: JVP is the primitive itself on tangents."""

    def jvp(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return ans, Zero(get_aval(ans))
        ts = [instantiate_zeros(t) for t in tangents]
        return ans, prim.bind(*ts, **params)

    prim.jvp = jvp
    prim.transpose = transpose_fn


def moveaxis(x, src: int, dst: int):
    nd = get_aval(x).ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return transpose(x, tuple(perm))


def bdim_to_front(x, d, size):
    """Put the batch dimension of ``x`` first, broadcasting an unbatched ``x`` to ``size``."""
    if d is None:
        aval = get_aval(x)
        return broadcast_in_dim(x, (size,) + aval.shape, tuple(range(1, aval.ndim + 1)))
    return moveaxis(x, d, 0)


# ------------------------------------------------------------------ broadcast_in_dim

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _bid_aval(x, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim:
        raise ValueError(f"broadcast_in_dim: operand rank {x.ndim} does not match "
                         f"broadcast_dimensions {broadcast_dimensions}")
    for i, d in enumerate(broadcast_dimensions):
        if x.shape[i] not in (1, shape[d]):
            raise ValueError(f"broadcast_in_dim: cannot broadcast shape {x.shape} to {shape} "
                             f"(operand dim {i} of size {x.shape[i]} vs {shape[d]})")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _bid_impl(x, shape, broadcast_dimensions):
    x = as_ndarray(x)
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape)


def _bid_transpose(ct, x, shape, broadcast_dimensions):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    sum_dims = [d for d in range(len(shape)) if d not in broadcast_dimensions]
    sum_dims += [d for i, d in enumerate(broadcast_dimensions)
                 if x.aval.shape[i] == 1 and shape[d] != 1]
    out = reduce_sum(ct, tuple(sorted(sum_dims))) if sum_dims else ct
    return [reshape(out, x.aval.shape)]


def _bid_batch(size, vals, dims, shape, broadcast_dimensions):
    (x,), (d,) = vals, dims
    return broadcast_in_dim_p.bind(
        moveaxis(x, d, 0), shape=(size,) + tuple(shape),
        broadcast_dimensions=(0,) + tuple(e + 1 for e in broadcast_dimensions)), 0


broadcast_in_dim_p.impl = _bid_impl
broadcast_in_dim_p.abstract_eval = _bid_aval
deflinear(broadcast_in_dim_p, _bid_transpose)
broadcast_in_dim_p.batch = _bid_batch

# ------------------------------------------------------------------ reshape

reshape_p = Primitive("reshape")


def _reshape_aval(x, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise ValueError(f"reshape: cannot reshape array of shape {x.shape} (size {x.size}) "
                         f"into shape {tuple(new_sizes)}")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


reshape_p.impl = lambda x, new_sizes: np.reshape(x, new_sizes)
reshape_p.abstract_eval = _reshape_aval
deflinear(reshape_p, lambda ct, x, new_sizes: [
    Zero(x.aval) if type(ct) is Zero else reshape(ct, x.aval.shape)])


def _reshape_batch(size, vals, dims, new_sizes):
    x = moveaxis(vals[0], dims[0], 0)
    return reshape_p.bind(x, new_sizes=(size,) + tuple(new_sizes)), 0


reshape_p.batch = _reshape_batch

# ------------------------------------------------------------------ transpose

transpose_p = Primitive("transpose")


def _transpose_aval(x, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: permutation {permutation} does not match rank {x.ndim} "
                         f"of shape {x.shape}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


transpose_p.impl = lambda x, permutation: np.transpose(x, permutation)
transpose_p.abstract_eval = _transpose_aval
deflinear(transpose_p, lambda ct, x, permutation: [
    Zero(x.aval) if type(ct) is Zero else
    transpose(ct, tuple(int(i) for i in np.argsort(permutation)))])


def _transpose_batch(size, vals, dims, permutation):
    x = moveaxis(vals[0], dims[0], 0)
    return transpose_p.bind(x, permutation=(0,) + tuple(p + 1 for p in permutation)), 0


transpose_p.batch = _transpose_batch

# ------------------------------------------------------------------ rev

rev_p = Primitive("rev")
rev_p.impl = lambda x, dimensions: np.flip(x, dimensions) if dimensions else x
rev_p.abstract_eval = lambda x, dimensions: x
deflinear(rev_p, lambda ct, x, dimensions: [
    Zero(x.aval) if type(ct) is Zero else rev(ct, dimensions)])
rev_p.batch = lambda size, vals, dims, dimensions: (
    rev_p.bind(moveaxis(vals[0], dims[0], 0), dimensions=tuple(d + 1 for d in dimensions)), 0)

# ------------------------------------------------------------------ pad (value is static)

pad_p = Primitive("pad")


def _pad_aval(x, padding_config, value=0):
    if len(padding_config) != x.ndim:
        raise ValueError(f"pad: padding_config has {len(padding_config)} entries for rank "
                         f"{x.ndim}")
    shape = []
    for n, (lo, hi, interior) in zip(x.shape, padding_config):
        size = lo + hi + n + max(n - 1, 0) * interior
        if size < 0 or interior < 0:
            raise ValueError(f"pad: invalid padding {padding_config} for shape {x.shape}")
        shape.append(size)
    return ShapedArray(shape, x.dtype, x.weak_type)


def _pad_impl(x, padding_config, value=0):
    x = as_ndarray(x)
    xp = array_module(x)
    if any(i for _, _, i in padding_config):
        shape = [n + max(n - 1, 0) * i for n, (_, _, i) in zip(x.shape, padding_config)]
        y = xp.full(shape, value, x.dtype)
        y[tuple(builtins.slice(None, None, i + 1) for _, _, i in padding_config)] = x
        x = y
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi, _ in padding_config]
    x = np.pad(x, pads, constant_values=np.asarray(value, x.dtype).item()) if any(
        p != (0, 0) for p in pads) else x
    crop = tuple(builtins.slice(-min(lo, 0), x.shape[i] + min(hi, 0))
                 for i, (lo, hi, _) in enumerate(padding_config))
    return x[crop]


def _pad_transpose(ct, x, padding_config, value=0):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    # undo negative padding (crops) by padding the cotangent with zeros, then stride-slice
    unneg = tuple((max(-lo, 0), max(-hi, 0), 0) for lo, hi, _ in padding_config)
    if any(a or b for a, b, _ in unneg):
        ct = pad(ct, unneg, 0)
    starts = [max(lo, 0) for lo, _, _ in padding_config]
    strides = [i + 1 for _, _, i in padding_config]
    limits = [s + (n - 1) * st + 1 if n else s
              for s, st, n in zip(starts, strides, x.aval.shape)]
    return [slice(ct, starts, limits, strides)]


def _pad_batch(size, vals, dims, padding_config, value=0):
    x = moveaxis(vals[0], dims[0], 0)
    return pad_p.bind(x, padding_config=((0, 0, 0),) + tuple(padding_config), value=value), 0


def _pad_jvp(primals, tangents, padding_config, value=0):
    # affine, not linear, when value != 0: the padding of the tangent is always zero
    (x,), (t,) = primals, tangents
    out = pad_p.bind(x, padding_config=padding_config, value=value)
    if type(t) is Zero:
        return out, Zero(get_aval(out).strip_weak())
    return out, pad_p.bind(t, padding_config=padding_config, value=0)


pad_p.impl = _pad_impl
pad_p.abstract_eval = _pad_aval
deflinear(pad_p, _pad_transpose)
pad_p.jvp = _pad_jvp
pad_p.batch = _pad_batch

# ------------------------------------------------------------------ concatenate

concatenate_p = Primitive("concatenate")


def _concat_aval(*xs, dimension):
    x0 = xs[0]
    for x in xs[1:]:
        if x.ndim != x0.ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, x0.shape))
                                    if i != dimension):
            raise ValueError("concatenate: shapes " + ", ".join(str(a.shape) for a in xs)
                             + f" differ outside axis {dimension}")
        if x.dtype != x0.dtype:
            raise TypeError("concatenate: dtypes differ: " + ", ".join(a.dtype.name for a in xs))
    shape = list(x0.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(shape, x0.dtype, all(x.weak_type for x in xs))


def _concat_transpose(ct, *xs, dimension):
    out, start = [], 0
    for x in xs:
        n = (x.aval if is_undefined(x) else get_aval(x)).shape[dimension]
        if not is_undefined(x):
            out.append(None)
        elif type(ct) is Zero:
            out.append(Zero(x.aval))
        else:
            shape = get_aval(ct).shape
            lo = [0] * len(shape)
            hi = list(shape)
            lo[dimension], hi[dimension] = start, start + n
            out.append(slice(ct, lo, hi))
        start += n
    return out


def _concat_batch(size, vals, dims, dimension):
    xs = [bdim_to_front(x, d, size) for x, d in zip(vals, dims)]
    return concatenate_p.bind(*xs, dimension=dimension + 1), 0


concatenate_p.impl = lambda *xs, dimension: np.concatenate(xs, axis=dimension)
concatenate_p.abstract_eval = _concat_aval
deflinear(concatenate_p, _concat_transpose)
concatenate_p.batch = _concat_batch

# ------------------------------------------------------------------ slice (static)

slice_p = Primitive("slice")


def _slice_aval(x, start_indices, limit_indices, strides):
    shape = []
    for n, s, lim, st in zip(x.shape, start_indices, limit_indices, strides):
        if not (0 <= s <= lim <= n) or st < 1:
            raise ValueError(f"slice: start {start_indices} / limit {limit_indices} / strides "
                             f"{strides} out of range for shape {x.shape}")
        shape.append(max(0, -(-(lim - s) // st)))
    return ShapedArray(shape, x.dtype, x.weak_type)


def _slice_transpose(ct, x, start_indices, limit_indices, strides):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    shape = x.aval.shape
    out_shape = get_aval(ct).shape
    cfg = []
    for n, s, st, m in zip(shape, start_indices, strides, out_shape):
        used = s + (m - 1) * st + 1 if m else s
        cfg.append((s, n - used, st - 1) if m else (s, n - s, 0))
    if any(m == 0 for m in out_shape):
        return [zeros_like_aval(x.aval)]
    return [pad(ct, tuple(cfg), 0)]


def _slice_batch(size, vals, dims, start_indices, limit_indices, strides):
    x = moveaxis(vals[0], dims[0], 0)
    return slice_p.bind(x, start_indices=(0,) + tuple(start_indices),
                        limit_indices=(size,) + tuple(limit_indices),
                        strides=(1,) + tuple(strides)), 0


slice_p.impl = lambda x, start_indices, limit_indices, strides: as_ndarray(x)[tuple(
    builtins.slice(s, e, st) for s, e, st in zip(start_indices, limit_indices, strides))]
slice_p.abstract_eval = _slice_aval
deflinear(slice_p, _slice_transpose)
slice_p.batch = _slice_batch

# ------------------------------------------------------------------ reduce_sum


def reduction_aval(name):
    """Shape rule of a reduction over static ``axes`` (shared by every reducer)."""

    def rule(x, axes):
        for a in axes:
            if not 0 <= a < x.ndim:
                raise ValueError(f"{name}: axis {a} is out of bounds for shape {x.shape}")
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
        return ShapedArray(shape, x.dtype, x.weak_type)

    return rule


def reduction_batch(prim):
    """Batching rule of a reduction over static ``axes``: batch dim first, axes shift by one."""

    def rule(size, vals, dims, axes, **params):
        x = moveaxis(vals[0], dims[0], 0)
        return prim.bind(x, axes=tuple(a + 1 for a in axes), **params), 0

    return rule


def _sum_impl(x, axes):
    x = as_ndarray(x)
    if not axes:
        return x
    return as_ndarray(np.sum(x, axis=axes, dtype=x.dtype))


def _sum_transpose(ct, x, axes):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    kept = tuple(i for i in range(x.aval.ndim) if i not in axes)
    return [broadcast_in_dim(ct, x.aval.shape, kept)]


reduce_sum_p = Primitive("reduce_sum")
reduce_sum_p.impl = _sum_impl
reduce_sum_p.abstract_eval = reduction_aval("reduce_sum")
deflinear(reduce_sum_p, _sum_transpose)
reduce_sum_p.batch = reduction_batch(reduce_sum_p)

# ------------------------------------------------------------------ binders (lax re-exports)


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """Place ``x``'s dims at ``broadcast_dimensions`` of ``shape`` and broadcast the rest.

    >>> broadcast_in_dim(np.ones(3, np.float32), (2, 3), (1,)).shape
    (2, 3)
    """
    shape = tuple(int(s) for s in shape)
    if is_python_scalar(x):
        x = np.asarray(x)
    if get_aval(x).shape == shape and tuple(broadcast_dimensions) == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape,
                                   broadcast_dimensions=tuple(int(d) for d in broadcast_dimensions))


def broadcast_to_rank(x, shape):
    """numpy-style broadcast of ``x`` to ``shape`` (trailing alignment)."""
    a = get_aval(x)
    nd = len(shape)
    return broadcast_in_dim(x, shape, tuple(range(nd - a.ndim, nd)))


def reshape(x, new_sizes):
    new_sizes = tuple(int(s) for s in new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def transpose(x, permutation):
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


def rev(x, dimensions):
    return rev_p.bind(x, dimensions=tuple(dimensions)) if dimensions else x


def pad(x, padding_config, value=0):
    cfg = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    if all(c == (0, 0, 0) for c in cfg):
        return x
    return pad_p.bind(x, padding_config=cfg, value=value)


def concatenate(xs, dimension):
    xs = list(xs)
    if len(xs) == 1:
        return xs[0]
    return concatenate_p.bind(*xs, dimension=int(dimension))


def slice(x, start_indices, limit_indices, strides=None):  # noqa: A001 - lax's name
    start_indices = tuple(int(s) for s in start_indices)
    limit_indices = tuple(int(s) for s in limit_indices)
    strides = tuple(int(s) for s in strides) if strides is not None else (1,) * len(start_indices)
    if (start_indices == (0,) * len(start_indices) and limit_indices == get_aval(x).shape
            and all(s == 1 for s in strides)):
        return x
    return slice_p.bind(x, start_indices=start_indices, limit_indices=limit_indices,
                        strides=strides)


def slice_in_dim(x, start, limit, stride=1, axis=0):
    a = get_aval(x)
    lo, hi, st = [0] * a.ndim, list(a.shape), [1] * a.ndim
    lo[axis], hi[axis], st[axis] = start, limit, stride
    return slice(x, lo, hi, st)


def squeeze(x, dimensions):
    a = get_aval(x)
    return reshape(x, tuple(n for i, n in enumerate(a.shape) if i not in dimensions))


def expand_dims(x, dimensions):
    shape = list(get_aval(x).shape)
    for d in sorted(dimensions):
        shape.insert(d, 1)
    return reshape(x, shape)


def reduce_sum(x, axes):
    return reduce_sum_p.bind(x, axes=tuple(sorted(int(a) for a in axes)))
