"""JAX-style programs, written for this suite in the manner of JAX's tutorials (quickstart,
autodiff cookbook, vmap, random numbers, stateful computations, control flow, jit, pytrees,
custom pytrees, a network trained on data, custom derivatives, checkpointing, higher-order
derivatives, MAML, vmapped log-probabilities, common gotchas), with only the imports
changed: ``functorch_lite`` as ``jax``, ``functorch_lite.numpy`` as ``jnp``.

Each program checks its results against closed forms or numpy, and runs its functions
eagerly, under ``jit`` and under ``vmap`` where the original does.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest

import functorch_lite as jax
import functorch_lite.numpy as jnp
from functorch_lite import lax, random
from functorch_lite.datasets import load_digits
from functorch_lite.scipy.special import logsumexp
from functorch_lite.scipy.stats import norm
from functorch_lite.test_util import check_grads
from functorch_lite.tree_util import (
    Partial,
    keystr,
    register_pytree_node_class,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_transpose,
    tree_unflatten,
)


def close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol,
                               atol=atol)


# --------------------------------------------------------------------------- quickstart


def test_quickstart_selu_grad_jacobians_vmap():
    def selu(x, alpha=1.67, lmbda=1.05):
        return lmbda * jnp.where(x > 0, x, alpha * jnp.exp(x) - alpha)

    x = random.normal(random.key(1), (100,))
    close(jax.jit(selu)(x), selu(x))
    close(selu(jnp.array([-1.0, 2.0])), [1.05 * (1.67 * math.exp(-1) - 1.67), 2.1])

    def sum_logistic(x):
        return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))

    xs = jnp.arange(3.0)
    s = 1 / (1 + np.exp(-np.arange(3.0)))
    close(jax.grad(sum_logistic)(xs), s * (1 - s))
    close(jax.jit(jax.grad(jax.jit(sum_logistic)))(xs), s * (1 - s))
    f = lambda v: jnp.array([v[0] ** 2, v[0] * v[1]])
    v = jnp.array([1.0, 2.0])
    close(jax.jacfwd(f)(v), [[2.0, 0.0], [2.0, 1.0]])
    close(jax.jacrev(f)(v), jax.jacobian(f)(v))
    close(jax.hessian(lambda v: v[0] ** 2 * v[1])(v), [[4.0, 2.0], [2.0, 0.0]])
    mat = random.normal(random.key(0), (4, 3))
    batch = random.normal(random.key(2), (5, 3))
    close(jax.vmap(lambda u: jnp.dot(mat, u))(batch), batch @ mat.T, rtol=1e-5)
    close(jax.jit(jax.vmap(lambda u: mat @ u))(batch), batch @ mat.T, rtol=1e-5)


# --------------------------------------------------------------------------- autodiff cookbook


def test_autodiff_cookbook():
    def loss(w, b, x, y):
        pred = jnp.tanh(x @ w + b)
        return jnp.mean((pred - y) ** 2)

    key = random.key(0)
    k1, k2, k3 = random.split(key, 3)
    w, b = random.normal(k1, (3,)), 0.1
    x, y = random.normal(k2, (8, 3)), random.normal(k3, (8,))
    gw, gb = jax.grad(loss, argnums=(0, 1))(w, b, x, y)
    val, gw2 = jax.value_and_grad(loss)(w, b, x, y)
    close(gw, gw2)
    check_grads(lambda w, b: loss(w, b, x, y), (w, b), order=2, modes=("rev",))
    # has_aux returns the predictions beside the gradient
    g, pred = jax.grad(lambda w: (loss(w, b, x, y), jnp.tanh(x @ w + b)), has_aux=True)(w)
    close(g, gw) and close(pred, np.tanh(x @ w + b))
    # Hessian-vector product by forward-over-reverse
    hvp = lambda f, p, t: jax.jvp(jax.grad(f), (p,), (t,))[1]
    t = jnp.array([1.0, 0.0, -1.0])
    close(hvp(lambda w: loss(w, b, x, y), w, t),
          jax.hessian(lambda w: loss(w, b, x, y))(w) @ t, rtol=1e-4)
    # a Python float argument stays float32 (and weakly typed), as in JAX
    g3 = jax.grad(lambda s: s * s)(3.0)
    assert g3.dtype == np.float32 and g3.weak_type


# --------------------------------------------------------------------------- vmap


def test_vmap_batching_and_per_example_gradients():
    def predict(params, x):
        w, b = params
        return jnp.dot(w, x) + b

    params = (jnp.ones((2, 3)), jnp.zeros(2))
    xs = jnp.arange(12.0).reshape(4, 3)
    out = jax.vmap(predict, in_axes=(None, 0))(params, xs)
    close(out, xs @ np.ones((3, 2)))
    per_ex = jax.vmap(jax.grad(lambda p, x: jnp.sum(predict(p, x) ** 2)),
                      in_axes=(None, 0))(params, xs)
    assert per_ex[0].shape == (4, 2, 3) and per_ex[1].shape == (4, 2)
    close(per_ex[1][1], 2 * predict(params, xs[1]))
    # out_axes moves the batch axis; in_axes picks another input axis
    close(jax.vmap(lambda r: r * 2, in_axes=1, out_axes=1)(xs), xs * 2)
    close(jax.jit(jax.vmap(jnp.outer))(xs, xs), np.einsum("bi,bj->bij", xs, xs))


# --------------------------------------------------------------------------- random numbers


def test_random_numbers_keys_split_and_reuse():
    key = random.key(42)
    draws = []
    for _ in range(3):
        key, subkey = random.split(key)
        draws.append(random.normal(subkey, (2,)))
    assert len({tuple(np.asarray(d).tolist()) for d in draws}) == 3
    # the same key gives the same numbers, eagerly, under jit and vmap
    k = random.key(0)
    close(random.uniform(k, (3,)), jax.jit(lambda kk: random.uniform(kk, (3,)))(k), rtol=0)
    keys = random.split(k, 5)
    batched = jax.vmap(lambda kk: random.normal(kk))(keys)
    close(batched, [random.normal(kk) for kk in keys], rtol=0)
    # raw uint32 keys (the legacy form) still work and hold the same data
    assert np.array_equal(random.key_data(random.key(7)), random.PRNGKey(7))
    bern = random.bernoulli(random.key(3), 0.25, (10_000,))
    assert abs(float(bern.mean()) - 0.25) < 0.02


# --------------------------------------------------------------------------- stateful computations


def test_stateful_computation_with_explicit_state():
    class Counter:
        """State lives outside: each call takes it and returns the next one."""

        def count(self, n):
            return n + 1, n + 1

        def reset(self):
            return jnp.array(0)

    counter = Counter()
    state = counter.reset()
    step = jax.jit(counter.count)
    for _ in range(3):
        value, state = step(state)
    assert int(value) == 3
    # linear regression, parameters as a dict threaded through a jitted update
    xs = jnp.linspace(-1.0, 1.0, 50)
    ys = 3.0 * xs - 1.0

    @jax.jit
    def update(params, x, y, lr=0.3):
        grads = jax.grad(lambda p: jnp.mean((p["w"] * x + p["b"] - y) ** 2))(params)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads)

    params = {"w": jnp.array(0.0), "b": jnp.array(0.0)}
    for _ in range(200):
        params = update(params, xs, ys)
    close(params["w"], 3.0, rtol=1e-3) and close(params["b"], -1.0, rtol=1e-3)
    assert update.trace_count == 1


# --------------------------------------------------------------------------- control flow


def test_control_flow():
    close(lax.cond(True, lambda x: x + 1, lambda x: x - 1, 3.0), 4.0)
    close(jax.vmap(lambda p, x: lax.cond(p, lambda v: v * 2, lambda v: -v, x))(
        jnp.array([True, False]), jnp.array([1.0, 1.0])), [2.0, -1.0])
    close(lax.switch(2, [lambda x: x, lambda x: x * 2, lambda x: x * 3], 5.0), 15.0)
    close(lax.while_loop(lambda c: c < 10, lambda c: c * 2, 1), 16)
    close(lax.fori_loop(0, 5, lambda i, acc: acc + i, 0), 10)
    carry, ys = lax.scan(lambda c, x: (c + x, c + x), 0.0, jnp.arange(4.0))
    close(carry, 6.0) and close(ys, [0.0, 1.0, 3.0, 6.0])

    # Python control flow on a static argument; a traced one raises with a hint
    def f(x, n):
        return x * n if n > 1 else -x

    close(jax.jit(f, static_argnums=1)(2.0, 3), 6.0)
    with pytest.raises(TypeError, match="static_argnums"):
        jax.jit(f)(2.0, 3)
    # Python control flow on primal values works under grad
    close(jax.grad(lambda x: x ** 2 if x > 0 else -x)(3.0), 6.0)


# --------------------------------------------------------------------------- jit


def test_jit_caching_statics_and_captured_arrays():
    traces = []

    def norm_layer(x):
        traces.append(1)
        return (x - x.mean(0)) / x.std(0)

    x = random.normal(random.key(0), (10, 3))
    for _ in range(3):
        out = jax.jit(norm_layer)(x)  # the same function: traced once
    assert len(traces) == 1
    close(out, (x - np.mean(x, 0)) / np.std(x, 0), rtol=1e-4)
    # a captured array indexed by a traced value, in a jitted loop
    table = jnp.arange(10.0) ** 2
    close(jax.jit(lambda i: table[i])(4), 16.0)
    close(jax.jit(lambda n: lax.fori_loop(0, n, lambda i, s: s + table[i], 0.0))(4), 14.0)

    @functools.partial(jax.jit, static_argnames=["mode"])
    def act(x, mode):
        return jnp.maximum(x, 0) if mode == "relu" else jnp.tanh(x)

    close(act(-1.0, mode="relu"), 0.0) and close(act(1.0, mode="tanh"), math.tanh(1.0))
    print_ir = str(jax.make_jaxpr(lambda v: jnp.sin(v) * 2.0)(1.0))
    assert "sin" in print_ir and "mul" in print_ir


# --------------------------------------------------------------------------- pytrees


def test_pytrees():
    params = {"layer1": {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}, "scale": [1.0, 2.0]}
    leaves, treedef = tree_flatten(params)
    assert len(leaves) == 4
    doubled = tree_unflatten(treedef, [leaf * 2 for leaf in leaves])
    close(doubled["scale"][1], 4.0)
    shapes = tree_map(lambda v: jnp.shape(v), params)
    assert shapes["layer1"]["w"] == (2, 3)
    paths = [keystr(p) for p, _ in tree_flatten_with_path(params)[0]]
    assert paths == ["['layer1']['b']", "['layer1']['w']", "['scale'][0]", "['scale'][1]"]
    # a list of records into a record of lists
    records = [{"x": 1, "y": 2}, {"x": 3, "y": 4}]
    cols = tree_transpose(tree_structure([0, 0]), tree_structure({"x": 0, "y": 0}), records)
    assert cols == {"x": [1, 3], "y": [2, 4]}
    grads = jax.grad(lambda p: jnp.sum(p["layer1"]["w"]) * p["scale"][0])(params)
    assert tree_structure(grads) == treedef


# --------------------------------------------------------------------------- custom pytrees


@register_pytree_node_class
class Linear:
    def __init__(self, w, b, name="linear"):
        self.w, self.b, self.name = w, b, name

    def __call__(self, x):
        return x @ self.w + self.b

    def tree_flatten(self):
        return (self.w, self.b), self.name

    @classmethod
    def tree_unflatten(cls, name, children):
        return cls(*children, name=name)


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Normal:
    mu: object
    sigma: object


def test_custom_pytrees_in_transforms():
    layer = Linear(jnp.ones((3, 2)), jnp.zeros(2))
    x = jnp.arange(6.0).reshape(2, 3)
    g = jax.jit(jax.grad(lambda m: jnp.sum(m(x) ** 2)))(layer)
    assert isinstance(g, Linear) and g.name == "linear"
    close(g.w, 2 * x.T @ (x @ np.ones((3, 2))))
    dist = Normal(jnp.array(0.0), jnp.array(1.0))
    lp = jax.vmap(lambda d, v: norm.logpdf(v, d.mu, d.sigma), in_axes=(None, 0))(
        dist, jnp.array([0.0, 1.0]))
    close(lp, [-0.5 * math.log(2 * math.pi), -0.5 - 0.5 * math.log(2 * math.pi)])
    scaled = jax.jit(lambda fn, v: fn(v))(Partial(jnp.multiply, 3.0), 2.0)
    close(scaled, 6.0)


# --------------------------------------------------------------------------- a network on data


def test_mlp_trained_on_digits_with_a_data_loader():
    x_all, y_all = load_digits()
    x_all = jnp.asarray(x_all[:600].reshape(600, 64), dtype=jnp.float32) / 16.0
    y_all = jnp.asarray(y_all[:600])

    def init(key, sizes):
        keys = random.split(key, len(sizes) - 1)
        return [(random.normal(k, (m, n)) * math.sqrt(2 / m), jnp.zeros(n))
                for k, m, n in zip(keys, sizes[:-1], sizes[1:])]

    def predict(params, x):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def loss(params, x, y):
        logits = predict(params, x)
        return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * jax.nn.one_hot(y, 10), axis=1))

    @jax.jit
    def update(params, x, y):
        grads = jax.grad(loss)(params, x, y)
        return [(w - 0.5 * gw, b - 0.5 * gb) for (w, b), (gw, gb) in zip(params, grads)]

    params = init(random.key(0), [64, 32, 10])
    before = float(loss(params, x_all, y_all))
    key = random.key(1)
    for _ in range(8):  # epochs over shuffled batches
        key, sub = random.split(key)
        perm = random.permutation(sub, x_all.shape[0])
        for i in range(0, 600, 100):
            idx = perm[i:i + 100]
            params = update(params, x_all[idx], y_all[idx])
    assert update.trace_count == 1
    acc = float(jnp.mean(jnp.argmax(predict(params, x_all), axis=1) == y_all))
    assert float(loss(params, x_all, y_all)) < before / 3 and acc > 0.85


# --------------------------------------------------------------------------- custom derivatives


def test_custom_jvp_and_custom_vjp():
    @jax.custom_jvp
    def log1pexp(x):
        return jnp.log(1.0 + jnp.exp(x))

    @log1pexp.defjvp
    def log1pexp_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * (1.0 - 1.0 / (1.0 + jnp.exp(x)))

    close(jax.grad(log1pexp)(100.0), 1.0)  # the naive derivative would be nan
    close(jax.vmap(jax.grad(log1pexp))(jnp.array([0.0, 100.0])), [0.5, 1.0])
    close(jax.jit(jax.grad(log1pexp))(0.0), 0.5)

    @jax.custom_vjp
    def clip_gradient(lo, hi, x):
        return x

    def fwd(lo, hi, x):
        return x, (lo, hi)

    def bwd(res, g):
        lo, hi = res
        return None, None, jnp.clip(g, lo, hi)

    clip_gradient.defvjp(fwd, bwd)
    close(jax.grad(lambda x: clip_gradient(-0.5, 0.5, x) * 3.0)(1.0), 0.5)

    @jax.custom_jvp
    def safe_sqrt(x):
        if x > 0:  # Python control flow on the primal, as JAX allows in these rules
            return jnp.sqrt(x)
        return 0.0 * x

    @safe_sqrt.defjvp
    def safe_sqrt_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return safe_sqrt(x), (t / (2 * jnp.sqrt(x)) if x > 0 else 0.0 * t)

    close(jax.grad(safe_sqrt)(4.0), 0.25) and close(jax.grad(safe_sqrt)(0.0), 0.0)


# --------------------------------------------------------------------------- checkpointing


def test_gradient_checkpointing():
    def block(w, x):
        return jnp.sin(jax.checkpoint_name(w @ x, "pre"))

    w = random.normal(random.key(0), (4, 4))
    x = random.normal(random.key(1), (4,))
    plain = jax.grad(lambda w: jnp.sum(block(w, block(w, x))))(w)
    for policy in (None, jax.checkpoint_policies.dots_saveable,
                   jax.checkpoint_policies.save_only_these_names("pre")):
        blk = jax.checkpoint(block, policy=policy)
        close(jax.grad(lambda w, blk=blk: jnp.sum(blk(w, blk(w, x))))(w), plain, rtol=1e-5)
    nested = jax.checkpoint(lambda v: jnp.sin(jax.checkpoint(jnp.sin)(v)))
    close(jax.grad(nested)(3.0), math.cos(math.sin(3.0)) * math.cos(3.0))


# --------------------------------------------------------------------------- higher order


def test_higher_order_derivatives_and_newton():
    f = lambda x: x ** 3 - 2 * x
    d1, d2, d3 = jax.grad(f), jax.grad(jax.grad(f)), jax.grad(jax.grad(jax.grad(f)))
    close([d1(2.0), d2(2.0), d3(2.0)], [10.0, 12.0, 6.0])
    close(jax.jacfwd(jax.jacrev(lambda v: jnp.sum(v ** 3)))(jnp.array([1.0, 2.0])),
          np.diag([6.0, 12.0]))
    x = 2.0  # Newton's method for a root of f
    for _ in range(8):
        x = x - f(x) / d1(x)
    close(x, math.sqrt(2.0))


# --------------------------------------------------------------------------- MAML


def test_maml_meta_gradient_through_an_inner_step():
    def model(theta, x):
        return theta[0] * jnp.sin(x + theta[1])

    def task_loss(theta, x, y):
        return jnp.mean((model(theta, x) - y) ** 2)

    def inner(theta, x, y, lr=0.1):
        return theta - lr * jax.grad(task_loss)(theta, x, y)

    def maml_loss(theta, x_tr, y_tr, x_te, y_te):
        return task_loss(inner(theta, x_tr, y_tr), x_te, y_te)

    theta = jnp.array([1.0, 0.0])
    xs = jnp.linspace(-3, 3, 10)
    tasks_amp = jnp.array([0.5, 1.5, 2.0])
    ys = tasks_amp[:, None] * jnp.sin(xs)[None, :]
    per_task = jax.vmap(jax.grad(maml_loss), in_axes=(None, None, 0, None, 0))(
        theta, xs, ys, xs, ys)
    g = jnp.mean(per_task, axis=0)
    eps = 1e-3
    fd = [(float(jnp.mean(jax.vmap(maml_loss, in_axes=(None, None, 0, None, 0))(
        theta + eps * e, xs, ys, xs, ys))) - float(jnp.mean(jax.vmap(
            maml_loss, in_axes=(None, None, 0, None, 0))(theta - eps * e, xs, ys, xs, ys))))
        / (2 * eps) for e in jnp.eye(2)]
    close(g, fd, rtol=1e-2, atol=1e-3)
    close(jax.jit(jax.grad(maml_loss))(theta, xs, ys[0], xs, ys[0]), per_task[0], rtol=1e-5)


# --------------------------------------------------------------------------- log-probs


def test_vmapped_log_probabilities():
    def log_joint(beta, x, y):
        # logistic regression: log p(beta) + sum_i log p(y_i | x_i, beta)
        prior = jnp.sum(norm.logpdf(beta, 0.0, 10.0))
        logits = x @ beta
        lik = jnp.sum(y * jax.nn.log_sigmoid(logits) + (1 - y) * jax.nn.log_sigmoid(-logits))
        return prior + lik

    key = random.key(0)
    x = random.normal(key, (20, 3))
    y = (x[:, 0] > 0).astype(jnp.float32)
    betas = random.normal(random.key(1), (7, 3))
    batched = jax.vmap(log_joint, in_axes=(0, None, None))(betas, x, y)
    one_by_one = jnp.stack([log_joint(b, x, y) for b in betas])
    close(batched, one_by_one, rtol=1e-5)
    close(jax.jit(jax.vmap(jax.grad(log_joint), in_axes=(0, None, None)))(betas, x, y)[3],
          jax.grad(log_joint)(betas[3], x, y), rtol=1e-5)
    # a normalised mixture weight in log space
    lw = logsumexp(batched)
    close(jnp.sum(jnp.exp(batched - lw)), 1.0)


# --------------------------------------------------------------------------- gotchas


def test_common_gotchas_behave_as_in_jax():
    x = jnp.arange(5.0)
    with pytest.raises(TypeError, match=r"x.at\[idx\].set"):
        x[1] = 10.0
    y = x.at[1].set(10.0)
    close(x, np.arange(5.0)) and close(y, [0.0, 10.0, 2.0, 3.0, 4.0])
    z = x
    z += 1  # rebinds z; x is untouched
    close(x, np.arange(5.0)) and close(z, np.arange(1.0, 6.0))
    # out-of-bounds gathers clamp under jit (no error can be raised from compiled code)
    close(jax.jit(lambda i: x[i])(10), 4.0)
    # float32 by default; integer arrays never widen floats
    assert jnp.array([1.0]).dtype == np.float32
    assert (jnp.ones(2) * jnp.arange(2)).dtype == np.float32
    # the same key gives the same numbers: split before drawing again
    k = random.key(0)
    close(random.normal(k, (2,)), random.normal(k, (2,)), rtol=0)
    # non-array arguments must be marked static
    with pytest.raises(TypeError, match="static_argnums"):
        jax.jit(lambda v, s: v)(x, "text")
    leaves = tree_leaves({"a": None, "b": (1, None)})
    assert leaves == [1]  # None is an empty subtree
