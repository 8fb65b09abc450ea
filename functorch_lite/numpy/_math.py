"""Elementwise math and selection with numpy names: ``where`` and its one-argument ``nonzero``.

Elementwise functions promote and broadcast their operands, then apply one primitive (or a
few). ``nonzero``/``argwhere`` sit with ``where``, whose one-argument form is ``nonzero``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from .. import lax as L
from ..core import Tracer
from ..primitives.elementwise import eager_binary
from ._core import (
    asarray_like,
    broadcast_shapes,
    broadcast_to_shape,
    dtype_of,
    promote,
    shape_of,
)


def _binary(name, op, to_float=False):
    def general(x1, x2):
        a, b = promote(name, x1, x2, to_float=to_float)
        return op(a, b)

    # same-typed concrete operands need no promotion: the binder's eager fast path
    fn = eager_binary(op.prim, general, float_only=to_float)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` with numpy broadcasting and promotion."
    fn.returns_arrays = True  # every result comes from a primitive: already an Array
    return fn


def _unary(name, op, to_float=True):
    def fn(x, /):
        (a,) = promote(name, x, to_float=to_float)
        return op(a)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}``."
    return fn


add = _binary("add", L.add)
subtract = _binary("subtract", L.sub)
multiply = _binary("multiply", L.mul)
true_divide = divide = _binary("divide", L.div, to_float=True)
maximum = _binary("maximum", L.max)
minimum = _binary("minimum", L.min)
arctan2 = _binary("arctan2", L.atan2, to_float=True)
equal = _binary("equal", L.eq)
not_equal = _binary("not_equal", L.ne)
less = _binary("less", L.lt)
less_equal = _binary("less_equal", L.le)
greater = _binary("greater", L.gt)
greater_equal = _binary("greater_equal", L.ge)
bitwise_and = _binary("bitwise_and", L.bitwise_and)
bitwise_or = _binary("bitwise_or", L.bitwise_or)
bitwise_xor = _binary("bitwise_xor", L.bitwise_xor)
left_shift = _binary("left_shift", L.shift_left)
right_shift = _binary("right_shift", L.shift_right_arithmetic)  # numpy: sign-extending


def power(x1, x2, /):
    """Elementwise ``x1 ** x2``; an integer-valued Python exponent uses repeated products."""
    if isinstance(x2, int) and not isinstance(x2, bool) and 0 <= x2 <= 16:
        # the dtype is what x1 ** x2 promotes to (a weak int exponent: bool becomes int64)
        a, _ = promote("power", x1, x2, broadcast=False)
        return _int_pow(a, x2)
    a, b = promote("power", x1, x2)
    return L.pow(a, b)


def _int_pow(a, n):
    if n == 0:
        return L.full_like(a, 1)
    acc, base = None, a
    while n:
        if n & 1:
            acc = base if acc is None else L.mul(acc, base)
        n >>= 1
        if n:
            base = L.mul(base, base)
    return acc


def floor_divide(x1, x2, /):
    a, b = promote("floor_divide", x1, x2)
    if dtypes.is_float(dtype_of(a)):
        return _float_floor_divide(a, b)
    q = L.div(a, b)  # truncating; fix toward -inf where signs differ and it is inexact
    r = L.rem(a, b)
    fix = L.bitwise_and(L.ne(r, L.zeros_like(r)), L.ne(L.lt(r, L.zeros_like(r)),
                                                        L.lt(b, L.zeros_like(b))))
    return L.sub(q, L.convert(fix, dtype_of(q)))


def _float_floor_divide(a, b):
    """numpy's float floor division (``npy_divmod``): derived from ``fmod`` so that, e.g.,
    ``1.0 // 0.1 == 9.0`` as in numpy and Python (``floor(1.0 / 0.1)`` would give 10).
    Piecewise constant, so its derivative is zero: computed on stopped gradients."""
    a, b = L.stop_gradient(a), L.stop_gradient(b)
    zero = L.zeros_like(a)
    mod = L.rem(a, b)
    div = L.div(L.sub(a, mod), b)
    fix = L.bitwise_and(L.ne(mod, zero), L.ne(L.lt(b, zero), L.lt(mod, zero)))
    div = L.select(fix, L.sub(div, L.full_like(div, 1)), div)
    fl = L.floor(div)
    fl = L.select(L.gt(L.sub(div, fl), L.full_like(div, 0.5)), L.add(fl, L.full_like(fl, 1)), fl)
    quot = L.div(a, b)
    # an exact zero quotient takes the sign of a / b; division by zero gives a / b (inf, nan)
    # (1 / quot < 0 also catches quot == -0.0; lax.div does not warn on zero divisors)
    neg = L.lt(L.div(L.full_like(quot, 1), quot), zero)
    fl = L.select(L.eq(div, zero), L.select(neg, L.neg(zero), zero), fl)
    return L.select(L.eq(b, zero), quot, fl)


def remainder(x1, x2, /):
    """Python-style modulo: the result has the sign of the divisor."""
    a, b = promote("remainder", x1, x2)
    r = L.rem(a, b)
    z = L.zeros_like(r)
    fix = L.bitwise_and(L.ne(r, z), L.ne(L.lt(r, z), L.lt(b, z)))
    return L.select(fix, L.add(r, b), r)


mod = remainder


def fmod(x1, x2, /):
    a, b = promote("fmod", x1, x2)
    return L.rem(a, b)


negative = _unary("negative", L.neg, to_float=False)
positive = _unary("positive", lambda x: x, to_float=False)
sign = _unary("sign", L.sign, to_float=False)
exp = _unary("exp", L.exp)
log = _unary("log", L.log)
log1p = _unary("log1p", L.log1p)
expm1 = _unary("expm1", L.expm1)
sqrt = _unary("sqrt", L.sqrt)
sin = _unary("sin", L.sin)
cos = _unary("cos", L.cos)
tan = _unary("tan", L.tan)
tanh = _unary("tanh", L.tanh)
sinh = _unary("sinh", L.sinh)
cosh = _unary("cosh", L.cosh)
arcsin = _unary("arcsin", L.asin)
arccos = _unary("arccos", L.acos)
arctan = _unary("arctan", L.atan)
arcsinh = _unary("arcsinh", L.asinh)
arccosh = _unary("arccosh", L.acosh)
arctanh = _unary("arctanh", L.atanh)
floor = _unary("floor", L.floor)
ceil = _unary("ceil", L.ceil)
trunc = _unary("trunc", L.trunc)
rint = _unary("rint", L.round)
exp2 = _unary("exp2", lambda x: L.exp(L.mul(x, math.log(2.0))))
log2 = _unary("log2", lambda x: L.div(L.log(x), math.log(2.0)))
log10 = _unary("log10", lambda x: L.div(L.log(x), math.log(10.0)))
reciprocal = _unary("reciprocal", lambda x: L.div(L.full_like(x, 1), x))
deg2rad = radians = _unary("deg2rad", lambda x: L.mul(x, math.pi / 180))
rad2deg = degrees = _unary("rad2deg", lambda x: L.mul(x, 180 / math.pi))


def abs(x, /):  # noqa: A001 - numpy name
    """Elementwise absolute value."""
    (a,) = promote("abs", x)
    return a if dtype_of(a) == np.bool_ else L.abs(a)


absolute = abs


def square(x, /):
    (a,) = promote("square", x)
    return L.mul(a, a)


def cbrt(x, /):
    (a,) = promote("cbrt", x, to_float=True)
    return L.mul(L.sign(a), L.pow(L.abs(a), L.full_like(a, 1 / 3)))


def round(x, /, decimals=0):  # noqa: A001 - numpy name
    """Round half to even, like numpy."""
    (a,) = promote("round", x)
    if not dtypes.is_float(dtype_of(a)):
        return a
    if decimals == 0:
        return L.round(a)
    f = 10.0 ** decimals
    return L.div(L.round(L.mul(a, f)), f)


around = round


def hypot(x1, x2, /):
    a, b = promote("hypot", x1, x2, to_float=True)
    return L.sqrt(L.add(L.mul(a, a), L.mul(b, b)))


def logaddexp(x1, x2, /):
    a, b = promote("logaddexp", x1, x2, to_float=True)
    m = L.max(a, b)
    # equal operands (infinities included: inf - inf would be nan) contribute log1p(1)
    same = L.eq(a, b)
    zero = L.zeros_like(a)
    d = L.sub(L.select(same, zero, a), L.select(same, zero, b))
    return L.add(m, L.log1p(L.exp(L.neg(L.abs(d)))))


def isnan(x, /):
    (a,) = promote("isnan", x)
    if not dtypes.is_float(dtype_of(a)):
        return L.full(a.shape if hasattr(a, "shape") else (), False, np.bool_)
    return L.ne(a, a)


def isfinite(x, /):
    (a,) = promote("isfinite", x)
    if not dtypes.is_float(dtype_of(a)):
        return L.full(np.shape(a) if not hasattr(a, "aval") else a.shape, True, np.bool_)
    return L.is_finite(a)


def isinf(x, /):
    (a,) = promote("isinf", x)
    if not dtypes.is_float(dtype_of(a)):
        return L.full(a.shape, False, np.bool_)
    return L.eq(L.abs(a), L.full_like(a, np.inf))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol * |b|`` elementwise (numpy's asymmetric test); infinities
    are close only to themselves; NaN is close to NaN only with ``equal_nan``. Integer and
    boolean operands compare exactly (as in JAX).

    >>> isclose(np.array([1.0, np.inf]), np.array([1.0 + 1e-9, np.inf]))
    Array([ True,  True])
    """
    x, y = promote("isclose", a, b)
    if not dtypes.is_float(dtype_of(x)):
        return L.eq(x, y)
    finite = L.bitwise_and(L.is_finite(x), L.is_finite(y))
    # non-finite pairs are decided by equality alone; zeroing them first keeps inf - inf
    # (an invalid-value warning) out of the arithmetic
    zero = L.zeros_like(x)
    xf, yf = L.select(finite, x, zero), L.select(finite, y, zero)
    tol = L.add(L.full_like(yf, atol), L.mul(L.full_like(yf, rtol), L.abs(yf)))
    out = L.select(finite, L.le(L.abs(L.sub(xf, yf)), tol), L.eq(x, y))
    if equal_nan:
        out = L.bitwise_or(out, L.bitwise_and(L.ne(x, x), L.ne(y, y)))
    return out


def _logical(name, op):
    def fn(x1, x2, /):
        a, b = promote(name, x1, x2, to_dtype=np.bool_)
        return op(a, b)

    fn.__name__ = name
    return fn


def to_bool(x):
    """``x`` as booleans (``x != 0``), as numpy's logical functions read their operands."""
    x = asarray_like(x)
    if dtype_of(x) == np.bool_:
        return x
    return L.ne(x, L.zeros_like(x))


logical_and = _logical("logical_and", lambda a, b: L.bitwise_and(to_bool(a), to_bool(b)))
logical_or = _logical("logical_or", lambda a, b: L.bitwise_or(to_bool(a), to_bool(b)))
logical_xor = _logical("logical_xor", lambda a, b: L.bitwise_xor(to_bool(a), to_bool(b)))


def logical_not(x, /):
    return L.bitwise_not(to_bool(asarray_like(x)))


def bitwise_not(x, /):
    (a,) = promote("bitwise_not", x)
    return L.bitwise_not(a)


invert = bitwise_not


def where(condition, x=None, y=None, /):
    """``x`` where ``condition`` else ``y`` (broadcasting); one-argument form is ``nonzero``."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where: either both or neither of x and y must be given")
    c = to_bool(asarray_like(condition))
    a, b = promote("where", x, y)
    shape = broadcast_shapes("where", shape_of(c), shape_of(a), shape_of(b))
    c, a, b = (broadcast_to_shape(v, shape) if shape_of(v) != shape else v for v in (c, a, b))
    return L.select(c, a, b)


def nonzero(a):
    """Indices of non-zero elements. The result shape depends on the data, so ``a`` must be
    concrete (use ``fnp.where(cond, x, y)`` inside transforms)."""
    x = asarray_like(a)
    if isinstance(x, Tracer):
        x.to_concrete("fnp.nonzero / one-argument fnp.where (data-dependent output shape)", "array")
    return tuple(np.nonzero(np.asarray(x)))


def argwhere(a):
    return np.stack(nonzero(a), axis=-1)


def clip(a, a_min=None, a_max=None, /):
    """Limit values to ``[a_min, a_max]`` (either may be None)."""
    x = asarray_like(a)
    if a_min is not None:
        x = maximum(x, a_min)
    if a_max is not None:
        x = minimum(x, a_max)
    return x


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    (a,) = promote("nan_to_num", x)
    if not dtypes.is_float(dtype_of(a)):
        return a
    fi = np.finfo(dtype_of(a))
    a = where(isnan(a), nan, a)
    a = where(L.eq(a, L.full_like(a, np.inf)), fi.max if posinf is None else posinf, a)
    return where(L.eq(a, L.full_like(a, -np.inf)), fi.min if neginf is None else neginf, a)
