"""Shared argument handling: conversion (``stack`` included), promotion, broadcasting, axes.

Every fnp function starts here. ``stack`` is part of conversion: ``asarray_like`` stacks a
nested list that holds tracers.
"""

from __future__ import annotations

import numpy as np

from .. import core, dtypes
from .. import lax as L
from ..api_util import as_array
from ..array import WeakArray, plain, wrap
from ..core import Tracer


def asarray_like(x):
    """Concrete numpy array (numpy defaults replaced by ours: float32, int64) or tracer.

    Takes what ``api_util.as_array`` takes, and (nested) lists and tuples: stacked when they
    hold a tracer, else converted by numpy (float64 only where an element is float64)."""
    if isinstance(x, (list, tuple)):
        if _has_tracer(x):
            return stack(x)
        a = np.asarray(x)
        if a.dtype == np.float64 and not _has_float64(x):
            a = a.astype(np.float32)
        return a
    try:
        return as_array(x)
    except TypeError:
        if getattr(x, "__fl_array__", None) is not None:
            raise  # the compat conversion's own error
        raise TypeError(f"cannot convert {type(x).__name__} to an array") from None


def _has_tracer(x):
    return any(isinstance(e, Tracer) or (isinstance(e, (list, tuple)) and _has_tracer(e))
               for e in x)


def _has_float64(x):
    for e in x:
        if isinstance(e, (list, tuple)):
            if _has_float64(e):
                return True
        elif isinstance(e, np.ndarray) and e.dtype == np.float64 or isinstance(e, np.float64):
            return True
    return False


def stack(arrays, axis=0):
    """Join same-shape arrays along a new axis (``asarray_like`` stacks lists of tracers)."""
    xs = [asarray_like(a) for a in arrays]
    if not xs:
        raise ValueError("stack: need at least one array to stack")
    shapes = {shape_of(x) for x in xs}
    if len(shapes) > 1:
        raise ValueError("stack: all input arrays must have the same shape, got "
                         + ", ".join(str(shape_of(x)) for x in xs))
    s = shape_of(xs[0])
    ax = normalize_axis(axis, len(s) + 1, op="stack")
    xs = promote("stack", *[L.reshape(x, s[:ax] + (1,) + s[ax:]) for x in xs], broadcast=False)
    return L.concatenate(xs, ax)


def info(x):
    """(value, dtype, weak, shape) of an argument; Python scalars stay unconverted."""
    if isinstance(x, Tracer):
        a = x.aval
        return x, a.dtype, a.weak_type, a.shape
    if isinstance(x, np.ndarray):
        return x, x.dtype, type(x) is WeakArray, x.shape
    if dtypes.is_python_scalar(x):
        return x, dtypes.scalar_dtype(x), True, ()
    v = asarray_like(x)
    a = core.get_aval(v)
    return v, a.dtype, False, a.shape


def result_type(*arrays_and_dtypes) -> np.dtype:
    """The dtype combining arrays, dtypes and Python scalars gives, with our promotion rules
    (Python scalars weak, integers never widening floats).

    >>> result_type(np.float16, 2.0), result_type(np.int32, np.float32)
    (dtype('float16'), dtype('float32'))
    """
    infos = []
    for x in arrays_and_dtypes:
        if dtypes.is_python_scalar(x):
            infos.append((dtypes.scalar_dtype(x), True))
        elif isinstance(x, (np.dtype, type, str)):
            infos.append((dtypes.canonical(x), False))
        else:
            a = core.get_aval(asarray_like(x))
            infos.append((a.dtype, a.weak_type))
    if not infos:
        raise ValueError("result_type: at least one array or dtype is required")
    return dtypes.promote([d for d, _ in infos], [w for _, w in infos])[0]


def promote_types(type1, type2) -> np.dtype:
    """The dtype two dtypes promote to (our rules: float32 with int64 is float32).

    >>> promote_types("int64", "float32")
    dtype('float32')
    """
    return result_type(dtypes.canonical(type1), dtypes.canonical(type2))


def broadcast_shapes(name, *shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"{name}: operands could not be broadcast together with shapes "
                         + " ".join(str(tuple(s)) for s in shapes)) from None


def cast(x, dtype, weak=False):
    """Cast a value (scalar, array or tracer) to ``dtype``, weakly typed with ``weak``."""
    dtype = np.dtype(dtype)
    if dtypes.is_python_scalar(x):
        # weak stays weak under a transform too: staged, it is a weakly typed literal
        return wrap(np.asarray(x, dtype), weak)
    if isinstance(x, np.ndarray) and not core.is_under_transform():
        if x.dtype == dtype and (type(x) is WeakArray) == weak:
            return x
        return wrap(plain(x).astype(dtype, copy=False), weak)
    a = core.get_aval(x)
    if a.dtype == dtype and a.weak_type == weak:
        return x
    return L.convert(x, dtype, weak)


def promote(name, *xs, to_float=False, to_dtype=None, broadcast=True):
    """Bring operands to one dtype (numpy rules, Python scalars weak) and one shape."""
    infos = [info(x) for x in xs]
    if to_dtype is not None:
        dt, weak = np.dtype(to_dtype), False
    else:
        dt, weak = dtypes.promote([i[1] for i in infos], [i[2] for i in infos])
    if to_float and not dtypes.is_float(dt):
        dt = dtypes.default_float
    shape = broadcast_shapes(name, *[i[3] for i in infos]) if broadcast else None
    out = []
    for v, _d, _w, s in infos:
        v = cast(v, dt, weak)
        if broadcast and tuple(s) != shape:
            v = broadcast_to_shape(v, shape)
        out.append(v)
    return out


def broadcast_to_shape(v, shape):
    """``v`` broadcast to ``shape`` (numpy's rules; a ValueError if it does not fit)."""
    if isinstance(v, np.ndarray) and not core.is_under_transform():
        return wrap(np.broadcast_to(plain(v), shape), type(v) is WeakArray)
    a = core.get_aval(v)
    nd = len(shape)
    if a.ndim > nd:  # (equal ranks are checked by broadcast_in_dim's shape rule)
        raise ValueError(f"cannot broadcast shape {a.shape} to {tuple(shape)}")
    return L.broadcast_in_dim(v, shape, tuple(range(nd - a.ndim, nd)))


def normalize_axis(axis, ndim, name="axis", op=None):
    """``axis`` in ``[0, ndim)``; any axis of a 0-d array is out of range (as in JAX), and an
    out-of-range axis is one ValueError naming the operation."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        where = f"{op}: " if op else ""
        raise ValueError(f"{where}{name} {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def normalize_axes(axis, ndim, op=None):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(normalize_axis(a, ndim, op=op) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op or 'reduction'}: duplicate value in 'axis': {axis}")
        return tuple(sorted(axes))
    return (normalize_axis(axis, ndim, op=op),)


def shape_of(x):
    return core.get_aval(x).shape


def dtype_of(x):
    return core.get_aval(x).dtype


def num_elements(shape):
    """Number of elements of an array of ``shape``."""
    return int(np.prod(shape, dtype=np.int64))
