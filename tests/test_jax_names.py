"""The JAX names research code uses that functorch_lite lacked: fl.jacobian, make_jaxpr,
block_until_ready, device_get, fnp.isclose/allclose/array_equal/array_equiv/result_type,
functorch_lite.scipy (special, stats.norm) and functorch_lite.test_util.check_grads.

Oracles: closed forms, scipy (when installed) and float64 finite differences; each function
is also run under jit, grad and vmap.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import lax
from functorch_lite.scipy import special
from functorch_lite.scipy.stats import norm
from functorch_lite.test_util import check_grads


def close(a, b, rtol=1e-6, atol=0.0):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol,
                               atol=atol)


# --------------------------------------------------------------------------- top-level names


def test_jacobian_make_jaxpr_and_host_helpers():
    x = np.array([0.5, 1.0], np.float32)
    close(fl.jacobian(fnp.sin)(x), np.diag(np.cos(x)))
    assert fl.jacobian is fl.jacrev and fl.make_jaxpr is fl.make_ir
    assert " sin " in str(fl.make_jaxpr(fnp.sin)(x))
    tree = {"a": fnp.ones(2), "b": [1.0, None]}
    assert fl.block_until_ready(tree) is tree
    host = fl.device_get(tree)
    assert type(host["a"]) is np.ndarray and host["b"] == [1.0, None]


# --------------------------------------------------------------------------- fnp comparisons


def test_isclose_allclose_array_equal_match_numpy():
    a = np.array([1.0, np.inf, -np.inf, np.nan, 1.0, 0.0, 1e10], np.float32)
    b = np.array([1.0 + 1e-7, np.inf, np.inf, np.nan, 1.1, 1e-9, 1.00001e10], np.float32)
    for equal_nan in (False, True):
        want = np.isclose(a, b, equal_nan=equal_nan)
        np.testing.assert_array_equal(fnp.isclose(a, b, equal_nan=equal_nan), want)
        jitted = fl.jit(lambda u, v, e=equal_nan: fnp.isclose(u, v, equal_nan=e))
        np.testing.assert_array_equal(jitted(a, b), want)
    np.testing.assert_array_equal(fnp.isclose(a, b, rtol=0.2, atol=0.0),
                                  np.isclose(a, b, rtol=0.2, atol=0.0))
    assert bool(fnp.allclose(np.ones(3), np.ones(3) + 1e-9))
    assert not bool(fnp.allclose([1.0, 2.0], [1.0, 2.1]))
    assert bool(fnp.allclose([np.nan], [np.nan], equal_nan=True))
    np.testing.assert_array_equal(fnp.isclose(np.arange(3), [0, 1, 3]), [True, True, False])
    assert bool(fnp.array_equal(np.arange(3), np.arange(3.0)))
    assert not bool(fnp.array_equal([1, 2], [1, 2, 3]))
    assert not bool(fnp.array_equal([np.nan], [np.nan]))
    assert bool(fnp.array_equal([np.nan], [np.nan], equal_nan=True))
    assert bool(fnp.array_equiv(np.ones((2, 3)), np.ones(3)))
    assert not bool(fnp.array_equiv(np.ones((2, 3)), np.ones(2)))
    # traceable: under vmap and jit
    out = fl.vmap(lambda u: fnp.allclose(u, 1.0))(np.array([[1.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_array_equal(out, [True, False])
    assert bool(fl.jit(fnp.array_equal)(np.arange(3), np.arange(3)))


def test_result_type_and_promote_types():
    assert fnp.result_type(np.float16, 2.0) == np.float16
    assert fnp.result_type(np.int32, 2.0) == np.float32
    assert fnp.result_type(np.ones(2, np.float32), np.ones(2, np.int64)) == np.float32
    assert fnp.result_type(1, 2) == np.int64
    assert fnp.promote_types("int64", "float32") == np.float32
    assert fnp.promote_types(np.uint8, np.int8) == np.int16


# --------------------------------------------------------------------------- scipy.special


def test_special_closed_forms():
    n = np.arange(1, 12, dtype=np.float64)
    close(special.gammaln(n), [math.lgamma(v) for v in n], rtol=1e-14)
    euler = 0.5772156649015329
    harmonic = np.cumsum(1 / n)
    close(special.digamma(n + 1), harmonic - euler, rtol=1e-13)
    close(special.polygamma(1, 1.0), math.pi ** 2 / 6, rtol=1e-7)
    close(special.polygamma(1, np.float64(1.0)), math.pi ** 2 / 6, rtol=1e-14)
    close(special.digamma(np.float64(0.5)), -euler - 2 * math.log(2), rtol=1e-14)
    assert np.isnan(special.digamma(np.array([0.0, -1.0]))).all()
    close(special.erf(0.5), math.erf(0.5))
    close(special.erfc(np.float64(5.0)), math.erfc(5.0), rtol=1e-14)
    close(special.expit(0.0), 0.5)
    close(special.logit(np.float64(0.25)), math.log(1 / 3), rtol=1e-14)
    close(special.xlogy(0.0, 0.0), 0.0)
    close(special.xlogy(np.float64(2.0), 3.0), 2 * math.log(3), rtol=1e-14)
    close(special.xlog1py(0.0, -1.0), 0.0)
    close(special.entr(np.array([0.0, 0.5, -1.0])), [0.0, 0.5 * math.log(2), -np.inf])
    close(special.betaln(np.float64(2.0), 3.0), math.log(1 / 12), rtol=1e-14)
    close(special.ndtr(np.float64(1.96)), 0.5 * math.erfc(-1.96 / math.sqrt(2)), rtol=1e-14)
    assert special.gammaln(np.arange(3)).dtype == np.float32  # integers promote to float32


def test_polygamma_of_one_element_ignores_the_others():
    # an infinite element once cut every other element's recurrence short (nan)
    x = np.array([-3.5, 0.3, 2.0])
    for m in range(3):
        alone = special.polygamma(m, x)
        mixed = special.polygamma(m, np.concatenate([x, [-np.inf, np.nan, np.inf]]))
        np.testing.assert_array_equal(mixed[:3], alone)
        assert np.isfinite(alone).all()


def test_logsumexp_with_weights_and_sign():
    a = np.array([[0.0, 1.0, 2.0], [3.0, -np.inf, 1.0]])
    b = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0]])
    s = (b * np.exp(a)).sum(1)
    lse, sign = special.logsumexp(a, axis=1, b=b, return_sign=True)
    close(lse, np.log(np.abs(s)), rtol=1e-14)
    close(sign, np.sign(s))
    close(special.logsumexp(a, axis=1, b=np.abs(b)), np.log((np.abs(b) * np.exp(a)).sum(1)),
          rtol=1e-14)
    close(special.logsumexp(np.array([1000.0, 1000.0])), 1000 + math.log(2), rtol=1e-14)
    out = special.logsumexp(a, axis=0, b=np.abs(b), keepdims=True)
    assert out.shape == (1, 3)
    # gradient: the softmax weighted by b
    x = np.array([0.0, 1.0])
    w = np.array([1.0, 2.0])
    close(fl.grad(lambda v: special.logsumexp(v, b=w))(x), w * np.exp(x) / (w * np.exp(x)).sum(),
          rtol=1e-12)


def test_special_against_scipy():
    sp = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(-7.3, 30.0, 301), [1e-8, 0.5, 100.5, 1e5]])
    close(special.gammaln(x), sp.gammaln(x), rtol=1e-12, atol=1e-12)
    for m in range(4):
        close(special.polygamma(m, x), sp.polygamma(m, x), rtol=1e-11, atol=1e-12)
    y = np.linspace(-38.0, 38.0, 761)
    close(special.log_ndtr(y), sp.log_ndtr(y), rtol=1e-9, atol=1e-300)  # denormal tail
    y32 = np.linspace(-12.0, 5.0, 341).astype(np.float32)
    close(special.log_ndtr(y32), sp.log_ndtr(y32.astype(np.float64)), rtol=2e-6)
    close(special.erfc(y), sp.erfc(y), rtol=1e-13, atol=1e-300)


def test_norm_functions():
    x = np.linspace(-3, 3, 7)
    close(norm.logpdf(x, 1.0, 2.0), -((x - 1) / 2) ** 2 / 2 - math.log(2) - 0.5 *
          math.log(2 * math.pi), rtol=1e-14)
    close(norm.pdf(x), np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi), rtol=1e-14)
    close(norm.cdf(x), [0.5 * math.erfc(-v / math.sqrt(2)) for v in x], rtol=1e-14)
    close(norm.sf(x), [0.5 * math.erfc(v / math.sqrt(2)) for v in x], rtol=1e-14)
    close(norm.logcdf(x), np.log(norm.cdf(x)), rtol=1e-13)
    close(norm.logsf(x), np.log(norm.sf(x)), rtol=1e-13)
    close(norm.logcdf(-40.0), -804.6084420137538, rtol=1e-6)  # no underflow to -inf
    assert norm.pdf(0.0).dtype == np.float32
    # gradients: d/dx log pdf = -(x - loc) / scale^2, d/dx cdf = pdf
    close(fl.grad(norm.logpdf)(0.5, 1.0, 2.0), -(0.5 - 1.0) / 4, rtol=1e-6)
    close(fl.vmap(fl.grad(norm.cdf))(x), norm.pdf(x), rtol=1e-12)
    close(fl.jit(norm.logpdf)(x), norm.logpdf(x), rtol=1e-14)


def test_special_functions_are_differentiable_and_jittable():
    x = np.array([0.7, 1.5, 3.2])
    check_grads(special.gammaln, (x,), order=2)
    check_grads(special.digamma, (x,), order=1)
    check_grads(lambda v: special.logsumexp(v, b=np.array([1.0, 2.0, 0.5])), (x,), order=2)
    check_grads(special.log_ndtr, (np.array([-30.0, -3.0, 0.5, 9.0]),), order=1)
    check_grads(special.xlogy, (x, x + 1), order=1)
    close(fl.jit(special.gammaln)(x), special.gammaln(x), rtol=1e-14)
    close(fl.vmap(special.logit)(np.array([0.1, 0.5])), [math.log(1 / 9), 0.0], rtol=1e-14)
    close(lax.digamma(np.float64(1.0)), -0.5772156649015329, rtol=1e-14)


# --------------------------------------------------------------------------- test_util


def test_check_grads_passes_correct_rules_and_catches_wrong_ones():
    check_grads(fnp.sin, (np.array([0.5, 1.0]),), order=3)
    check_grads(lambda d: fnp.sum(d["a"] * fnp.tanh(d["b"])),
                ({"a": np.ones(3, np.float32), "b": np.linspace(0, 1, 3).astype(np.float32)},),
                order=2, modes=["rev"])

    @fl.custom_jvp
    def wrong(x):
        return fnp.sin(x)

    wrong.defjvp(lambda p, t: (wrong(p[0]), 2 * fnp.cos(p[0]) * t[0]))
    for modes in ("fwd", "rev"):
        with pytest.raises(AssertionError, match="jvp|vjp"):
            check_grads(wrong, (np.array([0.3]),), order=1, modes=modes)
    with pytest.raises(ValueError, match="modes"):
        check_grads(fnp.sin, (np.array([0.3]),), order=1, modes=("sideways",))
