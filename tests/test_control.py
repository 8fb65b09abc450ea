"""Structured control flow: ``lax.cond`` / ``switch`` / ``while_loop`` / ``fori_loop`` /
``scan`` / ``map`` under every transform.

Every result is checked against a real value: an unrolled Python equivalent (Python
``if`` / ``for``, which works under ``grad`` because primals are concrete there), a
closed form, or float64 central finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import lax

# --------------------------------------------------------------------------- helpers


def rng_of(seed=0):
    return np.random.default_rng(seed)


def close(actual, expected, rtol=1e-10, atol=1e-12, dtype=True):
    """Pytree ``actual`` (numpy leaves) equals ``expected``; dtypes and shapes match."""
    a_leaves, a_tree = fl.tree.flatten(actual)
    e_leaves, e_tree = fl.tree.flatten(expected)
    assert a_tree == e_tree, (a_tree, e_tree)
    for a, e in zip(a_leaves, e_leaves):
        if isinstance(a, np.generic):  # eager numpy operators on 0-d arrays give scalars
            a = np.asarray(a)
        assert isinstance(a, np.ndarray), type(a)
        e = np.asarray(e)
        if dtype:
            assert a.dtype == e.dtype, (a.dtype, e.dtype)
        assert a.shape == e.shape, (a.shape, e.shape)
        if a.dtype.kind in "fc":
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(a, e)


def fd_grad(f, x, eps=1e-6):
    """Central differences of scalar ``f`` at float64 array ``x``."""
    x = np.array(x, np.float64, copy=True)
    g = np.zeros_like(x)
    xf, gf = x.reshape(-1), g.reshape(-1)
    for k in range(xf.size):
        old = xf[k]
        xf[k] = old + eps
        hi = float(np.asarray(f(x)))
        xf[k] = old - eps
        lo = float(np.asarray(f(x)))
        xf[k] = old
        gf[k] = (hi - lo) / (2 * eps)
    return g


def fd_grads(f, args, eps=1e-6):
    """Finite-difference gradient of scalar ``f(*args)`` w.r.t. every argument."""
    out = []
    for i in range(len(args)):
        def fi(xi, i=i):
            a = list(args)
            a[i] = xi
            return f(*a)
        out.append(fd_grad(fi, args[i], eps))
    return tuple(out)


def fd_jvp(f, x, v, eps=1e-6):
    return (np.asarray(f(x + eps * v), np.float64) - np.asarray(f(x - eps * v), np.float64)) \
        / (2 * eps)


def fd_jac(f, x, eps=1e-6):
    """Dense Jacobian (out_shape + in_shape) by central differences."""
    x = np.asarray(x, np.float64)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        cols.append(fd_jvp(f, x, e.reshape(x.shape), eps))
    j = np.stack(cols, axis=-1)
    return j.reshape(np.shape(cols[0]) + x.shape)


def prims_of(closed):
    """Names of the primitives of a jaxpr's top-level equations."""
    return [e.prim.name for e in closed.jaxpr.eqns]


def all_prims(closed):
    """Names of every primitive, recursing into control-flow bodies."""
    names = []

    def walk(j):
        for e in j.eqns:
            names.append(e.prim.name)
            for v in e.params.values():
                subs = v if isinstance(v, tuple) else (v,)
                for s in subs:
                    if hasattr(s, "jaxpr") and hasattr(s, "consts"):
                        walk(s.jaxpr)

    walk(closed.jaxpr)
    return names


# =========================================================================== cond / switch


def cond_fn(x, y):
    return lax.cond(fnp.sum(x) > 0,
                    lambda a, b: fnp.sum(fnp.sin(a) * b) + fnp.sum(a),
                    lambda a, b: fnp.sum(a ** 3) - fnp.exp(b[0]),
                    x, y)


def if_fn(x, y):
    if fnp.sum(x) > 0:
        return fnp.sum(fnp.sin(x) * y) + fnp.sum(x)
    return fnp.sum(x ** 3) - fnp.exp(y[0])


def np_if(x, y):
    if np.sum(x) > 0:
        return np.sum(np.sin(x) * y) + np.sum(x)
    return np.sum(x ** 3) - np.exp(y[0])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_eager_jit_grad_jvp(sign):
    r = rng_of(1)
    x = sign * np.abs(r.uniform(0.3, 1.5, 3))
    y = r.uniform(-1, 1, 3)
    out = cond_fn(x, y)
    close(out, np.asarray(np_if(x, y)))
    close(fl.jit(cond_fn)(x, y), out, rtol=1e-13)
    gx, gy = fl.grad(cond_fn, argnums=(0, 1))(x, y)
    ex, ey = fl.grad(if_fn, argnums=(0, 1))(x, y)
    close((gx, gy), (ex, ey))
    fx, fy = fd_grads(np_if, [x, y])
    close((gx, gy), (fx, fy), rtol=1e-6, atol=1e-8)
    close(fl.jit(fl.grad(cond_fn, argnums=(0, 1)))(x, y), (gx, gy), rtol=1e-12)
    # forward mode
    v = r.standard_normal(3)
    o, t = fl.jvp(lambda x: cond_fn(x, y), (x,), (v,))
    close(o, out)
    np.testing.assert_allclose(t, np.dot(gx, v), rtol=1e-10)
    close(fl.jacfwd(cond_fn)(x, y), gx, rtol=1e-10)
    close(fl.jacrev(cond_fn)(x, y), gx, rtol=1e-10)


def test_cond_python_and_array_predicates():
    x = np.array([1.0, 2.0])
    t, f = (lambda v: v * 2.0), (lambda v: v - 1.0)
    close(lax.cond(True, t, f, x), x * 2)
    close(lax.cond(False, t, f, x), x - 1)
    close(lax.cond(np.bool_(True), t, f, x), x * 2)
    close(lax.cond(np.array(3), t, f, x), x * 2)  # non-zero int -> true
    close(lax.cond(0, t, f, x), x - 1)
    close(lax.cond(np.float64(0.5), t, f, x), x * 2)
    # pred traced under jit
    j = fl.jit(lambda p, x: lax.cond(p, t, f, x))
    close(j(True, x), x * 2)
    close(j(False, x), x - 1)


def test_cond_pytree_operands_and_outputs():
    r = rng_of(2)
    tree = {"a": r.standard_normal(3), "b": (r.standard_normal((2, 3)), np.float64(0.7))}

    def true_fun(t):
        return (t["a"] * t["b"][1], {"m": t["b"][0] @ t["a"], "n": t["b"][1]})

    def false_fun(t):
        return (t["a"] + 1.0, {"m": fnp.sum(t["b"][0], axis=1), "n": -t["b"][1]})

    for p in (True, False):
        out = lax.cond(p, true_fun, false_fun, tree)
        exp = (true_fun if p else false_fun)(tree)
        close(out, exp)
        close(fl.jit(lambda p, t: lax.cond(p, true_fun, false_fun, t))(p, tree), exp,
              rtol=1e-13)

    def loss(t, p):
        a, d = lax.cond(p, true_fun, false_fun, t)
        return fnp.sum(a ** 2) + fnp.sum(fnp.sin(d["m"])) + d["n"] ** 3

    def loss_if(t, p):
        a, d = (true_fun if p else false_fun)(t)
        return fnp.sum(a ** 2) + fnp.sum(fnp.sin(d["m"])) + d["n"] ** 3

    for p in (True, False):
        g = fl.grad(loss)(tree, p)
        close(g, fl.grad(loss_if)(tree, p))
        ga = fd_grad(lambda a, p=p: loss_if({"a": a, "b": tree["b"]}, p), tree["a"])
        np.testing.assert_allclose(g["a"], ga, rtol=1e-6, atol=1e-8)


def test_cond_closures_outer_arrays_and_tracers():
    W = rng_of(3).standard_normal((3, 3))

    # closes over an outer array (W) and over the differentiated variable (x)
    def f(x):
        return lax.cond(fnp.sum(x) > 1.0,
                        lambda y: fnp.sum(fnp.tanh(W @ y) * x),
                        lambda y: fnp.sum(y * x ** 2),
                        fnp.sin(x))

    def f_if(x):
        y = fnp.sin(x)
        if fnp.sum(x) > 1.0:
            return fnp.sum(fnp.tanh(W @ y) * x)
        return fnp.sum(y * x ** 2)

    def f_np(x):
        y = np.sin(x)
        if np.sum(x) > 1.0:
            return np.sum(np.tanh(W @ y) * x)
        return np.sum(y * x ** 2)

    for x in (np.array([0.9, 0.8, 0.4]), np.array([0.1, -0.4, 0.2])):
        close(f(x), np.asarray(f_np(x)))
        g = fl.grad(f)(x)
        close(g, fl.grad(f_if)(x))
        np.testing.assert_allclose(g, fd_grad(f_np, x), rtol=1e-6, atol=1e-8)
        close(fl.jit(fl.grad(f))(x), g, rtol=1e-12)
        close(fl.jacfwd(f)(x), g, rtol=1e-10)
        # the predicate itself closes over a tracer of jvp
        v = np.array([1.0, -2.0, 0.5])
        _, t = fl.jvp(f, (x,), (v,))
        np.testing.assert_allclose(t, g @ v, rtol=1e-10)


def test_cond_branches_with_different_residuals():
    # each branch needs different (and differently many) residuals for its derivative
    def f(x, s):
        return lax.cond(s > 0,
                        lambda x: fnp.sum(fnp.exp(fnp.sin(x)) * fnp.cos(x)),
                        lambda x: fnp.sum(fnp.log1p(x * x)) * fnp.prod(x),
                        x)

    def f_np(x, s):
        if s > 0:
            return np.sum(np.exp(np.sin(x)) * np.cos(x))
        return np.sum(np.log1p(x * x)) * np.prod(x)

    x = rng_of(4).uniform(-1, 1, 4)
    for s in (1.0, -1.0):
        g = fl.grad(f)(x, s)
        np.testing.assert_allclose(g, fd_grad(lambda x, s=s: f_np(x, s), x), rtol=1e-6, atol=1e-8)
        h = fl.hessian(f)(x, s)
        np.testing.assert_allclose(h, fd_jac(lambda x, s=s: fl.grad(f)(x, s), x), rtol=1e-6,
                                   atol=1e-7)
        np.testing.assert_allclose(h, h.T, rtol=1e-10, atol=1e-12)


def test_switch_grad_residual_slots_and_forwarding():
    W = rng_of(17).standard_normal((4, 4))
    branches = [
        lambda x, s: fnp.sum(fnp.tanh(W @ x)) * s,                 # residuals: W (fwd), 1-tanh^2
        lambda x, s: fnp.sum(fnp.sin(x) * fnp.exp(x)) + s ** 2,    # several vector residuals
        lambda x, s: s * 3.0 + fnp.sum(x),                         # none
        lambda x, s: fnp.prod(x) * fnp.log1p(s * s),               # scalars and vectors
    ]
    np_branches = [
        lambda x, s: np.sum(np.tanh(W @ x)) * s,
        lambda x, s: np.sum(np.sin(x) * np.exp(x)) + s ** 2,
        lambda x, s: s * 3.0 + np.sum(x),
        lambda x, s: np.prod(x) * np.log1p(s * s),
    ]
    x = rng_of(18).uniform(-1, 1, 4)
    s = np.float64(0.6)
    for i in range(-1, 5):
        k = min(max(i, 0), 3)

        def f(x, s, i=i):
            return lax.switch(i, branches, x, s)

        g = fl.grad(f, argnums=(0, 1))(x, s)
        close(g, fd_grads(np_branches[k], [x, s]), rtol=1e-6, atol=1e-8)
        close(fl.jit(fl.grad(f, argnums=(0, 1)))(x, s), g, rtol=1e-12)
        h = fl.hessian(f)(x, s)
        np.testing.assert_allclose(h, fd_jac(lambda x, s=s, f=f: fl.grad(f)(x, s), x),
                                   rtol=1e-6, atol=1e-7)
    # the closed-over matrix is forwarded to the backward cond, not routed through the
    # forward cond (where the other branches would have to produce zeros of its shape)
    ir = fl.make_ir(fl.grad(lambda x, s: lax.switch(1, branches, x, s)))(x, s)
    fwd = [e for e in ir.jaxpr.eqns if e.prim.name == "cond"][0]
    assert all(v.aval.shape != (4, 4) for v in fwd.outvars), str(ir)
    # residuals of the same type share one slot: at most 3 vector residual outputs
    assert sum(v.aval.shape == (4,) for v in fwd.outvars) <= 3, str(ir)


def test_cond_integer_and_nondifferentiable_outputs():
    # an integer output alongside a float output; one branch ignores the operand
    def f(x):
        n, y = lax.cond(x[0] > 0, lambda x: (np.int64(1), x * 3.0),
                        lambda x: (np.int64(-1), fnp.ones_like(x)), x)
        return fnp.multiply(fnp.sum(y), n)

    x = np.array([0.5, 2.0])
    close(f(x), np.asarray(7.5))
    close(fl.grad(f)(x), np.array([3.0, 3.0]))
    close(fl.grad(f)(-x), np.array([0.0, 0.0]))


def test_switch_eager_jit_grad_and_clamping():
    branches = [lambda x: fnp.sin(x), lambda x: x ** 2, lambda x: fnp.exp(-x) * 3.0]
    np_b = [np.sin, lambda x: x ** 2, lambda x: np.exp(-x) * 3.0]
    d_b = [np.cos, lambda x: 2 * x, lambda x: -np.exp(-x) * 3.0]
    x = np.float64(0.7)
    js = fl.jit(lambda i, x: lax.switch(i, branches, x))
    for i in range(-3, 6):
        k = min(max(i, 0), 2)  # clamped
        close(lax.switch(i, branches, x), np.asarray(np_b[k](x)))
        close(js(i, x), np.asarray(np_b[k](x)))
        close(js(np.int32(i), x), np.asarray(np_b[k](x)))
        close(fl.grad(lambda x, i=i: lax.switch(i, branches, x))(x), np.asarray(d_b[k](x)))
        close(fl.jacfwd(lambda x, i=i: lax.switch(i, branches, x))(x), np.asarray(d_b[k](x)))
    # batched index (select over three branches, clamped per lane)
    idx = np.array([-1, 0, 1, 2, 7])
    xs = np.linspace(-1, 1, 5)
    out = fl.vmap(lambda i, x: lax.switch(i, branches, x))(idx, xs)
    close(out, np.array([np_b[min(max(i, 0), 2)](x) for i, x in zip(idx, xs)]))
    g = fl.vmap(fl.grad(lambda x, i: lax.switch(i, branches, x)))(xs, idx)
    close(g, np.array([d_b[min(max(i, 0), 2)](x) for i, x in zip(idx, xs)]))
    # single branch
    close(lax.switch(5, [lambda x: x + 1.0], x), np.asarray(x + 1.0))


def test_cond_vmap_unbatched_predicate():
    W = rng_of(5).standard_normal((3, 3))
    xs = rng_of(6).standard_normal((4, 3))

    def f(p, x):
        return lax.cond(p, lambda x: W @ x, lambda x: fnp.tanh(x), x)

    for p in (True, False):
        out = fl.vmap(f, in_axes=(None, 0))(p, xs)
        close(out, np.stack([(W @ x) if p else np.tanh(x) for x in xs]))
        # the cond stays a single cond (no select) when only operands are batched
        ir = fl.make_ir(lambda x, p=p: fl.vmap(f, in_axes=(None, 0))(p, x))(xs)
        assert "cond" in prims_of(ir) and "select_n" not in all_prims(ir)
    # an output that does not depend on the batch in one branch but does in the other
    out = fl.vmap(lambda x: lax.cond(True, lambda x: fnp.zeros((), np.float64),
                                     lambda x: x[0], x))(xs)
    close(out, np.zeros(4))


def test_cond_vmap_batched_predicate_is_select():
    r = rng_of(7)
    xs = r.standard_normal((6, 3))
    W = r.standard_normal((3, 3))

    def f(x):
        return lax.cond(fnp.sum(x) > 0, lambda x: (W @ x, fnp.sum(x)),
                        lambda x: (-x, fnp.max(x)), x)

    def f_np(x):
        return (W @ x, np.sum(x)) if np.sum(x) > 0 else (-x, np.max(x))

    out = fl.vmap(f)(xs)
    exp = [f_np(x) for x in xs]
    close(out, (np.stack([e[0] for e in exp]), np.array([e[1] for e in exp])))
    close(fl.jit(fl.vmap(f))(xs), out, rtol=1e-13)
    close(fl.vmap(fl.jit(f))(xs), out, rtol=1e-13)
    ir = fl.make_ir(fl.vmap(f))(xs)
    assert "cond" not in all_prims(ir) and "select_n" in all_prims(ir)
    # batched predicate, unbatched operand
    ps = np.array([True, False, True])
    x = np.array([1.0, 2.0])
    close(fl.vmap(lambda p: lax.cond(p, lambda x: x * 2.0, lambda x: x - 1.0, x))(ps),
          np.stack([x * 2, x - 1, x * 2]))
    # out_axes other than 0
    close(fl.vmap(f, out_axes=1)(xs)[0], np.stack([e[0] for e in exp], axis=1))


@settings(derandomize=True, deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 5), m=st.integers(1, 4))
def test_cond_vmap_batched_predicate_property(seed, n, m):
    r = rng_of(seed)
    xs = r.standard_normal((n, m))
    ys = r.standard_normal((n, m))

    def f(x, y):
        return lax.cond(x[0] > y[0], lambda a, b: a * b + fnp.sin(a),
                        lambda a, b: b - fnp.cos(a) * 2.0, x, y)

    exp = np.stack([x * y + np.sin(x) if x[0] > y[0] else y - np.cos(x) * 2.0
                    for x, y in zip(xs, ys)])
    close(fl.vmap(f)(xs, ys), exp)
    close(fl.vmap(f, in_axes=(1, 1))(xs.T, ys.T), exp)
    # grad(vmap(cond)) and vmap(grad(cond))
    gv = fl.grad(lambda xs: fnp.sum(fl.vmap(f)(xs, ys)))(xs)
    vg = fl.vmap(fl.grad(lambda x, y: fnp.sum(f(x, y))))(xs, ys)
    exp_g = np.stack([y + np.cos(x) if x[0] > y[0] else np.sin(x) * 2.0
                      for x, y in zip(xs, ys)])
    close(gv, exp_g)
    close(vg, exp_g)


def test_cond_grad_vmap_and_vmap_grad_unbatched_pred():
    xs = rng_of(8).standard_normal((5, 3))
    c = np.array([0.3, -0.2, 0.9])

    def f(x, p):
        return fnp.sum(lax.cond(p, lambda x: fnp.sin(x) * c, lambda x: x ** 3, x))

    for p in (True, False):
        d = (lambda x: np.cos(x) * c) if p else (lambda x: 3 * x ** 2)
        gv = fl.grad(lambda xs, p=p: fnp.sum(fl.vmap(f, in_axes=(0, None))(xs, p)))(xs)
        close(gv, d(xs))
        close(fl.vmap(fl.grad(f), in_axes=(0, None))(xs, p), d(xs))


def test_cond_hessian():
    def f(x):
        return lax.cond(x[0] > 0, lambda x: fnp.sum(fnp.sin(x) * fnp.flip(x)),
                        lambda x: fnp.prod(x) ** 2, x)

    def f_np(x):
        return np.sum(np.sin(x) * x[::-1]) if x[0] > 0 else np.prod(x) ** 2

    for x in (np.array([0.5, -0.3, 1.2]), np.array([-0.5, -0.3, 1.2])):
        h = fl.hessian(f)(x)
        np.testing.assert_allclose(h, fd_jac(lambda x: fd_grad(f_np, x, 1e-4), x, 1e-4),
                                   rtol=1e-5, atol=1e-6)
        close(fl.jacrev(fl.jacrev(f))(x), h, rtol=1e-10)
        close(fl.jit(fl.hessian(f))(x), h, rtol=1e-10)
        close(fl.grad(lambda x: fl.grad(f)(x)[1])(x), h[1], rtol=1e-10)


def test_cond_jacrev_vector_valued():
    def f(x):
        return lax.cond(x[0] > 0, lambda x: fnp.sin(x) * x[1], lambda x: fnp.cumsum(x) ** 2, x)

    def f_np(x):
        return np.sin(x) * x[1] if x[0] > 0 else np.cumsum(x) ** 2

    for x in (np.array([0.4, 1.1, -0.6]), np.array([-0.4, 1.1, -0.6])):
        jr = fl.jacrev(f)(x)
        np.testing.assert_allclose(jr, fd_jac(f_np, x), rtol=1e-6, atol=1e-8)
        close(fl.jacfwd(f)(x), jr, rtol=1e-10)
        close(fl.jit(fl.jacrev(f))(x), jr, rtol=1e-12)


def test_cond_float32_dtypes_preserved():
    x = np.array([1.0, 2.0], np.float32)
    out = lax.cond(True, lambda x: x * 2.0, lambda x: x, x)
    assert out.dtype == np.float32
    g = fl.grad(lambda x: fnp.sum(lax.cond(x[0] > 0, lambda x: x * 2.0, lambda x: x, x)))(x)
    close(g, np.array([2.0, 2.0], np.float32))


# =========================================================================== while_loop


def repeated_square(x, n):
    def body(c):
        i, v = c
        return i + 1, v * v
    return lax.while_loop(lambda c: c[0] < n, body, (0, x))[1]


def test_while_eager_jit():
    close(lax.while_loop(lambda i: i < 10, lambda i: i + 1, 0), np.asarray(10))
    x = np.array([1.1, 0.9, -1.05])
    close(repeated_square(x, 3), x ** 8)
    close(fl.jit(repeated_square)(x, 3), x ** 8, rtol=1e-13)
    close(fl.jit(repeated_square)(x, 2), x ** 4, rtol=1e-13)
    # pytree carry and a closure over an outer array
    w = np.array([0.5, 2.0])

    def body(c):
        return {"i": c["i"] + 1, "acc": c["acc"] * w + 1.0}

    out = lax.while_loop(lambda c: c["i"] < 4, body, {"i": np.int32(0), "acc": np.zeros(2)})
    acc = np.zeros(2)
    for _ in range(4):
        acc = acc * w + 1.0
    close(out, {"i": np.asarray(4, np.int32), "acc": acc})
    close(fl.jit(lambda init: lax.while_loop(lambda c: c["i"] < 4, body, init))(
        {"i": np.int32(0), "acc": np.zeros(2)}), out)
    # zero iterations
    close(lax.while_loop(lambda c: c > 5.0, lambda c: c * 2.0, np.float64(1.0)),
          np.asarray(1.0))


def test_while_forward_mode_closed_form():
    x = np.array([1.1, 0.9, -1.05])
    for n in (0, 1, 3):
        p = 2 ** n
        v = np.array([1.0, -0.5, 2.0])
        o, t = fl.jvp(lambda x, n=n: repeated_square(x, n), (x,), (v,))
        close(o, x ** p, rtol=1e-12)
        close(t, p * x ** (p - 1) * v, rtol=1e-12)
        close(fl.jacfwd(lambda x, n=n: repeated_square(x, n))(x), np.diag(p * x ** (p - 1)),
              rtol=1e-12)
        jf = fl.jit(fl.jacfwd(lambda x, n=n: repeated_square(x, n)))
        close(jf(x), np.diag(p * x ** (p - 1)), rtol=1e-12)
    # data-dependent trip count: double until > 10; tangent scales the same way
    x0 = np.float64(0.3)
    o, t = fl.jvp(lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, x), (x0,),
                  (np.float64(1.0),))
    k = int(np.ceil(np.log2(10.0 / 0.3)))
    close(o, np.asarray(0.3 * 2 ** k))
    close(t, np.asarray(2.0 ** k))
    # tangent flowing in from a closed-over value only (the body constant)
    a0 = np.float64(1.5)
    o, t = fl.jvp(lambda a: lax.fori_loop(0, fnp.asarray(3), lambda i, v: v * a, 1.0 + 0 * a),
                  (a0,), (np.float64(1.0),))
    close(o, np.asarray(a0 ** 3))
    close(t, np.asarray(3 * a0 ** 2))
    # second order forward
    h = fl.jacfwd(fl.jacfwd(lambda x: repeated_square(x, 2)))(np.float64(1.3))
    close(h, np.asarray(12 * 1.3 ** 2), rtol=1e-12)


def test_while_vmap_batched_predicate():
    # lanes finish after different iteration counts
    def f(x):
        def body(c):
            i, v = c
            return i + 1, v * 1.5 + 0.25
        return lax.while_loop(lambda c: c[1] < 10.0, body, (np.int64(0), x))

    xs = np.array([0.1, 3.0, 20.0, 7.5, 2.0])
    out = fl.vmap(f)(xs)
    loop = [f(x) for x in xs]
    close(out, (np.array([o[0] for o in loop]), np.array([o[1] for o in loop])))
    assert len(set(out[0].tolist())) > 2
    close(fl.jit(fl.vmap(f))(xs), out)
    # predicate batched through a batched bound (a cond const), carry unbatched at first
    bounds = np.array([0, 3, 7, 1])
    res = fl.vmap(lambda b: lax.while_loop(lambda i: i < b, lambda i: i + 2, 0))(bounds)
    close(res, np.array([0, 4, 8, 2]))
    # forward-mode through the batched predicate: jacfwd of repeated squaring per lane
    n = np.array([0, 1, 2, 3])
    xs = np.array([1.1, 0.9, 1.2, 0.95])
    vals, tans = fl.vmap(lambda x, n: fl.jvp(lambda x: repeated_square(x, n), (x,),
                                              (np.float64(1.0),)))(xs, n)
    p = 2.0 ** n
    close(vals, xs ** p, rtol=1e-12)
    close(tans, p * xs ** (p - 1), rtol=1e-12)


@settings(derandomize=True, deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6))
def test_while_vmap_batched_predicate_property(seed, n):
    r = rng_of(seed)
    xs = r.integers(1, 40, n)

    def collatz_steps(x):
        def body(c):
            k, v = c
            v = lax.cond(v % 2 == 0, lambda v: v // 2, lambda v: 3 * v + 1, v)
            return k + 1, v
        return lax.while_loop(lambda c: c[1] != 1, body, (np.int64(0), x))[0]

    def steps_py(x):
        k = 0
        while x != 1:
            x = x // 2 if x % 2 == 0 else 3 * x + 1
            k += 1
        return k

    close(fl.vmap(collatz_steps)(xs), np.array([steps_py(int(x)) for x in xs], np.int64))


def test_while_vmap_only_body_batched():
    W = rng_of(9).standard_normal((3, 3)) * 0.5
    xs = rng_of(10).standard_normal((4, 3))

    def f(x):
        def body(c):
            i, h = c
            return i + 1, fnp.tanh(W @ h) + x
        return lax.while_loop(lambda c: c[0] < 5, body, (0, np.zeros(3)))[1]

    def f_py(x):
        h = np.zeros(3)
        for _ in range(5):
            h = np.tanh(W @ h) + x
        return h

    close(fl.vmap(f)(xs), np.stack([f_py(x) for x in xs]), rtol=1e-12)
    ir = fl.make_ir(fl.vmap(f))(xs)
    assert prims_of(ir).count("while") == 1
    # the counter stays unbatched: no reduce_or / select in the loop
    assert "reduce_or" not in all_prims(ir)
    # batched body const (W per lane)
    Ws = rng_of(11).standard_normal((2, 3, 3))

    def g(W):
        def body(c):
            return c[0] + 1, W @ c[1] + 1.0
        return lax.while_loop(lambda c: c[0] < 3, body, (0, np.ones(3)))[1]

    def g_py(W):
        h = np.ones(3)
        for _ in range(3):
            h = W @ h + 1.0
        return h

    close(fl.vmap(g)(Ws), np.stack([g_py(W) for W in Ws]), rtol=1e-12)


def test_while_reverse_mode_raises():
    with pytest.raises(TypeError, match="fori_loop|scan"):
        fl.grad(lambda x: repeated_square(x, 2))(np.float64(1.3))
    with pytest.raises(TypeError, match="while_loop"):
        fl.vjp(lambda x: repeated_square(x, 2), np.ones(2))
    # traced fori bounds are a while_loop: reverse mode raises too
    with pytest.raises(TypeError, match="fori_loop"):
        fl.grad(fl.jit(lambda x, n: lax.fori_loop(0, n, lambda i, v: v * x, x)))(
            np.float64(1.1), np.asarray(3))


def test_while_bad_input():
    with pytest.raises(TypeError, match=r"f32\[\].*f64\[\]|f64\[\].*f32\[\]"):
        lax.while_loop(lambda c: c < 3.0, lambda c: fnp.asarray(c, np.float64) + 1.0,
                       np.float32(0.0))
    with pytest.raises(TypeError, match="init_val"):
        lax.while_loop(lambda c: c[0] < 3.0, lambda c: (c[0] + 1.0, c[1], c[1]),
                       (np.float32(0.0), np.float32(1.0)))
    with pytest.raises(TypeError, match=r"f64\[2\].*f64\[3\]"):
        lax.while_loop(lambda c: c[0] < 3.0, lambda c: fnp.concatenate([c, c[:1]]),
                       np.zeros(2))
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda c: c < 3.0 + fnp.zeros(2), lambda c: c + 1.0, np.float64(0.0))


# =========================================================================== fori_loop


def fori_fn(x, a):
    return lax.fori_loop(1, 5, lambda i, v: fnp.sin(v) * a + v * i, x)


def fori_py(x, a):
    for i in range(1, 5):
        x = fnp.sin(x) * a + x * i
    return x


def fori_np(x, a):
    for i in range(1, 5):
        x = np.sin(x) * a + x * i
    return x


def test_fori_static_bounds_reverse_mode():
    x = np.array([0.3, -0.7])
    a = np.float64(0.8)
    close(fori_fn(x, a), fori_np(x, a), rtol=1e-12)
    loss = lambda x, a: fnp.sum(fori_fn(x, a) ** 2)  # noqa: E731
    loss_py = lambda x, a: fnp.sum(fori_py(x, a) ** 2)  # noqa: E731
    loss_np = lambda x, a: np.sum(fori_np(x, a) ** 2)  # noqa: E731
    g = fl.grad(loss, argnums=(0, 1))(x, a)
    close(g, fl.grad(loss_py, argnums=(0, 1))(x, a), rtol=1e-10)
    fx, fa = fd_grads(loss_np, [x, a])
    close(g, (fx, np.asarray(fa)), rtol=1e-6, atol=1e-8)
    close(fl.jit(fl.grad(loss, argnums=(0, 1)))(x, a), g, rtol=1e-12)
    # a static fori_loop is a scan
    ir = fl.make_ir(fori_fn)(x, a)
    assert prims_of(ir).count("scan") == 1 and "while" not in prims_of(ir)
    # numpy-int bounds are static too; empty range returns init
    close(lax.fori_loop(np.int32(0), np.int32(3), lambda i, v: v + i, np.float64(0.5)),
          np.asarray(3.5))
    close(lax.fori_loop(3, 3, lambda i, v: v + 1.0, x), x)
    close(lax.fori_loop(5, 2, lambda i, v: v + 1.0, x), x)


def test_fori_traced_bounds_forward():
    f = fl.jit(lambda lo, hi, x: lax.fori_loop(lo, hi, lambda i, v: v * 1.5 + i, x))
    for lo, hi in ((0, 4), (2, 5), (3, 3), (4, 1)):
        v = np.float64(0.5)
        for i in range(lo, hi):
            v = v * 1.5 + i
        close(f(lo, hi, np.float64(0.5)), np.asarray(v))
    ir = fl.make_ir(lambda lo, hi, x: lax.fori_loop(lo, hi, lambda i, v: v * 2.0, x))(
        0, 3, np.float64(1.0))
    assert prims_of(ir).count("while") == 1
    # jvp through traced bounds
    g = fl.jit(lambda n, x: fl.jvp(lambda x: lax.fori_loop(0, n, lambda i, v: v * x, x), (x,),
                                   (np.float64(1.0),)))
    o, t = g(3, np.float64(1.2))
    close(o, np.asarray(1.2 ** 4))
    close(t, np.asarray(4 * 1.2 ** 3))
    # vmap over the upper bound
    out = fl.vmap(lambda n: lax.fori_loop(0, n, lambda i, v: v + i, 0))(np.array([0, 1, 4, 2]))
    close(out, np.array([0, 0, 6, 1]))


def test_fori_weak_typed_init():
    # Python-scalar init adopts the body's dtype (as in JAX)
    close(lax.fori_loop(0, 3, lambda i, v: v + np.float64(0.5), 0.0), np.asarray(1.5))
    close(lax.fori_loop(0, 4, lambda i, v: v + i, 0), np.asarray(6))


def test_fori_bad_body_and_empty_range():
    x = np.zeros(2)
    for lo, hi in ((0, 3), (np.int32(0), np.int32(3))):
        with pytest.raises(TypeError, match=r"fori_loop.*init_val.*f64\[2\].*f64\[1\]"):
            lax.fori_loop(lo, hi, lambda i, v: v[:1], x)
    with pytest.raises(TypeError, match=r"fori_loop.*init_val.*\(\*, \*\)"):
        fl.jit(lambda n: lax.fori_loop(0, n, lambda i, v: (v, v), x))(3)
    # an error from a loop nested in the body is reported as that loop's own error
    with pytest.raises(TypeError, match="^scan"):
        lax.fori_loop(0, 2, lambda i, v: lax.scan(lambda c, _: (c[:1], None), v, None,
                                                  length=2)[0], x)
    # an empty static range returns init_val as arrays (a zero-length scan)
    out = lax.fori_loop(3, 1, lambda i, v: v + 1, 0.0)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out == 0.0


# =========================================================================== scan


def rnn(W, h0, xs):
    def step(h, x):
        h = fnp.tanh(W @ h + x)
        return h, fnp.sum(h)
    return lax.scan(step, h0, xs)


def rnn_py(W, h0, xs):
    h, ys = h0, []
    for x in xs:
        h = fnp.tanh(W @ h + x)
        ys.append(fnp.sum(h))
    return h, fnp.stack(ys)


def rnn_np(W, h0, xs):
    h, ys = h0, []
    for x in xs:
        h = np.tanh(W @ h + x)
        ys.append(np.sum(h))
    return h, np.array(ys)


def rnn_loss(W, h0, xs):
    h, ys = rnn(W, h0, xs)
    return fnp.sum(h ** 2) + fnp.sum(ys * fnp.arange(ys.shape[0]))


def rnn_loss_py(W, h0, xs):
    h, ys = rnn_py(W, h0, xs)
    return fnp.sum(h ** 2) + fnp.sum(ys * fnp.arange(ys.shape[0]))


def rnn_loss_np(W, h0, xs):
    h, ys = rnn_np(W, h0, xs)
    return np.sum(h ** 2) + np.sum(ys * np.arange(ys.shape[0]))


def rnn_data(seed=0, n=3, T=5):
    r = rng_of(seed)
    return r.standard_normal((n, n)) * 0.6, r.standard_normal(n), r.standard_normal((T, n))


def test_scan_eager_and_jit():
    W, h0, xs = rnn_data()
    out = rnn(W, h0, xs)
    close(out, rnn_np(W, h0, xs), rtol=1e-12)
    close(fl.jit(rnn)(W, h0, xs), out, rtol=1e-13)
    # cumulative sum with ys, reverse=True
    xs1 = np.arange(1.0, 6.0)
    c, ys = lax.scan(lambda c, x: (c + x, c * x), np.float64(0.0), xs1)
    close(c, np.asarray(15.0))
    close(ys, np.array([0.0, 2.0, 9.0, 24.0, 50.0]))
    c, ys = lax.scan(lambda c, x: (c + x, c * x), np.float64(0.0), xs1, reverse=True)
    close(c, np.asarray(15.0))
    close(ys, np.array([14.0, 24.0, 27.0, 20.0, 0.0]))
    c2, ys2 = fl.jit(lambda xs: lax.scan(lambda c, x: (c + x, c * x), np.float64(0.0), xs,
                                         reverse=True))(xs1)
    close((c2, ys2), (c, ys))


def test_scan_pytrees_and_length():
    r = rng_of(12)
    init = {"h": r.standard_normal(2), "n": (np.float64(1.0), np.int32(0))}
    xs = (r.standard_normal((4, 2)), {"s": r.standard_normal(4)})

    def step(c, x):
        a, d = x
        h = c["h"] * d["s"] + a
        return ({"h": h, "n": (c["n"][0] * 2.0, c["n"][1] + 1)},
                [h, {"z": d["s"] ** 2}])

    carry, ys = lax.scan(step, init, xs)
    c = init
    hs, zs = [], []
    for t in range(4):
        c, (h, z) = step(c, (xs[0][t], {"s": xs[1]["s"][t]}))
        hs.append(h)
        zs.append(z["z"])
    close(carry, {"h": c["h"], "n": (np.asarray(16.0), np.asarray(4, np.int32))})
    close(ys, [np.stack(hs), {"z": np.stack(zs)}])
    close(fl.jit(lambda i, x: lax.scan(step, i, x))(init, xs), (carry, ys), rtol=1e-13)
    # xs=None with length
    c, ys = lax.scan(lambda c, _: (c * 2.0, c), np.float64(1.0), None, length=5)
    close(c, np.asarray(32.0))
    close(ys, np.array([1.0, 2.0, 4.0, 8.0, 16.0]))
    # y = None and a carry that is ()
    c, ys = lax.scan(lambda c, x: (c + x, None), np.float64(0.0), np.arange(3.0))
    assert ys is None
    close(c, np.asarray(3.0))
    assert lax.scan(lambda c, x: ((), x * 2), (), np.arange(3.0))[1].tolist() == [0, 2, 4]
    # lax.map: forward, reverse mode, vmap
    close(lax.map(lambda x: fnp.sum(x ** 2), xs[0]), np.sum(xs[0] ** 2, axis=1))
    close(fl.grad(lambda m: fnp.sum(lax.map(lambda r: fnp.sin(r) * r, m)))(xs[0]),
          np.sin(xs[0]) + xs[0] * np.cos(xs[0]))
    close(fl.vmap(lambda m: lax.map(fnp.sum, m))(np.stack([xs[0], 2 * xs[0]])),
          np.stack([xs[0].sum(1), 2 * xs[0].sum(1)]))


def test_scan_rnn_gradients():
    W, h0, xs = rnn_data(1, n=3, T=6)
    g = fl.grad(rnn_loss, argnums=(0, 1, 2))(W, h0, xs)
    close(g, fl.grad(rnn_loss_py, argnums=(0, 1, 2))(W, h0, xs), rtol=1e-10, atol=1e-12)
    close(g, fd_grads(rnn_loss_np, [W, h0, xs]), rtol=1e-6, atol=1e-8)
    close(fl.jit(fl.grad(rnn_loss, argnums=(0, 1, 2)))(W, h0, xs), g, rtol=1e-12)
    close(fl.grad(fl.jit(rnn_loss), argnums=(0, 1, 2))(W, h0, xs), g, rtol=1e-12)
    for k in range(3):  # one argument at a time: different known/unknown splits
        close(fl.grad(rnn_loss, argnums=k)(W, h0, xs), g[k], rtol=1e-12)
        close(fl.grad(fl.jit(rnn_loss), argnums=k)(W, h0, xs), g[k], rtol=1e-12)
    # value_and_grad returns the same value as the forward pass
    v, _ = fl.value_and_grad(rnn_loss)(W, h0, xs)
    close(v, np.asarray(rnn_loss_np(W, h0, xs)), rtol=1e-12)
    # reverse=True gradient vs a reversed Python loop
    def loss_rev(W, h0, xs):
        h, ys = lax.scan(lambda h, x: (fnp.tanh(W @ h + x), h[0]), h0, xs, reverse=True)
        return fnp.sum(h) + fnp.sum(ys * fnp.arange(1.0, xs.shape[0] + 1))

    def loss_rev_np(W, h0, xs):
        h, ys = h0, [None] * len(xs)
        for t in reversed(range(len(xs))):
            ys[t] = h[0]
            h = np.tanh(W @ h + xs[t])
        return np.sum(h) + np.sum(np.array(ys) * np.arange(1.0, len(xs) + 1))

    close(loss_rev(W, h0, xs), np.asarray(loss_rev_np(W, h0, xs)), rtol=1e-12)
    close(fl.grad(loss_rev, argnums=(0, 1, 2))(W, h0, xs),
          fd_grads(loss_rev_np, [W, h0, xs]), rtol=1e-6, atol=1e-8)


@settings(derandomize=True, deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 4), T=st.integers(1, 6))
def test_scan_rnn_gradients_property(seed, n, T):
    W, h0, xs = rnn_data(seed, n, T)
    g = fl.grad(rnn_loss, argnums=(0, 1, 2))(W, h0, xs)
    close(g, fl.grad(rnn_loss_py, argnums=(0, 1, 2))(W, h0, xs), rtol=1e-9, atol=1e-12)
    # forward mode agrees with reverse mode (<grad, v> == jvp)
    r = rng_of(seed + 1)
    vs = (r.standard_normal(W.shape), r.standard_normal(h0.shape), r.standard_normal(xs.shape))
    _, t = fl.jvp(rnn_loss, (W, h0, xs), vs)
    np.testing.assert_allclose(t, sum(np.vdot(a, b) for a, b in zip(g, vs)), rtol=1e-9,
                               atol=1e-12)


@settings(derandomize=True, deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), T=st.integers(0, 5), reverse=st.booleans(),
       batched=st.sampled_from(["xs", "init", "consts", "all"]))
def test_scan_property_vs_python_loop(seed, T, reverse, batched):
    r = rng_of(seed)
    B = 3
    A = r.standard_normal((B, 2, 2)) * 0.7
    c0 = r.standard_normal((B, 2))
    xs = r.standard_normal((B, T, 2))

    def f(A, c0, xs):
        def step(c, x):
            h, k = c
            h = fnp.sin(A @ h) + x * fnp.cos(h[0])
            return (h, k + 1), (fnp.sum(h * x), k)
        return lax.scan(step, (c0, np.int32(0)), xs, reverse=reverse)

    def f_np(A, c0, xs):
        h, ys, ks = c0, [None] * T, [None] * T
        order = range(T - 1, -1, -1) if reverse else range(T)
        for k, t in enumerate(order):
            h = np.sin(A @ h) + xs[t] * np.cos(h[0])
            ys[t], ks[t] = np.sum(h * xs[t]), k
        return (h, np.asarray(T, np.int32)), (np.array(ys, np.float64).reshape(T),
                                               np.array(ks, np.int32).reshape(T))

    axes = {"xs": (None, None, 0), "init": (None, 0, None), "consts": (0, None, None),
            "all": (0, 0, 0)}[batched]
    args = [a if ax is not None else a[0] for a, ax in zip((A, c0, xs), axes)]
    out = fl.vmap(f, in_axes=axes)(*args)
    per = [f_np(*[a if ax is None else a[b] for a, ax in zip(args, axes)]) for b in range(B)]
    (h, k), (ys, ks) = out
    close(h, np.stack([p[0][0] for p in per]), rtol=1e-12)
    close(ys, np.stack([p[1][0] for p in per]), rtol=1e-12, atol=1e-12)
    assert k.dtype == np.int32 and ks.dtype == np.int32
    np.testing.assert_array_equal(np.broadcast_to(k, (B,)), T)
    np.testing.assert_array_equal(np.broadcast_to(ks, (B, T)),
                                  np.stack([p[1][1] for p in per]))

    # reverse mode vs forward mode for the unbatched function
    def loss(A, c0, xs):
        (h, _), (ys, _) = f(A, c0, xs)
        return fnp.sum(h ** 2) + fnp.sum(ys)

    g = fl.grad(loss, argnums=(0, 1, 2))(A[0], c0[0], xs[0])
    vs = (r.standard_normal((2, 2)), r.standard_normal(2), r.standard_normal((T, 2)))
    _, t = fl.jvp(loss, (A[0], c0[0], xs[0]), vs)
    np.testing.assert_allclose(t, sum(np.vdot(a, b) for a, b in zip(g, vs)), rtol=1e-9,
                               atol=1e-12)
    gf = fd_grads(lambda A, c, x: loss(A, c, x), [A[0], c0[0], xs[0]])
    close(g, gf, rtol=1e-6, atol=1e-7)


def test_scan_jacfwd_jacrev_hessian():
    W, h0, xs = rnn_data(2, n=2, T=4)

    def f(h0):
        return rnn(W, h0, xs)[1]

    def f_np(h0):
        return rnn_np(W, h0, xs)[1]

    jf = fl.jacfwd(f)(h0)
    jr = fl.jacrev(f)(h0)
    np.testing.assert_allclose(jf, fd_jac(f_np, h0), rtol=1e-6, atol=1e-8)
    close(jr, jf, rtol=1e-10, atol=1e-12)
    # Hessian w.r.t. W (flattened in the loss)
    def loss_w(w):
        return rnn_loss(fnp.reshape(w, (2, 2)), h0, xs)

    def grad_np(w):
        return fd_grad(lambda w: rnn_loss_np(w.reshape(2, 2), h0, xs), w, 1e-5)

    w = W.reshape(-1)
    h = fl.hessian(loss_w)(w)
    np.testing.assert_allclose(h, fd_jac(lambda w: fl.grad(loss_w)(w), w), rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(h, fd_jac(grad_np, w, 1e-5), rtol=1e-4, atol=1e-5)
    close(fl.jacrev(fl.jacrev(loss_w))(w), h, rtol=1e-9, atol=1e-12)


def test_scan_second_order_grad_grad():
    # d^2/da^2 of prod_t (a * x_t): scan carries the product
    xs = np.array([0.5, -1.2, 0.8, 2.0])

    def f(a):
        c, _ = lax.scan(lambda c, x: (fnp.sin(c * a + x), None), np.float64(0.3), xs)
        return c

    def f_np(a):
        c = 0.3
        for x in xs:
            c = np.sin(c * a + x)
        return c

    a = np.float64(0.7)
    gg = fl.grad(fl.grad(f))(a)
    np.testing.assert_allclose(gg, fd_grad(lambda a: fd_grad(f_np, a, 1e-4), a, 1e-4),
                               rtol=1e-5)
    close(fl.jacfwd(fl.grad(f))(a), gg, rtol=1e-10)
    close(fl.grad(fl.jacfwd(f))(a), gg, rtol=1e-10)
    # third order through grad(grad(grad(.)))
    ggg = fl.grad(fl.grad(fl.grad(f)))(a)
    np.testing.assert_allclose(ggg, fd_grad(lambda a: fl.grad(fl.grad(f))(a), a), rtol=1e-6)
    # closed form: c_T = a^T c_0 for a linear scan
    f2 = lambda a: lax.scan(lambda c, x: (c * a, c), np.float64(1.5), None, length=5)[0]  # noqa
    close(fl.grad(fl.grad(f2))(np.float64(1.3)), np.asarray(1.5 * 20 * 1.3 ** 3), rtol=1e-12)


def test_scan_int_carry_alongside_float():
    xs = np.array([0.5, 2.0, -1.0, 3.0])

    def f(a):
        def step(c, x):
            k, s = c
            return (k + 1, s * a + x * k), k
        (k, s), ks = lax.scan(step, (np.int64(0), np.float64(0.0)), xs)
        return s, k, ks

    def f_np(a):
        k, s = 0, 0.0
        for x in xs:
            s = s * a + x * k
            k += 1
        return s

    a = np.float64(1.3)
    s, k, ks = f(a)
    close(k, np.asarray(4))
    close(ks, np.arange(4))
    close(s, np.asarray(f_np(a)))
    g = fl.grad(lambda a: f(a)[0])(a)
    np.testing.assert_allclose(g, fd_grad(f_np, a), rtol=1e-7)
    close(fl.jacfwd(lambda a: f(a)[0])(a), g, rtol=1e-12)
    close(fl.jit(fl.grad(lambda a: f(a)[0]))(a), g, rtol=1e-12)
    sv, kv, ksv = fl.vmap(f)(np.array([1.3, 0.5]))
    close(kv, np.array([4, 4]))
    close(sv, np.array([f_np(1.3), f_np(0.5)]))


def test_scan_zero_length():
    W, h0, _ = rnn_data(3)
    xs = np.zeros((0, 3))
    h, ys = rnn(W, h0, xs)
    close(h, h0)
    close(ys, np.zeros((0,)))
    close(fl.jit(rnn)(W, h0, xs), (h, ys))
    g = fl.grad(rnn_loss, argnums=(0, 1, 2))(W, h0, xs)
    close(g, (np.zeros_like(W), 2 * h0, np.zeros_like(xs)))
    c, ys = lax.scan(lambda c, _: (c + 1.0, c), np.float64(2.0), None, length=0)
    close((c, ys), (np.asarray(2.0), np.zeros(0)))
    close(fl.vmap(lambda h0: rnn(W, h0, xs))(np.ones((2, 3))), (np.ones((2, 3)), np.zeros((2, 0))))
    # fori_loop with a zero trip count
    close(fl.grad(lambda x: lax.fori_loop(2, 2, lambda i, v: v * 3.0, x))(np.float64(1.0)),
          np.asarray(1.0))


def test_scan_vmap():
    W, h0, xs = rnn_data(4, n=3, T=4)
    r = rng_of(5)
    xsb = r.standard_normal((5, 4, 3))
    h0b = r.standard_normal((5, 3))
    Wb = r.standard_normal((5, 3, 3)) * 0.5
    # batched xs only
    close(fl.vmap(rnn, in_axes=(None, None, 0))(W, h0, xsb),
          tuple(np.stack(z) for z in zip(*[rnn_np(W, h0, x) for x in xsb])), rtol=1e-12)
    # batched xs at another axis
    close(fl.vmap(rnn, in_axes=(None, None, 1))(W, h0, np.moveaxis(xsb, 0, 1)),
          tuple(np.stack(z) for z in zip(*[rnn_np(W, h0, x) for x in xsb])), rtol=1e-12)
    # batched init only
    close(fl.vmap(rnn, in_axes=(None, 0, None))(W, h0b, xs),
          tuple(np.stack(z) for z in zip(*[rnn_np(W, h, xs) for h in h0b])), rtol=1e-12)
    # batched consts only (W closed over by the body)
    close(fl.vmap(rnn, in_axes=(0, None, None))(Wb, h0, xs),
          tuple(np.stack(z) for z in zip(*[rnn_np(w, h0, xs) for w in Wb])), rtol=1e-12)
    # all batched, out_axes=1
    out = fl.vmap(rnn, out_axes=1)(Wb, h0b, xsb)
    exp = [rnn_np(w, h, x) for w, h, x in zip(Wb, h0b, xsb)]
    close(out, (np.stack([e[0] for e in exp], 1), np.stack([e[1] for e in exp], 1)),
          rtol=1e-12)
    close(fl.jit(fl.vmap(rnn))(Wb, h0b, xsb), fl.vmap(rnn)(Wb, h0b, xsb), rtol=1e-13)
    # vmap of a scan whose carry starts unbatched but becomes batched
    def f(x):
        return lax.scan(lambda c, _: (c * 0.5 + x, c), np.float64(0.0), None, length=3)

    c, ys = fl.vmap(f)(np.array([1.0, 2.0]))
    close(c, np.array([1.75, 3.5]))
    close(ys, np.array([[0.0, 1.0, 1.5], [0.0, 2.0, 3.0]]))


def test_scan_grad_vmap_and_vmap_grad():
    W, h0, _ = rnn_data(6, n=3, T=4)
    xsb = rng_of(7).standard_normal((3, 4, 3))
    h0b = rng_of(8).standard_normal((3, 3))

    def batched_loss(W, h0b, xsb):
        return fnp.sum(fl.vmap(rnn_loss, in_axes=(None, 0, 0))(W, h0b, xsb))

    g = fl.grad(batched_loss, argnums=(0, 1, 2))(W, h0b, xsb)
    per = [fl.grad(rnn_loss_py, argnums=(0, 1, 2))(W, h, x) for h, x in zip(h0b, xsb)]
    close(g, (sum(p[0] for p in per), np.stack([p[1] for p in per]),
              np.stack([p[2] for p in per])), rtol=1e-10, atol=1e-12)
    vg = fl.vmap(fl.grad(rnn_loss, argnums=(0, 1, 2)), in_axes=(None, 0, 0))(W, h0b, xsb)
    close(vg, (np.stack([p[0] for p in per]), np.stack([p[1] for p in per]),
               np.stack([p[2] for p in per])), rtol=1e-10, atol=1e-12)
    close(fl.jit(fl.vmap(fl.grad(rnn_loss), in_axes=(None, 0, 0)))(W, h0b, xsb), vg[0],
          rtol=1e-12)
    # vmap(grad) where only W is batched
    Wb = rng_of(9).standard_normal((2, 3, 3)) * 0.5
    xs = xsb[0]
    vg = fl.vmap(fl.grad(rnn_loss), in_axes=(0, None, None))(Wb, h0, xs)
    close(vg, np.stack([fl.grad(rnn_loss_py)(w, h0, xs) for w in Wb]), rtol=1e-10,
          atol=1e-12)


def test_scan_reverse_vmap_grad():
    xs = rng_of(14).standard_normal((3, 5))

    def f(a, xs):
        c, ys = lax.scan(lambda c, x: (fnp.sin(c) * a + x, c * x), np.float64(0.1), xs,
                         reverse=True)
        return c + fnp.sum(ys)

    def f_np(a, xs):
        c, s = 0.1, 0.0
        for x in xs[::-1]:
            s += c * x
            c = np.sin(c) * a + x
        return c + s

    a = np.float64(0.8)
    close(fl.vmap(f, in_axes=(None, 0))(a, xs), np.array([f_np(a, x) for x in xs]),
          rtol=1e-12)
    gv = fl.grad(lambda a, xs: fnp.sum(fl.vmap(f, in_axes=(None, 0))(a, xs)), argnums=(0, 1))
    ga, gx = gv(a, xs)
    np.testing.assert_allclose(ga, fd_grad(lambda a: sum(f_np(a, x) for x in xs), a),
                               rtol=1e-6)
    np.testing.assert_allclose(gx, np.stack([fd_grad(lambda x: f_np(a, x), x) for x in xs]),
                               rtol=1e-6, atol=1e-8)
    vg = fl.vmap(fl.grad(f), in_axes=(None, 0))(a, xs)
    np.testing.assert_allclose(vg, [fd_grad(lambda a, x=x: f_np(a, x), a) for x in xs],
                               rtol=1e-6)


def test_scan_ir_is_single_equation():
    W, h0, xs = rnn_data(0, n=3, T=50)
    ir = fl.make_ir(rnn)(W, h0, xs)
    assert prims_of(ir).count("scan") == 1
    assert len(ir.jaxpr.eqns) <= 3, str(ir)
    assert "tanh" not in prims_of(ir)
    assert "scan" in str(ir)
    irc = fl.make_ir(cond_fn)(np.ones(3), np.ones(3))
    assert prims_of(irc).count("cond") == 1
    assert "sin" not in prims_of(irc) and "cond" in str(irc)
    irw = fl.make_ir(repeated_square)(np.ones(3), 4)
    assert prims_of(irw).count("while") == 1 and "while" in str(irw)
    # the gradient program is also a loop, not unrolled over the 50 steps
    irg = fl.make_ir(fl.grad(rnn_loss))(W, h0, xs)
    assert prims_of(irg).count("scan") == 2, str(irg)
    assert len(irg.jaxpr.eqns) < 40
    assert all_prims(irg).count("tanh") <= 2


def test_scan_bad_input():
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4,\)|\(4,\).*\(3, 2\)"):
        lax.scan(lambda c, x: (c, x), 0.0, (np.zeros((3, 2)), np.zeros(4)))
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, x: (c, x), 0.0, np.zeros(3), length=4)
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(TypeError, match=r"f64\[2\].*f64\[3\]|f64\[3\].*f64\[2\]"):
        lax.scan(lambda c, x: (fnp.concatenate([c, x]), x), np.zeros(2), np.zeros((4, 1)))
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: c + x, np.float64(0.0), np.zeros(3))


# =========================================================================== reverse-mode cost


def test_scan_residuals_invariant_consts_not_stacked():
    # W is loop-invariant: the backward scan gets it once, not T stacked copies of it
    W, h0, xs = rnn_data(0, n=4, T=30)
    irg = fl.make_ir(fl.grad(rnn_loss))(W, h0, xs)
    scans = [e for e in irg.jaxpr.eqns if e.prim.name == "scan"]
    assert len(scans) == 2
    for e in scans:
        shapes = [v.aval.shape for v in e.invars]
        assert (30, 4, 4) not in shapes, shapes


def test_scan_grad_hoists_loop_invariant_residuals():
    # exp(W).T is computed from a const only: its residual is computed once outside the
    # loop, not stacked per step
    W, h0, xs = rnn_data(15, n=3, T=20)

    def loss(W, h0, xs):
        h, _ = lax.scan(lambda h, x: (fnp.tanh(fnp.exp(W).T @ h + x), None), h0, xs)
        return fnp.sum(h ** 2)

    def loss_np(W, h0, xs):
        h = h0
        for x in xs:
            h = np.tanh(np.exp(W).T @ h + x)
        return np.sum(h ** 2)

    g = fl.grad(loss, argnums=(0, 1, 2))(W, h0, xs)
    close(g, fd_grads(loss_np, [W, h0, xs]), rtol=1e-6, atol=1e-8)
    ir = fl.make_ir(fl.grad(loss))(W, h0, xs)
    shapes = [v.aval.shape for e in ir.jaxpr.eqns for v in e.invars + e.outvars
              if hasattr(v, "aval")]
    assert (20, 3, 3) not in shapes, str(ir)
    scans = [e for e in ir.jaxpr.eqns if e.prim.name == "scan"]
    assert len(scans) == 2
    # only the final carry is used: no (T, ...) zero cotangent is materialised for ys
    ir2 = fl.make_ir(fl.grad(lambda W: fnp.sum(rnn(W, h0, xs)[0])))(W)
    bwd = [e for e in ir2.jaxpr.eqns if e.prim.name == "scan"][-1]
    assert all(v.aval.shape != (20,) for v in bwd.invars), str(ir2)
    np.testing.assert_allclose(fl.grad(lambda W: fnp.sum(rnn(W, h0, xs)[0]))(W),
                               fd_grad(lambda W: np.sum(rnn_np(W, h0, xs)[0]), W), rtol=1e-6,
                               atol=1e-8)


def test_scan_grad_forwards_xs_residuals():
    # the derivative of tanh(W h) * x needs x: the backward scan scans xs itself rather
    # than a stacked copy made by the forward scan
    W, h0, xs = rnn_data(19, n=3, T=6)

    def loss(W, h0, xs):
        h, _ = lax.scan(lambda h, x: (fnp.tanh(W @ h) * x, None), h0, xs)
        return fnp.sum(h)

    def loss_np(W, h0, xs):
        h = h0
        for x in xs:
            h = np.tanh(W @ h) * x
        return np.sum(h)

    close(fl.grad(loss, argnums=(0, 1, 2))(W, h0, xs), fd_grads(loss_np, [W, h0, xs]),
          rtol=1e-6, atol=1e-8)
    for rev in (False, True):
        def lr(W, h0, xs, rev=rev):
            h, _ = lax.scan(lambda h, x: (fnp.tanh(W @ h) * x, None), h0, xs, reverse=rev)
            return fnp.sum(h)

        np.testing.assert_allclose(
            fl.grad(lr)(W, h0, xs),
            fd_grad(lambda W, rev=rev: loss_np(W, h0, xs[::-1] if rev else xs), W), rtol=1e-6,
            atol=1e-8)
    ir = fl.make_ir(fl.grad(loss))(W, h0, xs)
    fwd, bwd = [e for e in ir.jaxpr.eqns if e.prim.name == "scan"]
    xs_var = ir.jaxpr.invars[2]
    assert any(v is xs_var for v in bwd.invars), str(ir)
    assert sum(v.aval.shape == (6, 3) for v in fwd.outvars) == 1, str(ir)


# =========================================================================== nested


def test_scan_inside_cond():
    W, h0, xs = rnn_data(10, n=2, T=3)

    def f(W, h0, p):
        return lax.cond(p, lambda W, h: fnp.sum(rnn(W, h, xs)[0]),
                        lambda W, h: fnp.sum(W @ h), W, h0)

    def f_np(W, h0, p):
        return np.sum(rnn_np(W, h0, xs)[0]) if p else np.sum(W @ h0)

    for p in (True, False):
        close(f(W, h0, p), np.asarray(f_np(W, h0, p)), rtol=1e-12)
        close(fl.jit(f)(W, h0, p), np.asarray(f_np(W, h0, p)), rtol=1e-12)
        g = fl.grad(f, argnums=(0, 1))(W, h0, p)
        close(g, fd_grads(lambda W, h, p=p: f_np(W, h, p), [W, h0]), rtol=1e-6, atol=1e-8)
        close(fl.jit(fl.grad(f, argnums=(0, 1)))(W, h0, p), g, rtol=1e-12)
    # batched predicate -> both branches (including the scan) run
    ps = np.array([True, False, True])
    out = fl.vmap(f, in_axes=(None, None, 0))(W, h0, ps)
    close(out, np.array([f_np(W, h0, p) for p in ps]), rtol=1e-12)


def test_cond_inside_scan():
    xs = np.array([0.5, -1.0, 2.0, -0.3, 0.1])

    def f(a, xs):
        def step(c, x):
            c = lax.cond(x > 0, lambda c: c * a + x, lambda c: fnp.sin(c) - x * a, c)
            return c, c * x
        c, ys = lax.scan(step, np.float64(0.2), xs)
        return c + fnp.sum(ys)

    def f_np(a, xs):
        c, s = 0.2, 0.0
        for x in xs:
            c = c * a + x if x > 0 else np.sin(c) - x * a
            s += c * x
        return c + s

    a = np.float64(0.9)
    close(f(a, xs), np.asarray(f_np(a, xs)), rtol=1e-12)
    g = fl.grad(f, argnums=(0, 1))(a, xs)
    close(g, (np.asarray(fd_grad(lambda a: f_np(a, xs), a)), fd_grad(lambda x: f_np(a, x), xs)),
          rtol=1e-6, atol=1e-8)
    close(fl.jit(fl.grad(f, argnums=(0, 1)))(a, xs), g, rtol=1e-12)
    close(fl.jacfwd(f)(a, xs), g[0], rtol=1e-10)
    close(fl.vmap(f, in_axes=(0, None))(np.array([0.9, 1.1]), xs),
          np.array([f_np(0.9, xs), f_np(1.1, xs)]), rtol=1e-12)
    close(fl.vmap(f, in_axes=(None, 0))(a, np.stack([xs, -xs])),
          np.array([f_np(a, xs), f_np(a, -xs)]), rtol=1e-12)
    h = fl.hessian(f)(a, xs)
    np.testing.assert_allclose(h, fd_grad(lambda a: fl.grad(f)(a, xs), a), rtol=1e-6)


def test_fori_inside_scan_and_scan_inside_scan():
    xs = np.array([0.3, -0.4, 0.5])

    def f(a):
        def step(c, x):
            c = lax.fori_loop(0, 3, lambda i, v: fnp.sin(v * a) + x * i, c)
            return c, c
        c, ys = lax.scan(step, np.float64(0.1), xs)
        return c * fnp.sum(ys)

    def f_np(a):
        c, ys = 0.1, []
        for x in xs:
            for i in range(3):
                c = np.sin(c * a) + x * i
            ys.append(c)
        return c * sum(ys)

    a = np.float64(1.2)
    close(f(a), np.asarray(f_np(a)), rtol=1e-12)
    g = fl.grad(f)(a)
    np.testing.assert_allclose(g, fd_grad(f_np, a), rtol=1e-7)
    close(fl.jit(fl.grad(f))(a), g, rtol=1e-12)
    close(fl.jacfwd(f)(a), g, rtol=1e-10)
    np.testing.assert_allclose(fl.grad(fl.grad(f))(a), fd_grad(fl.grad(f), a), rtol=1e-6)
    close(fl.vmap(fl.grad(f))(np.array([1.2, 0.4])), np.array([g, fl.grad(f)(np.float64(0.4))]),
          rtol=1e-12)

    # scan of scans (a matrix power series)
    M = rng_of(11).standard_normal((2, 2)) * 0.4

    def g2(M):
        def outer(c, _):
            inner, _ = lax.scan(lambda d, _: (M @ d, None), c, None, length=2)
            return inner + c, fnp.sum(inner)
        c, ys = lax.scan(outer, fnp.eye(2, dtype=np.float64), None, length=3)
        return fnp.sum(c) + fnp.sum(ys)

    def g2_np(M):
        c, ys = np.eye(2), []
        for _ in range(3):
            inner = M @ M @ c
            c = inner + c
            ys.append(inner.sum())
        return c.sum() + sum(ys)

    close(g2(M), np.asarray(g2_np(M)), rtol=1e-12)
    np.testing.assert_allclose(fl.grad(g2)(M), fd_grad(g2_np, M), rtol=1e-6, atol=1e-8)


def test_while_inside_scan_forward_and_vmap():
    xs = np.array([1.5, 3.0, 0.7])

    def f(a):
        def step(c, x):
            v = lax.while_loop(lambda v: v < x * 10.0, lambda v: v * a, c)
            return v - x * 10.0 + 1.0, v
        return lax.scan(step, np.float64(1.0), xs)

    def f_np(a):
        c, ys = 1.0, []
        for x in xs:
            v = c
            while v < x * 10.0:
                v = v * a
            c = v - x * 10.0 + 1.0
            ys.append(v)
        return c, np.array(ys)

    a = np.float64(1.7)
    close(f(a), f_np(a), rtol=1e-12)
    close(fl.jacfwd(lambda a: f(a)[1])(a), fd_jvp(lambda a: f_np(a)[1], a, 1.0), rtol=1e-6)
    out = fl.vmap(f)(np.array([1.7, 2.5]))
    close(out, tuple(np.stack(z) for z in zip(f_np(1.7), f_np(2.5))), rtol=1e-12)


def test_cond_inside_while_forward_mode():
    def f(x):
        def body(c):
            i, v = c
            v = lax.cond(i % 2 == 0, lambda v: v * x, lambda v: v + x, v)
            return i + 1, v
        return lax.while_loop(lambda c: c[0] < 5, body, (0, x))[1]

    def f_np(x):
        v = x
        for i in range(5):
            v = v * x if i % 2 == 0 else v + x
        return v

    x = np.float64(1.5)
    close(f(x), np.asarray(f_np(x)))
    o, t = fl.jvp(f, (x,), (np.float64(1.0),))
    np.testing.assert_allclose(t, fd_jvp(f_np, x, 1.0), rtol=1e-7)
    close(fl.vmap(f)(np.array([1.5, -0.5])), np.array([f_np(1.5), f_np(-0.5)]))


def test_nested_derivatives_closing_over_outer_tracers():
    # the inner derivative's body closes over the outer differentiated variable
    x = np.float64(1.3)

    def inner_scan(x):
        return fl.grad(lambda y: lax.scan(lambda c, _: (c * x * y, None), np.float64(1.0), None,
                                          length=3)[0])(x)  # 3 x^3 y^2 at y = x

    def inner_cond(x):
        return fl.grad(lambda y: lax.cond(y > 0, lambda y: fnp.sin(x * y), lambda y: x * y,
                                          y))(x)  # x cos(x y) at y = x

    def inner_while(x):
        def f(y):
            return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * x * y),
                                  (0, np.float64(1.0)))[1]
        return fl.jvp(f, (x,), (np.float64(1.0),))[1]

    close(fl.grad(inner_scan)(x), np.asarray(15 * x ** 4), rtol=1e-12)
    close(fl.jacfwd(inner_scan)(x), np.asarray(15 * x ** 4), rtol=1e-12)
    close(fl.vmap(fl.grad(inner_scan))(np.array([1.3, 0.5])), 15 * np.array([1.3, 0.5]) ** 4,
          rtol=1e-12)
    d = np.cos(x ** 2) - 2 * x ** 2 * np.sin(x ** 2)
    close(fl.grad(inner_cond)(x), np.asarray(d), rtol=1e-12)
    close(fl.jvp(inner_cond, (x,), (np.float64(1.0),))[1], np.asarray(d), rtol=1e-12)
    close(fl.jacfwd(inner_while)(x), np.asarray(15 * x ** 4), rtol=1e-12)


# =========================================================================== composition


def test_scan_body_with_custom_rules_and_checkpoint():
    W, h0, xs = rnn_data(13, n=3, T=4)

    @fl.custom_vjp
    def my_tanh(x):
        return fnp.tanh(x)

    my_tanh.defvjp(lambda x: (fnp.tanh(x), fnp.tanh(x)), lambda y, g: (g * (1 - y * y),))

    @fl.custom_jvp
    def my_sin(x):
        return fnp.sin(x)

    my_sin.defjvp(lambda p, t: (fnp.sin(p[0]), fnp.cos(p[0]) * t[0]))

    def make(act, wrap=lambda f: f):
        def loss(W):
            step = wrap(lambda h, x: (act(W @ h + x), fnp.sum(h)))
            h, ys = lax.scan(step, h0, xs)
            return fnp.sum(h) + fnp.sum(ys ** 2)
        return loss

    def make_np(act):
        def loss(W):
            h, s = h0, 0.0
            for x in xs:
                s += np.sum(h) ** 2
                h = act(W @ h + x)
            return np.sum(h) + s
        return loss

    for act, act_np in ((my_tanh, np.tanh), (my_sin, np.sin)):
        for wrap in (lambda f: f, fl.checkpoint):
            loss = make(act, wrap)
            close(loss(W), np.asarray(make_np(act_np)(W)), rtol=1e-12)
            g = fl.grad(loss)(W)
            np.testing.assert_allclose(g, fd_grad(make_np(act_np), W), rtol=1e-6, atol=1e-8)
            close(fl.jit(fl.grad(loss))(W), g, rtol=1e-12)
    # checkpoint inside the body
    loss = make(lambda z: fl.checkpoint(fnp.sin)(z))
    np.testing.assert_allclose(fl.grad(loss)(W), fd_grad(make_np(np.sin), W), rtol=1e-6,
                               atol=1e-8)


# =========================================================================== bad input


def test_cond_bad_branches():
    x = np.zeros(3)
    with pytest.raises(TypeError, match=r"true_fun.*f64\[3\]|false_fun.*f64\[3\]") as ei:
        lax.cond(True, lambda x: x, lambda x: x[:2], x)
    assert "false_fun" in str(ei.value) and "true_fun" in str(ei.value)
    assert "f64[2]" in str(ei.value)
    with pytest.raises(TypeError) as ei:
        lax.cond(True, lambda x: x, lambda x: x.astype(np.float32), x)
    assert "f32[3]" in str(ei.value) and "f64[3]" in str(ei.value)
    with pytest.raises(TypeError) as ei:
        lax.cond(True, lambda x: (x, x), lambda x: [x, x], x)
    assert "true_fun" in str(ei.value) and "false_fun" in str(ei.value)
    with pytest.raises(TypeError, match="branch 0.*branch 2|branch 2.*branch 0"):
        lax.switch(0, [lambda x: x, lambda x: x, lambda x: x.sum()], x)
    with pytest.raises(TypeError, match="scalar"):
        lax.cond(np.array([True, False]), lambda x: x, lambda x: x, x)
    with pytest.raises(TypeError, match="scalar"):
        fl.jit(lambda p, x: lax.cond(p, lambda x: x, lambda x: x, x))(np.array([True]), x)
    with pytest.raises(TypeError, match="scalar"):
        lax.switch(np.array([0, 1]), [lambda x: x, lambda x: x], x)
    with pytest.raises(ValueError, match="branch"):
        lax.switch(0, [], x)


def test_cond_branch_errors_name_the_right_branches_when_nested():
    x = np.zeros(3)
    # an inner cond inside a branch must not change how the outer one names its branches
    with pytest.raises(TypeError) as ei:
        lax.cond(True, lambda x: lax.cond(True, lambda y: y, lambda y: y, x), lambda x: x[:2],
                 x)
    assert "true_fun" in str(ei.value) and "false_fun" in str(ei.value)
    # and a two-branch switch inside a cond branch names its own branches "branch i"
    with pytest.raises(TypeError) as ei:
        lax.cond(True, lambda x: lax.switch(0, [lambda y: y, lambda y: y[:1]], x),
                 lambda x: x, x)
    assert "branch 0" in str(ei.value) and "branch 1" in str(ei.value)
    assert "true_fun" not in str(ei.value)


# =========================================================================== weak types


def test_weakly_typed_values_adopt_the_strong_dtype():
    x = np.array([0.5, 2.0])
    # a branch returning a Python scalar joins the other branch's float64
    for p in (True, False):
        out = lax.cond(p, lambda x: 1.0, lambda x: x[0], x)
        close(out, np.asarray(1.0 if p else 0.5))
        out = lax.cond(p, lambda x: (x * 2.0, 0), lambda x: (x, fnp.sum(x)), x)
        close(out, (x * 2.0, np.asarray(0.0)) if p else (x, np.asarray(2.5)))
    close(fl.grad(lambda x: lax.cond(x[0] > 0, lambda x: 1.0, lambda x: x[0] ** 2, x))(-x),
          np.array([-1.0, 0.0]))
    # strong dtypes of different kinds still mismatch
    with pytest.raises(TypeError, match="i64"):
        lax.cond(True, lambda x: np.int64(1), lambda x: x[0], x)
    # Python-scalar loop carries take the body's dtype (init=0.0 with float64 xs)
    c, ys = lax.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 4.0))
    close((c, ys), (np.asarray(6.0), np.array([0.0, 2.0, 9.0])))
    close(lax.while_loop(lambda c: c < 4.0, lambda c: c + np.float64(1.5), 0),
          np.asarray(4.5))
    close(fl.jit(lambda xs: lax.scan(lambda c, x: (c + x, None), 0, xs)[0])(np.arange(3.0)),
          np.asarray(3.0))
    # a strongly typed init is not changed: the mismatch is an error naming both
    with pytest.raises(TypeError, match=r"f32\[\].*f64\[\]"):
        lax.scan(lambda c, x: (c + x, None), np.float32(0.0), np.arange(3.0))


# =========================================================================== JAX oracle


def test_against_jax_oracle():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    x64 = getattr(jax, "enable_x64", None)
    if x64 is None:
        pytest.skip("this jax has no jax.enable_x64 context manager")
    W, h0, xs = rnn_data(16, n=3, T=5)

    def make(np_, lax_):
        def loss(W, h0, xs):
            def step(h, x):
                h = np_.tanh(W @ h + x)
                h = lax_.cond(np_.sum(h) > 0, lambda h: h * 1.5, lambda h: np_.sin(h), h)
                return h, np_.sum(h ** 2)
            h, ys = lax_.scan(step, h0, xs, reverse=True)
            return np_.sum(h) + np_.sum(ys * np_.arange(1.0, ys.shape[0] + 1))
        return loss

    def steps(np_, lax_):
        def f(x):
            return lax_.while_loop(lambda c: c[1] < 10.0, lambda c: (c[0] + 1, c[1] * 1.7 + 0.1),
                                   (0, x))
        return f

    with x64(True):
        ref = jax.grad(make(jnp, jax.lax), argnums=(0, 1, 2))(W, h0, xs)
        ref_h = jax.hessian(lambda h: make(jnp, jax.lax)(W, h, xs))(h0)
        ref_w = jax.vmap(steps(jnp, jax.lax))(np.array([0.3, 2.0, 11.0, 5.0]))
        ref = [np.asarray(r) for r in ref]
        ref_h, ref_w = np.asarray(ref_h), [np.asarray(r) for r in ref_w]
    got = fl.grad(make(fnp, lax), argnums=(0, 1, 2))(W, h0, xs)
    close(got, tuple(ref), rtol=1e-9, atol=1e-12)
    close(fl.hessian(lambda h: make(fnp, lax)(W, h, xs))(h0), ref_h, rtol=1e-9, atol=1e-12)
    got_w = fl.vmap(steps(fnp, lax))(np.array([0.3, 2.0, 11.0, 5.0]))
    np.testing.assert_array_equal(got_w[0], ref_w[0])
    np.testing.assert_allclose(got_w[1], ref_w[1], rtol=1e-12)


def test_scan_unroll_is_validated_and_does_not_change_results():
    def step(c, x):
        return c * 0.5 + x, c

    xs = np.arange(5.0)
    ref = lax.scan(step, 1.0, xs)
    for unroll in (1, 2, 7, True, False, np.int32(3)):
        close(lax.scan(step, 1.0, xs, unroll=unroll), ref, rtol=0, atol=0)
    for bad in (0, -2):
        with pytest.raises(ValueError, match=r"scan: unroll .*positive int or a bool.*got "
                           + str(bad)):
            lax.scan(step, 1.0, xs, unroll=bad)
    for bad in (2.0, "2", None):
        with pytest.raises(TypeError, match=r"scan: unroll .*positive int or a bool.*got "):
            lax.scan(step, 1.0, xs, unroll=bad)
