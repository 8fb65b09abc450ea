"""The programs that ``jit(backend="cupy")`` must run like the numpy reference: run on a
real GPU by test_cupy_gpu.py and on the emulated CuPy (host-compiled kernels) by
test_cupy_emulated.py, so both check the same cases.

A case is ``Case(f, args, tol, views)``: ``args`` are host values (pytrees allowed), put
on the device leaf by leaf; ``views`` (one per argument, or None) turns the device (and
host) argument into a view first -- a transposed or reversed input the program must
read through its strides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp


@dataclass
class Case:
    f: Callable
    args: list
    tol: float = 0.0
    views: tuple | None = None


def rng(seed: int) -> np.random.RandomState:
    return np.random.RandomState(seed)


def w1(x):
    return fnp.tanh(x) * fl.nn.sigmoid(x) + 0.5 * x * x - fnp.exp(-fnp.abs(x))


def mlp_sgd_step(lr: float):
    """A W3-like training step: MLP with relu, cross-entropy, SGD with momentum 0.9.
    Returns (step, optimizer)."""
    opt = fl.optim.sgd(lr, momentum=0.9)

    def loss(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = fl.nn.relu(h)
        return fl.nn.cross_entropy(h, y)

    def step(params, state, x, y):
        value, grads = fl.value_and_grad(loss)(params, x, y)
        params, state = opt.update(grads, state, params)
        return params, state, value

    return step, opt


def mlp_sgd_case() -> Case:
    """A W3-like training step (MLP, cross-entropy, SGD with momentum), small sizes."""
    step, opt = mlp_sgd_step(0.05)
    sizes = [20, 16, 16, 5]
    r = rng(10)
    params = [((r.randn(a, b) / np.sqrt(a)).astype(np.float32), r.randn(b).astype(np.float32))
              for a, b in zip(sizes[:-1], sizes[1:])]
    state = opt.init(params)
    x = r.randn(8, 20).astype(np.float32)
    y = r.randint(0, 5, 8).astype(np.int32)
    return Case(step, [params, state, x, y], 2e-5)


def reductions(x, b):
    pos = x > 0.0
    return (fnp.sum(x, axis=(0, 2)), fnp.max(x, axis=1), fnp.min(x), fnp.prod(x, axis=2),
            fnp.mean(x, axis=0), fnp.var(x, axis=1), fnp.any(pos, axis=0),
            fnp.all(pos, axis=(1, 2)), fnp.sum(b), fnp.max(b[::-1]), fnp.sum(b * b, axis=0))


def int_reductions(i, j):
    return (fnp.sum(i, axis=0), fnp.max(i, axis=1), fnp.min(i), fnp.prod(i % 3 + 1, axis=1),
            fnp.sum(j, axis=(0, 1)), fnp.max(j, axis=0), fnp.sum(i > 0, axis=1))


def dots(a, b, c):
    batch = fl.lax.dot_general(a, b, (((2,), (2,)), ((0,), (0,))))  # (3,4,5) x (3,6,5)
    lead = fl.lax.dot_general(a, c, (((0, 1), (0, 1)), ((), ())))   # contract two dims
    return batch, lead, a[0].T @ a[1], a[0] @ a[0][0], fnp.einsum("bij,bkj->bik", a, b)


def gathers(x, i, v):
    return (x[i], x[:, i[:2]], fnp.take(x, i[::-1], axis=0), x.at[i].add(v),
            x.at[i[:2]].set(-1.0), fnp.take_along_axis(x, fnp.argsort(x, axis=1), axis=1))


def sort_scan(x):
    return (fnp.argsort(x, axis=-1), fnp.argsort(x, axis=0), fnp.cumsum(x, axis=0),
            fl.lax.cumsum(x, axis=1, reverse=True), fnp.argmax(x, axis=1),
            fnp.argmin(x, axis=0), fnp.cumsum(x.T[::-1], axis=1))


def concat_pad(x, y):
    return (fnp.concatenate([x, y * 2.0], axis=1), fnp.concatenate([x[:1], x[::-1]], axis=0),
            fnp.pad(x, ((1, 2), (0, 3))), fl.lax.pad(y, ((1, 0, 1), (0, -1, 2)), 0.5))


def conv_relu(x, w, b):
    return fl.nn.relu(fl.nn.conv(x, w, b, padding=1))


def conv_grads(x, w):
    return fl.grad(lambda x, w: fnp.sum(fl.nn.conv(x, w, stride=2) ** 2), argnums=(0, 1))(x, w)


def pools(x):
    return fl.nn.max_pool(x, 2), fl.nn.max_pool(x, 3, stride=1, padding=1)


def control(x, n):
    lp = fl.lax.fori_loop(0, 5, lambda i, c: c * 1.5 + i, x)
    sw = fl.lax.switch(n % 3, [lambda v: v + 1.0, lambda v: v * v, lambda v: -v], x)

    def body(c, y):
        c2 = fl.lax.cond(y > 2.0, lambda c: c + y, lambda c: c * 0.5, c)
        return c2, c2 * y

    carry, ys = fl.lax.scan(body, x[0], fnp.arange(5.0), reverse=True)
    wl = fl.lax.while_loop(lambda c: c[1] < n, lambda c: (c[0] * 2.0, c[1] + 1), (x, 0))
    return lp, sw, carry, ys, wl


def sizes_0_and_1(e, one, v):
    return (e * 2.0, fnp.sum(e, axis=0), fnp.sum(e, axis=1), fnp.concatenate([e, e]),
            fnp.cumsum(e, axis=0), one @ one, fnp.sum(one, axis=1), fnp.max(v), v + 1.0,
            fnp.argmax(v), e.T @ e, fnp.sum(e))


def broadcast_strided(x, y, r):
    return x[:, None, :] * y[None, :, None] + 1.0, x.T - r[::-1, None], fnp.broadcast_to(r, (3, 4))


def int_programs(i, j, k):
    return (i // 3, i % 5, i >> 2, i << 3, i & j, i | j, i ^ k.astype(np.int32),
            fnp.where(i > j, i, j * 2), (k * 3 - 7) // 2, k >> 1, fnp.abs(k),
            fnp.maximum(i, j).astype(np.int64) + k)


def bool_programs(p, q, x):
    return (p & q, p | ~q, p ^ q, fnp.where(p, x, -x), fnp.sum(p), fnp.any(q),
            fnp.logical_and(p, x > 0.5), p.astype(np.float64) * x, fnp.all(p | q))


def float64_math(x):
    return (fnp.exp(x), fnp.log(fnp.abs(x)), fnp.sqrt(x), fnp.tanh(x), fnp.clip(x, -1, 1),
            fnp.where(fnp.isnan(x), 0.0, x), x / (x - 1.0), fnp.maximum(x, 0.0),
            fnp.floor(x), fnp.round(x), fl.nn.softmax(x[:6]))


def scatter_modes(x, i, v):
    return x.at[i].max(v), x.at[i].min(v), x.at[i].mul(v), x.at[i].set(v)


def nested_control(x):
    def inner(c):
        return fl.lax.while_loop(lambda d: fnp.sum(d) < 10.0, lambda d: d + 1.0, c)

    return fl.lax.scan(lambda c, y: (fl.lax.cond(y > 0, inner, lambda c: c, c), fnp.sum(c)),
                       x, fnp.array([1.0, -1.0, 2.0]))


def views_of_intermediates(x, w, y):
    return (x * 2.0)[1:, ::-1] @ w, fnp.sum(y[::-1, ::2] ** 2), fnp.cumsum((x + 1.0)[:, 1:].T)


def float16_program(x, y):
    return (x * y + 1.5, fnp.sum(x, axis=0), fnp.max(x * y, axis=1), x @ y.T,
            fnp.cumsum(x, axis=1))


def edge_values() -> np.ndarray:
    return np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 1e-300, 1e300, np.inf, -np.inf,
                     np.nan, 3.7, -12.25])


def cases() -> dict[str, Case]:
    x3 = rng(20).randn(4, 5, 6)
    f32 = lambda *shape: rng(sum(shape)).randn(*shape).astype(np.float32)  # noqa: E731
    i32 = np.arange(-20, 20, dtype=np.int32)
    return {
        # the first ten: what the real-GPU test ran first
        "w1": Case(w1, [rng(0).randn(1 << 20).astype(np.float32)], 1e-6),
        "w2": Case(lambda x: fl.nn.log_softmax(x, axis=1),
                   [rng(1).randn(512, 1024).astype(np.float32)], 1e-5),
        "sums": Case(lambda x: (fnp.sum(x), fnp.max(x, axis=0), fnp.min(x[::-1], axis=1),
                                fnp.prod(x[:3, :4] * 0.5, axis=1)),
                     [rng(2).randn(300, 200)], 1e-10),
        "dot": Case(lambda a, b: fnp.tanh(a @ b.T),
                    [rng(3).randn(64, 48).astype(np.float32),
                     rng(4).randn(32, 48).astype(np.float32)], 1e-5),
        "gather": Case(lambda x, i: x[i] * 2.0 + fnp.take(x, i[::-1], axis=0),
                       [np.arange(40.0).reshape(10, 4), np.array([3, 1, 4, 1, 5])]),
        "scatter": Case(lambda x, i: x.at[i].add(1.0), [np.zeros(6), np.array([0, 2, 2, 5])]),
        "while": Case(lambda x: fl.lax.while_loop(lambda c: fnp.sum(c) < 100.0,
                                                  lambda c: c * 2.0 + 1.0, x), [np.ones(3)]),
        "scan": Case(lambda x: fl.lax.scan(lambda c, y: (c + y, c * y), 0.0, x),
                     [np.arange(6.0)]),
        "cond": Case(lambda x: fl.lax.cond(fnp.sum(x) > 0, lambda v: v + 1.0,
                                           lambda v: v - 1.0, x), [np.array([1.0, -0.5])]),
        "ints": Case(lambda x, y: (x // y, x % y, x >> 3, x << y),
                     [i32, np.full(40, 3, np.int32)]),
        # the rest of the emulated checks
        "mlp_sgd": mlp_sgd_case(),
        "reductions": Case(reductions, [x3, rng(21).randn(5000)], 1e-12),
        "long_column_max": Case(lambda x: (fnp.max(x, axis=0), fnp.sum(x[:, :2], axis=0)),
                                [rng(22).randn(3000, 3)], 1e-12),
        "int_reductions": Case(int_reductions, [rng(23).randint(-9, 9, (6, 7)).astype(np.int32),
                                                rng(24).randint(-5, 5, (3, 2, 4))]),
        "dots": Case(dots, [rng(25).randn(3, 4, 5), rng(26).randn(3, 6, 5),
                            rng(27).randn(3, 4, 2)], 1e-12),
        "dot_int": Case(lambda a, b: a @ b, [rng(28).randint(-9, 9, (5, 6)).astype(np.int32),
                                             rng(29).randint(-9, 9, (6, 3)).astype(np.int32)]),
        "gathers": Case(gathers, [rng(30).randn(6, 5), np.array([4, 0, 4, 2]),
                                  rng(31).randn(4, 5)], 1e-12),
        "sort_scan": Case(sort_scan, [rng(32).randn(6, 7)], 1e-12),
        "concat_pad": Case(concat_pad, [rng(33).randn(3, 4), rng(34).randn(3, 5)]),
        "conv": Case(conv_relu, [f32(2, 3, 8, 8), f32(4, 3, 3, 3), f32(4)], 1e-5),
        "conv_grads": Case(conv_grads, [f32(2, 3, 7, 7), f32(4, 3, 3, 3)], 1e-4),
        "max_pool": Case(pools, [f32(2, 3, 8, 8)]),
        "control": Case(control, [rng(35).randn(4), np.int32(4)], 1e-12),
        "sizes_0_1": Case(sizes_0_and_1, [np.zeros((0, 3)), np.full((1, 1), 3.0),
                                          np.array([2.5])]),
        "broadcast": Case(broadcast_strided, [rng(36).randn(3, 4), rng(37).randn(5),
                                              rng(38).randn(4)], 1e-12),
        "strided_inputs": Case(broadcast_strided, [rng(39).randn(4, 3), rng(40).randn(5),
                                                   rng(41).randn(4)], 1e-12,
                               views=(lambda a: a.T, lambda a: a[::-1], lambda a: a[::-1])),
        "int_programs": Case(int_programs, [i32, rng(42).randint(-30, 30, 40).astype(np.int32),
                                            np.arange(-40, 40, 2, dtype=np.int64)]),
        "bool_programs": Case(bool_programs, [rng(43).rand(9) > 0.5, rng(44).rand(9) > 0.3,
                                              rng(45).rand(9)], 1e-15),
        "float64_math": Case(float64_math, [edge_values()], 1e-13),
        "float16": Case(float16_program, [f32(4, 8).astype(np.float16),
                                          rng(46).randn(4, 8).astype(np.float16)], 1e-3),
        "scatter_modes": Case(scatter_modes, [rng(47).randn(6), np.array([1, 1, 4]),
                                              rng(48).randn(3)], 1e-12),
        "nested_control": Case(nested_control, [np.zeros(2)], 1e-12),
        "views_of_intermediates": Case(views_of_intermediates,
                                       [rng(49).randn(5, 4), rng(50).randn(4, 3),
                                        rng(51).randn(300, 40)], 1e-12),
        "vmap_gather": Case(fl.vmap(lambda x, i: x[i] * 2.0),
                            [rng(52).randn(3, 6), np.array([[0, 5], [1, 1], [2, 3]])]),
        "pool_conv_transpose": Case(lambda x, w: (fl.nn.avg_pool(x, 2),
                                                  fl.nn.conv_transpose(x, w, stride=2)),
                                    [rng(53).randn(1, 2, 6, 6), rng(54).randn(2, 3, 3, 3)],
                                    1e-12),
        "random_bits": Case(lambda k: (fl.random.normal(k, (5,)), fl.random.randint(k, (4,), 0, 9)),
                            [np.asarray(fl.random.PRNGKey(0))], 1e-6),
    }


CASES = cases()


def host_args(case: Case) -> list:
    """The case's arguments on the host, through its views."""
    views = case.views or (None,) * len(case.args)
    return [v(a) if v else a for v, a in zip(views, case.args)]


def device_args(case: Case, put: Callable) -> list:
    """The case's arguments moved to the device by ``put`` (leaf by leaf), through its
    views."""
    views = case.views or (None,) * len(case.args)
    moved = [fl.tree.map(put, a) for a in case.args]
    return [v(a) if v else a for v, a in zip(views, moved)]


def reference(case: Case) -> list:
    """The numpy backend's answer (leaves), edge-case warnings off."""
    with np.errstate(all="ignore"):
        return [np.asarray(w) for w in
                fl.tree.leaves(fl.jit(case.f, backend="numpy")(*host_args(case)))]


def assert_matches(case: Case, got, on_device: Callable, to_host: Callable) -> None:
    """``got`` (a pytree of device arrays) equals the reference: same leaves, shapes,
    dtypes, values within the case's tolerance."""
    got, want = fl.tree.leaves(got), reference(case)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert on_device(g), f"output {k} is a {type(g).__name__}, not a device array"
        h = to_host(g)
        assert (h.shape, h.dtype) == (w.shape, w.dtype), \
            f"output {k}: {h.shape} {h.dtype}, want {w.shape} {w.dtype}"
        np.testing.assert_allclose(h, w, rtol=case.tol, atol=case.tol, err_msg=f"output {k}")
