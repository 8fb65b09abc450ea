"""Elementwise primitives: unary math, binary arithmetic, comparisons, select, casts, iota.

Operands of n-ary elementwise primitives have equal shapes and dtypes; broadcasting
and promotion happen in ``functorch_lite.numpy`` before binding, so rules and
backends never deal with them. Their binders (``lax`` re-exports them; a Python scalar
operand adopts the other operand's dtype and shape) and the rule helpers that need
arithmetic (``add_tangents``, ``defjvp``, ``elementwise_batch``) live here too. This
module sits on ``shape.py``; the other families sit on both.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import Primitive, ShapedArray, get_aval, is_under_transform
from ..dtypes import is_python_scalar
from ..placement import array_module, as_ndarray, is_gpu, to_host
from ..rules import Zero, defjvp_zero, is_undefined
from .shape import bdim_to_front, broadcast_in_dim, instantiate_zeros

# ------------------------------------------------------------------ rule helpers


def add_tangents(a, b):
    """Sum of two tangents, either of which may be a symbolic ``Zero``."""
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    return add(a, b)


def defjvp(prim: Primitive, *fns):
    """JVP from per-argument rules ``fn(tangent, ans, *primals, **params)``.

    ``None`` marks an argument the output does not depend on."""

    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        out = Zero(get_aval(ans).strip_weak())
        for fn, t in zip(fns, tangents):
            if fn is None or type(t) is Zero:
                continue
            out = add_tangents(out, fn(t, ans, *primals, **params))
        return ans, out

    prim.jvp = rule


def elementwise_batch(prim: Primitive):
    """Batching for primitives that need equally shaped operands."""

    def rule(size, vals, dims, **params):
        first = next(d for d in dims if d is not None)
        if all(d == first for d in dims):
            return prim.bind(*vals, **params), first
        args = [bdim_to_front(x, d, size) for x, d in zip(vals, dims)]
        out = prim.bind(*args, **params)
        return out, (([0] * len(out)) if prim.multiple_results else 0)

    prim.batch = rule


# ------------------------------------------------------------------ shape rules


def _check_float(name, x):
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"{name} requires a floating-point operand, got {x.str_short()}; "
                        f"cast with .astype(fnp.float32) first")


def _unary_aval(name, kinds):
    def rule(x, **_):
        if kinds == "float":
            _check_float(name, x)
        return x

    return rule


def _nary_aval(name, out_bool=False, kinds="any"):
    def rule(*xs, **_):
        x0 = xs[0]
        for x in xs[1:]:
            if x.shape != x0.shape:
                raise ValueError(f"{name}: operand shapes differ: "
                                 + ", ".join(str(a.shape) for a in xs))
            if x.dtype != x0.dtype:
                raise TypeError(f"{name}: operand dtypes differ: "
                                + ", ".join(a.dtype.name for a in xs))
        if kinds == "float":
            _check_float(name, x0)
        if kinds == "intbool" and dtypes.is_float(x0.dtype):
            raise TypeError(f"{name} requires integer or boolean operands, got {x0.str_short()}")
        weak = all(x.weak_type for x in xs)
        return ShapedArray(x0.shape, np.bool_ if out_bool else x0.dtype, weak and not out_bool)

    return rule


def _keep_dtype(fn):
    def impl(*xs, **_):
        out = fn(*xs)
        if type(out) is not np.ndarray:
            out = as_ndarray(out)  # a numpy scalar from 0-d operands
        dt = getattr(xs[0], "dtype", None)
        return out if dt is None or out.dtype == dt else out.astype(dt, copy=False)

    return impl


def unop(name, np_fn, kinds="float"):
    p = Primitive(name)
    p.impl = _keep_dtype(np_fn)
    p.abstract_eval = _unary_aval(name, kinds)
    elementwise_batch(p)
    return p


def binop(name, np_fn, kinds="any", out_bool=False):
    p = Primitive(name)
    p.impl = (lambda x, y, **_: as_ndarray(np_fn(x, y))) if out_bool else _keep_dtype(np_fn)
    p.abstract_eval = _nary_aval(name, out_bool, kinds)
    elementwise_batch(p)
    return p


# ------------------------------------------------------------------ unary math


def _stable_sigmoid(x):
    # one exp of -|x| (never overflows) keeps full relative precision in both tails
    x = as_ndarray(x)
    e = np.exp(-np.abs(x))
    d = 1 + e
    return np.where(x >= 0, 1 / d, e / d).astype(x.dtype, copy=False)


def on_host(fn):
    """``fn`` (a numpy kernel with no GPU counterpart: Python's math per element) run on
    the host for GPU operands, its result copied back to their GPU."""

    def run(x, *rest):
        if not is_gpu(x):
            return fn(x, *rest)
        xp = array_module(x)
        with xp.cuda.Device(x.device.id):
            return xp.asarray(fn(to_host(x), *rest))

    run.__name__ = fn.__name__
    return run


_erf_vec = np.frompyfunc(math.erf, 1, 1)


@on_host
def _erf(x):
    return _erf_vec(x).astype(x.dtype) if x.ndim else np.asarray(math.erf(x), x.dtype)


def _lgamma1(v):
    try:
        return math.lgamma(v)
    except OverflowError:  # log Gamma(x) > max double for x near 1e308
        return math.inf


_erfc_vec = np.frompyfunc(math.erfc, 1, 1)
_lgamma_vec = np.frompyfunc(_lgamma1, 1, 1)


@on_host
def _erfc(x):
    return _erfc_vec(x).astype(x.dtype) if x.ndim else np.asarray(math.erfc(x), x.dtype)


@on_host
def _lgamma(x):
    """log|Gamma(x)| (math.lgamma per element; +inf at the poles 0, -1, -2, ...)."""
    x = np.asarray(x)
    flat = x.astype(np.float64).ravel()
    out = np.full(flat.shape, np.inf)
    ok = ~((flat <= 0) & (flat == np.floor(flat))) & ~np.isnan(flat)
    out[np.isnan(flat)] = np.nan
    if ok.any():
        with np.errstate(over="ignore"):  # an overflowing log Gamma is inf
            out[ok] = _lgamma_vec(flat[ok]).astype(np.float64)
    return out.reshape(x.shape).astype(x.dtype)


# Bernoulli numbers B2, B4, ..., B20 for the asymptotic series of the polygamma functions
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330)


@on_host
def _polygamma(x, m):
    """The m-th derivative of digamma, psi^(m)(x), in float64: recurrence up to x >= 12,
    then the asymptotic series (relative error ~1e-15); digamma (m=0) reflects x < 0.5
    (psi(x) = psi(1 - x) - pi cot(pi x)). Poles (0, -1, -2, ...) give nan."""
    x = np.asarray(x)
    z = x.astype(np.float64)
    pole = (z <= 0) & (z == np.floor(z))
    acc = np.zeros_like(z)
    sign = 1.0 if m % 2 else -1.0  # (-1)**(m + 1)
    fact = math.factorial(m)
    with np.errstate(all="ignore"):
        if m == 0:
            refl = z < 0.5
            acc = np.where(refl, -np.pi / np.tan(np.pi * z), 0.0)
            z = np.where(refl, 1.0 - z, z)
        # psi^(m)(z) = psi^(m)(z + 1) + (-1)**(m+1) m! / z**(m+1), until z >= 12; far below
        # zero (only reached for m >= 1) the sum needs too many terms: nan
        # as many steps as the smallest finite element needs (an infinite or nan element
        # must not change the others' results)
        finite = z[np.isfinite(z)]
        lo = float(finite.min()) if finite.size else 12.0
        steps = int(min(max(0.0, math.ceil(12.0 - lo)), 10_000))
        for _ in range(steps):
            small = z < 12.0
            acc = acc + np.where(small, sign * fact / z ** (m + 1), 0.0)
            z = np.where(small, z + 1.0, z)
        zi = 1.0 / z
        zi2 = zi * zi
        if m == 0:
            series = np.log(z) - 0.5 * zi
            zp = zi2
            for k, b in enumerate(_BERNOULLI, 1):
                series = series - b / (2 * k) * zp
                zp = zp * zi2
        else:
            series = math.factorial(m - 1) * zi ** m + 0.5 * fact * zi ** (m + 1)
            zp = zi ** (m + 2)
            for k, b in enumerate(_BERNOULLI, 1):
                series = series + b * math.factorial(2 * k + m - 1) / math.factorial(2 * k) * zp
                zp = zp * zi2
            series = sign * series
        out = np.where(z >= 12.0, acc + series, np.nan)
    out = np.where(pole | np.isnan(x.astype(np.float64)), np.nan, out)
    return out.astype(x.dtype)


def _rsqrt(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 / np.sqrt(x)


def _quiet(fn):
    def wrapped(*xs):
        with np.errstate(all="ignore"):
            return fn(*xs)

    return wrapped


neg_p = unop("neg", np.negative, "any")
sign_p = unop("sign", np.sign, "any")
floor_p = unop("floor", np.floor)
ceil_p = unop("ceil", np.ceil)
round_p = unop("round", np.round)
is_finite_p = Primitive("is_finite")
is_finite_p.impl = lambda x: as_ndarray(np.isfinite(x))
is_finite_p.abstract_eval = lambda x: ShapedArray(x.shape, np.bool_)
elementwise_batch(is_finite_p)
exp_p = unop("exp", _quiet(np.exp))
log_p = unop("log", _quiet(np.log))
log1p_p = unop("log1p", _quiet(np.log1p))
expm1_p = unop("expm1", _quiet(np.expm1))
tanh_p = unop("tanh", np.tanh)
logistic_p = unop("logistic", _quiet(_stable_sigmoid))
sin_p = unop("sin", np.sin)
cos_p = unop("cos", np.cos)
tan_p = unop("tan", _quiet(np.tan))
asin_p = unop("asin", _quiet(np.arcsin))
acos_p = unop("acos", _quiet(np.arccos))
atan_p = unop("atan", np.arctan)
sinh_p = unop("sinh", _quiet(np.sinh))
cosh_p = unop("cosh", _quiet(np.cosh))
asinh_p = unop("asinh", np.arcsinh)
acosh_p = unop("acosh", _quiet(np.arccosh))
atanh_p = unop("atanh", _quiet(np.arctanh))
sqrt_p = unop("sqrt", _quiet(np.sqrt))
rsqrt_p = unop("rsqrt", _rsqrt)
abs_p = unop("abs", np.abs, "any")
erf_p = unop("erf", _erf)
erfc_p = unop("erfc", _erfc)
lgamma_p = unop("lgamma", _lgamma)
not_p = unop("not", np.invert, "intbool")
polygamma_p = Primitive("polygamma")  # psi^(m): m (static) derivatives of digamma
polygamma_p.impl = lambda x, m: _polygamma(x, m)
polygamma_p.abstract_eval = _unary_aval("polygamma", "float")
elementwise_batch(polygamma_p)

for _p in (sign_p, floor_p, ceil_p, round_p, is_finite_p, not_p):
    defjvp_zero(_p)

defjvp(exp_p, lambda g, ans, x: mul(g, ans))
defjvp(log_p, lambda g, ans, x: div(g, x))
defjvp(log1p_p, lambda g, ans, x: div(g, add(x, 1)))
defjvp(expm1_p, lambda g, ans, x: mul(g, add(ans, 1)))
defjvp(tanh_p, lambda g, ans, x: mul(g, sub(1, mul(ans, ans))))
defjvp(logistic_p, lambda g, ans, x: mul(g, mul(ans, sub(1, ans))))
defjvp(sin_p, lambda g, ans, x: mul(g, cos(x)))
defjvp(cos_p, lambda g, ans, x: neg(mul(g, sin(x))))
defjvp(tan_p, lambda g, ans, x: mul(g, add(1, mul(ans, ans))))
defjvp(asin_p, lambda g, ans, x: mul(g, rsqrt(sub(1, mul(x, x)))))
defjvp(acos_p, lambda g, ans, x: neg(mul(g, rsqrt(sub(1, mul(x, x))))))
defjvp(atan_p, lambda g, ans, x: div(g, add(1, mul(x, x))))
defjvp(sinh_p, lambda g, ans, x: mul(g, cosh(x)))
defjvp(cosh_p, lambda g, ans, x: mul(g, sinh(x)))
defjvp(asinh_p, lambda g, ans, x: mul(g, rsqrt(add(mul(x, x), 1))))
defjvp(acosh_p, lambda g, ans, x: mul(g, rsqrt(mul(sub(x, 1), add(x, 1)))))
defjvp(atanh_p, lambda g, ans, x: div(g, sub(1, mul(x, x))))
defjvp(sqrt_p, lambda g, ans, x: div(mul(g, 0.5), ans))
defjvp(rsqrt_p, lambda g, ans, x: mul(mul(g, -0.5), div(ans, x)))
defjvp(abs_p, lambda g, ans, x: mul(g, sign(x)))
defjvp(erf_p, lambda g, ans, x: mul(g, mul(2 / math.sqrt(math.pi), exp(neg(mul(x, x))))))
defjvp(erfc_p, lambda g, ans, x: mul(g, mul(-2 / math.sqrt(math.pi), exp(neg(mul(x, x))))))
defjvp(lgamma_p, lambda g, ans, x: mul(g, polygamma_p.bind(x, m=0)))
defjvp(polygamma_p, lambda g, ans, x, m: mul(g, polygamma_p.bind(x, m=m + 1)))


def _neg_transpose(ct, x):
    return [Zero(x.aval) if type(ct) is Zero else neg(ct)]


neg_p.jvp = lambda primals, tangents: (
    neg(primals[0]), tangents[0] if type(tangents[0]) is Zero else neg(tangents[0]))
neg_p.transpose = _neg_transpose

# ------------------------------------------------------------------ binary arithmetic


def _int_div(x, y):
    """C-style truncating integer division (what lax.div means for integers)."""
    with np.errstate(all="ignore"):
        if dtypes.is_float(as_ndarray(x).dtype):
            return np.divide(x, y)
        ysafe = np.where(y == 0, 1, y)
        q = np.floor_divide(x, ysafe)
        fix = (np.remainder(x, ysafe) != 0) & ((x < 0) != (ysafe < 0))
        return np.where(y == 0, 0, q + fix)


add_p = binop("add", np.add)
sub_p = binop("sub", np.subtract)
mul_p = binop("mul", np.multiply)
div_p = binop("div", _int_div)
rem_p = binop("rem", _quiet(np.fmod))
pow_p = binop("pow", _quiet(np.power))
max_p = binop("max", np.maximum)
min_p = binop("min", np.minimum)
atan2_p = binop("atan2", np.arctan2, "float")
and_p = binop("and", np.bitwise_and, "intbool")
or_p = binop("or", np.bitwise_or, "intbool")
xor_p = binop("xor", np.bitwise_xor, "intbool")
shift_left_p = binop("shift_left", np.left_shift, "intbool")


def _shift_right_logical(x, y):
    """Zero-filling right shift (numpy's right_shift sign-extends signed integers)."""
    x, y = as_ndarray(x), as_ndarray(y)
    if x.dtype.kind == "i":
        u = np.dtype(f"u{x.dtype.itemsize}")
        return np.right_shift(x.view(u), y.astype(u)).view(x.dtype)
    return np.right_shift(x, y)


shift_right_logical_p = binop("shift_right_logical", _shift_right_logical, "intbool")
shift_right_arithmetic_p = binop("shift_right_arithmetic", np.right_shift, "intbool")
eq_p = binop("eq", np.equal, out_bool=True)
ne_p = binop("ne", np.not_equal, out_bool=True)
lt_p = binop("lt", np.less, out_bool=True)
le_p = binop("le", np.less_equal, out_bool=True)
gt_p = binop("gt", np.greater, out_bool=True)
ge_p = binop("ge", np.greater_equal, out_bool=True)

for _p in (and_p, or_p, xor_p, shift_left_p, shift_right_logical_p, shift_right_arithmetic_p,
           eq_p, ne_p, lt_p, le_p, gt_p, ge_p):
    defjvp_zero(_p)


def _add_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    return add(x, y), (ty if type(tx) is Zero else tx if type(ty) is Zero else add(tx, ty))


def _sub_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    if type(ty) is Zero:
        t = tx
    elif type(tx) is Zero:
        t = neg(ty)
    else:
        t = sub(tx, ty)
    return sub(x, y), t


def _add_transpose(ct, x, y):
    z = type(ct) is Zero
    return [(Zero(x.aval) if z else ct) if is_undefined(x) else None,
            (Zero(y.aval) if z else ct) if is_undefined(y) else None]


def _sub_transpose(ct, x, y):
    z = type(ct) is Zero
    return [(Zero(x.aval) if z else ct) if is_undefined(x) else None,
            (Zero(y.aval) if z else neg(ct)) if is_undefined(y) else None]


def _mul_transpose(ct, x, y):
    if is_undefined(x) and is_undefined(y):
        raise TypeError("mul: both operands are linear; the product is not linear")
    if is_undefined(x):
        return [Zero(x.aval) if type(ct) is Zero else mul(ct, y), None]
    return [None, Zero(y.aval) if type(ct) is Zero else mul(x, ct)]


def _div_transpose(ct, x, y):
    if is_undefined(y):
        raise TypeError("div: the divisor is linear; division is not linear in it")
    return [Zero(x.aval) if type(ct) is Zero else div(ct, y), None]


add_p.jvp, add_p.transpose = _add_jvp, _add_transpose
sub_p.jvp, sub_p.transpose = _sub_jvp, _sub_transpose
defjvp(mul_p, lambda g, ans, x, y: mul(g, y), lambda g, ans, x, y: mul(x, g))
mul_p.transpose = _mul_transpose
defjvp(div_p, lambda g, ans, x, y: div(g, y),
       lambda g, ans, x, y: neg(mul(g, div(ans, y))))
div_p.transpose = _div_transpose
# d/dy fmod(x, y) = -trunc(x / y); (x - fmod(x, y)) / y is that integer up to rounding
# (e.g. 2.9999999), so round it rather than truncate it
defjvp(rem_p, lambda g, ans, x, y: g,
       lambda g, ans, x, y: mul(neg(g), round(div(sub(x, ans), y))))


def _pow_jvp_x(g, ans, x, y):
    # d/dx x**y = y * x**(y-1); written with select so x == 0, y == 0 gives 0, not nan
    safe = select(eq(y, 0), full_like(y, 1), y)
    return mul(g, select(eq(y, 0), zeros_like(x), mul(safe, pow(x, sub(safe, 1)))))


def _pow_jvp_y(g, ans, x, y):
    logx = select(eq(x, 0), zeros_like(x), log(select(eq(x, 0), full_like(x, 1), x)))
    return mul(g, mul(ans, logx))


defjvp(pow_p, _pow_jvp_x, _pow_jvp_y)


def _minmax_jvp(picks_first):
    # ties split the tangent equally, like JAX, so the rule is symmetric
    def jx(g, ans, x, y):
        w = select(eq(x, y), full_like(g, 0.5), convert(picks_first.bind(x, y), g.dtype))
        return mul(g, w)

    def jy(g, ans, x, y):
        w = select(eq(x, y), full_like(g, 0.5), convert(picks_first.bind(y, x), g.dtype))
        return mul(g, w)

    return jx, jy


defjvp(max_p, *_minmax_jvp(gt_p))
defjvp(min_p, *_minmax_jvp(lt_p))


def _atan2_jvp_x(g, ans, x, y):
    return mul(g, div(y, add(mul(x, x), mul(y, y))))


def _atan2_jvp_y(g, ans, x, y):
    return mul(g, neg(div(x, add(mul(x, x), mul(y, y)))))


defjvp(atan2_p, _atan2_jvp_x, _atan2_jvp_y)

# ------------------------------------------------------------------ select, casts, iota

select_n_p = Primitive("select_n")


def _select_impl(pred, *cases):
    if len(cases) == 2 and pred.dtype == np.bool_:
        return as_ndarray(np.where(pred, cases[1], cases[0]))
    return as_ndarray(np.choose(pred.astype(np.int64), cases))


def _select_aval(pred, *cases):
    if pred.dtype != np.bool_ and not dtypes.is_int(pred.dtype):
        raise TypeError(f"select_n: predicate must be bool or int, got {pred.str_short()}")
    _nary_aval("select_n")(*cases)
    if pred.shape != cases[0].shape:
        raise ValueError(f"select_n: predicate shape {pred.shape} differs from case shape "
                         f"{cases[0].shape}")
    return ShapedArray(cases[0].shape, cases[0].dtype, all(c.weak_type for c in cases))


def _select_jvp(primals, tangents):
    pred, *cases = primals
    out = select_n_p.bind(pred, *cases)
    ts = tangents[1:]
    if all(type(t) is Zero for t in ts):
        return out, Zero(ShapedArray(out.shape, out.dtype))
    return out, select_n_p.bind(pred, *[instantiate_zeros(t) for t in ts])


def _select_transpose(ct, pred, *cases):
    if is_undefined(pred):
        raise TypeError("select_n: the predicate cannot be linear")
    res = [None]
    for i, c in enumerate(cases):
        if not is_undefined(c):
            res.append(None)
        elif type(ct) is Zero:
            res.append(Zero(c.aval))
        else:
            zeros = zeros_like(ct)
            res.append(select_n_p.bind(pred, *[ct if j == i else zeros for j in range(len(cases))]))
    return res


select_n_p.impl = _select_impl
select_n_p.abstract_eval = _select_aval
select_n_p.jvp = _select_jvp
select_n_p.transpose = _select_transpose
elementwise_batch(select_n_p)

convert_p = Primitive("convert_element_type")


def _convert_impl(x, new_dtype, weak_type=False):
    x = as_ndarray(x)
    return x.astype(new_dtype, copy=False) if x.dtype != new_dtype else x


def _convert_jvp(primals, tangents, new_dtype, weak_type=False):
    (x,), (t,) = primals, tangents
    out = convert_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    if type(t) is Zero or not dtypes.is_float(new_dtype) or not dtypes.is_float(x.dtype):
        return out, Zero(ShapedArray(np.shape(out), new_dtype))
    return out, convert_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)


def _convert_transpose(ct, x, new_dtype, weak_type=False):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [convert_p.bind(ct, new_dtype=x.aval.dtype, weak_type=x.aval.weak_type)]


convert_p.impl = _convert_impl
convert_p.abstract_eval = lambda x, new_dtype, weak_type=False: ShapedArray(
    x.shape, new_dtype, weak_type)
convert_p.jvp = _convert_jvp
convert_p.transpose = _convert_transpose
elementwise_batch(convert_p)

bitcast_p = Primitive("bitcast_convert_type")


def _bitcast_aval(x, new_dtype):
    if np.dtype(new_dtype).itemsize != x.dtype.itemsize:
        raise TypeError(f"bitcast_convert_type: {x.dtype.name} and {np.dtype(new_dtype).name} "
                        "differ in width")
    return ShapedArray(x.shape, new_dtype)


bitcast_p.impl = lambda x, new_dtype: array_module(x).ascontiguousarray(x).view(
    new_dtype).reshape(x.shape)
bitcast_p.abstract_eval = _bitcast_aval
defjvp_zero(bitcast_p)
elementwise_batch(bitcast_p)

iota_p = Primitive("iota")


def _iota_impl(dtype, shape, dimension):
    r = np.arange(shape[dimension], dtype=dtype)
    return np.ascontiguousarray(np.broadcast_to(
        r.reshape([-1 if i == dimension else 1 for i in range(len(shape))]), shape))


iota_p.impl = _iota_impl
iota_p.abstract_eval = lambda dtype, shape, dimension: ShapedArray(shape, dtype)
defjvp_zero(iota_p)

stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.impl = lambda x: x
stop_gradient_p.abstract_eval = lambda x: x
stop_gradient_p.jvp = lambda primals, tangents: (
    stop_gradient_p.bind(primals[0]), Zero(get_aval(primals[0]).strip_weak()))
elementwise_batch(stop_gradient_p)


# ------------------------------------------------------------------ binders (lax re-exports)


def _match(x, y):
    """Give a Python-scalar or 0-d operand the other operand's dtype and shape."""
    if is_python_scalar(x) and not is_python_scalar(y):
        x = np.asarray(x, get_aval(y).dtype)
    elif is_python_scalar(y) and not is_python_scalar(x):
        y = np.asarray(y, get_aval(x).dtype)
    ax, ay = get_aval(x), get_aval(y)
    if ax.shape != ay.shape:
        if ax.ndim == 0:
            x = broadcast_in_dim(x, ay.shape, ())
        elif ay.ndim == 0:
            y = broadcast_in_dim(y, ax.shape, ())
    return x, y


def eager_binary(prim: Primitive, general, float_only: bool = False):
    """``prim`` as a binary function with the eager fast path: two concrete arrays of one
    shape and dtype (a float dtype with ``float_only``) go straight to the numpy kernel and
    come back as an Array; everything else is ``general(x, y)`` (promotion, broadcasting,
    tracing). fnp's elementwise functions are built on it too, so the common eager call
    pays for one check."""

    def fn(x, y):
        tx, ty = type(x), type(y)
        if ((tx is Array or tx is np.ndarray) and (ty is Array or ty is np.ndarray)
                and x.dtype == y.dtype and x.shape == y.shape
                and (not float_only or x.dtype.kind == "f") and not is_under_transform()):
            out = prim.impl(x.view(np.ndarray) if tx is Array else x,
                            y.view(np.ndarray) if ty is Array else y)
            out = out.view(Array)  # wrap(), inlined: this is the hottest path there is
            out.setflags(write=False)
            return out
        return general(x, y)

    return fn


def _binary(prim):
    def general(x, y):
        x, y = _match(x, y)
        return prim.bind(x, y)

    fn = eager_binary(prim, general)
    fn.__name__ = prim.name
    fn.prim = prim
    return fn


def _unary(prim):
    def fn(x):
        return prim.bind(x)

    fn.__name__ = prim.name
    return fn


add, sub, mul, div, rem, pow, max, min, atan2 = map(_binary, [  # noqa: A001 - lax's names
    add_p, sub_p, mul_p, div_p, rem_p, pow_p, max_p, min_p, atan2_p])
eq, ne, lt, le, gt, ge = map(_binary, [eq_p, ne_p, lt_p, le_p, gt_p, ge_p])
bitwise_and, bitwise_or, bitwise_xor = map(_binary, [and_p, or_p, xor_p])
shift_left, shift_right_logical, shift_right_arithmetic = map(
    _binary, [shift_left_p, shift_right_logical_p, shift_right_arithmetic_p])
(neg, sign, floor, ceil, round, is_finite, exp, log, log1p, expm1, tanh,  # noqa: A001
 logistic, sin, cos, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, sqrt, rsqrt, abs,
 erf, erfc, lgamma, bitwise_not) = map(_unary, [
     neg_p, sign_p, floor_p, ceil_p, round_p, is_finite_p, exp_p, log_p, log1p_p, expm1_p,
     tanh_p, logistic_p, sin_p, cos_p, tan_p, asin_p, acos_p, atan_p, sinh_p, cosh_p, asinh_p,
     acosh_p, atanh_p, sqrt_p, rsqrt_p, abs_p, erf_p, erfc_p, lgamma_p, not_p])


def polygamma(m: int, x):
    """psi^(m)(x), the m-th derivative of digamma (m a non-negative Python int).

    >>> polygamma(1, np.float64(1.0))  # pi**2 / 6
    Array(1.64493407)
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0:
        raise TypeError(f"polygamma: m must be a non-negative Python int, got {m!r}")
    return polygamma_p.bind(x, m=int(m))


def digamma(x):
    """psi(x) = d/dx log Gamma(x)."""
    return polygamma_p.bind(x, m=0)


def trunc(x):
    return mul(sign(x), floor(abs(x)))


def stop_gradient(x):
    return stop_gradient_p.bind(x)


def select(pred, on_true, on_false):
    """Elementwise ``on_true if pred else on_false`` (all the same shape)."""
    on_false, on_true = _match(on_false, on_true)
    return select_n_p.bind(pred, on_false, on_true)


def select_n(which, *cases):
    return select_n_p.bind(which, *cases)


def convert(x, dtype, weak_type: bool = False):
    """Cast to ``dtype`` (a no-op when the type already matches)."""
    dtype = np.dtype(dtype)
    if is_python_scalar(x):
        return np.asarray(x, dtype)
    a = get_aval(x)
    if a.dtype == dtype and a.weak_type == weak_type:
        return x
    return convert_p.bind(x, new_dtype=dtype, weak_type=weak_type)


convert_element_type = convert


def bitcast_convert_type(x, dtype):
    return bitcast_p.bind(x, new_dtype=np.dtype(dtype))


def iota(dtype, shape, dimension=0):
    """``0, 1, 2, ...`` along ``dimension`` of ``shape``, broadcast along the others."""
    if isinstance(shape, int):
        shape = (shape,)
    return iota_p.bind(dtype=np.dtype(dtype), shape=tuple(shape), dimension=dimension)


def full(shape, value, dtype):
    """An array of ``shape`` filled with ``value`` (a scalar, 0-d array or traced 0-d value).

    >>> full((2,), 3, np.float32)
    Array([3., 3.], dtype=float32)
    """
    if isinstance(shape, int):
        shape = (shape,)
    v = np.asarray(value, dtype) if is_python_scalar(value) or isinstance(value, np.ndarray) \
        else convert(value, dtype)
    return broadcast_in_dim(v, tuple(shape), ())


def full_like(x, value):
    a = get_aval(x)
    return full(a.shape, value, a.dtype)


def zeros_like(x):
    return full_like(x, 0)
