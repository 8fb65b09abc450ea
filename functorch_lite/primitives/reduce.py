"""Reductions over static axes (sum, max, min, prod, and, or), argmax/argmin, cumsum."""

from __future__ import annotations

import numpy as np

from .. import lax as L
from ..core import Primitive, ShapedArray
from ..rules import Zero, defjvp, defjvp_zero, deflinear, moveaxis


def _reduce_aval(name):
    def rule(x, axes):
        for a in axes:
            if not 0 <= a < x.ndim:
                raise ValueError(f"{name}: axis {a} is out of bounds for shape {x.shape}")
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
        return ShapedArray(shape, x.dtype, x.weak_type)

    return rule


def _reduce_batch(prim):
    def rule(vals, dims, axes, **params):
        x = moveaxis(vals[0], dims[0], 0)
        return prim.bind(x, axes=tuple(a + 1 for a in axes), **params), 0

    return rule


def _reducer(name, np_fn):
    p = Primitive(name)
    p.impl = lambda x, axes: np.asarray(np_fn(x, axis=axes) if axes else np.asarray(x))
    p.abstract_eval = _reduce_aval(name)
    p.batch = _reduce_batch(p)
    return p


def _sum_impl(x, axes):
    x = np.asarray(x)
    if not axes:
        return x
    return np.asarray(np.sum(x, axis=axes, dtype=x.dtype))


reduce_sum_p = _reducer("reduce_sum", np.sum)
reduce_sum_p.impl = _sum_impl
reduce_max_p = _reducer("reduce_max", np.max)
reduce_min_p = _reducer("reduce_min", np.min)
reduce_prod_p = _reducer("reduce_prod", np.prod)
reduce_prod_p.impl = lambda x, axes: np.asarray(
    np.prod(x, axis=axes, dtype=np.asarray(x).dtype) if axes else np.asarray(x))
reduce_and_p = _reducer("reduce_and", np.all)
reduce_or_p = _reducer("reduce_or", np.any)
defjvp_zero(reduce_and_p)
defjvp_zero(reduce_or_p)


def _sum_transpose(ct, x, axes):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    kept = tuple(i for i in range(x.aval.ndim) if i not in axes)
    return [L.broadcast_in_dim(ct, x.aval.shape, kept)]


deflinear(reduce_sum_p, _sum_transpose)


def _expand(ans, x_shape, axes):
    kept = tuple(i for i in range(len(x_shape)) if i not in axes)
    return L.broadcast_in_dim(ans, x_shape, kept)


def _minmax_jvp(g, ans, x, axes):
    # the tangent of a max is the mean tangent over the positions attaining it
    shape = L.aval(x).shape
    loc = L.convert(L.eq(x, _expand(ans, shape, axes)), L.aval(g).dtype)
    count = L.reduce_sum(loc, axes)
    return L.div(L.reduce_sum(L.mul(g, loc), axes), count)


defjvp(reduce_max_p, _minmax_jvp)
defjvp(reduce_min_p, _minmax_jvp)


def _prod_jvp(g, ans, x, axes):
    # d prod = sum_i g_i * prod_{j != i} x_j, computed without dividing (exact at zeros)
    shape = L.aval(x).shape
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    perm = rest + tuple(axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    lead = tuple(shape[i] for i in rest)
    xs = L.reshape(L.transpose(x, perm), lead + (n,))
    gs = L.reshape(L.transpose(g, perm), lead + (n,))
    k = len(lead)
    eye = L.broadcast_in_dim(L.eq(L.iota(np.int32, (n, n), 0), L.iota(np.int32, (n, n), 1)),
                             lead + (n, n), (k, k + 1))
    xb = L.broadcast_in_dim(xs, lead + (n, n), tuple(range(k)) + (k + 1,))
    others = L.reduce_prod(L.select(eye, L.full_like(xb, 1), xb), (k + 1,))
    return L.reduce_sum(L.mul(gs, others), (k,))


defjvp(reduce_prod_p, _prod_jvp)

# ------------------------------------------------------------------ argmax / argmin


def _arg_aval(name):
    def rule(x, axes, index_dtype):
        (a,) = axes
        if not 0 <= a < x.ndim:
            raise ValueError(f"{name}: axis {a} is out of bounds for shape {x.shape}")
        return ShapedArray(tuple(n for i, n in enumerate(x.shape) if i != a), index_dtype)

    return rule


def _argminmax(name, np_fn):
    p = Primitive(name)
    p.impl = lambda x, axes, index_dtype: np.asarray(np_fn(x, axis=axes[0])).astype(index_dtype)
    p.abstract_eval = _arg_aval(name)
    p.batch = _reduce_batch(p)
    defjvp_zero(p)
    return p


argmax_p = _argminmax("argmax", np.argmax)
argmin_p = _argminmax("argmin", np.argmin)

# ------------------------------------------------------------------ cumulative sum

cumsum_p = Primitive("cumsum")


def _cumsum_impl(x, axis, reverse=False):
    x = np.asarray(x)
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
    return np.cumsum(x, axis=axis, dtype=x.dtype)


cumsum_p.impl = _cumsum_impl
cumsum_p.abstract_eval = lambda x, axis, reverse=False: x
deflinear(cumsum_p, lambda ct, x, axis, reverse=False: [
    Zero(x.aval) if type(ct) is Zero else cumsum_p.bind(ct, axis=axis, reverse=not reverse)])
cumsum_p.batch = lambda vals, dims, axis, reverse=False: (
    cumsum_p.bind(moveaxis(vals[0], dims[0], 0), axis=axis + 1, reverse=reverse), 0)

# ------------------------------------------------------------------ argsort (stable)

argsort_p = Primitive("argsort")


def _argsort_impl(x, axis, descending=False):
    x = np.asarray(x)
    if not descending:
        return np.argsort(x, axis=axis, kind="stable").astype(np.int64)
    # stable descending order for every dtype (negating would wrap unsigned and minimum
    # integers): sort the reversed array, reverse the result, and map the positions back
    n = x.shape[axis]
    idx = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    return (n - 1 - idx).astype(np.int64)


argsort_p.impl = _argsort_impl
argsort_p.abstract_eval = lambda x, axis, descending=False: ShapedArray(x.shape, np.int64)
defjvp_zero(argsort_p)
argsort_p.batch = lambda vals, dims, axis, descending=False: (
    argsort_p.bind(moveaxis(vals[0], dims[0], 0), axis=axis + 1, descending=descending), 0)
