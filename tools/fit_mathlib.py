"""Derive the polynomial coefficients of ``backends/llvm/mathlib.py`` (development tool).

Each polynomial is a weighted minimax (Remez exchange) fit computed in extended
precision with mpmath, then rounded to the working precision and re-checked::

    python tools/fit_mathlib.py            # prints every table
    python tools/fit_mathlib.py exp_f32    # only the named ones

mpmath is needed only here (it is not a dependency of the package): the tables are
pasted into ``mathlib.py`` as literals, so the generated IR never depends on a fit.

Conventions: a fit approximates ``g(t)`` on ``[a, b]`` by ``sum c_j t**j``
(``j = 0..deg``) minimizing ``max |w(t) * (g(t) - p(t))|``; ``w`` is chosen so that
this is the relative error of the function the polynomial is part of (see each
entry). Grid points closer to 0 than 1e-6 of the interval are moved away from it, so
removable singularities at 0 need no special form (mp.dps covers the cancellation).
The coefficients are rounded one at a time, lowest order first, refitting the higher
ones after each rounding so they absorb its error.
"""

from __future__ import annotations

import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 200


def _eval(c, t):
    acc = mp.mpf(0)
    for cj in reversed(c):
        acc = acc * t + cj
    return acc


def _nudge(x, a, b):
    tiny = (b - a) * mp.mpf("1e-6")
    if abs(x) < tiny:
        return tiny if x >= 0 else -tiny
    return x


def remez(g, w, a, b, deg, iters=30, grid=3000):
    """Weighted minimax polynomial of degree ``deg``: returns (coefficients, max error)."""
    a, b = mp.mpf(a), mp.mpf(b)
    n = deg + 2
    # dense grid clustered at the ends (where extrema of near-minimax errors crowd)
    xs = [_nudge(a + (b - a) * (1 - mp.cos(mp.pi * k / (grid - 1))) / 2, a, b)
          for k in range(grid)]
    gs = [g(x) for x in xs]
    ws = [w(x) for x in xs]
    nodes = [a + (b - a) * (1 - mp.cos(mp.pi * k / (n - 1))) / 2 for k in range(n)]
    node_idx = [min(range(grid), key=lambda i, x=x: abs(xs[i] - x)) for x in nodes]
    best = None
    for _ in range(iters):
        A = mp.matrix(n, n)
        rhs = mp.matrix(n, 1)
        for r, i in enumerate(node_idx):
            for j in range(deg + 1):
                A[r, j] = xs[i] ** j
            A[r, deg + 1] = (-1) ** r / ws[i]
            rhs[r] = gs[i]
        sol = mp.lu_solve(A, rhs)
        c = [sol[j] for j in range(deg + 1)]
        err = [ws[i] * (gs[i] - _eval(c, xs[i])) for i in range(grid)]
        emax = max(abs(e) for e in err)
        if best is None or emax < best[1]:
            best = (c, emax)
        # new reference: the largest |error| in each run of one sign
        runs, cur = [], None
        for i, e in enumerate(err):
            s = e >= 0
            if cur is None or s != cur[0]:
                cur = [s, i]
                runs.append(cur)
            elif abs(e) > abs(err[cur[1]]):
                cur[1] = i
        idx = [r[1] for r in runs]
        if len(idx) < n:
            break
        while len(idx) > n:
            if abs(err[idx[0]]) < abs(err[idx[-1]]):
                idx.pop(0)
            else:
                idx.pop()
        lev = abs(sol[deg + 1])
        node_idx = idx
        if emax <= lev * (1 + mp.mpf("1e-3")):
            break
    return best


def fit_rounded(g, w, a, b, deg, dtype):
    """Minimax fit, then round c0, refit c1.., round c1, ...: (rounded coefficients, error
    before rounding, error after)."""
    c, e0 = remez(g, w, a, b, deg)
    fixed = []
    for j in range(deg + 1):
        fixed.append(mp.mpf(float(dtype(float(c[0])))))
        if j == deg:
            break
        k = len(fixed)

        def gj(t, k=k, fx=tuple(fixed)):
            return (g(t) - _eval(fx, t)) / t ** k

        def wj(t, k=k):
            return w(t) * t ** k
        c, _ = remez(gj, wj, a, b, deg - k)
    a, b = mp.mpf(a), mp.mpf(b)
    worst = 0
    for i in range(4001):
        x = _nudge(a + (b - a) * i / 4000, a, b)
        worst = max(worst, abs(w(x) * (g(x) - _eval(fixed, x))))
    return [float(x) for x in fixed], e0, worst


# ---------------------------------------------------------------------------------
# the fits: name -> (g, w, a, b, degree, dtype)

LN2 = mp.log(2)
PIO4 = mp.pi / 4


def _expm1_p(t):      # expm1(r) = r + r*r*P(r)
    return (mp.expm1(t) - t) / t ** 2


def _expm1_w(t):      # relative error of expm1
    return t ** 2 / abs(mp.expm1(t))


def _log_p(z):        # log1p(f) = 2s + s*z*P(z), s = f/(2+f), z = s*s
    s = mp.sqrt(z)
    return (mp.log((1 + s) / (1 - s)) - 2 * s) / (s * z)


def _log_w(z):        # relative error of log1p(f) ~ 2s: s*z*dP / 2s
    return z / 2


def _logpow_q(z):     # pow's double-word log: P(z) = 2/3 + z*Q(z), 2/3 kept exact (hi + lo)
    return (_log_p(z) - mp.mpf(2) / 3) / z


def _logpow_w(z):
    return z * z / 2


def _odd(f):
    """f(x) = x + x*z*P(z) with z = x*x: returns (P, weight) for the relative error of f."""
    def p(z):
        x = mp.sqrt(z)
        return (f(x) - x) / (x * z)

    def w(z):
        x = mp.sqrt(z)
        return abs(x * z / f(x))
    return p, w


_SINH = _odd(mp.sinh)
_ASIN = _odd(mp.asin)
_ATAN = _odd(mp.atan)
_SIN = _odd(mp.sin)
_TANH = _odd(mp.tanh)
_TAN = _odd(mp.tan)


def _erfc_q(t):       # erf(x) = 1 - exp(-x*x)*Q(t), t = x - 1
    x = t + 1
    return mp.erfc(x) * mp.exp(x * x)


def _erfc_w(t):       # relative error of erf caused by an error in Q
    x = t + 1
    return mp.exp(-x * x) / mp.erf(x)


def _cos_p(z):        # cos(r) = 1 - z/2 + z*z*P(z)
    r = mp.sqrt(z)
    return (mp.cos(r) - 1 + z / 2) / z ** 2


def _cos_w(z):
    return z ** 2 / mp.cos(mp.sqrt(z))


def _erf_p(z):        # erf(x) = x + x*P(z), z = x*x (P(0) = 2/sqrt(pi) - 1 rounds finely)
    x = mp.sqrt(z)
    return mp.erf(x) / x - 1


def _erf_w(z):
    x = mp.sqrt(z)
    return x / mp.erf(x)


def _erfcx_p(t):      # erfc(x) = exp(-x*x)*P(t)/x, t = (x - 4)/(x + 4), 1/2 <= x <= 27.5
    x = 4 * (1 + t) / (1 - t)
    return x * mp.exp(x * x) * mp.erfc(x)


def _erfcx_w(t):      # relative error of erfc
    return 1 / _erfcx_p(t)


def _lgamma_p(t):     # lgamma(2 + t) = t*P(t), |t| <= 1/2
    return mp.loggamma(2 + t) / t


def _lgamma_w(t):     # relative error of lgamma(2 + t)
    return 1 / abs(_lgamma_p(t))


R_EXP = LN2 / 2 * mp.mpf("1.0005")
Z_LOG = ((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)) ** 2 * mp.mpf("1.0005")
Z_TRIG = (PIO4 * mp.mpf("1.0005")) ** 2

FITS = {
    "expm1_f32": (_expm1_p, _expm1_w, -R_EXP, R_EXP, 5, np.float32),
    "expm1_f64": (_expm1_p, _expm1_w, -R_EXP, R_EXP, 10, np.float64),
    "expm1_f64lite": (_expm1_p, _expm1_w, -R_EXP, R_EXP, 5, np.float64),
    "log_f32": (_log_p, _log_w, 0, Z_LOG, 2, np.float32),
    "log_f64": (_log_p, _log_w, 0, Z_LOG, 6, np.float64),
    "logpow_f64": (_logpow_q, _logpow_w, 0, Z_LOG, 7, np.float64),
    "log_f64lite": (_log_p, _log_w, 0, Z_LOG, 3, np.float64),
    # below mathlib's tanh_split (1 and 0.75): above, tanh uses exp(-|x|)
    "tanh_f32": (_TANH[0], _TANH[1], 0, 1, 6, np.float32),
    "tanh_f64": (_TANH[0], _TANH[1], 0, 0.75 ** 2, 12, np.float64),
    "sinh_f32": (_SINH[0], _SINH[1], 0, 1, 3, np.float32),
    "sinh_f64": (_SINH[0], _SINH[1], 0, 1, 8, np.float64),
    "asin_f32": (_ASIN[0], _ASIN[1], 0, 0.25, 5, np.float32),
    "asin_f64": (_ASIN[0], _ASIN[1], 0, 0.25, 12, np.float64),
    "atan_f32": (_ATAN[0], _ATAN[1], 0, (7 / 16) ** 2 * 1.001, 5, np.float32),
    "atan_f64": (_ATAN[0], _ATAN[1], 0, (7 / 16) ** 2 * 1.001, 11, np.float64),
    "sin_f64": (_SIN[0], _SIN[1], 0, Z_TRIG, 6, np.float64),
    "cos_f64": (_cos_p, _cos_w, 0, Z_TRIG, 6, np.float64),
    "tan_f64": (_TAN[0], _TAN[1], 0, Z_TRIG, 14, np.float64),
    "sin_f64lite": (_SIN[0], _SIN[1], 0, Z_TRIG, 4, np.float64),
    "cos_f64lite": (_cos_p, _cos_w, 0, Z_TRIG, 4, np.float64),
    "erf_f32": (_erf_p, _erf_w, 0, 1, 6, np.float32),
    "erf_f64": (_erf_p, _erf_w, 0, 1, 12, np.float64),
    "erfc_f32": (_erfc_q, _erfc_w, 0, 3, 9, np.float32),
    "erfc_f64": (_erfc_q, _erfc_w, 0, 5, 21, np.float64),
    "erfcx_f64": (_erfcx_p, _erfcx_w, -7 / 9, 47 / 63, 23, np.float64),
    "lgamma_f64": (_lgamma_p, _lgamma_w, -0.5, 0.5, 17, np.float64),
}


def main(names):
    for name in names or FITS:
        g, w, a, b, deg, dtype = FITS[name]
        cr, e, er = fit_rounded(g, w, a, b, deg, dtype)
        print(f"{name}: minimax {mp.nstr(mp.log(e, 2), 5)} bits, "
              f"rounded {mp.nstr(mp.log(er, 2), 5)} bits")
        print("    (" + ", ".join(repr(x) for x in cr) + ")")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
