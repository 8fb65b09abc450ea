"""Reductions with ``axis`` and ``keepdims`` (numpy semantics; integer sums give int64)."""

from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes
from .. import lax as L
from ._core import (
    asarray_like,
    cast,
    dtype_of,
    normalize_axes,
    normalize_axis,
    num_elements,
    promote,
    shape_of,
)
from ._math import divide, equal, isclose, multiply, to_bool
from ._shape import ravel


def _keep(x, axes, shape, keepdims):
    if not keepdims:
        return x
    return L.reshape(x, tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _prep(a, axis, name):
    x = asarray_like(a)
    shape = shape_of(x)
    return x, shape, normalize_axes(axis, len(shape), op=name)


def sum(a, axis=None, dtype=None, keepdims=False):  # noqa: A001 - numpy name
    """Sum over ``axis``. Integer and bool inputs sum in int64 (numpy/PyTorch rule)."""
    x, shape, axes = _prep(a, axis, "sum")
    if dtype is not None:
        x = cast(x, dtypes.canonical(dtype))
    elif not dtypes.is_float(dtype_of(x)):
        x = cast(x, np.int64 if dtype_of(x).kind in "bi" else np.uint64)
    return _keep(L.reduce_sum(x, axes), axes, shape, keepdims)


def prod(a, axis=None, dtype=None, keepdims=False):
    x, shape, axes = _prep(a, axis, "prod")
    if dtype is not None:
        x = cast(x, dtypes.canonical(dtype))
    elif not dtypes.is_float(dtype_of(x)):
        x = cast(x, np.int64)
    return _keep(L.reduce_prod(x, axes), axes, shape, keepdims)


def _count(shape, axes):
    return num_elements([shape[a] for a in axes])


def _as_float(x, dtype):
    """``x`` cast to ``dtype`` (default: its own dtype), or to the default float if not one."""
    dt = dtypes.canonical(dtype) if dtype is not None else dtype_of(x)
    if not dtypes.is_float(dt):
        dt = dtypes.default_float
    return cast(x, dt)


def mean(a, axis=None, dtype=None, keepdims=False):
    """Arithmetic mean; integer inputs give float32 (the default float)."""
    x, shape, axes = _prep(a, axis, "mean")
    x = _as_float(x, dtype)
    s = L.reduce_sum(x, axes)
    return _keep(L.div(s, L.full_like(s, _count(shape, axes))), axes, shape, keepdims)


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Variance ``sum(|x - mean|^2) / (N - ddof)``."""
    x, shape, axes = _prep(a, axis, "var")
    x = _as_float(x, dtype)
    m = mean(x, axis=axes, keepdims=True)
    d = L.sub(x, L.broadcast_in_dim(m, shape, tuple(range(len(shape)))))
    s = L.reduce_sum(L.mul(d, d), axes)
    n = _count(shape, axes) - ddof
    return _keep(L.div(s, L.full_like(s, builtins.max(n, 0))), axes, shape, keepdims)


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    return L.sqrt(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _minmax(name, reducer):
    def fn(a, axis=None, keepdims=False, initial=None):
        x, shape, axes = _prep(a, axis, name)
        if 0 in [shape[i] for i in axes] and initial is None:
            raise ValueError(f"{name}: zero-size array to reduction operation {name} which has "
                             f"no identity (shape {shape}, axis {axis})")
        if initial is not None and builtins.any(shape[i] == 0 for i in axes):
            # nothing to reduce: every result is ``initial``
            out_shape = tuple(n for i, n in enumerate(shape) if i not in axes)
            out = L.full(out_shape, initial, dtype_of(x))
            return _keep(out, axes, shape, keepdims)
        out = reducer(x, axes)
        if initial is not None:
            out = (L.max if name in ("max", "amax") else L.min)(out, L.full_like(out, initial))
        return _keep(out, axes, shape, keepdims)

    fn.__name__ = name
    fn.__doc__ = f"``{name}`` over ``axis`` (NaN propagates, like numpy)."
    return fn


max = amax = _minmax("max", L.reduce_max)  # noqa: A001
min = amin = _minmax("min", L.reduce_min)  # noqa: A001


def _arg(name, fn):
    def f(a, axis=None, keepdims=False):
        x = asarray_like(a)
        shape = shape_of(x)
        if axis is None:
            x = ravel(x)
            ax = 0
        else:
            ax = normalize_axis(axis, len(shape), op=name)
        if shape_of(x)[ax] == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
        out = fn(x, ax, np.int64)
        if keepdims:
            out = L.reshape(out, tuple(1 for _ in shape) if axis is None else
                            tuple(1 if i == ax else n for i, n in enumerate(shape)))
        return out

    f.__name__ = name
    return f


argmax = _arg("argmax", L.argmax)
argmin = _arg("argmin", L.argmin)


def all(a, axis=None, keepdims=False):  # noqa: A001
    x, shape, axes = _prep(a, axis, "all")
    return _keep(L.reduce_and(to_bool(x), axes), axes, shape, keepdims)


def any(a, axis=None, keepdims=False):  # noqa: A001
    x, shape, axes = _prep(a, axis, "any")
    return _keep(L.reduce_or(to_bool(x), axes), axes, shape, keepdims)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every pair is ``isclose`` (a 0-d boolean array, traceable).

    >>> bool(allclose(np.ones(3), np.ones(3) + 1e-9))
    True
    """
    return all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """Same shape and equal elements (a 0-d boolean array; False for differing shapes).

    >>> bool(array_equal(np.arange(3), np.arange(3.0)))
    True
    """
    x, y = asarray_like(a1), asarray_like(a2)
    if shape_of(x) != shape_of(y):
        return L.full((), False, np.bool_)
    x, y = promote("array_equal", x, y)
    eq = L.eq(x, y)
    if equal_nan and dtypes.is_float(dtype_of(x)):
        eq = L.bitwise_or(eq, L.bitwise_and(L.ne(x, x), L.ne(y, y)))
    return all(eq)


def array_equiv(a1, a2):
    """Equal after broadcasting (False when the shapes do not broadcast).

    >>> bool(array_equiv(np.ones((2, 3)), np.ones(3)))
    True
    """
    x, y = asarray_like(a1), asarray_like(a2)
    try:
        np.broadcast_shapes(shape_of(x), shape_of(y))
    except ValueError:
        return L.full((), False, np.bool_)
    return all(equal(x, y))


def cumsum(a, axis=None, dtype=None):
    x = asarray_like(a)
    if axis is None:
        x = ravel(x)
        axis = 0
    if dtype is not None:
        x = cast(x, dtypes.canonical(dtype))
    elif not dtypes.is_float(dtype_of(x)):
        x = cast(x, np.int64)
    return L.cumsum(x, normalize_axis(axis, len(shape_of(x)), op="cumsum"))


def count_nonzero(a, axis=None, keepdims=False):
    return sum(to_bool(asarray_like(a)), axis=axis, keepdims=keepdims)


def average(a, axis=None, weights=None, keepdims=False):
    if weights is None:
        return mean(a, axis=axis, keepdims=keepdims)
    x, w = asarray_like(a), asarray_like(weights)
    xs, ws = shape_of(x), shape_of(w)
    if ws != xs:
        # numpy: 1-d weights along ``axis``
        if axis is None:
            raise ValueError(f"average: axis must be specified when the shapes of a {xs} and "
                             f"weights {ws} differ")
        ax = normalize_axis(axis, len(xs), op="average")
        if len(ws) != 1 or ws[0] != xs[ax]:
            raise ValueError(f"average: weights of shape {ws} do not match axis {ax} of a with "
                             f"shape {xs}")
        w = L.reshape(w, tuple(ws[0] if i == ax else 1 for i in range(len(xs))))
    return divide(sum(multiply(x, w), axis=axis, keepdims=keepdims),
                  sum(w, axis=axis, keepdims=keepdims))
