"""Every primitive, exercised through the ``functorch_lite.numpy`` functions built on it.

For each op family:
  (a) eager result vs the numpy reference (values and dtype);
  (b) ``fl.jit(f)`` equals eager (the numpy reference backend);
  (c) ``fl.grad`` vs float64 central differences, and ``fl.jvp``/``fl.vjp`` consistency;
  (d) ``fl.vmap`` vs a Python loop (non-zero and ``None`` in_axes, non-zero out_axes).

Shapes and values come from hypothesis (profile "ci" in conftest.py: deterministic).
Gradient checks replace the drawn values by continuous random float64 values from a
drawn seed, so finite differences never straddle a kink or a tie.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from helpers import (
    ALL_DTYPES,
    FLOAT_DTYPES,
    arrays,
    assert_close,
    check_grads,
    check_jit,
    check_jvp_vjp,
    check_vmap,
    rand,
    rand_away,
    result_dtype,
    seeds,
    shapes,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import lax

# =========================================================================== unary elementwise


@dataclass
class Unary:
    name: str
    f: Callable
    ref: Callable
    lo: float = -3.0
    hi: float = 3.0
    away: bool = False  # keep |x| >= lo (kink or pole at 0)
    zero_grad: bool = False  # derivative is zero almost everywhere
    int_keeps: bool = False  # integer input keeps its dtype (otherwise becomes float32)
    lax_only: bool = False  # a lax function: float input only, no promotion

    def __repr__(self):
        return self.name


_erf = np.vectorize(math.erf, otypes=[np.float64])

UNARY = [
    Unary("negative", fnp.negative, np.negative, int_keeps=True),
    Unary("positive", fnp.positive, np.positive, int_keeps=True),
    Unary("abs", fnp.abs, np.abs, 0.2, 3.0, away=True, int_keeps=True),
    Unary("sign", fnp.sign, np.sign, zero_grad=True, int_keeps=True),
    Unary("square", fnp.square, np.square, int_keeps=True),
    Unary("exp", fnp.exp, np.exp),
    Unary("exp2", fnp.exp2, np.exp2),
    Unary("expm1", fnp.expm1, np.expm1),
    Unary("log", fnp.log, np.log, 0.1, 4.0),
    Unary("log1p", fnp.log1p, np.log1p, -0.9, 3.0),
    Unary("log2", fnp.log2, np.log2, 0.1, 4.0),
    Unary("log10", fnp.log10, np.log10, 0.1, 4.0),
    Unary("sqrt", fnp.sqrt, np.sqrt, 0.1, 4.0),
    Unary("cbrt", fnp.cbrt, np.cbrt, 0.2, 3.0, away=True),
    Unary("reciprocal", fnp.reciprocal, lambda x: np.reciprocal(x.astype(np.result_type(
        x.dtype, np.float32))), 0.2, 3.0, away=True),
    Unary("sin", fnp.sin, np.sin),
    Unary("cos", fnp.cos, np.cos),
    Unary("tan", fnp.tan, np.tan, -1.3, 1.3),
    Unary("tanh", fnp.tanh, np.tanh),
    Unary("sinh", fnp.sinh, np.sinh),
    Unary("cosh", fnp.cosh, np.cosh),
    Unary("arcsin", fnp.arcsin, np.arcsin, -0.95, 0.95),
    Unary("arccos", fnp.arccos, np.arccos, -0.95, 0.95),
    Unary("arctan", fnp.arctan, np.arctan),
    Unary("arcsinh", fnp.arcsinh, np.arcsinh),
    Unary("arccosh", fnp.arccosh, np.arccosh, 1.05, 4.0),
    Unary("arctanh", fnp.arctanh, np.arctanh, -0.95, 0.95),
    Unary("deg2rad", fnp.deg2rad, np.deg2rad),
    Unary("rad2deg", fnp.rad2deg, np.rad2deg),
    Unary("floor", fnp.floor, np.floor, zero_grad=True),
    Unary("ceil", fnp.ceil, np.ceil, zero_grad=True),
    Unary("trunc", fnp.trunc, np.trunc, zero_grad=True),
    Unary("rint", fnp.rint, np.rint, zero_grad=True),
    Unary("round", fnp.round, np.round, zero_grad=True, int_keeps=True),
    Unary("lax.rsqrt", lax.rsqrt, lambda x: (1 / np.sqrt(x)).astype(x.dtype), 0.1, 4.0,
          lax_only=True),
    Unary("lax.erf", lax.erf, lambda x: _erf(x).astype(x.dtype), lax_only=True),
    Unary("lax.logistic", lax.logistic, lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype),
          -6.0, 6.0, lax_only=True),
]


def _unary_values(data, op, dtype, shape):
    x = data.draw(arrays(dtype, shape, -op.hi if op.away else op.lo, op.hi))
    if op.away:
        x = np.where(np.abs(x) < op.lo, np.asarray(op.lo, dtype), x).astype(dtype)
    return x


def _unary_rand(rng, op, shape):
    if op.away:
        return rand_away(rng, shape, np.float64, op.lo, op.hi)
    return rand(rng, shape, np.float64, op.lo, op.hi)


@pytest.mark.parametrize("op", UNARY, ids=repr)
@given(data=st.data())
def test_unary_eager_matches_numpy(op, data):
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = _unary_values(data, op, dtype, data.draw(shapes()))
    out = op.f(x)
    assert_close(out, op.ref(x))


@pytest.mark.parametrize("op", [o for o in UNARY if not o.lax_only], ids=repr)
@given(data=st.data())
def test_unary_integer_input(op, data):
    dtype = data.draw(st.sampled_from([np.int32, np.int64]))
    lo = max(math.ceil(op.lo), 1) if op.away or op.lo > 0 else math.ceil(op.lo)
    x = data.draw(arrays(dtype, data.draw(shapes()), lo, math.floor(op.hi)))
    out = op.f(x)
    if op.int_keeps:
        assert_close(out, op.ref(x))
    else:  # promoted to the default float, as jax.numpy does
        assert_close(out, op.ref(x.astype(np.float32)).astype(np.float32))


@pytest.mark.parametrize("op", UNARY, ids=repr)
@given(data=st.data())
def test_unary_jit_matches_eager(op, data):
    x = _unary_values(data, op, np.float32, data.draw(shapes()))
    check_jit(op.f, x)


@pytest.mark.parametrize("op", UNARY, ids=repr)
@given(shape=shapes(0, 2, 1, 3), seed=seeds)
def test_unary_grad(op, shape, seed):
    rng = np.random.default_rng(seed)
    x = _unary_rand(rng, op, shape)
    w = rand(rng, shape)
    f = lambda x: fnp.sum(op.f(x) * w)
    if op.zero_grad:
        g = fl.grad(f)(x)
        assert g.dtype == np.float64 and g.shape == x.shape
        np.testing.assert_array_equal(g, np.zeros_like(x))
        return
    check_grads(f, [x])
    check_jvp_vjp(op.f, [x], seed=seed)


@pytest.mark.parametrize("op", UNARY, ids=repr)
@given(shape=shapes(2, 3, 1, 3), seed=seeds, out_axis=st.sampled_from([0, 1, -1]))
def test_unary_vmap(op, shape, seed, out_axis):
    x = _unary_rand(np.random.default_rng(seed), op, shape).astype(np.float32)
    check_vmap(op.f, [x], in_axes=1, out_axes=out_axis)


def test_unary_second_derivatives():
    # rules are written with lax, so they differentiate again
    x = np.array([0.3, 0.7, 1.1], np.float64)
    for f, d2 in [(fnp.sin, lambda x: -np.sin(x)), (fnp.exp, np.exp),
                  (fnp.log, lambda x: -1 / x**2), (fnp.tanh, lambda x: -2 * np.tanh(x)
                                                     * (1 - np.tanh(x) ** 2)),
                  (fnp.sqrt, lambda x: -0.25 * x**-1.5), (fnp.arctan, lambda x: -2 * x
                                                          / (1 + x**2) ** 2)]:
        g2 = fl.vmap(fl.grad(fl.grad(f)))(x)
        np.testing.assert_allclose(g2, d2(x), rtol=1e-10)


def test_isnan_isfinite_isinf():
    x = np.array([0.0, -1.5, np.inf, -np.inf, np.nan, 3.0], np.float32)
    for f, ref in [(fnp.isnan, np.isnan), (fnp.isfinite, np.isfinite), (fnp.isinf, np.isinf)]:
        assert_close(f(x), ref(x))
        assert_close(check_jit(f, x), ref(x))
        assert_close(check_vmap(f, [x.reshape(2, 3)], in_axes=1), ref(x.reshape(2, 3)).T)
        xi = np.array([1, -2], np.int32)
        assert_close(f(xi), ref(xi))
    # non-differentiable outputs: the gradient through them is zero
    g = fl.grad(lambda x: fnp.sum(fnp.where(fnp.isfinite(x), x, 0.0)))(x)
    assert_close(g, np.array([1, 1, 0, 0, 0, 1], np.float32))


def test_nan_to_num():
    x = np.array([0.0, np.nan, np.inf, -np.inf, 2.0], np.float32)
    assert_close(fnp.nan_to_num(x), np.nan_to_num(x))
    assert_close(fnp.nan_to_num(x, nan=1.0, posinf=5.0, neginf=-5.0),
                 np.nan_to_num(x, nan=1.0, posinf=5.0, neginf=-5.0))
    check_jit(fnp.nan_to_num, x)


# =========================================================================== binary elementwise


@dataclass
class Binary:
    name: str
    f: Callable
    ref: Callable
    x_dom: tuple = (-3.0, 3.0)
    y_dom: tuple = (-3.0, 3.0)
    y_away: bool = False
    x_away: bool = False
    zero_grad: bool = False
    to_float: bool = False  # int/int gives float32
    ints: bool = True  # defined on integers

    def __repr__(self):
        return self.name


BINARY = [
    Binary("add", fnp.add, np.add),
    Binary("subtract", fnp.subtract, np.subtract),
    Binary("multiply", fnp.multiply, np.multiply),
    Binary("divide", fnp.divide, np.divide, y_dom=(0.3, 3.0), y_away=True, to_float=True),
    Binary("power", fnp.power, np.power, x_dom=(0.3, 3.0), y_dom=(-2.0, 2.0), ints=False),
    Binary("maximum", fnp.maximum, np.maximum),
    Binary("minimum", fnp.minimum, np.minimum),
    Binary("arctan2", fnp.arctan2, np.arctan2, x_dom=(0.3, 3.0), x_away=True, to_float=True),
    Binary("hypot", fnp.hypot, np.hypot, x_dom=(0.3, 3.0), x_away=True, to_float=True),
    Binary("logaddexp", fnp.logaddexp, np.logaddexp, to_float=True),
    Binary("fmod", fnp.fmod, np.fmod, y_dom=(0.3, 3.0), y_away=True),
    Binary("remainder", fnp.remainder, np.remainder, y_dom=(0.3, 3.0), y_away=True),
    Binary("floor_divide", fnp.floor_divide, np.floor_divide, y_dom=(0.3, 3.0), y_away=True,
           zero_grad=True),
]


def _away(x, lo):
    x = np.asarray(x)
    return np.where(np.abs(x) < lo, np.asarray(lo, x.dtype), x).astype(x.dtype)


def _binary_values(data, op, dx, dy, sx, sy):
    lo, hi = op.x_dom
    x = data.draw(arrays(dx, sx, -hi if op.x_away else lo, hi))
    lo2, hi2 = op.y_dom
    y = data.draw(arrays(dy, sy, -hi2 if op.y_away else lo2, hi2))
    if op.x_away:
        x = _away(x, op.x_dom[0])
    if op.y_away:
        y = _away(y, op.y_dom[0])
    return x, y


def _binary_rand(rng, op, sx, sy):
    def one(dom, away, s):
        return rand_away(rng, s, np.float64, *dom) if away else rand(rng, s, np.float64, *dom)

    return one(op.x_dom, op.x_away, sx), one(op.y_dom, op.y_away, sy)


two_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                               min_side=1, max_side=3)


@pytest.mark.parametrize("op", BINARY, ids=repr)
@given(data=st.data(), bs=two_shapes)
def test_binary_eager_matches_numpy(op, data, bs):
    dx = data.draw(st.sampled_from(FLOAT_DTYPES))
    dy = data.draw(st.sampled_from(FLOAT_DTYPES))
    x, y = _binary_values(data, op, dx, dy, *bs.input_shapes)
    assert_close(op.f(x, y), op.ref(x, y))


@pytest.mark.parametrize("op", [o for o in BINARY if o.ints], ids=repr)
@given(data=st.data(), bs=two_shapes)
def test_binary_integers(op, data, bs):
    dx = data.draw(st.sampled_from([np.int32, np.int64]))
    dy = data.draw(st.sampled_from([np.int32, np.int64]))
    sx, sy = bs.input_shapes
    x = data.draw(arrays(dx, sx, -20, 20))
    y = data.draw(arrays(dy, sy, -5, 5))
    if op.y_away:
        y = np.where(y == 0, 1, y).astype(dy)
    out = op.f(x, y)
    if op.to_float:
        expected = op.ref(x.astype(np.float64), y.astype(np.float64)).astype(np.float32)
    else:
        expected = op.ref(x, y)
    assert_close(out, expected)


@pytest.mark.parametrize("op", BINARY, ids=repr)
@given(data=st.data(), bs=two_shapes)
def test_binary_jit_matches_eager(op, data, bs):
    x, y = _binary_values(data, op, np.float32, np.float32, *bs.input_shapes)
    check_jit(op.f, x, y)


@pytest.mark.parametrize("op", BINARY, ids=repr)
@given(bs=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), seed=seeds)
def test_binary_grad(op, bs, seed):
    rng = np.random.default_rng(seed)
    x, y = _binary_rand(rng, op, *bs.input_shapes)
    w = rand(rng, bs.result_shape)
    f = lambda x, y: fnp.sum(op.f(x, y) * w)
    if op.zero_grad:
        gx, gy = fl.grad(f, argnums=(0, 1))(x, y)
        assert_close((gx, gy), (np.zeros_like(x), np.zeros_like(y)))
        return
    check_grads(f, [x, y])
    check_jvp_vjp(op.f, [x, y], seed=seed)


@pytest.mark.parametrize("op", BINARY, ids=repr)
@given(seed=seeds, axes=st.sampled_from([(0, 0), (1, None), (None, 1), (1, 0)]),
       out_axis=st.sampled_from([0, 1]))
def test_binary_vmap(op, seed, axes, out_axis):
    rng = np.random.default_rng(seed)
    x, y = _binary_rand(rng, op, (3, 2), (3, 2))
    x = x.astype(np.float32)
    y = y.astype(np.float32)
    if axes[0] == 1:
        x = x.T.copy()
    elif axes[0] is None:
        x = x[0]
    if axes[1] == 1:
        y = y.T.copy()
    elif axes[1] is None:
        y = y[0]
    check_vmap(op.f, [x, y], in_axes=axes, out_axes=out_axis)


def test_binary_python_scalars_and_mixed_broadcast():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert_close(fnp.add(x, 1.5), x + np.float32(1.5))
    assert_close(fnp.subtract(2, x), np.float32(2) - x)
    assert_close(fnp.power(x, 2), x**2)
    assert_close(fnp.power(x, 3.0), x**3)
    assert_close(fnp.power(2.0, x), np.float32(2.0) ** x)
    assert_close(fnp.power(np.array([2, 3], np.int64), 3), np.array([8, 27]))
    # integer powers use products: exact gradient at zero
    g = fl.grad(lambda x: fnp.sum(x**3))(np.array([0.0, 2.0]))
    assert_close(g, np.array([0.0, 12.0]))
    g = fl.grad(lambda x: fnp.sum(fnp.power(x, 0)))(np.array([0.0, 2.0]))
    assert_close(g, np.array([0.0, 0.0]))


def test_logaddexp_infinities_and_ties():
    inf = np.inf
    x = np.array([-inf, inf, inf, -inf, 0.0, 2.0], np.float32)
    y = np.array([-inf, inf, -inf, 1.0, 0.0, 2.0], np.float32)
    assert_close(fnp.logaddexp(x, y), np.logaddexp(x, y))
    g = fl.grad(lambda a, b: fnp.sum(fnp.logaddexp(a, b)), argnums=(0, 1))(
        np.array([0.0, 1.0]), np.array([0.0, 3.0]))
    e = np.exp(1.0) / (np.exp(1.0) + np.exp(3.0))
    assert_close(g, (np.array([0.5, e]), np.array([0.5, 1 - e])))


def test_pow_gradient_special_points():
    # d/dx x**y at x = 0 and d/dy at x = 0 are finite (0), not nan
    gx, gy = fl.grad(lambda x, y: fnp.sum(fnp.power(x, y)), argnums=(0, 1))(
        np.array([0.0, 0.0, 2.0]), np.array([2.0, 0.0, 3.0]))
    assert_close(gx, np.array([0.0, 0.0, 12.0]))
    assert_close(gy, np.array([0.0, 0.0, 8.0 * np.log(2.0)]))


def test_max_min_tie_gradient_is_split():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 1.0, 4.0])
    gx, gy = fl.grad(lambda a, b: fnp.sum(fnp.maximum(a, b)), argnums=(0, 1))(x, y)
    assert_close(gx, np.array([0.5, 1.0, 0.0]))
    assert_close(gy, np.array([0.5, 0.0, 1.0]))
    gx, gy = fl.grad(lambda a, b: fnp.sum(fnp.minimum(a, b)), argnums=(0, 1))(x, y)
    assert_close(gx, np.array([0.5, 0.0, 1.0]))
    assert_close(gy, np.array([0.5, 1.0, 0.0]))


@given(data=st.data())
def test_integer_division_family_matches_numpy(data):
    # floor_divide / remainder / fmod on integers with every sign combination
    dt = data.draw(st.sampled_from([np.int32, np.int64]))
    x = data.draw(arrays(dt, (12,), -50, 50))
    y = data.draw(arrays(dt, (12,), -7, 7))
    y = np.where(y == 0, 3, y).astype(dt)
    for f, ref in [(fnp.floor_divide, np.floor_divide), (fnp.remainder, np.remainder),
                   (fnp.fmod, np.fmod)]:
        assert_close(f(x, y), ref(x, y), err_msg=f.__name__)
        assert_close(check_jit(f, x, y), ref(x, y), err_msg=f.__name__)


@given(data=st.data())
def test_float_floor_divide_and_remainder_match_numpy(data):
    dt = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(arrays(dt, (10,), -10, 10))
    y = _away(data.draw(arrays(dt, (10,), -3, 3)), 0.05)
    assert_close(fnp.floor_divide(x, y), np.floor_divide(x, y))
    assert_close(fnp.remainder(x, y), np.remainder(x, y), atol=1e-5 if dt == np.float32 else None)
    assert_close(fnp.fmod(x, y), np.fmod(x, y))


def test_float_floor_divide_rounding_cases():
    x = np.array([1.0, -1.0, 0.7, 5.0, -0.0, 3.0], np.float32)
    y = np.array([0.1, 0.1, 0.1, -0.5, 2.0, 0.0], np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.floor_divide(x, y)
    assert_close(fnp.floor_divide(x, y), expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.floor_divide(x.astype(np.float64), y.astype(np.float64))
    assert_close(fnp.floor_divide(x.astype(np.float64), y.astype(np.float64)), expected)


# --------------------------------------------------------------------------- comparisons / logic

COMPARE = [
    (fnp.equal, np.equal), (fnp.not_equal, np.not_equal), (fnp.less, np.less),
    (fnp.less_equal, np.less_equal), (fnp.greater, np.greater),
    (fnp.greater_equal, np.greater_equal),
]


@pytest.mark.parametrize("fns", COMPARE, ids=lambda p: p[1].__name__)
@given(data=st.data(), bs=two_shapes)
def test_comparisons(fns, data, bs):
    f, ref = fns
    dx = data.draw(st.sampled_from(ALL_DTYPES))
    dy = data.draw(st.sampled_from(ALL_DTYPES))
    # small integers, so ties are common
    x = data.draw(arrays(dx, bs.input_shapes[0], -2, 2))
    y = data.draw(arrays(dy, bs.input_shapes[1], -2, 2))
    assert_close(f(x, y), ref(x, y))
    assert_close(check_jit(f, x, y), ref(x, y))
    if x.ndim:
        check_vmap(f, [x, y], in_axes=(0, None))
    # not differentiable: a zero gradient flows through a select on them
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    g = fl.grad(lambda a: fnp.sum(fnp.where(f(a, yf), a, 0.0)))(xf)
    mask = np.broadcast_to(ref(xf, yf), np.broadcast_shapes(xf.shape, yf.shape))
    expected = np.sum(mask.astype(np.float64), axis=tuple(range(mask.ndim - xf.ndim)))
    for ax, n in enumerate(xf.shape):
        if n == 1 and expected.shape[ax] != 1:
            expected = expected.sum(axis=ax, keepdims=True)
    assert_close(g, expected)


LOGICAL = [(fnp.logical_and, np.logical_and), (fnp.logical_or, np.logical_or),
           (fnp.logical_xor, np.logical_xor)]
BITWISE = [(fnp.bitwise_and, np.bitwise_and), (fnp.bitwise_or, np.bitwise_or),
           (fnp.bitwise_xor, np.bitwise_xor)]


@pytest.mark.parametrize("fns", LOGICAL, ids=lambda p: p[1].__name__)
@given(data=st.data(), bs=two_shapes)
def test_logical(fns, data, bs):
    f, ref = fns
    dx = data.draw(st.sampled_from(ALL_DTYPES))
    dy = data.draw(st.sampled_from(ALL_DTYPES))
    x = data.draw(arrays(dx, bs.input_shapes[0], -1, 1))
    y = data.draw(arrays(dy, bs.input_shapes[1], -1, 1))
    assert_close(f(x, y), ref(x, y))
    assert_close(check_jit(f, x, y), ref(x, y))
    assert_close(fnp.logical_not(x), np.logical_not(x))
    assert_close(check_jit(fnp.logical_not, x), np.logical_not(x))
    if x.ndim:
        check_vmap(f, [x, y], in_axes=(0, None))


@pytest.mark.parametrize("fns", BITWISE, ids=lambda p: p[1].__name__)
@given(data=st.data(), bs=two_shapes)
def test_bitwise(fns, data, bs):
    f, ref = fns
    dt = data.draw(st.sampled_from([np.int32, np.int64, np.bool_]))
    x = data.draw(arrays(dt, bs.input_shapes[0], -100, 100))
    y = data.draw(arrays(dt, bs.input_shapes[1], -100, 100))
    assert_close(f(x, y), ref(x, y))
    assert_close(check_jit(f, x, y), ref(x, y))
    assert_close(fnp.invert(x), np.invert(x))
    assert_close(fnp.bitwise_not(x), np.bitwise_not(x))
    if x.ndim:
        check_vmap(f, [x, y], in_axes=(0, None))


@given(data=st.data())
def test_shifts(data):
    dt = data.draw(st.sampled_from([np.int32, np.int64, np.uint32]))
    lo = 0 if dt == np.uint32 else -1000
    x = data.draw(arrays(dt, (6,), lo, 1000))
    s = data.draw(arrays(dt, (6,), 0, 8))
    assert_close(fnp.left_shift(x, s), np.left_shift(x, s))
    # numpy's right_shift sign-extends signed integers (an arithmetic shift)
    assert_close(fnp.right_shift(x, s), np.right_shift(x, s))
    assert_close(check_jit(fnp.right_shift, x, s), np.right_shift(x, s))
    assert_close(check_jit(fnp.left_shift, x, s), np.left_shift(x, s))
    check_vmap(fnp.right_shift, [x.reshape(2, 3), s[:3]], in_axes=(0, None))
    # lax.shift_right_logical fills with zeros whatever the signedness
    u = x.view(np.dtype(f"u{x.dtype.itemsize}"))
    expected = np.right_shift(u, s.astype(u.dtype)).view(x.dtype)
    assert_close(lax.shift_right_logical(x, s), expected)
    assert_close(check_jit(lax.shift_right_logical, x, s), expected)
    assert_close(lax.shift_right_arithmetic(x, s), np.right_shift(x, s))


def test_logical_ops_on_floats_use_truthiness():
    x = np.array([0.0, 0.5, -2.0, np.nan], np.float32)
    y = np.array([1.0, 0.0, -1.0, 0.0], np.float32)
    for f, ref in LOGICAL:
        assert_close(f(x, y), ref(x, y))
    assert_close(fnp.logical_not(x), np.logical_not(x))
    assert_close(fnp.logical_and(x, True), np.logical_and(x, True))


def test_bitwise_on_floats_raises():
    with pytest.raises(TypeError):
        fnp.bitwise_and(np.ones(2, np.float32), np.ones(2, np.float32))


# --------------------------------------------------------------------------- where / select


three_shapes = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                 min_side=1, max_side=3)


@given(data=st.data(), bs=three_shapes)
def test_where_eager_jit(data, bs):
    sc, sx, sy = bs.input_shapes
    dx = data.draw(st.sampled_from(ALL_DTYPES))
    dy = data.draw(st.sampled_from(ALL_DTYPES))
    c = data.draw(arrays(np.bool_, sc))
    x = data.draw(arrays(dx, sx, -5, 5))
    y = data.draw(arrays(dy, sy, -5, 5))
    expected = np.where(c, x, y).astype(result_dtype(dx, dy))
    assert_close(fnp.where(c, x, y), expected)
    assert_close(check_jit(fnp.where, c, x, y), expected)
    # a numeric condition means "non-zero"
    ci = data.draw(arrays(np.int32, sc, -1, 1))
    assert_close(fnp.where(ci, x, y), np.where(ci, x, y).astype(result_dtype(dx, dy)))


@given(bs=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=2, max_side=3), seed=seeds)
def test_where_grad_and_vmap(bs, seed):
    rng = np.random.default_rng(seed)
    sc, sx, sy = bs.input_shapes
    c = rng.random(sc) < 0.5
    x, y = rand(rng, sx), rand(rng, sy)
    w = rand(rng, bs.result_shape)
    f = lambda x, y: fnp.sum(fnp.where(c, x, y) * w)
    check_grads(f, [x, y])
    check_jvp_vjp(lambda x, y: fnp.where(c, x, y), [x, y], seed=seed)
    # vmap: condition unbatched, x batched at axis 1, y batched at 0
    xb = rand(rng, (3,) + tuple(sx)).astype(np.float32)
    yb = rand(rng, (3,) + tuple(sy)).astype(np.float32)
    check_vmap(lambda c, x, y: fnp.where(c, x, y), [c, np.moveaxis(xb, 0, -1), yb],
               in_axes=(None, -1, 0), out_axes=-1)
    cb = rng.random((3,) + tuple(sc)) < 0.5
    check_vmap(lambda c, x, y: fnp.where(c, x, y), [cb, x.astype(np.float32), yb],
               in_axes=(0, None, 0))


def test_where_python_scalars_keep_dtype():
    x = np.array([1.0, -2.0, 3.0], np.float32)
    out = fnp.where(x > 0, x, 0.0)
    assert_close(out, np.array([1.0, 0.0, 3.0], np.float32))
    out = fnp.where(x > 0, 1.0, 0.0)
    assert out.dtype == np.float32
    out = fnp.where(x > 0, 1, 0)
    assert_close(out, np.array([1, 0, 1]))
    g = fl.grad(lambda x: fnp.sum(fnp.where(x > 0, x * 2.0, -x)))(x)
    assert_close(g, np.array([2.0, -1.0, 2.0], np.float32))


@given(data=st.data())
def test_clip(data):
    dt = data.draw(st.sampled_from(FLOAT_DTYPES + (np.int32, np.int64)))
    x = data.draw(arrays(dt, data.draw(shapes()), -5, 5))
    assert_close(fnp.clip(x, -2, 3), np.clip(x, -2, 3))
    assert_close(fnp.clip(x, None, 1), np.clip(x, None, 1))
    assert_close(fnp.clip(x, -1, None), np.clip(x, -1, None))
    lo = data.draw(arrays(dt, x.shape[-1:], -3, 0))
    assert_close(fnp.clip(x, lo, 2), np.clip(x, lo, 2))
    check_jit(lambda x: fnp.clip(x, -2, 3), x)


def test_clip_grad():
    x = np.array([-3.0, -1.0, 0.5, 2.0, 4.0])
    g = fl.grad(lambda x: fnp.sum(fnp.clip(x, -2.0, 3.0) * np.arange(1.0, 6.0)))(x)
    assert_close(g, np.array([0.0, 2.0, 3.0, 4.0, 0.0]))


# --------------------------------------------------------------------------- casts

CAST_DTYPES = (np.float32, np.float64, np.int32, np.int64, np.bool_)


@given(data=st.data())
def test_astype(data):
    src = data.draw(st.sampled_from(CAST_DTYPES))
    dst = data.draw(st.sampled_from(CAST_DTYPES))
    x = data.draw(arrays(src, data.draw(shapes()), -100, 100))
    assert_close(fnp.astype(x, dst), x.astype(dst))
    assert_close(fnp.asarray(x, dtype=dst), x.astype(dst))
    assert_close(check_jit(lambda v: v.astype(dst), x), x.astype(dst))
    if x.ndim:
        check_vmap(lambda v: fnp.astype(v, dst), [x], in_axes=x.ndim - 1)


def test_cast_gradients():
    x = np.array([0.5, -1.25, 2.0], np.float32)
    # float -> float: the cotangent is cast back
    g = fl.grad(lambda x: fnp.sum(fnp.astype(x, np.float64) ** 2))(x)
    assert_close(g, 2 * x)
    # float -> int -> float: no gradient
    g = fl.grad(lambda x: fnp.sum(fnp.astype(fnp.astype(x, np.int32), np.float32) * x))(x)
    assert_close(g, x.astype(np.int32).astype(np.float32))
    out, t = fl.jvp(lambda x: fnp.astype(x, np.float64), (x,), (np.ones(3, np.float32),))
    assert_close(t, np.ones(3))
    out, t = fl.jvp(lambda x: fnp.astype(x, np.int64), (x,), (np.ones(3, np.float32),))
    assert out.dtype == np.int64


# =========================================================================== reductions


@st.composite
def axis_args(draw, ndim):
    """axis=None, an int (maybe negative) or a tuple of distinct axes; and keepdims."""
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim \
            else []
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return axis, draw(st.booleans())


REDUCE = [
    ("sum", fnp.sum, np.sum),
    ("mean", fnp.mean, np.mean),
    ("var", fnp.var, np.var),
    ("std", fnp.std, np.std),
    ("prod", fnp.prod, np.prod),
    ("max", fnp.max, np.max),
    ("min", fnp.min, np.min),
    ("all", fnp.all, np.all),
    ("any", fnp.any, np.any),
]


def _reduce_ref_dtype(name, x, ref_out):
    """The dtype API.md promises: int sum/prod -> int64, mean/var/std of ints -> float32."""
    dt = x.dtype
    if name in ("sum", "prod"):
        return np.int64 if dt.kind in "bi" else dt
    if name in ("mean", "var", "std"):
        return dt if dt.kind == "f" else np.float32
    if name in ("all", "any"):
        return np.bool_
    return dt


@pytest.mark.parametrize("name,f,ref", REDUCE, ids=[r[0] for r in REDUCE])
@given(data=st.data())
def test_reduction_eager_matches_numpy(name, f, ref, data):
    dt = data.draw(st.sampled_from(ALL_DTYPES if name in ("sum", "prod", "max", "min", "all",
                                                          "any") else ALL_DTYPES[:4]))
    x = data.draw(arrays(dt, data.draw(shapes(0, 3)), -3, 3))
    axis, keepdims = data.draw(axis_args(x.ndim))
    out = f(x, axis=axis, keepdims=keepdims)
    expected = ref(x.astype(np.float64) if name in ("mean", "var", "std") else x, axis=axis,
                   keepdims=keepdims)
    expected = np.asarray(expected).astype(_reduce_ref_dtype(name, x, expected))
    assert_close(out, expected)
    assert_close(check_jit(lambda v: f(v, axis=axis, keepdims=keepdims), x), expected)


@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@given(data=st.data())
def test_var_std_ddof(data):
    x = data.draw(arrays(np.float64, data.draw(shapes(1, 3, 2, 4)), -3, 3))
    axis, keepdims = data.draw(axis_args(x.ndim))
    for ddof in (0, 1):
        assert_close(fnp.var(x, axis=axis, ddof=ddof, keepdims=keepdims),
                     np.var(x, axis=axis, ddof=ddof, keepdims=keepdims), atol=1e-10)
        assert_close(fnp.std(x, axis=axis, ddof=ddof, keepdims=keepdims),
                     np.std(x, axis=axis, ddof=ddof, keepdims=keepdims), atol=1e-10)


@pytest.mark.parametrize("name,f,ref", REDUCE[:7], ids=[r[0] for r in REDUCE[:7]])
@given(data=st.data(), seed=seeds)
def test_reduction_grad(name, f, ref, data, seed):
    shape = data.draw(shapes(0, 3, 1, 3))
    axis, keepdims = data.draw(axis_args(len(shape)))
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, lo=0.5 if name == "prod" else -2.0)
    if name == "prod":
        x = x * np.where(rng.random(shape) < 0.5, -1, 1)
    if name in ("var", "std") and np.asarray(ref(x, axis=axis)).size and np.min(
            np.var(x, axis=axis)) < 1e-3:
        return  # std is not differentiable at zero variance (e.g. reducing over size 1)
    out = f(x, axis=axis, keepdims=keepdims)
    w = rand(rng, np.shape(out))
    check_grads(lambda v: fnp.sum(f(v, axis=axis, keepdims=keepdims) * w), [x])
    check_jvp_vjp(lambda v: f(v, axis=axis, keepdims=keepdims), [x], seed=seed)


def test_prod_grad_with_zeros():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]])
    g = fl.grad(lambda v: fnp.sum(fnp.prod(v, axis=1)))(x)
    assert_close(g, np.array([[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [8.0, 4.0, 2.0]]))


def test_max_grad_ties_split_evenly():
    x = np.array([1.0, 3.0, 3.0, 2.0])
    assert_close(fl.grad(fnp.max)(x), np.array([0.0, 0.5, 0.5, 0.0]))
    assert_close(fl.grad(fnp.min)(x), np.array([1.0, 0.0, 0.0, 0.0]))


@pytest.mark.parametrize("name,f,ref", REDUCE, ids=[r[0] for r in REDUCE])
@given(data=st.data(), seed=seeds)
def test_reduction_vmap(name, f, ref, data, seed):
    shape = data.draw(shapes(1, 3, 1, 3))
    axis, keepdims = data.draw(axis_args(len(shape)))
    in_axis = data.draw(st.integers(0, len(shape)))
    x = rand(np.random.default_rng(seed), shape[:in_axis] + (3,) + shape[in_axis:])
    x = x.astype(np.float32)
    out_axis = data.draw(st.sampled_from([0, -1]))
    check_vmap(lambda v: f(v, axis=axis, keepdims=keepdims), [x], in_axes=in_axis,
               out_axes=out_axis)


ARG = [("argmax", fnp.argmax, np.argmax), ("argmin", fnp.argmin, np.argmin)]


@pytest.mark.parametrize("name,f,ref", ARG, ids=["argmax", "argmin"])
@given(data=st.data())
def test_argmax_argmin(name, f, ref, data):
    dt = data.draw(st.sampled_from(ALL_DTYPES))
    x = data.draw(arrays(dt, data.draw(shapes(1, 3)), -2, 2))  # ties are frequent
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    keepdims = data.draw(st.booleans())
    expected = ref(x, axis=axis, keepdims=keepdims).astype(np.int64)
    assert_close(f(x, axis=axis, keepdims=keepdims), expected)
    assert_close(check_jit(lambda v: f(v, axis=axis, keepdims=keepdims), x), expected)
    if x.ndim >= 2:
        check_vmap(lambda v: f(v, axis=-1), [x], in_axes=1, out_axes=-1)
    if dt in FLOAT_DTYPES:
        g = fl.grad(lambda v: fnp.sum(v * f(v, axis=axis).sum()))(x.astype(np.float64))
        assert_close(g, np.full(x.shape, float(ref(x, axis=axis).sum())))


def test_argmax_nan_first_like_numpy():
    x = np.array([1.0, np.nan, 5.0, np.nan], np.float32)
    assert_close(fnp.argmax(x), np.array(np.argmax(x)))
    assert_close(fnp.argmin(x), np.array(np.argmin(x)))


@given(data=st.data())
def test_cumsum(data):
    dt = data.draw(st.sampled_from(ALL_DTYPES))
    x = data.draw(arrays(dt, data.draw(shapes(1, 3)), -3, 3))
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    expected = np.cumsum(x, axis=axis)
    if dt == np.bool_:
        expected = expected.astype(np.int64)
    assert_close(fnp.cumsum(x, axis=axis), expected)
    assert_close(check_jit(lambda v: fnp.cumsum(v, axis=axis), x), expected)
    if x.ndim >= 2:
        check_vmap(lambda v: fnp.cumsum(v, axis=0), [x], in_axes=1, out_axes=1)


@given(shape=shapes(1, 3, 1, 3), seed=seeds, data=st.data())
def test_cumsum_grad(shape, seed, data):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = rand(rng, shape)
    w = rand(rng, np.cumsum(x, axis=axis).shape)
    check_grads(lambda v: fnp.sum(fnp.cumsum(v, axis=axis) * w), [x])
    check_jvp_vjp(lambda v: fnp.cumsum(v, axis=axis), [x], seed=seed)


def test_lax_cumsum_reverse():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    out = lax.cumsum(x, axis=1, reverse=True)
    assert_close(out, np.flip(np.cumsum(np.flip(x, 1), axis=1), 1))
    check_jvp_vjp(lambda v: lax.cumsum(v, axis=1, reverse=True), [x])
    check_vmap(lambda v: lax.cumsum(v, axis=0, reverse=True), [x], in_axes=1)


def test_reduction_methods_on_tracers():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)

    def f(v):
        return (v.sum(axis=0), v.mean(), v.max(axis=1, keepdims=True), v.min(), v.prod(axis=1),
                v.argmax(axis=1), v.argmin(), v.all(), v.any(), v.cumsum(axis=1))

    expected = (x.sum(axis=0), x.mean(), x.max(axis=1, keepdims=True), x.min(), x.prod(axis=1),
                np.argmax(x, 1), np.argmin(x), x.all(), x.any(), x.cumsum(axis=1))
    expected = tuple(np.asarray(e) for e in expected)
    assert_close(fl.jit(f)(x), expected)
    # var / std methods under vmap and grad tracers
    assert_close(fl.vmap(lambda v: v.var())(x), x.var(axis=1))
    assert_close(fl.vmap(lambda v: v.std(ddof=1))(x), x.std(axis=1, ddof=1))
    g = fl.grad(lambda v: v.var())(x)
    assert_close(g, 2 * (x - x.mean()) / x.size)


def test_var_method_under_jit():
    x = np.arange(6.0, dtype=np.float32)
    assert_close(fl.jit(lambda v: v.var())(x), np.asarray(x.var()))


def test_empty_reductions():
    x = np.zeros((0, 3), np.float32)
    assert_close(fnp.sum(x, axis=0), np.zeros(3, np.float32))
    assert_close(fnp.prod(x, axis=0), np.ones(3, np.float32))
    assert_close(fnp.sum(x), np.array(0.0, np.float32))
    assert_close(fnp.all(x), np.array(True))
    assert_close(fnp.any(x), np.array(False))
    assert_close(fnp.max(x, axis=1), np.zeros((0,), np.float32))
    with pytest.raises(ValueError, match="max"):
        fnp.max(x, axis=0)
    with pytest.raises(ValueError, match="min"):
        fnp.min(x)
    with pytest.raises(ValueError, match="argmax"):
        fnp.argmax(x, axis=0)
    assert_close(fnp.max(x, axis=0, initial=-1.0), np.max(x, axis=0, initial=-1.0))


# =========================================================================== shape & linalg cases
#
# Each case strategy takes a dtype and draws a ``Case``: an fnp function of the array
# arguments (static parameters closed over), its numpy reference, and the arguments.
# Four generic tests run every case: eager vs numpy, jit vs eager, gradients (FD and
# JVP/VJP, all these ops are linear or bilinear) and vmap with random in/out axes.


@dataclass
class Case:
    desc: str
    f: Callable
    ref: Callable
    args: list

    def __repr__(self):
        return self.desc


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0] if n else [0, 1]


@st.composite
def case_reshape(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(0, 3))))
    rest, dims = x.size, []
    for _ in range(draw(st.integers(0, 3))):
        d = draw(st.sampled_from(_divisors(rest)))
        dims.append(d)
        rest = rest // d if d else rest
    dims.append(rest if x.size else 0)
    dims = list(draw(st.permutations(dims)))
    if x.size and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    new = tuple(dims)
    method = draw(st.booleans())
    f = (lambda a: a.reshape(new)) if method else (lambda a: fnp.reshape(a, new))
    return Case(f"reshape{x.shape}->{new}", f, lambda a: np.reshape(a, new), [x])


@st.composite
def case_ravel(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(0, 3))))
    return Case(f"ravel{x.shape}", fnp.ravel, np.ravel, [x])


@st.composite
def case_transpose(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(0, 4, 1, 3))))
    if draw(st.booleans()):
        return Case(f"transpose{x.shape}", fnp.transpose, np.transpose, [x])
    perm = draw(st.permutations(range(x.ndim)))
    perm = tuple(p - x.ndim if draw(st.booleans()) else p for p in perm)
    return Case(f"transpose{x.shape},{perm}", lambda a: fnp.transpose(a, perm),
                lambda a: np.transpose(a, perm), [x])


@st.composite
def case_moveaxis(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(1, 4, 1, 3))))
    nd = x.ndim
    k = draw(st.integers(1, nd))
    src = draw(st.lists(st.integers(-nd, nd - 1), min_size=k, max_size=k,
                        unique_by=lambda a: a % nd))
    dst = draw(st.lists(st.integers(-nd, nd - 1), min_size=k, max_size=k,
                        unique_by=lambda a: a % nd))
    if k == 1 and draw(st.booleans()):
        src, dst = src[0], dst[0]
    return Case(f"moveaxis{x.shape},{src},{dst}", lambda a: fnp.moveaxis(a, src, dst),
                lambda a: np.moveaxis(a, src, dst), [x])


@st.composite
def case_swapaxes(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(1, 4, 1, 3))))
    i = draw(st.integers(-x.ndim, x.ndim - 1))
    j = draw(st.integers(-x.ndim, x.ndim - 1))
    return Case(f"swapaxes{x.shape},{i},{j}", lambda a: fnp.swapaxes(a, i, j),
                lambda a: np.swapaxes(a, i, j), [x])


@st.composite
def case_squeeze(draw, dtype):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2))
    x = draw(arrays(dtype, shape))
    ones = [i for i, n in enumerate(shape) if n == 1]
    if not ones or draw(st.booleans()):
        axis = None
    else:
        sel = draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
        axis = tuple(a - x.ndim if draw(st.booleans()) else a for a in sel)
        if len(axis) == 1 and draw(st.booleans()):
            axis = axis[0]
    return Case(f"squeeze{shape},{axis}", lambda a: fnp.squeeze(a, axis),
                lambda a: np.squeeze(a, axis), [x])


@st.composite
def case_expand_dims(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(0, 3))))
    k = draw(st.integers(1, 2))
    nd = x.ndim + k
    axes = draw(st.lists(st.integers(-nd, nd - 1), min_size=k, max_size=k,
                         unique_by=lambda a: a % nd))
    axis = axes[0] if k == 1 else tuple(axes)
    return Case(f"expand_dims{x.shape},{axis}", lambda a: fnp.expand_dims(a, axis),
                lambda a: np.expand_dims(a, axis), [x])


@st.composite
def case_broadcast_to(draw, dtype):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    x = draw(arrays(dtype, shape))
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    target = tuple(lead) + tuple(n if n != 1 else draw(st.integers(1, 3)) for n in shape)
    return Case(f"broadcast_to{shape}->{target}", lambda a: fnp.broadcast_to(a, target),
                lambda a: np.broadcast_to(a, target), [x])


@st.composite
def case_concatenate(draw, dtype):
    base = list(draw(shapes(1, 3, 1, 3)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    xs = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(base)
        s[axis] = draw(st.integers(0, 3))
        xs.append(draw(arrays(dtype, tuple(s))))
    if draw(st.integers(0, 4)) == 0:
        axis = None
    return Case(f"concatenate{[x.shape for x in xs]},{axis}",
                lambda *a: fnp.concatenate(a, axis=axis),
                lambda *a: np.concatenate(a, axis=axis), xs)


@st.composite
def case_stack(draw, dtype):
    shape = draw(shapes(0, 3, 1, 3))
    xs = [draw(arrays(dtype, shape)) for _ in range(draw(st.integers(1, 3)))]
    nd = len(shape) + 1
    axis = draw(st.integers(-nd, nd - 1))
    kind = draw(st.sampled_from(["stack", "hstack", "vstack"])) if shape else "stack"
    if kind == "stack":
        return Case(f"stack{shape}x{len(xs)},{axis}", lambda *a: fnp.stack(a, axis=axis),
                    lambda *a: np.stack(a, axis=axis), xs)
    return Case(f"{kind}{shape}x{len(xs)}", lambda *a: getattr(fnp, kind)(a),
                lambda *a: getattr(np, kind)(a), xs)


@st.composite
def case_split(draw, dtype):
    shape = draw(shapes(1, 3, 1, 4))
    x = draw(arrays(dtype, shape))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    n = shape[axis]
    if draw(st.booleans()):
        sections = draw(st.sampled_from(_divisors(n)))
    else:  # indices: unsorted, negative and past-the-end allowed (python slicing rules)
        sections = draw(st.lists(st.integers(-n - 1, n + 1), max_size=3))
    return Case(f"split{shape},{sections},{axis}", lambda a: fnp.split(a, sections, axis),
                lambda a: np.split(a, sections, axis), [x])


@st.composite
def case_array_split(draw, dtype):
    shape = draw(shapes(1, 2, 1, 5))
    x = draw(arrays(dtype, shape))
    k = draw(st.integers(1, 4))
    return Case(f"array_split{shape},{k}", lambda a: fnp.array_split(a, k, axis=-1),
                lambda a: np.array_split(a, k, axis=-1), [x])


@st.composite
def case_flip(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(0, 3))))
    axis, _ = draw(axis_args(x.ndim))
    return Case(f"flip{x.shape},{axis}", lambda a: fnp.flip(a, axis),
                lambda a: np.flip(a, axis), [x])


@st.composite
def case_tile(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(0, 3, 1, 3))))
    reps = draw(st.integers(0, 3) | st.lists(st.integers(0, 3), min_size=0, max_size=3)
                .map(tuple))
    return Case(f"tile{x.shape},{reps}", lambda a: fnp.tile(a, reps),
                lambda a: np.tile(a, reps), [x])


@st.composite
def case_repeat(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(0, 3, 1, 3))))
    axis = draw(st.none() | st.integers(-x.ndim, x.ndim - 1)) if x.ndim else None
    n = x.size if axis is None else x.shape[axis]
    if draw(st.booleans()):
        repeats = draw(st.integers(0, 3))
    else:
        repeats = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    return Case(f"repeat{x.shape},{repeats},{axis}", lambda a: fnp.repeat(a, repeats, axis),
                lambda a: np.repeat(a, repeats, axis), [x])


PAD_MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]


@st.composite
def case_pad(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(1, 3, 1, 3))))
    mode = draw(st.sampled_from(PAD_MODES))
    form = draw(st.sampled_from(["int", "pair", "per_axis"]))
    hi = 4
    if form == "int":
        width = draw(st.integers(0, hi))
    elif form == "pair":
        width = tuple(draw(st.lists(st.integers(0, hi), min_size=2, max_size=2)))
    else:
        width = tuple(tuple(draw(st.lists(st.integers(0, hi), min_size=2, max_size=2)))
                      for _ in range(x.ndim))
    kw = {}
    if mode == "constant" and draw(st.booleans()):
        kw["constant_values"] = draw(
            st.integers(-3, 3)
            | st.tuples(st.integers(-3, 3), st.integers(-3, 3))  # (before, after)
            | st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=x.ndim,
                       max_size=x.ndim).map(tuple))  # per axis
    return Case(f"pad{x.shape},{width},{mode},{kw}", lambda a: fnp.pad(a, width, mode, **kw),
                lambda a: np.pad(a, width, mode, **kw), [x])


@st.composite
def case_roll(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(1, 3, 1, 4))))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        shift, axis = draw(st.integers(-7, 7)), None
    elif kind == "int":
        shift, axis = draw(st.integers(-7, 7)), draw(st.integers(-x.ndim, x.ndim - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=3)))
        shift = tuple(draw(st.lists(st.integers(-7, 7), min_size=len(axis),
                                    max_size=len(axis))))
    return Case(f"roll{x.shape},{shift},{axis}", lambda a: fnp.roll(a, shift, axis),
                lambda a: np.roll(a, shift, axis), [x])


# --------------------------------------------------------------------------- linalg cases


@st.composite
def case_matmul(draw, dtype):
    k = draw(st.integers(1, 3))
    n, m = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    kind_a = draw(st.sampled_from(["vec", "mat"]))
    kind_b = draw(st.sampled_from(["vec", "mat"]))
    sa = (k,) if kind_a == "vec" else tuple(bs.input_shapes[0]) + (n, k)
    sb = (k,) if kind_b == "vec" else tuple(bs.input_shapes[1]) + (k, m)
    a, b = draw(arrays(dtype, sa, -3, 3)), draw(arrays(dtype, sb, -3, 3))
    op = draw(st.sampled_from(["fn", "operator"]))
    f = fnp.matmul if op == "fn" else (lambda x, y: fl.jit(lambda p, q: p @ q)(x, y))
    return Case(f"matmul{sa}@{sb}", f, np.matmul, [a, b])


@st.composite
def case_dot(draw, dtype):
    k = draw(st.integers(1, 3))
    pairs = [((), (k,)), ((k,), ()), ((k,), (k,)), ((2, k), (k,)), ((k,), (k, 3)),
             ((2, k), (k, 3)), ((2, 3, k), (k, 2)), ((2, k), (3, k, 2)),
             ((2, 1, k), (2, k, 3))]
    sa, sb = draw(st.sampled_from(pairs))
    a, b = draw(arrays(dtype, sa, -3, 3)), draw(arrays(dtype, sb, -3, 3))
    return Case(f"dot{sa},{sb}", fnp.dot, np.dot, [a, b])


EINSUMS = ["ij,jk->ik", "ij,jk", "ii->i", "ii", "ij->ji", "ij->", "bij,bjk->bik", "i,i->",
           "i,i", "i,j->ij", "...ij,...jk->...ik", "ijk,kj->i", "ij,ij->ij", "abc,cd,de->abe",
           "i->", "ij,j", "bi,bi->b", "ab,cb->ca", "iij->j"]


@st.composite
def case_einsum(draw, dtype):
    spec = draw(st.sampled_from(EINSUMS))
    sizes = {ch: draw(st.integers(1, 3)) for ch in "abcdeijk"}
    ell = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    ins = spec.split("->")[0].split(",")
    args = []
    for term in ins:
        # ellipsis dims broadcast: some operands may have 1s there, or fewer of them
        e = tuple(1 if draw(st.integers(0, 3)) == 0 else n for n in ell)
        e = e[draw(st.integers(0, len(e))):] if draw(st.integers(0, 3)) == 0 else e
        shape = e if "..." in term else ()
        shape = shape + tuple(sizes[ch] for ch in term.replace("...", ""))
        args.append(draw(arrays(dtype, shape, -3, 3)))
    return Case(f"einsum({spec}){[a.shape for a in args]}",
                lambda *a: fnp.einsum(spec, *a), lambda *a: np.einsum(spec, *a), args)


@st.composite
def case_tensordot(draw, dtype):
    kind = draw(st.sampled_from(["int", "pairs"]))
    if kind == "int":
        n = draw(st.integers(0, 2))
        shared = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
        sa = tuple(draw(st.lists(st.integers(1, 3), max_size=2))) + shared
        sb = shared + tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        axes = n
    else:
        sa = (2, 3, 4)
        sb = (4, 2, 2)
        axes = draw(st.sampled_from([([2], [0]), ([0, 2], [1, 0]), (-1, 0), ([0], [-1])]))
    a, b = draw(arrays(dtype, sa, -3, 3)), draw(arrays(dtype, sb, -3, 3))
    return Case(f"tensordot{sa},{sb},{axes}", lambda x, y: fnp.tensordot(x, y, axes),
                lambda x, y: np.tensordot(x, y, axes), [a, b])


@st.composite
def case_outer_inner(draw, dtype):
    name = draw(st.sampled_from(["outer", "inner", "vdot", "kron"]))
    if name == "inner":
        k = draw(st.integers(1, 3))
        sa = tuple(draw(st.lists(st.integers(1, 3), max_size=2))) + (k,)
        sb = tuple(draw(st.lists(st.integers(1, 3), max_size=1))) + (k,)
    elif name == "vdot":
        sa = draw(shapes(1, 2, 1, 3))
        sb = tuple(reversed(sa))
    else:
        sa, sb = draw(shapes(1, 2, 1, 3)), draw(shapes(1, 2, 1, 3))
    a, b = draw(arrays(dtype, sa, -3, 3)), draw(arrays(dtype, sb, -3, 3))
    return Case(f"{name}{sa},{sb}", getattr(fnp, name), getattr(np, name), [a, b])


@st.composite
def case_trace(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(2, 4, 1, 4))))
    offset = draw(st.integers(-3, 3))
    nd = x.ndim
    a1, a2 = draw(st.lists(st.integers(-nd, nd - 1), min_size=2, max_size=2,
                           unique_by=lambda a: a % nd))
    return Case(f"trace{x.shape},{offset},{a1},{a2}",
                lambda a: fnp.trace(a, offset, a1, a2),
                lambda a: np.trace(a, offset, a1, a2), [x])


@st.composite
def case_diagonal(draw, dtype):
    x = draw(arrays(dtype, draw(shapes(2, 3, 1, 4))))
    offset = draw(st.integers(-3, 3))
    return Case(f"diagonal{x.shape},{offset}", lambda a: fnp.diagonal(a, offset),
                lambda a: np.diagonal(a, offset), [x])


SHAPE_CASES = {
    "reshape": case_reshape, "ravel": case_ravel, "transpose": case_transpose,
    "moveaxis": case_moveaxis, "swapaxes": case_swapaxes, "squeeze": case_squeeze,
    "expand_dims": case_expand_dims, "broadcast_to": case_broadcast_to,
    "concatenate": case_concatenate, "stack": case_stack, "split": case_split,
    "array_split": case_array_split, "flip": case_flip, "tile": case_tile,
    "repeat": case_repeat, "pad": case_pad, "roll": case_roll,
}
LINALG_CASES = {
    "matmul": case_matmul, "dot": case_dot, "einsum": case_einsum, "tensordot": case_tensordot,
    "outer_inner": case_outer_inner, "trace": case_trace, "diagonal": case_diagonal,
}
CASES = {**SHAPE_CASES, **LINALG_CASES}


@pytest.mark.parametrize("name", list(CASES))
@given(data=st.data())
def test_case_eager_matches_numpy(name, data):
    dtypes_ = ALL_DTYPES if name in SHAPE_CASES else ALL_DTYPES[:4]
    case = data.draw(CASES[name](data.draw(st.sampled_from(dtypes_))), label="case")
    out = case.f(*case.args)
    expected = case.ref(*case.args)
    if name in ("trace",) and case.args[0].dtype.kind == "i":
        expected = np.asarray(expected).astype(np.int64)
    assert_close(out, expected)


@pytest.mark.parametrize("name", list(CASES))
@given(data=st.data())
def test_case_jit_matches_eager(name, data):
    case = data.draw(CASES[name](np.float32), label="case")
    check_jit(case.f, *case.args)


def _scalarize(f, ws):
    def g(*args):
        outs = tree_leaves(f(*args))
        total = 0.0
        for o, w in zip(outs, ws):
            total = total + fnp.sum(o * w)
        return total

    return g


def tree_leaves(x):
    return fl.tree.leaves(x)


@pytest.mark.parametrize("name", list(CASES))
@given(data=st.data(), seed=seeds)
def test_case_grad(name, data, seed):
    case = data.draw(CASES[name](np.float64), label="case")
    rng = np.random.default_rng(seed)
    args = [rand(rng, a.shape) for a in case.args]
    outs = tree_leaves(case.f(*args))
    ws = [rand(rng, np.shape(o)) for o in outs]
    check_grads(_scalarize(case.f, ws), args)
    check_jvp_vjp(case.f, args, seed=seed)
    # per-example gradients: vmap of grad over a stack of two inputs (the transposed rules
    # batched), the other arguments unbatched
    stacked = np.stack([args[0], rand(rng, args[0].shape)])
    check_vmap(fl.grad(_scalarize(case.f, ws)), [stacked] + args[1:],
               in_axes=(0,) + (None,) * (len(args) - 1))


@pytest.mark.parametrize("name", list(CASES))
@given(data=st.data(), seed=seeds)
def test_case_vmap(name, data, seed):
    case = data.draw(CASES[name](np.float32), label="case")
    rng = np.random.default_rng(seed)
    n = len(case.args)
    axes = [data.draw(st.sampled_from([None, 0, a.ndim, -1])) for a in case.args]
    if all(a is None for a in axes):
        axes[data.draw(st.integers(0, n - 1))] = 0
    args = []
    for a, ax in zip(case.args, axes):
        if ax is None:
            args.append(rand(rng, a.shape, np.float32))
        else:
            b = rand(rng, (3,) + a.shape, np.float32)
            args.append(np.moveaxis(b, 0, ax))
    out_axes = data.draw(st.sampled_from([0, -1]))
    check_vmap(case.f, args, in_axes=tuple(axes), out_axes=out_axes)


# =========================================================================== lax-level primitives
# Parameters fnp never produces (negative / interior padding, int predicates, bitcasts...)


@given(data=st.data(), seed=seeds)
def test_lax_pad_negative_and_interior(data, seed):
    shape = data.draw(shapes(1, 2, 1, 4))
    cfg = tuple((data.draw(st.integers(-n, 2)), data.draw(st.integers(-n, 2)),
                 data.draw(st.integers(0, 2))) for n in shape)
    value = data.draw(st.sampled_from([0.0, -1.5]))

    def ref(x):
        out = x
        for ax, (lo, hi, interior) in enumerate(cfg):
            n = out.shape[ax]
            if interior and n > 1:
                idx = np.arange(n) * (interior + 1)
                new = list(out.shape)
                new[ax] = n + (n - 1) * interior
                y = np.full(new, value, out.dtype)
                sl = [slice(None)] * out.ndim
                sl[ax] = idx
                y[tuple(sl)] = out
                out = y
            padw = [(0, 0)] * out.ndim
            padw[ax] = (max(lo, 0), max(hi, 0))
            out = np.pad(out, padw, constant_values=value)
            sl = [slice(None)] * out.ndim
            sl[ax] = slice(-min(lo, 0), out.shape[ax] + min(hi, 0))
            out = out[tuple(sl)]
        return out

    if any(lo + hi + n + max(n - 1, 0) * i < 0 for (lo, hi, i), n in zip(cfg, shape)):
        return
    rng = np.random.default_rng(seed)
    x = rand(rng, shape)
    f = lambda a: lax.pad(a, cfg, value)
    assert_close(f(x), ref(x))
    check_jit(f, x.astype(np.float32))
    if ref(x).size:
        check_jvp_vjp(f, [x], seed=seed)
        check_grads(lambda a: fnp.sum(f(a) * rand(np.random.default_rng(1), ref(x).shape)), [x])
    check_vmap(f, [rand(rng, shape + (2,), np.float32)], in_axes=-1, out_axes=0)


def test_lax_select_n_with_integer_predicate():
    which = np.array([0, 2, 1, 2, 0], np.int32)
    cases = [np.arange(5.0) + 10 * k for k in range(3)]
    assert_close(lax.select_n(which, *cases), np.choose(which, cases))
    check_jit(lambda w, a, b, c: lax.select_n(w, a, b, c), which, *cases)
    check_jvp_vjp(lambda a, b, c: lax.select_n(which, a, b, c), cases)
    check_vmap(lambda w, a, b, c: lax.select_n(w, a, b, c),
               [which.reshape(5, 1), *[c.reshape(5, 1) for c in cases]], in_axes=1)


def test_lax_bitcast_iota_convert():
    x = np.array([1.0, -2.5, 0.0], np.float32)
    assert_close(lax.bitcast_convert_type(x, np.int32), x.view(np.int32))
    check_jit(lambda a: lax.bitcast_convert_type(a, np.int32), x)
    check_vmap(lambda a: lax.bitcast_convert_type(a, np.uint32), [x.reshape(3, 1)], in_axes=0)
    with pytest.raises(TypeError, match="width"):
        fl.jit(lambda a: lax.bitcast_convert_type(a, np.int64))(x)
    assert_close(lax.iota(np.int32, (2, 3), 1), np.broadcast_to(np.arange(3, dtype=np.int32),
                                                               (2, 3)))
    assert_close(fl.jit(lambda: lax.iota(np.float32, 4))(), np.arange(4, dtype=np.float32))
    assert_close(lax.convert(x, np.int32), x.astype(np.int32))
    s = np.array(1.0, np.float32)  # a 0-d operand keeps its shape
    assert_close(lax.bitcast_convert_type(s, np.int32), s.view(np.int32))
    assert_close(check_jit(lambda a: lax.bitcast_convert_type(a, np.int32), s), s.view(np.int32))
    assert_close(lax.argmax(x, 0, np.int32), np.array(0, np.int32))


def test_lax_binary_python_scalar_adopts_dtype():
    x = np.array([1, 2, 3], np.int32)
    assert_close(lax.add(x, 1), x + np.int32(1))
    assert_close(lax.mul(2, x), x * np.int32(2))
    y = np.array([1.5, 2.0], np.float64)
    assert_close(lax.sub(y, 0.5), y - 0.5)
    assert_close(lax.max(y, 1.8), np.maximum(y, 1.8))
    # 0-d operands broadcast against the other operand
    assert_close(lax.add(y, np.array(1.0)), y + 1)
    with pytest.raises(TypeError, match="dtype"):
        fl.jit(lambda a, b: lax.add(a, b))(np.ones(2, np.float32), np.ones(2, np.float64))
    with pytest.raises(ValueError, match=r"add.*\(2,\).*\(3,\)"):
        fl.jit(lambda a, b: lax.add(a, b))(np.ones(2, np.float32), np.ones(3, np.float32))


def test_lax_dot_general_batch_and_preferred_type():
    rng = np.random.default_rng(0)
    a = rand(rng, (2, 3, 4))
    b = rand(rng, (2, 4, 5))
    dn = (((2,), (1,)), ((0,), (0,)))
    assert_close(lax.dot_general(a, b, dn), np.einsum("bij,bjk->bik", a, b))
    check_jvp_vjp(lambda x, y: lax.dot_general(x, y, dn), [a, b])
    # contracting several dims, batch dims not leading
    c = rand(rng, (3, 2, 4))
    d = rand(rng, (4, 3, 2, 6))
    dn2 = (((0, 2), (1, 0)), ((1,), (2,)))
    assert_close(lax.dot_general(c, d, dn2), np.einsum("ibk,kibn->bn", c, d))
    check_jvp_vjp(lambda x, y: lax.dot_general(x, y, dn2), [c, d])
    check_vmap(lambda x, y: lax.dot_general(x, y, dn2), [np.stack([c, c * 2]), d],
               in_axes=(0, None))
    check_vmap(lambda x, y: lax.dot_general(x, y, dn2), [c, np.stack([d, d * 2], -1)],
               in_axes=(None, -1), out_axes=1)
    i8 = np.ones((2, 3), np.int8)
    out = lax.dot_general(i8, i8.T, (((1,), (0,)), ((), ())), preferred_element_type=np.int32)
    assert_close(out, np.full((2, 2), 3, np.int32))


def test_stop_gradient():
    x = np.array([1.0, 2.0, 3.0])
    f = lambda a: fnp.sum(a * fl.stop_gradient(a))
    assert_close(fl.grad(f)(x), x)
    assert_close(fl.jit(fl.grad(f))(x), x)
    assert_close(fl.vmap(fl.grad(lambda a: a * fl.stop_gradient(a ** 2)))(x), x**2)
    _, t = fl.jvp(lambda a: fl.stop_gradient(a) * 3.0, (x,), (np.ones(3),))
    assert_close(t, np.zeros(3))


# ================================================================ higher order & composition


def test_second_order_through_shape_index_and_linalg_ops():
    rng = np.random.default_rng(3)
    x = rand(rng, (3, 4))
    m = rand(rng, (4, 3))
    idx = np.array([2, 0, 2])

    def f(a):
        b = fnp.pad(a, ((1, 0), (0, 2)), mode="reflect")[::-1, 1:]
        c = fnp.concatenate([b, fnp.roll(b, 1, axis=0)], axis=1)
        d = fnp.einsum("ij,jk->ik", fnp.tanh(a), m) + fnp.sort(a, axis=1) @ m
        e = fnp.take(fnp.cumsum(a, axis=1), idx, axis=0)
        g = fnp.at(a)[1, ::2].multiply(a[0, :2]).max(axis=0)
        return fnp.sum(c**2) + fnp.sum(fnp.sin(d)) + fnp.sum(e**3) + fnp.sum(g**2)

    h = fl.hessian(f)(x)
    assert h.shape == (3, 4, 3, 4)
    g = fl.grad(f)
    # finite differences of the gradient, one column at a time
    num = np.zeros((3, 4, 3, 4))
    eps = 1e-6
    for i in range(3):
        for j in range(4):
            e = np.zeros_like(x)
            e[i, j] = eps
            num[:, :, i, j] = (g(x + e) - g(x - e)) / (2 * eps)
    np.testing.assert_allclose(h, num, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fl.jacfwd(g)(x), h, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fl.jit(fl.hessian(f))(x), h, rtol=1e-10, atol=1e-10)


def test_vmap_of_grad_and_grad_of_vmap():
    rng = np.random.default_rng(5)
    xs = rand(rng, (4, 3, 2))
    w = rand(rng, (2, 5))

    def loss(a):
        return fnp.sum(fnp.maximum(a @ w, 0.0) ** 2) + fnp.var(a) + fnp.max(fnp.abs(a))

    per = np.stack([fl.grad(loss)(x) for x in xs])
    assert_close(fl.vmap(fl.grad(loss))(xs), per)
    assert_close(fl.jit(fl.vmap(fl.grad(loss)))(xs), per)
    assert_close(fl.vmap(fl.grad(loss), in_axes=2, out_axes=2)(np.moveaxis(xs, 0, 2)),
                 np.moveaxis(per, 0, 2))
    total = fl.grad(lambda b: fnp.sum(fl.vmap(loss)(b)))(xs)
    assert_close(total, per)


# =========================================================================== misc fnp functions


def test_misc_functions_match_numpy():
    rng = np.random.default_rng(11)
    x = rand(rng, (3, 4), np.float32)
    v = rand(rng, (3,), np.float32)
    ints = np.array([[0, 2, 0], [1, 0, 3]])
    cases = [
        (lambda: fnp.diag(v), np.diag(v)),
        (lambda: fnp.diag(v, k=-1), np.diag(v, k=-1)),
        (lambda: fnp.diag(x, 1), np.diag(x, 1)),
        (lambda: fnp.tril(x), np.tril(x)),
        (lambda: fnp.triu(x, 1), np.triu(x, 1)),
        (lambda: fnp.tri(3, 4, -1), np.tri(3, 4, -1, dtype=np.float32)),
        (lambda: fnp.atleast_1d(np.float32(2.0)), np.atleast_1d(np.float32(2.0))),
        (lambda: fnp.atleast_2d(v), np.atleast_2d(v)),
        (lambda: fnp.fliplr(x), np.fliplr(x)),
        (lambda: fnp.flipud(x), np.flipud(x)),
        (lambda: fnp.count_nonzero(ints), np.asarray(np.count_nonzero(ints))),
        (lambda: fnp.count_nonzero(ints, axis=0), np.count_nonzero(ints, axis=0)),
        (lambda: fnp.average(x, axis=1), np.average(x, axis=1)),
        (lambda: fnp.average(x, axis=0, weights=np.arange(1.0, 4.0, dtype=np.float32)),
         np.average(x, axis=0, weights=np.arange(1.0, 4.0, dtype=np.float32))),
        (lambda: fnp.round(x * 100, 1), np.round(x * 100, 1)),
        (lambda: fnp.around(x, 2), np.around(x, 2)),
        (lambda: fnp.amax(x, axis=0), np.amax(x, axis=0)),
        (lambda: fnp.permute_dims(x, (1, 0)), np.transpose(x)),
        (lambda: fnp.broadcast_arrays(v[:, None], x[0]), np.broadcast_arrays(v[:, None], x[0])),
        (lambda: fnp.meshgrid(v, x[0]), np.meshgrid(v, x[0])),
        (lambda: fnp.meshgrid(v, x[0], indexing="ij"), np.meshgrid(v, x[0], indexing="ij")),
        (lambda: fnp.nonzero(ints), np.nonzero(ints)),
        (lambda: fnp.where(ints), np.nonzero(ints)),
        (lambda: fnp.argwhere(ints), np.argwhere(ints)),
        (lambda: fnp.identity(2), np.identity(2, dtype=np.float32)),
    ]
    for k, (f, expected) in enumerate(cases):
        out = f()
        if isinstance(expected, (list, tuple)):
            out, expected = tuple(out), tuple(np.asarray(e) for e in expected)
        assert_close(out, expected, err_msg=f"case #{k}")
    assert fnp.shape(x) == (3, 4) and fnp.ndim(x) == 2 and fnp.size(x) == 12
    assert fnp.size(x, 1) == 4
    # the traced versions of the ones that can be traced
    check_jit(lambda a: (fnp.tril(a), fnp.triu(a, -1), fnp.diag(a[0]), fnp.diag(a, -1),
                         fnp.fliplr(a), fnp.average(a, axis=0, weights=a[:, 0] ** 2)), x)
    with pytest.raises(TypeError, match="nonzero"):
        fl.jit(fnp.nonzero)(x)
