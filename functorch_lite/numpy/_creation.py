"""Array creation. Outside transforms these return numpy arrays; inside, constants are
staged as broadcasts so large zeros/ones are not baked into compiled programs as data."""

from __future__ import annotations

import numpy as np

from .. import core, dtypes
from .. import lax as L
from ..array import plain, wrap
from ..core import Tracer
from ._core import asarray_like, cast, dtype_of, shape_of
from ._math import add, multiply, subtract, where
from ._shape import broadcast_to, reshape


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _dt(dtype, default=dtypes.default_float):
    return default if dtype is None else dtypes.canonical(dtype)


def array(object, dtype=None, copy=True, ndmin=0):  # noqa: A002 - numpy name
    """Create an array. Python floats give float32, Python ints int64; numpy arrays keep
    their dtype (float64 stays float64). A numpy array is copied (``copy=True``), so the
    Array does not change when the numpy array does.

    >>> fnp.array([1.0, 2.0])
    Array([1., 2.], dtype=float32)
    """
    x = asarray_like(object)
    if type(x) is np.ndarray and x is object and copy and not core.is_under_transform():
        x = wrap(x.copy())
    if dtype is not None:
        x = cast(x, dtypes.canonical(dtype))
    nd = len(shape_of(x))
    if ndmin > nd:
        x = L.reshape(x, (1,) * (ndmin - nd) + shape_of(x))
    return x


def asarray(a, dtype=None, copy=None):
    """``a`` as an Array. Like numpy's asarray it does not copy: a numpy array is viewed
    (read-only through the Array, but changes made to the numpy array show through; use
    ``fnp.array`` for a copy).

    >>> fnp.asarray(np.arange(3))
    Array([0, 1, 2])
    """
    x = asarray_like(a)
    if copy and x is a and type(x) is np.ndarray and not core.is_under_transform():
        x = wrap(x.copy())
    return cast(x, dtypes.canonical(dtype)) if dtype is not None else x


def full(shape, fill_value, dtype=None):
    shape = _shape(shape)
    if isinstance(fill_value, Tracer) or not isinstance(
            fill_value, (bool, int, float, complex, np.generic)):
        v = asarray_like(fill_value)
        dt = _dt(dtype, dtype_of(v))
        return broadcast_to(cast(v, dt), shape)
    dt = _dt(dtype, dtypes.scalar_dtype(fill_value) if not isinstance(fill_value, np.generic)
             else fill_value.dtype)
    if core.is_under_transform():
        return L.full(shape, fill_value, dt)
    return wrap(np.full(shape, fill_value, dt))


def zeros(shape, dtype=None):
    """Array of zeros (float32 unless ``dtype`` is given)."""
    return full(shape, 0, _dt(dtype))


def ones(shape, dtype=None):
    return full(shape, 1, _dt(dtype))


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def full_like(a, fill_value, dtype=None, shape=None):
    x = asarray_like(a)
    return full(shape_of(x) if shape is None else shape, fill_value,
                dtype_of(x) if dtype is None else dtype)


def _like(fill):
    def fn(a, dtype=None, shape=None):
        return full_like(a, fill, dtype, shape)

    return fn


zeros_like = _like(0)
ones_like = _like(1)
empty_like = _like(0)


def arange(start, stop=None, step=None, dtype=None):
    """Like numpy.arange; float arguments give float32, int arguments int64."""
    args = [a for a in (start, stop, step) if a is not None]
    for a in args:
        if isinstance(a, Tracer):
            a.to_concrete("fnp.arange bounds (the result length depends on them)", "int")
    if dtype is None:
        dtype = dtypes.default_float if any(isinstance(a, float) or (
            isinstance(a, np.generic) and np.issubdtype(type(a), np.floating)) for a in args) \
            else dtypes.default_int
    dtype = dtypes.canonical(dtype)
    return wrap(np.arange(start, stop, step, dtype=dtype) if stop is not None
                else np.arange(start, dtype=dtype) if step is None
                else np.arange(0, start, step, dtype=dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    dt = _dt(dtype)
    if isinstance(start, Tracer) or isinstance(stop, Tracer):
        t = np.linspace(0.0, 1.0, num, endpoint=endpoint).astype(dt)
        out = add(start, multiply(subtract(stop, start), t))
        return (out, None) if retstep else out
    res = np.linspace(plain(start), plain(stop), num, endpoint=endpoint, retstep=retstep,
                      axis=axis)
    if retstep:
        return wrap(res[0].astype(dt)), res[1]
    return wrap(res.astype(dt))


def eye(N, M=None, k=0, dtype=None):
    return wrap(np.eye(N, M, k, dtype=_dt(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    return wrap(np.tri(N, M, k, dtype=_dt(dtype)))


def tril(m, k=0):
    x = asarray_like(m)
    n, mm = shape_of(x)[-2:]
    return where(np.tri(n, mm, k, dtype=bool), x, 0)


def triu(m, k=0):
    x = asarray_like(m)
    n, mm = shape_of(x)[-2:]
    return where(np.tri(n, mm, k - 1, dtype=bool), 0, x)


def meshgrid(*xi, indexing="xy"):
    xs = [asarray_like(x) for x in xi]
    n = len(xs)
    shape = [shape_of(x)[0] for x in xs]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        s = [1] * n
        s[pos] = shape_of(x)[0]
        out.append(broadcast_to(reshape(x, s), tuple(shape)))
    return out


def astype(x, dtype):
    return cast(asarray_like(x), dtypes.canonical(dtype))
