"""``jax.test_util.check_grads``: compare a function's derivatives with finite differences.

>>> from functorch_lite.test_util import check_grads
>>> check_grads(fnp.sin, (np.array([0.5, 1.0]),), order=2)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import tree as tree_util
from .api_util import as_array
from .derivatives import jvp, vjp

__all__ = ["check_grads", "check_jvp", "check_vjp"]

# rtol = atol per dtype, and the finite-difference step (JAX's defaults)
_TOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 2e-2, np.dtype(np.float64): 1e-5}
_EPS = 1e-4


def _dtype_of(tree):
    dts = [np.asarray(as_array(x)).dtype for x in tree_util.leaves(tree)]
    floats = [d for d in dts if d.kind == "f"]
    return min(floats, key=lambda d: d.itemsize) if floats else np.dtype(np.float64)


def _check_close(name, got, want, atol, rtol):
    g_leaves, g_tree = tree_util.flatten(got)
    w_leaves, w_tree = tree_util.flatten(want)
    if g_tree != w_tree:
        raise AssertionError(f"{name}: result structures differ: {g_tree} vs {w_tree}")
    for i, (g, w) in enumerate(zip(g_leaves, w_leaves)):
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: leaf {i} differs")


def _random_like(rng, tree):
    def one(x):
        a = np.asarray(as_array(x))
        if a.dtype.kind != "f":
            return np.zeros(a.shape, a.dtype)
        return rng.standard_normal(a.shape).astype(a.dtype)

    return tree_util.map(one, tree)


def _axpy(alpha, x, y):
    """``alpha * x + y`` leafwise (floating leaves; others stay ``y``)."""
    def one(a, b):
        b = np.asarray(as_array(b))
        if b.dtype.kind != "f":
            return b
        return (np.asarray(as_array(a), np.float64) * alpha + b).astype(b.dtype)

    return tree_util.map(one, x, y)


def _vdot(x, y):
    return sum(float(np.vdot(np.asarray(a, np.float64), np.asarray(b, np.float64)))
               for a, b in zip(tree_util.leaves(x), tree_util.leaves(y)))


def _numerical_jvp(f, primals, tangents, eps):
    plus = f(*_axpy(eps, tangents, primals))
    minus = f(*_axpy(-eps, tangents, primals))
    return tree_util.map(lambda p, m: (np.asarray(p, np.float64) - np.asarray(m, np.float64))
                         / (2 * eps), plus, minus)


def check_jvp(f: Callable, f_jvp: Callable, args: Sequence, atol=None, rtol=None, eps=None):
    """``f_jvp(args, tangents)`` against central differences of ``f`` along random
    tangents."""
    dt = _dtype_of(args)
    atol = _TOL.get(dt, 1e-5) if atol is None else atol
    rtol = _TOL.get(dt, 1e-5) if rtol is None else rtol
    eps = _EPS if eps is None else eps
    rng = np.random.default_rng(0)
    tangents = _random_like(rng, args)
    _, t_out = f_jvp(tuple(args), tuple(tangents))
    _check_close("jvp", t_out, _numerical_jvp(f, args, tangents, eps), atol, rtol)


def check_vjp(f: Callable, f_vjp: Callable, args: Sequence, atol=None, rtol=None, eps=None):
    """``<f_vjp(ct), t>`` against ``<ct, numerical jvp along t>`` for random ``t``, ``ct``."""
    dt = _dtype_of(args)
    atol = _TOL.get(dt, 1e-5) if atol is None else atol
    rtol = _TOL.get(dt, 1e-5) if rtol is None else rtol
    eps = _EPS if eps is None else eps
    rng = np.random.default_rng(1)
    out, pullback = f_vjp(*args)
    ct = _random_like(rng, out)
    tangents = _random_like(rng, args)
    lhs = _vdot(pullback(ct), tangents)
    rhs = _vdot(ct, _numerical_jvp(f, args, tangents, eps))
    _check_close("vjp", lhs, rhs, atol, rtol)


def check_grads(f: Callable, args: Sequence, order: int, modes=("fwd", "rev"), atol=None,
                rtol=None, eps=None) -> None:
    """Check ``f``'s derivatives up to ``order`` in forward (``"fwd"``) and reverse
    (``"rev"``) mode against finite differences; raise ``AssertionError`` if they differ.

    ``args`` is the tuple of (pytree) arguments. Tolerances default by dtype (float32:
    2e-2, float64: 1e-5) and the step to 1e-4, as in JAX.

    >>> check_grads(lambda x: x ** 3, (np.array(2.0),), order=2)
    """
    args = tuple(args)
    if isinstance(modes, str):
        modes = (modes,)
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {m!r}")

    def _check(fun, primals, k):
        if "fwd" in modes:
            check_jvp(fun, lambda p, t: jvp(fun, p, t), primals, atol, rtol, eps)
            if k > 1:
                t = _random_like(np.random.default_rng(2), primals)
                _check(lambda *p: jvp(fun, p, t)[1], primals, k - 1)
        if "rev" in modes:
            check_vjp(fun, lambda *p: vjp(fun, *p), primals, atol, rtol, eps)
            if k > 1:
                out = fun(*primals)
                ct = _random_like(np.random.default_rng(3), out)
                _check(lambda *p: vjp(fun, *p)[1](ct), primals, k - 1)

    _check(f, args, order)
