"""Thin wrappers that bind primitives (like ``jax.lax``), plus structured control flow.

Unlike ``functorch_lite.numpy`` these do not promote dtypes; for convenience a
Python scalar (or 0-d value) operand takes the other operand's dtype and shape.
Derivative and batching rules are written with these functions.
"""

from __future__ import annotations

import numpy as np

from . import core as _core
from .core import ShapedArray, get_aval


def aval(x) -> ShapedArray:
    return get_aval(x)


def _is_pyscalar(x):
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def _match(x, y):
    """Give a scalar operand the other operand's dtype and shape."""
    if _is_pyscalar(x) and not _is_pyscalar(y):
        x = np.asarray(x, aval(y).dtype)
    elif _is_pyscalar(y) and not _is_pyscalar(x):
        y = np.asarray(y, aval(x).dtype)
    ax, ay = aval(x), aval(y)
    if ax.shape != ay.shape:
        if ax.ndim == 0:
            x = broadcast_in_dim(x, ay.shape, ())
        elif ay.ndim == 0:
            y = broadcast_in_dim(y, ax.shape, ())
    return x, y


def _binary(name):
    prim = None

    def fn(x, y):
        nonlocal prim
        if prim is None:
            from .primitives import elementwise as E

            prim = getattr(E, name + "_p")
        # eager fast path: two same-typed numpy arrays go straight to the numpy kernel
        if (type(x) is np.ndarray and type(y) is np.ndarray and x.dtype == y.dtype
                and x.shape == y.shape and _core._state.trace is _core.EVAL_TRACE):
            return prim.impl(x, y)
        x, y = _match(x, y)
        return prim.bind(x, y)

    fn.__name__ = name
    return fn


def _unary(name):
    def fn(x):
        from .primitives import elementwise as E

        return getattr(E, name + "_p").bind(x)

    fn.__name__ = name
    return fn


add, sub, mul, div, rem, pow, max, min, atan2 = map(
    _binary, ["add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2"])
eq, ne, lt, le, gt, ge = map(_binary, ["eq", "ne", "lt", "le", "gt", "ge"])
bitwise_and, bitwise_or, bitwise_xor = map(_binary, ["and", "or", "xor"])
shift_left, shift_right_logical, shift_right_arithmetic = map(
    _binary, ["shift_left", "shift_right_logical", "shift_right_arithmetic"])
(neg, sign, floor, ceil, round, is_finite, exp, log, log1p, expm1, tanh, logistic, sin, cos,
 tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, sqrt, rsqrt, abs, erf,
 bitwise_not) = map(_unary, [
     "neg", "sign", "floor", "ceil", "round", "is_finite", "exp", "log", "log1p", "expm1",
     "tanh", "logistic", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh",
     "acosh", "atanh", "sqrt", "rsqrt", "abs", "erf", "not"])


def trunc(x):
    return mul(sign(x), floor(abs(x)))


def stop_gradient(x):
    from .primitives.elementwise import stop_gradient_p

    return stop_gradient_p.bind(x)


def select(pred, on_true, on_false):
    """Elementwise ``on_true if pred else on_false`` (all the same shape)."""
    from .primitives.elementwise import select_n_p

    on_false, on_true = _match(on_false, on_true)
    return select_n_p.bind(pred, on_false, on_true)


def select_n(which, *cases):
    from .primitives.elementwise import select_n_p

    return select_n_p.bind(which, *cases)


def convert(x, dtype, weak_type: bool = False):
    from .primitives.elementwise import convert_p

    dtype = np.dtype(dtype)
    if _is_pyscalar(x):
        return np.asarray(x, dtype)
    a = aval(x)
    if a.dtype == dtype and a.weak_type == weak_type:
        return x
    return convert_p.bind(x, new_dtype=dtype, weak_type=weak_type)


convert_element_type = convert


def bitcast_convert_type(x, dtype):
    from .primitives.elementwise import bitcast_p

    return bitcast_p.bind(x, new_dtype=np.dtype(dtype))


def iota(dtype, shape, dimension=0):
    from .primitives.elementwise import iota_p

    if isinstance(shape, int):
        shape = (shape,)
    return iota_p.bind(dtype=np.dtype(dtype), shape=tuple(shape), dimension=dimension)


def full(shape, value, dtype):
    if isinstance(shape, int):
        shape = (shape,)
    v = np.asarray(value, dtype) if _is_pyscalar(value) or isinstance(value, np.ndarray) \
        else convert(value, dtype)
    return broadcast_in_dim(v, tuple(shape), ())


def full_like(x, value):
    a = aval(x)
    return full(a.shape, value, a.dtype)


def zeros_like(x):
    return full_like(x, 0)


def zeros_like_aval(a: ShapedArray):
    return full(a.shape, 0, a.dtype)


# ------------------------------------------------------------------ shapes


def broadcast_in_dim(x, shape, broadcast_dimensions):
    from .primitives.shape import broadcast_in_dim_p

    shape = tuple(int(s) for s in shape)
    if _is_pyscalar(x):
        x = np.asarray(x)
    if aval(x).shape == shape and tuple(broadcast_dimensions) == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape,
                                   broadcast_dimensions=tuple(int(d) for d in broadcast_dimensions))


def broadcast_to_rank(x, shape):
    """numpy-style broadcast of ``x`` to ``shape`` (trailing alignment)."""
    a = aval(x)
    nd = len(shape)
    return broadcast_in_dim(x, shape, tuple(range(nd - a.ndim, nd)))


def reshape(x, new_sizes):
    from .primitives.shape import reshape_p

    new_sizes = tuple(int(s) for s in new_sizes)
    if aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def transpose(x, permutation):
    from .primitives.shape import transpose_p

    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


def rev(x, dimensions):
    from .primitives.shape import rev_p

    return rev_p.bind(x, dimensions=tuple(dimensions)) if dimensions else x


def pad(x, padding_config, value=0):
    from .primitives.shape import pad_p

    cfg = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    if all(c == (0, 0, 0) for c in cfg):
        return x
    return pad_p.bind(x, padding_config=cfg, value=value)


def concatenate(xs, dimension):
    from .primitives.shape import concatenate_p

    xs = list(xs)
    if len(xs) == 1:
        return xs[0]
    return concatenate_p.bind(*xs, dimension=int(dimension))


def slice(x, start_indices, limit_indices, strides=None):
    from .primitives.shape import slice_p

    start_indices = tuple(int(s) for s in start_indices)
    limit_indices = tuple(int(s) for s in limit_indices)
    strides = tuple(int(s) for s in strides) if strides is not None else (1,) * len(start_indices)
    if (start_indices == (0,) * len(start_indices) and limit_indices == aval(x).shape
            and all(s == 1 for s in strides)):
        return x
    return slice_p.bind(x, start_indices=start_indices, limit_indices=limit_indices,
                        strides=strides)


def slice_in_dim(x, start, limit, stride=1, axis=0):
    a = aval(x)
    lo, hi, st = [0] * a.ndim, list(a.shape), [1] * a.ndim
    lo[axis], hi[axis], st[axis] = start, limit, stride
    return slice(x, lo, hi, st)


def squeeze(x, dimensions):
    a = aval(x)
    return reshape(x, tuple(n for i, n in enumerate(a.shape) if i not in dimensions))


def expand_dims(x, dimensions):
    a = aval(x)
    shape = list(a.shape)
    for d in sorted(dimensions):
        shape.insert(d, 1)
    return reshape(x, shape)


# ------------------------------------------------------------------ reductions & linalg


def _reduce(name):
    def fn(x, axes):
        from .primitives import reduce as R

        return getattr(R, name + "_p").bind(x, axes=tuple(sorted(int(a) for a in axes)))

    fn.__name__ = name
    return fn


reduce_sum, reduce_max, reduce_min, reduce_prod, reduce_and, reduce_or = map(
    _reduce, ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and",
              "reduce_or"])


def argmax(x, axis, index_dtype=np.int64):
    from .primitives.reduce import argmax_p

    return argmax_p.bind(x, axes=(int(axis),), index_dtype=np.dtype(index_dtype))


def argmin(x, axis, index_dtype=np.int64):
    from .primitives.reduce import argmin_p

    return argmin_p.bind(x, axes=(int(axis),), index_dtype=np.dtype(index_dtype))


def cumsum(x, axis=0, reverse=False):
    from .primitives.reduce import cumsum_p

    return cumsum_p.bind(x, axis=int(axis), reverse=bool(reverse))


def argsort(x, axis=-1, descending=False):
    from .primitives.reduce import argsort_p

    return argsort_p.bind(x, axis=int(axis) % aval(x).ndim, descending=bool(descending))


def dot_general(lhs, rhs, dimension_numbers, preferred_element_type=None):
    from .primitives.linalg import dot_general_p

    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb)))
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dn,
                              preferred_element_type=preferred_element_type)


def gather(operand, indices, spec):
    from .primitives.index import gather_p

    return gather_p.bind(operand, *indices, spec=tuple(spec))


def scatter(operand, updates, indices, spec, mode):
    from .primitives.index import scatter_p

    return scatter_p.bind(operand, updates, *indices, spec=tuple(spec), mode=mode)


# ------------------------------------------------------------------ control flow
# (defined in functorch_lite/control.py; re-exported here as the public fl.lax API)


def __getattr__(name):
    if name in ("cond", "while_loop", "fori_loop", "scan", "switch", "map"):
        from . import control

        return getattr(control, name)
    raise AttributeError(f"module 'functorch_lite.lax' has no attribute {name!r}")
