"""checkpoint (nested, under every transform, with JAX's save policies and names) and
custom_jvp/custom_vjp functions with Python control flow on their primal values.

Oracles: closed-form derivatives, the same function without checkpoint, and counts of how
often each primitive's kernel runs (what a policy saves is not recomputed).
"""

from __future__ import annotations

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import ad_checkpoint, core

cp = fl.checkpoint_policies


def close(a, b, rtol=1e-6, atol=1e-7):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def _counting(monkeypatch, *names):
    counts = dict.fromkeys(names, 0)
    for n in names:
        prim = core.PRIMITIVES[n]
        orig = prim.impl

        def counted(*args, _orig=orig, _n=n, **params):
            counts[_n] += 1
            return _orig(*args, **params)

        monkeypatch.setattr(prim, "impl", counted)
    return counts


# --------------------------------------------------------------------------- nested checkpoint


def test_nested_checkpoint_under_grad_and_vjp():
    # the program: reverse mode through a checkpoint inside a checkpoint
    f = fl.checkpoint(lambda x: fnp.sin(fl.checkpoint(fnp.sin)(x)))
    want = np.cos(np.sin(3.0)) * np.cos(3.0)
    close(fl.grad(f)(3.), want)
    y, f_vjp = fl.vjp(f, 3.)
    close(y, np.sin(np.sin(3.0)))
    close(f_vjp(1.0)[0], want)


def test_nested_checkpoint_composes():
    f = fl.checkpoint(lambda x: fnp.sin(fl.checkpoint(fnp.sin)(x)))
    s, c = np.sin, np.cos
    d1 = lambda x: c(s(x)) * c(x)
    d2 = lambda x: -s(s(x)) * c(x) ** 2 - c(s(x)) * s(x)
    x = np.array([0.3, 1.0, 3.0], np.float64)
    close(fl.vmap(fl.grad(f))(x), d1(x), rtol=1e-12)
    close(fl.jit(fl.vmap(fl.grad(f)))(x), d1(x), rtol=1e-12)
    close(fl.vmap(fl.grad(fl.grad(f)))(x), d2(x), rtol=1e-12)
    close(fl.jvp(f, (x,), (np.ones(3),))[1], d1(x), rtol=1e-12)
    close(fl.jacrev(f)(x), np.diag(d1(x)), rtol=1e-12)
    # three levels, with the inner value reused after the call
    g = fl.checkpoint(lambda x: fnp.sin(fl.checkpoint(
        lambda y: fnp.sin(fl.checkpoint(fnp.sin)(y)) * y)(x)))
    h = lambda x: fnp.sin(fnp.sin(fnp.sin(x)) * x)
    close(fl.grad(g)(0.7), fl.grad(h)(0.7))
    close(fl.grad(fl.grad(g))(0.7), fl.grad(fl.grad(h))(0.7), rtol=1e-5)


# --------------------------------------------------------------------------- policies


def _two_layers(w, x):
    h = fl.checkpoint_name(w @ x, "hidden")
    return fnp.sum(fnp.tanh(w @ fnp.tanh(h)))


W = np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)
X = np.linspace(-1, 1, 3).astype(np.float32)


@pytest.mark.parametrize("policy,dots,tanhs", [
    # forward: 2 dots and 2 tanh; backward: 4 transposed dots (dW twice, dh, dx)
    (None, 8, 4),  # everything recomputed: 2 more dots, 2 more tanh
    (cp.nothing_saveable, 8, 4),
    (cp.dots_saveable, 6, 4),  # the dot results are kept; only tanh runs again
    (cp.dots_with_no_batch_dims_saveable, 6, 4),
    (cp.everything_saveable, 6, 2),  # as without checkpoint
    (cp.save_anything_except_these_names("other"), 6, 2),
    # hidden (the first dot) is kept; the second dot and both tanh run again
    (cp.save_only_these_names("hidden"), 7, 4),
    (cp.save_any_names_but_these("other"), 7, 4),
    (cp.save_from_both_policies(cp.dots_saveable, cp.save_only_these_names("hidden")), 6, 4),
])
def test_checkpoint_policy_decides_what_is_recomputed(monkeypatch, policy, dots, tanhs):
    want = fl.grad(_two_layers, argnums=(0, 1))(W, X)
    counts = _counting(monkeypatch, "dot_general", "tanh")
    got = fl.grad(fl.checkpoint(_two_layers, policy=policy), argnums=(0, 1))(W, X)
    assert counts == {"dot_general": dots, "tanh": tanhs}
    for a, b in zip(got, want):
        close(a, b, rtol=1e-5)
    # the same program staged by jit, and batched
    jg = fl.jit(fl.grad(fl.checkpoint(_two_layers, policy=policy)))(W, X)
    close(jg, want[0], rtol=1e-5)
    vg = fl.vmap(fl.grad(fl.checkpoint(_two_layers, policy=policy)), in_axes=(None, 0))(
        W, np.stack([X, 2 * X]))
    close(vg[0], want[0], rtol=1e-5)


def test_checkpoint_name_is_identity_everywhere():
    f = lambda x: fl.checkpoint_name(fnp.sin(x), "s") * 2.0
    x = np.linspace(0, 1, 4).astype(np.float32)
    close(f(x), 2 * np.sin(x))
    close(fl.jit(f)(x), 2 * np.sin(x))
    close(fl.vmap(f)(x), 2 * np.sin(x))
    close(fl.grad(lambda v: fnp.sum(f(v)))(x), 2 * np.cos(x))
    close(fl.jvp(f, (x,), (np.ones(4, np.float32),))[1], 2 * np.cos(x))
    tree = fl.checkpoint_name({"a": x, "b": (x,)}, "t")
    close(tree["b"][0], x)
    with pytest.raises(TypeError, match="checkpoint_name: name must be a string"):
        fl.checkpoint_name(x, 3)
    with pytest.raises(TypeError, match="checkpoint: policy must be a function"):
        fl.checkpoint(f, policy="dots")


def test_ad_checkpoint_module_path():
    # JAX's module path (imported at the top) holds the same functions
    assert ad_checkpoint.checkpoint is fl.checkpoint
    assert ad_checkpoint.checkpoint_name is fl.checkpoint_name


# --------------------------------------------------------------------------- custom rules


@fl.custom_jvp
def _relu_if(x):
    if x > 0:  # Python control flow on the primal: fine where the primal is concrete
        return x * x
    return 0.0 * x


@_relu_if.defjvp
def _relu_if_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    if x > 0:
        return _relu_if(x), 2.0 * x * t
    return _relu_if(x), 0.0 * t


@fl.custom_vjp
def _clip_if(x):
    if x > 1.0:
        return fnp.sin(x)
    return x


def _clip_if_fwd(x):
    return _clip_if(x), x


def _clip_if_bwd(x, g):
    if x > 1.0:
        return (fnp.cos(x) * g,)
    return (g,)


_clip_if.defvjp(_clip_if_fwd, _clip_if_bwd)


def test_custom_jvp_with_python_if_on_primals():
    close(_relu_if(3.0), 9.0)
    close(fl.grad(_relu_if)(3.0), 6.0)
    close(fl.grad(_relu_if)(-3.0), 0.0)
    out, t = fl.jvp(_relu_if, (3.0,), (1.0,))
    close(out, 9.0)
    close(t, 6.0)
    close(fl.vjp(_relu_if, 2.0)[1](1.0)[0], 4.0)
    close(fl.grad(lambda x: _relu_if(x) * x)(2.0), 12.0)  # d/dx x^3


def test_custom_vjp_with_python_if_on_primals_and_residuals():
    close(_clip_if(2.0), np.sin(2.0))
    close(_clip_if(0.5), 0.5)
    close(fl.grad(_clip_if)(2.0), np.cos(2.0))
    close(fl.grad(_clip_if)(0.5), 1.0)
    close(fl.vjp(_clip_if, 2.0)[1](3.0)[0], 3 * np.cos(2.0))
    close(fl.value_and_grad(lambda x: _clip_if(x) * 2.0)(0.5)[1], 2.0)


def test_custom_rule_errors_under_jit_name_the_users_function():
    # under jit the primal is traced, so the `if` cannot run (as in JAX); the error says
    # whose `if` it was
    for fn in (_relu_if, _clip_if):
        with pytest.raises(core.TracerBoolConversionError) as info:
            fl.jit(fn)(1.0)
        msg = str(info.value)
        assert f"`{fn.__name__}`" in msg and "flat_fun" not in msg
        assert "if x > " in msg
