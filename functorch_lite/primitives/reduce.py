"""Reductions over static axes (max, min, prod, and, or), argmax/argmin, cumsum, argsort.

``reduce_sum`` lives in ``shape.py``: it is broadcast_in_dim's transpose and vice versa.
"""

from __future__ import annotations

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..placement import as_ndarray
from ..rules import Zero, defjvp_zero
from .elementwise import convert, defjvp, div, eq, full_like, iota, mul, select
from .shape import (
    broadcast_in_dim,
    deflinear,
    moveaxis,
    reduce_sum,
    reduction_aval,
    reduction_batch,
    reshape,
    transpose,
)


def _reducer(name, np_fn):
    p = Primitive(name)
    p.impl = lambda x, axes: as_ndarray(np_fn(x, axis=axes) if axes else as_ndarray(x))
    p.abstract_eval = reduction_aval(name)
    p.batch = reduction_batch(p)
    return p


reduce_max_p = _reducer("reduce_max", np.max)
reduce_min_p = _reducer("reduce_min", np.min)
reduce_prod_p = _reducer("reduce_prod", np.prod)
reduce_prod_p.impl = lambda x, axes: as_ndarray(
    np.prod(x, axis=axes, dtype=as_ndarray(x).dtype) if axes else as_ndarray(x))
reduce_and_p = _reducer("reduce_and", np.all)
reduce_or_p = _reducer("reduce_or", np.any)
defjvp_zero(reduce_and_p)
defjvp_zero(reduce_or_p)



def _expand(ans, x_shape, axes):
    kept = tuple(i for i in range(len(x_shape)) if i not in axes)
    return broadcast_in_dim(ans, x_shape, kept)


def _minmax_jvp(g, ans, x, axes):
    # the tangent of a max is the mean tangent over the positions attaining it
    shape = get_aval(x).shape
    loc = convert(eq(x, _expand(ans, shape, axes)), get_aval(g).dtype)
    count = reduce_sum(loc, axes)
    return div(reduce_sum(mul(g, loc), axes), count)


defjvp(reduce_max_p, _minmax_jvp)
defjvp(reduce_min_p, _minmax_jvp)


def _prod_jvp(g, ans, x, axes):
    # d prod = sum_i g_i * prod_{j != i} x_j, computed without dividing (exact at zeros)
    shape = get_aval(x).shape
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    perm = rest + tuple(axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    lead = tuple(shape[i] for i in rest)
    xs = reshape(transpose(x, perm), lead + (n,))
    gs = reshape(transpose(g, perm), lead + (n,))
    k = len(lead)
    eye = broadcast_in_dim(eq(iota(np.int32, (n, n), 0), iota(np.int32, (n, n), 1)),
                             lead + (n, n), (k, k + 1))
    xb = broadcast_in_dim(xs, lead + (n, n), tuple(range(k)) + (k + 1,))
    others = reduce_prod(select(eye, full_like(xb, 1), xb), (k + 1,))
    return reduce_sum(mul(gs, others), (k,))


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
    p.impl = lambda x, axes, index_dtype: as_ndarray(np_fn(x, axis=axes[0])).astype(index_dtype)
    p.abstract_eval = _arg_aval(name)
    p.batch = reduction_batch(p)
    defjvp_zero(p)
    return p


argmax_p = _argminmax("argmax", np.argmax)
argmin_p = _argminmax("argmin", np.argmin)

# ------------------------------------------------------------------ cumulative sum

cumsum_p = Primitive("cumsum")


def _cumsum_impl(x, axis, reverse=False):
    x = as_ndarray(x)
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
    return np.cumsum(x, axis=axis, dtype=x.dtype)


cumsum_p.impl = _cumsum_impl
cumsum_p.abstract_eval = lambda x, axis, reverse=False: x
deflinear(cumsum_p, lambda ct, x, axis, reverse=False: [
    Zero(x.aval) if type(ct) is Zero else cumsum_p.bind(ct, axis=axis, reverse=not reverse)])
cumsum_p.batch = lambda size, vals, dims, axis, reverse=False: (
    cumsum_p.bind(moveaxis(vals[0], dims[0], 0), axis=axis + 1, reverse=reverse), 0)

# ------------------------------------------------------------------ argsort (stable)

argsort_p = Primitive("argsort")


def _argsort_impl(x, axis, descending=False):
    x = as_ndarray(x)
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
argsort_p.batch = lambda size, vals, dims, axis, descending=False: (
    argsort_p.bind(moveaxis(vals[0], dims[0], 0), axis=axis + 1, descending=descending), 0)


# ------------------------------------------------------------------ binders (lax re-exports)


def _reduce_binder(prim):
    def fn(x, axes):
        return prim.bind(x, axes=tuple(sorted(int(a) for a in axes)))

    fn.__name__ = prim.name
    return fn


reduce_max, reduce_min, reduce_prod, reduce_and, reduce_or = map(
    _reduce_binder, [reduce_max_p, reduce_min_p, reduce_prod_p, reduce_and_p, reduce_or_p])


def argmax(x, axis, index_dtype=np.int64):
    return argmax_p.bind(x, axes=(int(axis),), index_dtype=np.dtype(index_dtype))


def argmin(x, axis, index_dtype=np.int64):
    return argmin_p.bind(x, axes=(int(axis),), index_dtype=np.dtype(index_dtype))


def cumsum(x, axis=0, reverse=False):
    return cumsum_p.bind(x, axis=int(axis), reverse=bool(reverse))


def argsort(x, axis=-1, descending=False):
    """Stable sorting permutation along ``axis`` (int64)."""
    return argsort_p.bind(x, axis=int(axis) % get_aval(x).ndim, descending=bool(descending))
