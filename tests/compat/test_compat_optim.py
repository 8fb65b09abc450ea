"""compat.optim: updates against hand-computed steps and (when installed) torch.optim,
param groups, skipped parameters, state_dict round trips (also through compat.save/load),
the fused program (eager first, jitted after; no retrace when OneCycleLR cycles momentum),
and the docstring examples."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import compat
from compat import nn, optim
from compat.optim import optimizer as optimizer_mod

RNG = np.random.RandomState(0)
SHAPES = [(3, 4), (4,), (2,)]
INIT = [RNG.randn(*s).astype(np.float32) for s in SHAPES]
GRADS = [[RNG.randn(*s).astype(np.float32) for s in SHAPES] for _ in range(5)]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.1)),
]


def params_of(lib, arrays=INIT):
    return [lib.nn.Parameter(lib.tensor(a)) for a in arrays]


def run_steps(lib, name, kw, grads=GRADS, skip=None):
    """Params after one step per entry of ``grads``; ``skip[i]`` = params without a
    gradient at step i."""
    ps = params_of(lib)
    opt = getattr(lib.optim, name)(ps, **kw)
    for i, gs in enumerate(grads):
        opt.zero_grad()
        for j, (p, g) in enumerate(zip(ps, gs)):
            if skip is None or j not in skip.get(i, ()):
                p.grad = lib.tensor(g)
        opt.step()
    return [p.detach().numpy().copy() for p in ps], opt


# --------------------------------------------------------------------------- hand-computed


def test_sgd_momentum_by_hand():
    w = nn.Parameter(compat.tensor([1.0]))
    opt = optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    for g in (1.0, 2.0, 3.0):
        w.grad = compat.tensor([g])
        opt.step()
    # buf: 1, 0.9 + 0.5 * 2 = 1.9, 1.71 + 1.5 = 3.21
    assert np.allclose(w.item(), 1 - 0.1 * (1 + 1.9 + 3.21), atol=1e-6)
    assert np.allclose(opt.state[w]["momentum_buffer"].item(), 3.21)


def test_adam_two_steps_by_hand():
    w = nn.Parameter(compat.tensor([1.0]))
    opt = optim.Adam([w], lr=0.1, betas=(0.5, 0.75), eps=0.0)
    expect, m, v = 1.0, 0.0, 0.0
    for t, g in enumerate((2.0, -1.0), start=1):
        w.grad = compat.tensor([g])
        opt.step()
        m = 0.5 * m + 0.5 * g
        v = 0.75 * v + 0.25 * g * g
        expect -= 0.1 * (m / (1 - 0.5 ** t)) / np.sqrt(v / (1 - 0.75 ** t))
    assert np.allclose(w.item(), expect, atol=1e-6)
    assert opt.state[w]["step"].item() == 2.0


def test_rmsprop_adagrad_by_hand():
    w = nn.Parameter(compat.tensor([1.0]))
    opt = optim.RMSprop([w], lr=0.01, alpha=0.9, eps=0.0, momentum=0.5)
    for _ in range(2):
        w.grad = compat.tensor([2.0])
        opt.step()
    s1, s2 = 0.4, 0.9 * 0.4 + 0.4
    b1 = 2 / np.sqrt(s1)
    b2 = 0.5 * b1 + 2 / np.sqrt(s2)
    assert np.allclose(w.item(), 1 - 0.01 * (b1 + b2), atol=1e-6)
    w = nn.Parameter(compat.tensor([1.0]))
    opt = optim.Adagrad([w], lr=0.5, lr_decay=1.0, eps=0.0)
    for _ in range(2):
        w.grad = compat.tensor([2.0])
        opt.step()
    assert np.allclose(w.item(), 1 - 0.5 - 0.25 * 2 / np.sqrt(8), atol=1e-6)


# --------------------------------------------------------------------------- vs PyTorch


@pytest.mark.parametrize("name,kw", CONFIGS, ids=lambda c: str(c))
def test_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    # step 3 on runs in the jitted program (JIT_AFTER = 2), steps 1-2 eagerly
    ours, opt = run_steps(compat, name, kw)
    ref, topt = run_steps(torch, name, kw)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sd["state"].keys() == tsd["state"].keys()
    for k, st in tsd["state"].items():
        assert sd["state"][k].keys() == st.keys()
        for key, value in st.items():
            np.testing.assert_allclose(sd["state"][k][key].numpy(), value.numpy(),
                                       rtol=1e-5, atol=1e-6)


def test_params_without_grad_are_skipped_like_torch():
    torch = pytest.importorskip("torch")
    skip = {0: {1}, 2: {0, 2}}  # per-parameter step counts end up different
    for name, kw in [("Adam", dict(lr=0.05)), ("SGD", dict(lr=0.1, momentum=0.9))]:
        ours, opt = run_steps(compat, name, kw, skip=skip)
        ref, _ = run_steps(torch, name, kw, skip=skip)
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert [int(opt.state[p]["step"].item()) if "step" in opt.state[p] else None
            for p in opt.param_groups[0]["params"]] == [None] * 3  # SGD keeps no step
    ours, opt = run_steps(compat, "Adam", dict(lr=0.05), skip=skip)
    assert [opt.state[p]["step"].item() for p in opt.param_groups[0]["params"]] == [4, 4, 4]


# --------------------------------------------------------------------------- param groups


def test_param_groups_and_add_param_group():
    a, b, c = (nn.Parameter(compat.tensor([1.0])) for _ in range(3))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": [c], "lr": 0.01, "momentum": 0})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0, 0.01]
    assert opt.param_groups[2]["momentum"] == 0 and opt.param_groups[0]["momentum"] == 0.5
    for p in (a, b, c):
        p.grad = compat.tensor([1.0])
    opt.step()
    assert [p.item() for p in (a, b, c)] == pytest.approx([0.9, 0.0, 0.99])
    assert "momentum_buffer" in opt.state[a] and "momentum_buffer" not in opt.state[c]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {a}}], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([a], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([a], lr=0.1, nesterov=True)


def test_named_params_zero_grad_closure_and_lr_change():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.5)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    x = compat.ones(3, 2)

    def closure():
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        return loss

    before = model.bias.item()
    loss = opt.step(closure)
    assert loss.shape == () and model.bias.item() == pytest.approx(before - 0.5 * 3)
    opt.zero_grad(set_to_none=False)
    assert model.weight.grad is not None and model.weight.grad.abs().sum().item() == 0
    opt.zero_grad()
    assert model.weight.grad is None
    opt.param_groups[0]["lr"] = 0.0  # read at every step
    closure()
    w = model.weight.detach().clone()
    opt.step()
    assert compat.equal(model.weight.detach(), w)


def test_step_updates_in_place_and_bumps_version():
    w = nn.Parameter(compat.tensor([1.0, 2.0]))
    view = w.detach()
    v0 = w._version
    w.grad = compat.ones(2)
    optim.SGD([w], lr=0.5).step()
    assert view.tolist() == [0.5, 1.5] and w._version > v0


def test_state_dict_round_trip_through_save_load(tmp_path):
    def make():
        compat.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = optim.Adam([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.01}],
                         lr=0.1, amsgrad=True)
        return model, opt

    def train(model, opt, steps):
        for i in range(steps):
            opt.zero_grad()
            (model(compat.ones(4, 3) * (i + 1)) ** 2).mean().backward()
            opt.step()

    model, opt = make()
    train(model, opt, 3)
    path = tmp_path / "ckpt.pt"
    compat.save({"model": model.state_dict(), "opt": opt.state_dict()}, path)
    ckpt = compat.load(path)
    assert ckpt["opt"]["param_groups"] == opt.state_dict()["param_groups"]
    assert sorted(ckpt["opt"]["state"]) == [0, 1]
    model2, opt2 = make()
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    train(model, opt, 2)
    train(model2, opt2, 2)
    assert compat.equal(model.weight, model2.weight) and compat.equal(model.bias, model2.bias)
    with pytest.raises(ValueError, match="number of parameter groups"):
        optim.Adam(model.parameters()).load_state_dict(ckpt["opt"])


def test_load_torch_state_dict():
    torch = pytest.importorskip("torch")
    tm = torch.nn.Linear(3, 2)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    tm(torch.ones(1, 3)).sum().backward()
    topt.step()
    sd = topt.state_dict()
    converted = {"state": {k: {n: compat.tensor(v.numpy()) for n, v in st.items()}
                           for k, st in sd["state"].items()},
                 "param_groups": sd["param_groups"]}
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.5)
    opt.load_state_dict(converted)
    assert opt.param_groups[0]["lr"] == 0.1
    assert opt.state[model.weight]["momentum_buffer"].tolist() == [[1.0] * 3] * 2


# --------------------------------------------------------------------------- fused program


def test_fused_program_jits_after_eager_steps():
    ps = params_of(compat)
    opt = optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.3, centered=True)
    key = (compat.optim.RMSprop.algorithm,
           tuple(sorted(opt.factory_args(opt.param_groups[0]).items())), (),
           ("square_avg", "grad_avg", "momentum"), 3)
    prog = optimizer_mod.step_program(*key)
    calls0 = prog.calls
    for gs in GRADS:
        for p, g in zip(ps, gs):
            p.grad = compat.tensor(g)
        opt.step()
    assert prog.calls == calls0 + len(GRADS)
    assert prog.jitted is not None and prog.jitted.trace_count == 1


def test_cycled_momentum_does_not_retrace():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (compat, torch):
        ps = params_of(lib)
        opt = lib.optim.Adam(ps, lr=0.1)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=12)
        for i in range(12):
            for p, g in zip(ps, GRADS[i % len(GRADS)]):
                p.grad = lib.tensor(g)
            opt.step()
            sched.step()
        results.append([p.detach().numpy().copy() for p in ps])
        if lib is compat:
            ours = opt
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    opt = ours
    # after beta1 changed twice it became an argument of the program: one trace in all
    static = tuple((k, v) for k, v in sorted(opt.factory_args(opt.param_groups[0]).items())
                   if k not in ("b1", "b2"))
    prog = optimizer_mod.step_program(compat.optim.Adam.algorithm, static, ("b1", "b2"),
                                      ("exp_avg", "exp_avg_sq"), 3)
    assert prog.calls >= 9 and prog.jitted.trace_count == 1


# --------------------------------------------------------------------------- docstrings


@pytest.mark.parametrize("name", ["compat.optim", "compat.optim.optimizer", "compat.optim.sgd",
                                  "compat.optim.adam", "compat.optim.adamw",
                                  "compat.optim.rmsprop", "compat.optim.adagrad",
                                  "compat.optim.lr_scheduler"])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
        test.globs.update({"compat": compat, "np": np, "nn": nn, "optim": optim})
        test.globs.update(vars(compat.optim.lr_scheduler))
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_user_subclass_written_as_in_pytorch():
    class PlainSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        @compat.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.state[p]["steps"] = self.state[p].get("steps", 0) + 1
                        p.add_(p.grad, alpha=-group["lr"])

    w = nn.Parameter(compat.tensor([1.0, 2.0]))
    opt = PlainSGD([w])
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        sched.step()
    assert w.tolist() == pytest.approx([1.0 * 0.8 * 0.9, 2.0 * 0.8 * 0.9])
    assert opt.state_dict()["state"] == {0: {"steps": 2}}
