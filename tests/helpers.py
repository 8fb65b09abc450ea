"""Shared checking helpers for the primitive / fnp test suites.

* ``assert_close``: a functorch_lite result against a numpy reference (type, dtype,
  shape and values; tolerances chosen from the dtype).
* ``check_jit``: ``fl.jit(f)`` gives exactly what eager ``f`` gives.
* ``assert_jit_equal``: a jitted result equals the eager one bit for bit, within a few
  ulp for floats where the backend has its own math library (llvm).
* ``check_grads``: ``fl.grad`` against float64 central finite differences.
* ``check_jvp_vjp``: ``fl.jvp`` against a finite-difference directional derivative, and
  the adjoint identity ``<u, J v> == <J^T u, v>`` between ``fl.jvp`` and ``fl.vjp``.
* ``check_vmap``: ``fl.vmap`` against a Python loop over the mapped axis.
* strategies: small shapes, arrays of a dtype in a value range, seeds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import functorch_lite as fl
from functorch_lite import tree
from functorch_lite.jit import default_backend

FLOAT_DTYPES = (np.float32, np.float64)
INT_DTYPES = (np.int32, np.int64)
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES + (np.bool_,)

# (rtol, atol) for comparing against numpy computed in the same dtype
TOLS = {
    np.dtype(np.float16): (1e-3, 1e-3),
    np.dtype(np.float32): (1e-5, 1e-6),
    np.dtype(np.float64): (1e-11, 1e-12),
}


def tols(dtype, rtol=None, atol=None):
    r, a = TOLS.get(np.dtype(dtype), (0.0, 0.0))
    return (r if rtol is None else rtol), (a if atol is None else atol)


# --------------------------------------------------------------------------- comparisons


def assert_close(actual, expected, *, rtol=None, atol=None, check_dtype=True, err_msg=""):
    """``actual`` (a functorch_lite result) matches the numpy reference ``expected``.

    Both may be pytrees (tuples/lists/dicts of arrays). ``actual`` leaves must be numpy
    arrays (not tracers, not numpy scalars), of the same dtype and shape as ``expected``.
    Floats compare with dtype-based tolerances (NaNs equal), everything else exactly.
    """
    a_leaves, a_tree = tree.flatten(actual)
    e_leaves, e_tree = tree.flatten(expected)
    assert a_tree == e_tree, f"structure {a_tree} != {e_tree} {err_msg}"
    for a, e in zip(a_leaves, e_leaves):
        assert isinstance(a, np.ndarray), (
            f"expected a numpy.ndarray result, got {type(a).__name__} {err_msg}")
        e = np.asarray(e)
        if check_dtype:
            assert a.dtype == e.dtype, f"dtype {a.dtype} != expected {e.dtype} {err_msg}"
        assert a.shape == e.shape, f"shape {a.shape} != expected {e.shape} {err_msg}"
        if a.dtype.kind in "fc" or e.dtype.kind in "fc":
            dt = a.dtype if a.dtype.kind in "fc" else e.dtype
            r, t = tols(dt, rtol, atol)
            np.testing.assert_allclose(a, e, rtol=r, atol=t, equal_nan=True, err_msg=err_msg)
        else:
            np.testing.assert_array_equal(a, e, err_msg=err_msg)


def result_dtype(*dts):
    """Promotion of strong array dtypes as functorch_lite documents it: numpy's rules, except
    that integers never widen a float (float32 with int64 is float32, as in JAX/PyTorch)."""
    dts = [np.dtype(d) for d in dts]
    floats = [d for d in dts if d.kind in "fc"]
    return np.result_type(*(floats or dts))


def to64(x):
    x = np.asarray(x)
    return x.astype(np.float64) if x.dtype.kind == "f" else x


# --------------------------------------------------------------------------- jit


def check_jit(f, *args, **kwargs):
    """``fl.jit(f)(*args)`` equals eager ``f(*args)`` (dtype, shape, values); returns it."""
    eager = f(*args, **kwargs)
    # a fresh function: jit keeps one cache per function, and the hypothesis tests call
    # this with many shapes for one fnp function (a retrace warning would be noise here)
    jitted = fl.jit(lambda *a, **k: f(*a, **k))(*args, **kwargs)
    e_leaves = tree.leaves(eager)
    j_leaves = tree.leaves(jitted)
    assert len(e_leaves) == len(j_leaves)
    # the shapes/dtypes the primitives' abstract rules promise are what their kernels give
    # (eager and the numpy backend only run the kernels)
    ir = fl.make_ir(lambda *a: f(*a, **kwargs))(*args)
    for aval, e in zip(ir.out_avals, e_leaves):
        e = np.asarray(e)
        assert (aval.shape, aval.dtype) == (e.shape, e.dtype), (
            f"abstract {aval.shape} {aval.dtype} != computed {e.shape} {e.dtype}")
    for e, j in zip(e_leaves, j_leaves):
        assert isinstance(j, np.ndarray), type(j)
        e = np.asarray(e)
        assert j.dtype == e.dtype, f"jit dtype {j.dtype} != eager {e.dtype}"
        assert j.shape == e.shape, f"jit shape {j.shape} != eager {e.shape}"
        if e.dtype.kind in "fc":
            # same numpy kernels run in both; allow only rounding-level differences
            r = 1e-6 if e.dtype == np.float32 else 1e-13
            np.testing.assert_allclose(j, e, rtol=r, atol=r, equal_nan=True)
        else:
            np.testing.assert_array_equal(j, e)
    return jitted


# the llvm backend's math functions are within 2 ulp of numpy's (mathlib.ULP_BOUNDS); a
# sampler chains two of them
JIT_ULPS = {"llvm": 4}


def assert_jit_equal(jitted, eager, backend=None):
    """``jitted`` equals ``eager`` (dtype and shape too): bit for bit, except floats from a
    backend with its own math library (``JIT_ULPS``), which may be that many ulp away.
    ``backend`` defaults to the one ``fl.jit`` picks."""
    backend = backend or default_backend()
    j, e = np.asarray(jitted), np.asarray(eager)
    assert (j.dtype, j.shape) == (e.dtype, e.shape), f"{j.dtype}{j.shape} vs {e.dtype}{e.shape}"
    ulps = JIT_ULPS.get(backend, 0)
    if e.dtype.kind != "f" or not ulps:
        np.testing.assert_array_equal(j, e)
        return
    big = np.maximum(np.abs(j), np.abs(e))
    ok = (j == e) | (np.isnan(j) & np.isnan(e)) | (np.abs(j - e) <= ulps * np.spacing(big))
    assert ok.all(), f"more than {ulps} ulp apart: jit {j[~ok]}, eager {e[~ok]}"


# --------------------------------------------------------------------------- finite differences


def _float_positions(args, argnums):
    if argnums is None:
        return [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]
    return [argnums] if isinstance(argnums, int) else list(argnums)


def numerical_grad(f, args, argnum, eps=1e-6):
    """Central differences of the scalar ``f`` w.r.t. ``args[argnum]`` (float64)."""
    args = [np.array(a, copy=True) for a in args]
    x = args[argnum]
    g = np.zeros(x.shape, np.float64)
    flat = x.reshape(-1)
    gflat = g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        hi = float(np.asarray(f(*args)))
        flat[k] = old - eps
        lo = float(np.asarray(f(*args)))
        flat[k] = old
        gflat[k] = (hi - lo) / (2 * eps)
    return g


def numerical_jvp(f, args, tangents, eps=1e-6):
    """Central-difference directional derivative of ``f`` (any output shape) along
    ``tangents`` (``None`` entries: that argument is held fixed)."""
    plus = [a if t is None else a + eps * t for a, t in zip(args, tangents)]
    minus = [a if t is None else a - eps * t for a, t in zip(args, tangents)]
    hi = tree.leaves(f(*plus))
    lo = tree.leaves(f(*minus))
    return [(np.asarray(h, np.float64) - np.asarray(l, np.float64)) / (2 * eps)
            for h, l in zip(hi, lo)]


def check_grads(f, args, argnums=None, rtol=1e-4, atol=1e-6, eps=1e-6):
    """``fl.grad(f, argnums=i)`` matches central differences for every float argument.

    ``args`` should be float64 for the difference quotient to be accurate; ``f`` must
    return a scalar.
    """
    args = [np.asarray(a) for a in args]
    for i in _float_positions(args, argnums):
        g = fl.grad(f, argnums=i)(*args)
        assert isinstance(g, np.ndarray), type(g)
        assert g.shape == args[i].shape, (g.shape, args[i].shape)
        assert g.dtype == args[i].dtype, (g.dtype, args[i].dtype)
        num = numerical_grad(f, args, i, eps)
        np.testing.assert_allclose(g, num, rtol=rtol, atol=atol,
                                   err_msg=f"grad w.r.t. argument {i}")
        # the staged backward pass computes the same thing
        gj = fl.jit(fl.grad(f, argnums=i))(*args)
        assert gj.dtype == g.dtype and gj.shape == g.shape
        np.testing.assert_allclose(gj, g, rtol=1e-6 if g.dtype == np.float32 else 1e-12,
                                   atol=1e-12, err_msg=f"jit(grad) w.r.t. argument {i}")


def _dot_all(a, b):
    return sum(float(np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64)))
               for x, y in zip(a, b))


def check_jvp_vjp(f, args, seed=0, rtol=1e-4, atol=1e-6, eps=1e-6, fd=True):
    """For random ``v`` (tangents of the float arguments) and ``u`` (output cotangent):

    * ``fl.jvp`` output equals ``f(*args)`` and its tangent equals the central-difference
      directional derivative (when ``fd``; needs float64 args);
    * ``<u, J v> == <J^T u, v>`` with ``J^T u`` from ``fl.vjp``.

    Non-float arguments are held fixed (closed over).
    """
    rng = np.random.default_rng(seed)
    args = [np.asarray(a) for a in args]
    pos = _float_positions(args, None)

    def fun(*xs):
        full = list(args)
        for i, x in zip(pos, xs):
            full[i] = x
        return f(*full)

    primals = tuple(args[i] for i in pos)
    tangents = tuple(rng.standard_normal(p.shape).astype(p.dtype) for p in primals)
    out, tout = fl.jvp(fun, primals, tangents)
    expected = f(*args)
    assert_close(out, expected, rtol=1e-6, atol=1e-6)
    out_leaves, t_leaves = tree.leaves(out), tree.leaves(tout)
    for o, t in zip(out_leaves, t_leaves):
        assert isinstance(t, np.ndarray), type(t)
        assert t.shape == o.shape, (t.shape, o.shape)
    if fd:
        num = numerical_jvp(fun, list(primals), list(tangents), eps)
        for t, n in zip(t_leaves, num):
            np.testing.assert_allclose(t, n, rtol=rtol, atol=atol, err_msg="jvp vs differences")
    out2, vjp_fn = fl.vjp(fun, *primals)
    assert_close(out2, expected, rtol=1e-6, atol=1e-6)
    u = tree.map(lambda o: rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype), out2)
    cts = vjp_fn(u)
    assert isinstance(cts, tuple) and len(cts) == len(primals)
    for c, p in zip(cts, primals):
        assert isinstance(c, np.ndarray), type(c)
        assert c.shape == p.shape and c.dtype == p.dtype, (c.shape, c.dtype, p.shape, p.dtype)
    lhs = _dot_all(tree.leaves(u), t_leaves)
    rhs = _dot_all(cts, tangents)
    scale = max(1.0, abs(lhs), abs(rhs))
    assert abs(lhs - rhs) <= (1e-9 if all(p.dtype == np.float64 for p in primals)
                              else 1e-4) * scale, (lhs, rhs)


# --------------------------------------------------------------------------- vmap


def _take(a, i, axis):
    return np.take(np.asarray(a), i, axis=axis)


def check_vmap(f, args, in_axes=0, out_axes=0, rtol=None, atol=None):
    """``fl.vmap(f, in_axes, out_axes)(*args)`` equals stacking ``f`` over a Python loop.

    ``in_axes``: int, None or a tuple with one entry per argument (no nested prefixes).
    ``out_axes``: int (all outputs) or a tuple matching a tuple output.
    """
    axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    sizes = {np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None}
    assert len(sizes) == 1, sizes
    n = sizes.pop()
    per = [f(*[a if ax is None else _take(a, i, ax) for a, ax in zip(args, axes)])
           for i in range(n)]
    leaves0, out_tree = tree.flatten(per[0])
    oaxes = out_axes if isinstance(out_axes, (tuple, list)) else (out_axes,) * len(leaves0)
    cols = [[tree.leaves(p)[k] for p in per] for k in range(len(leaves0))]
    expected = tree.unflatten(out_tree, [np.stack([np.asarray(c) for c in col], axis=oa)
                                         for col, oa in zip(cols, oaxes)])
    actual = fl.vmap(f, in_axes=in_axes, out_axes=out_axes)(*args)
    # vmap runs the same kernels on a stacked array; allow rounding-level differences
    assert_close(actual, expected, rtol=rtol, atol=atol)
    return actual


# --------------------------------------------------------------------------- strategies


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def arrays(dtype, shape, lo=-4.0, hi=4.0):
    """Arrays of ``dtype`` with values in ``[lo, hi]`` (ints: the integer range)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        # bounds must be representable in the dtype (0.1 is not a float32)
        lo_d, hi_d = dtype.type(lo), dtype.type(hi)
        if lo_d < lo:
            lo_d = np.nextafter(lo_d, dtype.type(np.inf))
        if hi_d > hi:
            hi_d = np.nextafter(hi_d, dtype.type(-np.inf))
        elems = st.floats(float(lo_d), float(hi_d), width=dtype.itemsize * 8, allow_nan=False,
                          allow_infinity=False, allow_subnormal=False)
    elif dtype.kind in "iu":
        elems = st.integers(int(np.ceil(lo)), int(np.floor(hi)))
    elif dtype.kind == "b":
        elems = st.booleans()
    else:  # pragma: no cover
        raise TypeError(dtype)
    return hnp.arrays(dtype, shape, elements=elems)


seeds = st.integers(0, 2**31 - 1)


def rand(rng, shape, dtype=np.float64, lo=-2.0, hi=2.0):
    """Continuous random values (no ties, no exact zeros: safe for finite differences)."""
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def rand_away(rng, shape, dtype=np.float64, lo=0.3, hi=2.0):
    """Random values with ``lo <= |x| <= hi`` and random signs."""
    mag = rng.uniform(lo, hi, size=shape)
    sgn = np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
    return (mag * sgn).astype(dtype)
