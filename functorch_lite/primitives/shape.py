"""Shape primitives: broadcast_in_dim, reshape, transpose, rev, pad, concatenate, slice.

All are linear; each transpose rule is the "opposite" movement of the cotangent.
"""

from __future__ import annotations

import numpy as np

from .. import lax as L
from ..core import Primitive, ShapedArray
from ..rules import Zero, bdim_to_front, deflinear, is_undefined, moveaxis

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
    x = np.asarray(x)
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
    out = L.reduce_sum(ct, tuple(sorted(sum_dims))) if sum_dims else ct
    return [L.reshape(out, x.aval.shape)]


def _bid_batch(vals, dims, shape, broadcast_dimensions):
    (x,), (d,) = vals, dims
    x = moveaxis(x, d, 0)
    b = L.aval(x).shape[0]
    return broadcast_in_dim_p.bind(
        x, shape=(b,) + tuple(shape),
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
    Zero(x.aval) if type(ct) is Zero else L.reshape(ct, x.aval.shape)])


def _reshape_batch(vals, dims, new_sizes):
    x = moveaxis(vals[0], dims[0], 0)
    return reshape_p.bind(x, new_sizes=(L.aval(x).shape[0],) + tuple(new_sizes)), 0


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
    L.transpose(ct, tuple(int(i) for i in np.argsort(permutation)))])


def _transpose_batch(vals, dims, permutation):
    x = moveaxis(vals[0], dims[0], 0)
    return transpose_p.bind(x, permutation=(0,) + tuple(p + 1 for p in permutation)), 0


transpose_p.batch = _transpose_batch

# ------------------------------------------------------------------ rev

rev_p = Primitive("rev")
rev_p.impl = lambda x, dimensions: np.flip(x, dimensions) if dimensions else x
rev_p.abstract_eval = lambda x, dimensions: x
deflinear(rev_p, lambda ct, x, dimensions: [
    Zero(x.aval) if type(ct) is Zero else L.rev(ct, dimensions)])
rev_p.batch = lambda vals, dims, dimensions: (
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
    x = np.asarray(x)
    if any(i for _, _, i in padding_config):
        shape = [n + max(n - 1, 0) * i for n, (_, _, i) in zip(x.shape, padding_config)]
        y = np.full(shape, value, x.dtype)
        y[tuple(slice(None, None, i + 1) for _, _, i in padding_config)] = x
        x = y
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi, _ in padding_config]
    x = np.pad(x, pads, constant_values=np.asarray(value, x.dtype)) if any(
        p != (0, 0) for p in pads) else x
    crop = tuple(slice(-min(lo, 0), x.shape[i] + min(hi, 0))
                 for i, (lo, hi, _) in enumerate(padding_config))
    return x[crop]


def _pad_transpose(ct, x, padding_config, value=0):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    # undo negative padding (crops) by padding the cotangent with zeros, then stride-slice
    unneg = tuple((max(-lo, 0), max(-hi, 0), 0) for lo, hi, _ in padding_config)
    if any(a or b for a, b, _ in unneg):
        ct = L.pad(ct, unneg, 0)
    starts = [max(lo, 0) for lo, _, _ in padding_config]
    strides = [i + 1 for _, _, i in padding_config]
    limits = [s + (n - 1) * st + 1 if n else s
              for s, st, n in zip(starts, strides, x.aval.shape)]
    return [L.slice(ct, starts, limits, strides)]


def _pad_batch(vals, dims, padding_config, value=0):
    x = moveaxis(vals[0], dims[0], 0)
    return pad_p.bind(x, padding_config=((0, 0, 0),) + tuple(padding_config), value=value), 0


def _pad_jvp(primals, tangents, padding_config, value=0):
    # affine, not linear, when value != 0: the padding of the tangent is always zero
    (x,), (t,) = primals, tangents
    out = pad_p.bind(x, padding_config=padding_config, value=value)
    if type(t) is Zero:
        return out, Zero(L.aval(out).strip_weak())
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
        n = (x.aval if is_undefined(x) else L.aval(x)).shape[dimension]
        if not is_undefined(x):
            out.append(None)
        elif type(ct) is Zero:
            out.append(Zero(x.aval))
        else:
            shape = L.aval(ct).shape
            lo = [0] * len(shape)
            hi = list(shape)
            lo[dimension], hi[dimension] = start, start + n
            out.append(L.slice(ct, lo, hi))
        start += n
    return out


def _concat_batch(vals, dims, dimension):
    size = next(L.aval(x).shape[d] for x, d in zip(vals, dims) if d is not None)
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
    out_shape = L.aval(ct).shape
    cfg = []
    for n, s, st, m in zip(shape, start_indices, strides, out_shape):
        used = s + (m - 1) * st + 1 if m else s
        cfg.append((s, n - used, st - 1) if m else (s, n - s, 0))
    if any(m == 0 for m in out_shape):
        return [L.zeros_like_aval(x.aval)]
    return [L.pad(ct, tuple(cfg), 0)]


def _slice_batch(vals, dims, start_indices, limit_indices, strides):
    x = moveaxis(vals[0], dims[0], 0)
    b = L.aval(x).shape[0]
    return slice_p.bind(x, start_indices=(0,) + tuple(start_indices),
                        limit_indices=(b,) + tuple(limit_indices),
                        strides=(1,) + tuple(strides)), 0


slice_p.impl = lambda x, start_indices, limit_indices, strides: np.asarray(x)[tuple(
    slice(s, e, st) for s, e, st in zip(start_indices, limit_indices, strides))]
slice_p.abstract_eval = _slice_aval
deflinear(slice_p, _slice_transpose)
slice_p.batch = _slice_batch
