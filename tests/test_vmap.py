"""End-to-end tests of vmap: axes specifications, nesting, and compositions with
autodiff and jit. The oracle is a Python loop over the mapped axis (and closed forms)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.numpy as fnp

RNG = np.random.default_rng(7)


def rnd(*shape, dtype=np.float32):
    return RNG.uniform(-2.0, 2.0, size=shape).astype(dtype)


def close(a, b, rtol=1e-5, atol=1e-6):
    assert isinstance(a, np.ndarray), type(a)
    np.testing.assert_allclose(a, np.asarray(b), rtol=rtol, atol=atol)


def loop(f, n, *args, in_axes):
    """Reference: apply ``f`` per index and stack along axis 0."""
    outs = []
    for i in range(n):
        outs.append(f(*[a if ax is None else np.take(a, i, axis=ax)
                        for a, ax in zip(args, in_axes)]))
    return np.stack([np.asarray(o) for o in outs])


# --------------------------------------------------------------------------- in_axes


def test_in_axes_int_none_negative():
    x = rnd(4, 3)
    w = rnd(3)

    def f(a, b):
        return fnp.sum(fnp.sin(a) * b)

    close(fl.vmap(f, in_axes=(0, None))(x, w), loop(f, 4, x, w, in_axes=(0, None)))
    close(fl.vmap(f, in_axes=(1, 0))(x.T.copy(), np.stack([w] * 4)),
          loop(f, 4, x, np.stack([w] * 4), in_axes=(0, 0)))
    close(fl.vmap(fnp.sum, in_axes=-1)(x), x.sum(axis=0))
    close(fl.vmap(fnp.sum, in_axes=-2)(x), x.sum(axis=1))
    close(fl.vmap(fnp.sum, in_axes=[1])(x), x.sum(axis=0))  # list is accepted like a tuple
    # an unmapped scalar and a mapped one
    close(fl.vmap(lambda a, s: a * s, in_axes=(0, None))(x, 3.0), x * 3)


@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 2), st.integers(0, 2))
def test_in_axes_out_axes_hypothesis(n, m, in_ax, out_ax):
    shape = [m, m + 1]
    shape.insert(in_ax, n)
    x = RNG.uniform(-1, 1, size=shape).astype(np.float64)
    A = RNG.uniform(-1, 1, size=(m + 1, 2))

    def f(a):  # (m, m+1) -> (m, 2)
        return fnp.tanh(a) @ A

    ref = loop(f, n, x, in_axes=(in_ax,))  # (n, m, 2)
    out = fl.vmap(f, in_axes=in_ax, out_axes=out_ax)(x)
    close(out, np.moveaxis(ref, 0, out_ax), rtol=1e-12)


def test_in_axes_pytree_prefixes():
    d = {"a": rnd(5, 2), "b": rnd(2), "c": (rnd(2, 5), rnd(5))}

    def f(t, scale):
        return t["a"] * t["b"] + t["c"][0] * t["c"][1] * scale

    axes = ({"a": 0, "b": None, "c": (1, 0)}, None)
    out = fl.vmap(f, in_axes=axes)(d, 2.0)
    ref = np.stack([d["a"][i] * d["b"] + d["c"][0][:, i] * d["c"][1][i] * 2.0 for i in range(5)])
    close(out, ref)
    # a whole-subtree prefix: every leaf of the dict mapped at axis 0
    e = {"p": rnd(3, 2), "q": rnd(3)}
    out = fl.vmap(lambda t, y: t["p"].sum() * t["q"] + y, in_axes=(0, None))(e, rnd(1))
    assert out.shape == (3, 1)
    # tuple argument with a tuple prefix
    out = fl.vmap(lambda pair: pair[0] - pair[1], in_axes=((0, None),))((rnd(4, 2), rnd(2)))
    assert out.shape == (4, 2)


def test_out_axes_variants():
    x = rnd(3, 4)
    close(fl.vmap(lambda a: a * 2, out_axes=1)(x), (x * 2).T)
    close(fl.vmap(lambda a: a * 2, out_axes=-1)(x), (x * 2).T)
    # out_axes=None for an output that does not depend on the mapped input
    big, const = fl.vmap(lambda a: (a + 1, fnp.ones(2) * 5.0), out_axes=(0, None))(x)
    close(big, x + 1)
    close(const, np.full(2, 5.0))
    # pytree out_axes, including an unbatched output broadcast to the batch
    out = fl.vmap(lambda a: {"p": a, "q": fnp.sum(a), "r": np.float32(2.0)},
                  out_axes={"p": 1, "q": 0, "r": 0})(x)
    close(out["p"], x.T)
    close(out["q"], x.sum(1))
    close(out["r"], np.full(3, 2.0))
    with pytest.raises(ValueError, match="out_axes"):
        fl.vmap(lambda a: a * 2, out_axes=None)(x)


def test_axis_size_without_mapped_inputs():
    out = fl.vmap(lambda: fnp.arange(3) * 1.0, axis_size=4)()
    close(out, np.tile(np.arange(3.0), (4, 1)))
    out = fl.vmap(lambda a: a * 2, in_axes=None, axis_size=2)(np.ones(3, np.float32))
    close(out, np.full((2, 3), 2.0))
    with pytest.raises(ValueError, match="axis_size"):
        fl.vmap(lambda a: a, in_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match="axis_size=5.*size 3"):
        fl.vmap(lambda a: a, axis_size=5)(np.ones(3))


def test_unmapped_arguments_pass_through_unchanged():
    x = rnd(3, 2)
    # an unmapped Python int stays a Python int (usable as a jit static argument)
    jf = fl.jit(lambda a, n: a * n, static_argnums=1)
    close(fl.vmap(jf, in_axes=(0, None))(x, 3), 3 * x)
    close(fl.vmap(lambda a, how: a * (2 if how == "double" else 3), in_axes=(0, None))(
        x, "double"), 2 * x)


def test_kwargs_pass_through_and_non_array_outputs():
    x = rnd(3, 2)
    close(fl.vmap(lambda a, scale=1.0: a * scale)(x, scale=3.0), x * 3)
    out = fl.vmap(lambda a: (a, None))(x)
    assert out[1] is None
    close(out[0], x)


# --------------------------------------------------------------------------- nesting


def test_nested_vmap():
    x = rnd(2, 3, 4)
    close(fl.vmap(fl.vmap(fnp.sum))(x), x.sum(-1))
    close(fl.vmap(fl.vmap(fnp.sum), in_axes=2)(x), x.sum(1).T)
    close(fl.vmap(fl.vmap(fnp.sum, in_axes=1), in_axes=1)(x), x.sum(0))
    # outer product: the inner function closes over the outer batched value
    a, b = rnd(3), rnd(4)
    close(fl.vmap(lambda u: fl.vmap(lambda v: u * v)(b))(a), np.outer(a, b))
    # a pairwise-distance matrix via two nested vmaps with in_axes=(0, None)/(None, 0)
    P, Q = rnd(5, 2), rnd(6, 2)
    dist = fl.vmap(fl.vmap(lambda p, q: fnp.sqrt(fnp.sum((p - q) ** 2)), in_axes=(None, 0)),
                   in_axes=(0, None))(P, Q)
    close(dist, np.sqrt(((P[:, None] - Q[None]) ** 2).sum(-1)))
    # three levels
    close(fl.vmap(fl.vmap(fl.vmap(lambda s: s * s)))(x), x * x)


def test_vmap_closure_over_outer_tracers():
    x = rnd(3)
    # grad inside vmap closing over the batched value
    close(fl.vmap(lambda s: fl.grad(lambda w: s * w ** 2)(np.float32(3.0)))(x), 6 * x)
    # vmap inside grad closing over the differentiated value
    w = np.float32(0.5)
    g = fl.grad(lambda v: fnp.sum(fl.vmap(lambda r: fnp.sin(r * v))(x)))(w)
    close(g, np.sum(np.cos(x * w) * x))
    # jit inside vmap closing over the batched value
    close(fl.vmap(lambda s: fl.jit(lambda y: s * y)(np.float32(3.0)))(x), 3 * x)


# --------------------------------------------------------------------------- with autodiff


def test_vmap_of_grad_and_grad_of_vmap():
    x = rnd(4, 3)
    close(fl.vmap(fl.grad(lambda a: fnp.sum(a ** 3)))(x), 3 * x ** 2)
    g = fl.grad(lambda a: fnp.sum(fl.vmap(lambda r: fnp.sum(fnp.sin(r)) ** 2)(a)))(x)
    close(g, 2 * np.sin(x).sum(1, keepdims=True) * np.cos(x))
    vg = fl.vmap(fl.value_and_grad(lambda a: fnp.sum(a ** 2)))(x)
    close(vg[0], (x ** 2).sum(1))
    close(vg[1], 2 * x)
    # grad w.r.t. an unbatched argument under vmap
    w = rnd(3)
    g = fl.vmap(fl.grad(lambda ww, a: fnp.sum(ww * a) ** 2), in_axes=(None, 0))(w, x)
    close(g, 2 * (x @ w)[:, None] * x)


def test_vmap_of_jacobians_and_hessian():
    x = rnd(3, 4)

    def f(a):
        return fnp.sin(a) * a[0]

    def ref_jac(a):
        J = np.diag(np.cos(a) * a[0])
        J[:, 0] += np.sin(a)
        return J

    ref = np.stack([ref_jac(r) for r in x])
    close(fl.vmap(fl.jacrev(f))(x), ref)
    close(fl.vmap(fl.jacfwd(f))(x), ref)
    close(fl.jacrev(fl.vmap(f))(x).reshape(12, 12)[:4, :4], ref[0])
    H = fl.vmap(fl.hessian(lambda a: fnp.sum(a ** 3)))(x)
    close(H, np.stack([np.diag(6 * r) for r in x]))


def test_vmap_jvp_and_vjp():
    x, t = rnd(5, 2), rnd(5, 2)
    y, ty = fl.vmap(lambda a, b: fl.jvp(fnp.sin, (a,), (b,)))(x, t)
    close(y, np.sin(x))
    close(ty, np.cos(x) * t)
    ct = fl.vmap(lambda a, u: fl.vjp(fnp.exp, a)[1](u)[0])(x, t)
    close(ct, np.exp(x) * t)
    # batched tangents, unbatched primal (the jacfwd pattern)
    _, ty = fl.vmap(lambda b: fl.jvp(fnp.sin, (x[0],), (b,)))(t)
    close(ty, np.cos(x[0]) * t)


def _mlp_params(rng):
    return {"W1": rng.normal(size=(4, 8)).astype(np.float32) * 0.5,
            "b1": rng.normal(size=8).astype(np.float32) * 0.1,
            "W2": rng.normal(size=(8, 3)).astype(np.float32) * 0.5,
            "b2": np.zeros(3, np.float32)}


def _mlp_loss(p, x, y):
    h = fnp.tanh(x @ p["W1"] + p["b1"])
    logits = h @ p["W2"] + p["b2"]
    m = fnp.max(logits)
    lse = fnp.log(fnp.sum(fnp.exp(logits - m))) + m
    return lse - logits[y]


def test_per_example_gradients_of_an_mlp():
    rng = np.random.default_rng(0)
    params = _mlp_params(rng)
    X = rng.normal(size=(6, 4)).astype(np.float32)
    Y = np.array([0, 1, 2, 1, 0, 2])
    per_ex = fl.jit(fl.vmap(fl.grad(_mlp_loss), in_axes=(None, 0, 0)))(params, X, Y)
    assert {k: v.shape for k, v in per_ex.items()} == {
        "W1": (6, 4, 8), "b1": (6, 8), "W2": (6, 8, 3), "b2": (6, 3)}
    for i in range(6):
        g = fl.grad(_mlp_loss)(params, X[i], Y[i])
        for k in g:
            close(per_ex[k][i], g[k], rtol=1e-5, atol=1e-6)
    # closed form for the output bias: softmax(logits) - onehot(y)
    for i in range(6):
        h = np.tanh(X[i] @ params["W1"] + params["b1"])
        z = h @ params["W2"] + params["b2"]
        s = np.exp(z - z.max())
        s /= s.sum()
        s[Y[i]] -= 1
        close(per_ex["b2"][i], s, rtol=1e-5, atol=1e-6)
    # the mean of per-example grads is the batch gradient
    batch_g = fl.grad(lambda p: fnp.mean(fl.vmap(_mlp_loss, in_axes=(None, 0, 0))(p, X, Y)))(
        params)
    for k in batch_g:
        close(batch_g[k], per_ex[k].mean(0), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- with jit


def test_vmap_and_jit_compose():
    x = rnd(4, 3)

    def f(a):
        return fnp.sum(a ** 2) + fnp.max(a)

    ref = (x ** 2).sum(1) + x.max(1)
    close(fl.vmap(fl.jit(f))(x), ref)
    close(fl.jit(fl.vmap(f))(x), ref)
    close(fl.vmap(fl.jit(f), in_axes=1)(x.T.copy()), ref)
    close(fl.jit(fl.vmap(fl.vmap(lambda s: s * 2)))(x), 2 * x)
    jf = fl.jit(lambda a, n: a * n, static_argnums=1)
    close(fl.vmap(lambda a: jf(a, 3))(x), 3 * x)


# --------------------------------------------------------------------------- errors


def test_mismatched_batch_sizes():
    with pytest.raises(ValueError, match=r"3.*4|4.*3"):
        fl.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))


def test_in_axes_errors():
    with pytest.raises(ValueError, match="in_axes"):
        fl.vmap(lambda a, b: a + b, in_axes=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="in_axes"):
        fl.vmap(lambda a, b: a + b, in_axes=(0, (0,)))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="in_axes"):
        fl.vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": np.ones(3)})
    with pytest.raises(ValueError, match="out of bounds"):
        fl.vmap(lambda a: a, in_axes=2)(np.ones((3, 2)))
    with pytest.raises(TypeError, match="in_axes"):
        fl.vmap(lambda a: a, in_axes=(1.5,))(np.ones(3))


def test_python_if_on_batched_value_is_clear_error():
    with pytest.raises(fl.ConcretizationError, match="vmap") as ei:
        fl.vmap(lambda a: a if a > 0 else -a)(np.ones(3, np.float32))
    assert "fnp.where" in str(ei.value)
