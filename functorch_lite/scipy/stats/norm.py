"""The normal distribution with ``scipy.stats.norm``'s function names and arguments
(``loc`` the mean, ``scale`` the standard deviation).

>>> from functorch_lite.scipy.stats import norm
>>> norm.pdf(0.0)
Array(0.3989423, dtype=float32)
"""

from __future__ import annotations

import math

from ... import numpy as fnp
from ..special import log_ndtr, ndtr

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _z(x, loc, scale):
    dt = fnp.result_type(x, loc, scale, 1.0)
    x, loc, scale = (fnp.asarray(v, dtype=dt) for v in (x, loc, scale))
    return (x - loc) / scale, scale


def logpdf(x, loc=0, scale=1):
    """``log N(x; loc, scale^2)``.

    >>> float(logpdf(1.0, 1.0, 2.0))  # -log(2) - log(2 pi) / 2
    -1.6120857...
    """
    z, scale = _z(x, loc, scale)
    return -0.5 * z * z - fnp.log(scale) - _HALF_LOG_2PI


def pdf(x, loc=0, scale=1):
    """The density ``exp(logpdf(x, loc, scale))``."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """``P(X <= x)``."""
    z, _ = _z(x, loc, scale)
    return ndtr(z)


def logcdf(x, loc=0, scale=1):
    """``log P(X <= x)``, accurate in both tails."""
    z, _ = _z(x, loc, scale)
    return log_ndtr(z)


def sf(x, loc=0, scale=1):
    """The survival function ``P(X > x) = 1 - cdf`` (without cancellation)."""
    z, _ = _z(x, loc, scale)
    return ndtr(-z)


def logsf(x, loc=0, scale=1):
    """``log P(X > x)``."""
    z, _ = _z(x, loc, scale)
    return log_ndtr(-z)
