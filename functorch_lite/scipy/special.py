"""Special functions with ``scipy.special``'s names and signatures (``jax.scipy.special``).

Arguments are promoted to a floating dtype (integers give float32, float64 stays float64).

>>> from functorch_lite.scipy import special
>>> special.gammaln(np.array([1.0, 5.0]))  # log(0!) and log(4!)
Array([0.        , 3.17805383])
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes, nn
from .. import lax as L
from .. import numpy as fnp

__all__ = [
    "logsumexp", "erf", "erfc", "expit", "logit", "gammaln", "digamma", "polygamma",
    "betaln", "xlogy", "xlog1py", "entr", "ndtr", "log_ndtr", "softmax", "log_softmax",
]


def _inexact(*xs):
    """The arguments as arrays of one floating dtype (JAX's ``promote_args_inexact``)."""
    dt = fnp.result_type(*xs, 1.0)
    if not dtypes.is_float(dt):
        dt = dtypes.default_float
    return [fnp.asarray(x, dtype=dt) for x in xs]


def _same_shape(*xs):
    shape = np.broadcast_shapes(*[fnp.shape(x) for x in xs])
    return [fnp.broadcast_to(x, shape) for x in xs]


def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False):
    """``log(sum(b * exp(a), axis))``, computed without overflow. With ``return_sign`` the
    result is ``(log|sum|, sign(sum))``; otherwise a negative sum gives NaN (as scipy).

    >>> logsumexp(np.array([0.0, 0.0], np.float32))
    Array(0.6931472, dtype=float32)
    """
    if b is None and not return_sign:
        return nn.logsumexp(a, axis=axis, keepdims=keepdims)
    (x,) = _inexact(a)
    w = fnp.ones_like(x) if b is None else _inexact(b)[0]
    x, w = _same_shape(x, w)
    # the max over the terms that count (b != 0), held constant for the derivative
    live = fnp.where(fnp.not_equal(w, 0), x, -np.inf)
    m = fnp.max(live, axis=axis, keepdims=True)
    m = L.stop_gradient(fnp.where(fnp.isfinite(m), m, fnp.zeros_like(m)))
    s = fnp.sum(w * fnp.exp(x - m), axis=axis, keepdims=True)
    sign = fnp.sign(s)
    mag = fnp.abs(s) if return_sign else s
    out = fnp.log(mag) + m
    if not keepdims:
        out = fnp.squeeze(out, axis=axis) if axis is not None else fnp.reshape(out, ())
        sign = fnp.squeeze(sign, axis=axis) if axis is not None else fnp.reshape(sign, ())
    return (out, sign) if return_sign else out


def erf(x):
    """The error function."""
    (x,) = _inexact(x)
    return L.erf(x)


def erfc(x):
    """``1 - erf(x)``, accurate where erf is close to 1."""
    (x,) = _inexact(x)
    return L.erfc(x)


def expit(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``.

    >>> expit(0.0)
    Array(0.5, dtype=float32)
    """
    (x,) = _inexact(x)
    return nn.sigmoid(x)


def logit(x):
    """``log(x / (1 - x))``, the inverse of ``expit``."""
    (x,) = _inexact(x)
    return fnp.log(x) - fnp.log1p(-x)


def gammaln(x):
    """``log|Gamma(x)|`` (its derivative is ``digamma``)."""
    (x,) = _inexact(x)
    return L.lgamma(x)


def digamma(x):
    """``psi(x) = d/dx log Gamma(x)``; NaN at the poles 0, -1, -2, ..."""
    (x,) = _inexact(x)
    return L.digamma(x)


def polygamma(n: int, x):
    """``psi^(n)(x)``, the n-th derivative of digamma (``n`` a non-negative int)."""
    (x,) = _inexact(x)
    return L.polygamma(int(n), x)


def betaln(a, b):
    """``log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)``."""
    a, b = _same_shape(*_inexact(a, b))
    return L.lgamma(a) + L.lgamma(b) - L.lgamma(a + b)


def xlogy(x, y):
    """``x * log(y)``, with 0 where ``x == 0`` (even for ``y == 0``)."""
    x, y = _same_shape(*_inexact(x, y))
    zero = x == 0
    safe = fnp.where(zero, fnp.ones_like(y), y)
    return fnp.where(zero, fnp.zeros_like(x), x * fnp.log(safe))


def xlog1py(x, y):
    """``x * log1p(y)``, with 0 where ``x == 0``."""
    x, y = _same_shape(*_inexact(x, y))
    zero = x == 0
    safe = fnp.where(zero, fnp.zeros_like(y), y)
    return fnp.where(zero, fnp.zeros_like(x), x * fnp.log1p(safe))


def entr(x):
    """``-x log x`` for x > 0, 0 at 0, -inf below."""
    (x,) = _inexact(x)
    return fnp.where(x < 0, -np.inf, -xlogy(x, x))


def ndtr(x):
    """The standard normal CDF, ``(1 + erf(x / sqrt 2)) / 2`` (from erfc, so both tails keep
    their relative precision)."""
    (x,) = _inexact(x)
    return 0.5 * L.erfc(x * (-1 / math.sqrt(2.0)))


def log_ndtr(x):
    """``log(ndtr(x))`` with full relative precision: ``log1p(-ndtr(-x))`` above 0, the
    asymptotic series far in the lower tail (where ndtr underflows), ``log(ndtr(x))``
    between.

    >>> float(log_ndtr(-30.0))
    -454.321...
    """
    (x,) = _inexact(x)
    lower = -20.0 if fnp.result_type(x) == np.float64 else -10.0
    # each branch sees only arguments where it is accurate (and finite)
    x_up = fnp.where(x > 0, x, 0.0)
    x_mid = fnp.clip(x, lower, 0.0)
    x_low = fnp.where(x < lower, x, lower)
    up = fnp.log1p(-ndtr(-x_up))
    mid = fnp.log(ndtr(x_mid))
    low = _log_ndtr_asymptotic(x_low)
    return fnp.where(x > 0, up, fnp.where(x > lower, mid, low))


def _log_ndtr_asymptotic(x, terms: int = 3):
    """log ndtr(x) for x << 0: -x^2/2 - log(-x) - log(2 pi)/2 + log(sum_k (-1)^k
    (2k-1)!! / x^(2k))."""
    x2 = x * x
    series = fnp.ones_like(x)
    coeff, xp = 1.0, fnp.ones_like(x)
    for k in range(1, terms + 1):
        coeff *= -(2 * k - 1)
        xp = xp * x2
        series = series + coeff / xp
    return -0.5 * x2 - fnp.log(-x) - 0.5 * math.log(2 * math.pi) + fnp.log(series)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis)`` (``functorch_lite.nn.softmax``)."""
    (x,) = _inexact(x)
    return nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis)`` (``functorch_lite.nn.log_softmax``)."""
    (x,) = _inexact(x)
    return nn.log_softmax(x, axis=axis)
