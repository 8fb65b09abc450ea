"""functorch_lite.optim: closed-form trajectories, PyTorch parity, jit, convergence."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import optim


def _run(opt, p0, grads, jit=False):
    """Apply ``opt`` to scalar/array params with the given gradient sequence; returns the
    list of parameters after each step."""
    p = p0
    state = opt.init(p)
    update = fl.jit(opt.update) if jit else opt.update
    out = []
    for g in grads:
        p, state = update(g, state, p)
        out.append(p)
    return out, state


def _f64(*vals):
    return [np.array([v], np.float64) for v in vals]


# --------------------------------------------------------------------------- closed forms


def test_sgd_plain_and_weight_decay():
    ps, state = _run(optim.sgd(0.1), np.array([1.0], np.float64), _f64(1.0, 2.0, -1.0))
    np.testing.assert_allclose([p[0] for p in ps], [0.9, 0.7, 0.8], rtol=1e-14)
    assert state.momentum is None and int(state.count) == 3
    ps, _ = _run(optim.sgd(0.1, weight_decay=0.1), np.array([2.0]), _f64(0.0, 0.0))
    np.testing.assert_allclose([p[0] for p in ps], [1.98, 2 * 0.99**2], rtol=1e-14)


def test_sgd_momentum_first_step_and_dampening():
    # buf = g on the first step (no dampening), then momentum * buf + (1 - dampening) * g
    ps, _ = _run(optim.sgd(0.1, momentum=0.9), np.array([1.0]), _f64(1.0, 2.0, -1.0))
    np.testing.assert_allclose([p[0] for p in ps], [0.9, 0.61, 0.449], rtol=1e-13)
    ps, _ = _run(optim.sgd(0.1, momentum=0.9, dampening=0.5), np.array([1.0]),
                 _f64(1.0, 2.0, -1.0))
    np.testing.assert_allclose([p[0] for p in ps], [0.9, 0.71, 0.589], rtol=1e-13)


def test_sgd_nesterov():
    ps, _ = _run(optim.sgd(0.1, momentum=0.9, nesterov=True), np.array([1.0]), _f64(1.0, 2.0))
    # step 1: buf = 1, d = 1 + 0.9 = 1.9; step 2: buf = 2.9, d = 2 + 0.9 * 2.9 = 4.61
    np.testing.assert_allclose([p[0] for p in ps], [0.81, 0.349], rtol=1e-13)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.sgd(0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.sgd(0.1, momentum=0.9, dampening=0.1, nesterov=True)


def test_adam_bias_correction():
    eps = 1e-8
    ps, state = _run(optim.adam(0.1), np.array([1.0]), _f64(1.0, -1.0))
    # step 1: m̂ = 1, v̂ = 1; step 2: m = 0.09 - 0.1 = -0.01, m̂ = -0.01 / 0.19, v̂ = 1
    p1 = 1 - 0.1 / (1 + eps)
    p2 = p1 + 0.1 * (0.01 / 0.19) / (1 + eps)
    np.testing.assert_allclose([p[0] for p in ps], [p1, p2], rtol=1e-13)
    np.testing.assert_allclose(state.exp_avg, [-0.01], rtol=1e-12)
    np.testing.assert_allclose(state.exp_avg_sq, [0.001999], rtol=1e-12)
    # a constant gradient moves by lr * g / (|g| + eps) every step, from the first
    ps, _ = _run(optim.adam(0.1), np.array([1.0]), _f64(3.0, 3.0, 3.0))
    np.testing.assert_allclose([p[0] for p in ps], [1 - k * 0.3 / (3 + eps) for k in (1, 2, 3)],
                               rtol=1e-13)


def test_adam_l2_weight_decay_goes_into_the_moments():
    ps, _ = _run(optim.adam(0.1, weight_decay=0.5), np.array([1.0]), _f64(0.0, 0.0))
    p1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
    g2 = 0.5 * p1
    m = 0.9 * 0.05 + 0.1 * g2
    v = 0.999 * 0.25e-3 + 1e-3 * g2**2
    p2 = p1 - 0.1 * (m / 0.19) / (math.sqrt(v / 0.001999) + 1e-8)
    np.testing.assert_allclose([p[0] for p in ps], [p1, p2], rtol=1e-12)


def test_adamw_decoupled_decay():
    ps, _ = _run(optim.adamw(0.1, weight_decay=0.5), np.array([1.0]), _f64(3.0, 3.0))
    step = 0.3 / (3 + 1e-8)
    p1 = 0.95 - step
    np.testing.assert_allclose([p[0] for p in ps], [p1, 0.95 * p1 - step], rtol=1e-13)
    assert optim.adamw().hyperparams["weight_decay"] == 1e-2


def test_amsgrad_uses_running_max():
    ps, state = _run(optim.adam(0.1, amsgrad=True), np.array([0.0]), _f64(10.0, 0.0))
    # v after 2 steps decays, but the max keeps the first value
    np.testing.assert_allclose(state.max_exp_avg_sq, [0.1], rtol=1e-12)
    np.testing.assert_allclose(state.exp_avg_sq, [0.0999], rtol=1e-12)
    m2, bc1, bc2 = 0.9, 0.19, 0.001999
    p2 = ps[0][0] - 0.1 / bc1 * m2 / (math.sqrt(0.1) / math.sqrt(bc2) + 1e-8)
    np.testing.assert_allclose(ps[1], [p2], rtol=1e-12)


def test_rmsprop_variants():
    eps = 1e-8
    ps, _ = _run(optim.rmsprop(0.01, alpha=0.9), np.array([1.0]), _f64(2.0, 1.0))
    p1 = 1 - 0.01 * 2 / (math.sqrt(0.4) + eps)
    p2 = p1 - 0.01 * 1 / (math.sqrt(0.46) + eps)
    np.testing.assert_allclose([p[0] for p in ps], [p1, p2], rtol=1e-13)
    ps, st_ = _run(optim.rmsprop(0.01, alpha=0.9, centered=True), np.array([1.0]), _f64(2.0))
    np.testing.assert_allclose(ps[0], [1 - 0.01 * 2 / (0.6 + eps)], rtol=1e-13)
    np.testing.assert_allclose(st_.grad_avg, [0.2], rtol=1e-13)
    ps, _ = _run(optim.rmsprop(0.01, alpha=0.9, momentum=0.5), np.array([1.0]), _f64(2.0, 1.0))
    b1 = 2 / (math.sqrt(0.4) + eps)
    b2 = 0.5 * b1 + 1 / (math.sqrt(0.46) + eps)
    np.testing.assert_allclose([p[0] for p in ps], [1 - 0.01 * b1, 1 - 0.01 * (b1 + b2)],
                               rtol=1e-13)


def test_adagrad_variants():
    ps, _ = _run(optim.adagrad(0.5), np.array([1.0]), _f64(2.0, 1.0))
    np.testing.assert_allclose([p[0] for p in ps], [0.5, 0.5 - 0.5 / math.sqrt(5)], rtol=1e-9)
    ps, _ = _run(optim.adagrad(0.5, lr_decay=0.1), np.array([1.0]), _f64(2.0, 1.0))
    np.testing.assert_allclose(ps[1], [0.5 - 0.5 / 1.1 / math.sqrt(5)], rtol=1e-9)
    ps, st_ = _run(optim.adagrad(0.5, initial_accumulator_value=1.0), np.array([1.0]),
                   _f64(2.0))
    np.testing.assert_allclose(ps[0], [1 - 0.5 * 2 / math.sqrt(5)], rtol=1e-9)
    np.testing.assert_allclose(st_.sum, [5.0])


def test_maximize_ascends():
    ps, _ = _run(optim.sgd(0.1, maximize=True), np.array([1.0]), _f64(1.0))
    np.testing.assert_allclose(ps[0], [1.1])


# --------------------------------------------------------------------------- API


def test_state_is_a_pytree_of_arrays_and_dtypes_are_kept():
    params = {"w": np.ones((2, 3), np.float32), "b": [np.zeros(3, np.float64)]}
    grads = {"w": np.full((2, 3), 0.5, np.float32), "b": [np.ones(3, np.float64)]}
    for opt in (optim.sgd(0.1, momentum=0.9), optim.adam(), optim.adamw(amsgrad=True),
                optim.rmsprop(momentum=0.1, centered=True), optim.adagrad()):
        state = opt.init(params)
        leaves = fl.tree.leaves(state)
        assert all(isinstance(x, np.ndarray) for x in leaves)
        assert state.count.dtype == np.int32 and state.count.shape == ()
        new_p, new_s = opt.update(grads, state, params)
        assert fl.tree.structure(new_p) == fl.tree.structure(params)
        assert fl.tree.structure(new_s) == fl.tree.structure(state)
        assert new_p["w"].dtype == np.float32 and new_p["b"][0].dtype == np.float64
        assert all(a.dtype == b.dtype and a.shape == b.shape
                   for a, b in zip(fl.tree.leaves(new_s), leaves))
        assert int(new_s.count) == 1


def test_schedules_and_lr_override():
    sched = lambda count: 0.1 * 0.5**count
    ps, _ = _run(optim.sgd(sched), np.array([1.0]), _f64(1.0, 1.0, 1.0))
    # count is an int32 Array, so 0.1 * 0.5**count follows the library's promotion eagerly
    # as under jit: Python floats meeting integers give float32, hence float32 accuracy
    np.testing.assert_allclose([p[0] for p in ps], [0.9, 0.85, 0.825], rtol=1e-7)
    # the same under jit (count is traced; the schedule is written with array ops)
    ps_j, _ = _run(optim.sgd(lambda c: 0.1 * fnp.power(0.5, c)), np.array([1.0]),
                   _f64(1.0, 1.0, 1.0), jit=True)
    np.testing.assert_allclose([p[0] for p in ps_j], [0.9, 0.85, 0.825], rtol=1e-7)
    opt = optim.adam(0.1)
    upd = fl.jit(opt.update)
    p = np.array([1.0], np.float32)
    s = opt.init(p)
    p1, s = upd(np.array([2.0], np.float32), s, p, lr=np.float32(0.5))
    np.testing.assert_allclose(p1, [0.5], rtol=1e-6)
    p2, s = upd(np.array([2.0], np.float32), s, p1, lr=np.float32(0.25))
    np.testing.assert_allclose(p2, [0.25], rtol=1e-6)
    assert upd.trace_count == 1  # a new lr array value does not retrace


def test_errors():
    opt = optim.adam()
    params = {"a": np.ones(2, np.float32)}
    state = opt.init(params)
    with pytest.raises(ValueError, match="structure"):
        opt.update({"b": np.ones(2, np.float32)}, state, params)
    with pytest.raises(ValueError, match="learning rate"):
        optim.sgd(-1.0)
    with pytest.raises(ValueError, match="b1"):
        optim.adam(b1=1.0)
    with pytest.raises(ValueError, match="momentum"):
        optim.rmsprop(momentum=-0.1)
    with pytest.raises(TypeError, match="lr"):
        optim.sgd("fast")


def test_clip_by_global_norm_and_helpers():
    g = {"a": np.array([3.0], np.float32), "b": np.array([4.0], np.float32)}
    assert float(optim.global_norm(g)) == 5.0
    c = optim.clip_by_global_norm(1.0)(g)
    np.testing.assert_allclose([c["a"][0], c["b"][0]], [0.6, 0.8], rtol=1e-5)
    assert c["a"].dtype == np.float32
    same = optim.clip_by_global_norm(10.0)(g)
    np.testing.assert_array_equal(same["a"], g["a"])
    cj = fl.jit(optim.clip_by_global_norm(1.0))(g)
    np.testing.assert_allclose(cj["b"], c["b"], rtol=1e-6)
    out = optim.apply_updates(g, {"a": np.array([1.0], np.float32),
                                  "b": np.array([-1.0], np.float32)})
    assert out["a"][0] == 4.0 and out["b"][0] == 3.0


@given(st.lists(st.floats(-100, 100, allow_nan=False, width=32).filter(lambda v: abs(v) > 1e-3),
                min_size=1, max_size=8),
       st.floats(1e-4, 1.0))
def test_adam_first_step_is_lr_times_sign(gs, lr):
    g = np.array(gs, np.float32)
    p = np.zeros_like(g)
    opt = optim.adam(lr)
    p1, _ = opt.update(g, opt.init(p), p)
    np.testing.assert_allclose(p1, -np.float32(lr) * np.sign(g), rtol=1e-5)


# --------------------------------------------------------------------------- jit


OPTIMIZERS = {
    "sgd": lambda: optim.sgd(0.05),
    "sgd_momentum": lambda: optim.sgd(0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda: optim.sgd(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: optim.adam(0.05, weight_decay=0.01),
    "adam_amsgrad": lambda: optim.adam(0.05, amsgrad=True),
    "adamw": lambda: optim.adamw(0.05),
    "rmsprop": lambda: optim.rmsprop(0.01),
    "rmsprop_full": lambda: optim.rmsprop(0.01, momentum=0.5, centered=True, weight_decay=0.1),
    "adagrad": lambda: optim.adagrad(0.3, lr_decay=0.01, initial_accumulator_value=0.1),
}


def _quadratic():
    a = {"w": np.array([[1.0, 2.0], [0.5, 3.0]], np.float32), "b": np.array([2.0], np.float32)}
    target = {"w": np.array([[1.0, -1.0], [2.0, 0.5]], np.float32),
              "b": np.array([-3.0], np.float32)}

    def loss(p):
        return sum(0.5 * fnp.sum(a[k] * (p[k] - target[k]) ** 2) for k in ("b", "w"))

    return loss, target


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_jit_update_matches_eager(name):
    opt = OPTIMIZERS[name]()
    loss, _ = _quadratic()
    p = {"w": np.zeros((2, 2), np.float32), "b": np.zeros(1, np.float32)}
    se, sj = opt.init(p), fl.jit(opt.init)(p)
    assert all(np.array_equal(x, y) for x, y in zip(fl.tree.leaves(se), fl.tree.leaves(sj)))
    pe = pj = p
    upd = fl.jit(opt.update)
    for _ in range(4):
        pe, se = opt.update(fl.grad(loss)(pe), se, pe)
        pj, sj = upd(fl.grad(loss)(pj), sj, pj)
    for x, y in zip(fl.tree.leaves((pe, se)), fl.tree.leaves((pj, sj))):
        assert x.dtype == y.dtype
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    assert upd.trace_count == 1


CONVERGING = {
    "sgd": lambda: optim.sgd(0.3),
    "sgd_momentum": lambda: optim.sgd(0.05, momentum=0.9),
    "sgd_nesterov": lambda: optim.sgd(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: optim.adam(0.05),
    "adamw": lambda: optim.adamw(0.05, weight_decay=0.0),
    "rmsprop": lambda: optim.rmsprop(0.01, centered=True),
    "rmsprop_momentum": lambda: optim.rmsprop(0.003, momentum=0.9),
    "adagrad": lambda: optim.adagrad(0.5),
}


@pytest.mark.parametrize("name", sorted(CONVERGING))
def test_minimises_a_quadratic(name):
    opt = CONVERGING[name]()
    loss, target = _quadratic()

    @fl.jit
    def train(p, s):
        def body(i, carry):
            p, s = carry
            return opt.update(fl.grad(loss)(p), s, p)

        return fl.lax.fori_loop(0, 400, body, (p, s))

    p = {"w": np.zeros((2, 2), np.float32), "b": np.zeros(1, np.float32)}
    p, s = train(p, opt.init(p))
    assert int(s.count) == 400
    assert float(loss(p)) < 1e-4
    for k in p:
        np.testing.assert_allclose(p[k], target[k], atol=1e-2)


# --------------------------------------------------------------------------- PyTorch oracle


TORCH_CASES = {
    "sgd": (lambda: optim.sgd(0.1), ("SGD", dict(lr=0.1))),
    "sgd_momentum": (lambda: optim.sgd(0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
                     ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01))),
    "sgd_nesterov": (lambda: optim.sgd(0.1, momentum=0.8, nesterov=True, weight_decay=0.02),
                     ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.02))),
    "adam": (lambda: optim.adam(0.01), ("Adam", dict(lr=0.01))),
    "adam_all": (lambda: optim.adam(0.01, b1=0.8, b2=0.99, eps=1e-6, weight_decay=0.1,
                                    amsgrad=True),
                 ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1,
                               amsgrad=True))),
    "adamw": (lambda: optim.adamw(0.01), ("AdamW", dict(lr=0.01))),
    "adamw_all": (lambda: optim.adamw(0.02, b1=0.5, weight_decay=0.3, amsgrad=True),
                  ("AdamW", dict(lr=0.02, betas=(0.5, 0.999), weight_decay=0.3,
                                 amsgrad=True))),
    "rmsprop": (lambda: optim.rmsprop(0.01), ("RMSprop", dict(lr=0.01))),
    "rmsprop_all": (lambda: optim.rmsprop(0.01, alpha=0.9, eps=1e-6, momentum=0.5,
                                          centered=True, weight_decay=0.1),
                    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5,
                                     centered=True, weight_decay=0.1))),
    "adagrad": (lambda: optim.adagrad(0.1), ("Adagrad", dict(lr=0.1))),
    "adagrad_all": (lambda: optim.adagrad(0.1, eps=1e-6, weight_decay=0.1, lr_decay=0.05,
                                          initial_accumulator_value=0.2),
                    ("Adagrad", dict(lr=0.1, eps=1e-6, weight_decay=0.1, lr_decay=0.05,
                                     initial_accumulator_value=0.2))),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_matches_torch_optim(name, dtype):
    torch = pytest.importorskip("torch")
    ours, (cls, kwargs) = TORCH_CASES[name]
    rng = np.random.RandomState(0)
    p0 = {"a": rng.randn(3, 2).astype(dtype), "b": rng.randn(4).astype(dtype)}
    grads = [{k: rng.randn(*v.shape).astype(dtype) for k, v in p0.items()} for _ in range(5)]
    tp = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in p0.items()}
    topt = getattr(torch.optim, cls)([tp["a"], tp["b"]], foreach=False, **kwargs)
    opt = ours()
    p, s = p0, opt.init(p0)
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
    for g in grads:
        p, s = opt.update(g, s, p)
        for k in tp:
            tp[k].grad = torch.tensor(g[k])
        topt.step()
        for k in tp:
            assert p[k].dtype == dtype
            np.testing.assert_allclose(p[k], tp[k].detach().numpy(), rtol=rtol, atol=atol)
