"""compat.optim.lr_scheduler: schedules by hand and against torch.optim.lr_scheduler
(chainable forms, two schedulers on one optimizer, momentum cycling), state_dict round
trips through compat.save/load, and ReduceLROnPlateau."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import compat
from compat import nn, optim
from compat.optim import lr_scheduler as S

SCHEDULES = {
    "step": lambda m, o: m.StepLR(o, 3, 0.5),
    "multistep": lambda m, o: m.MultiStepLR(o, [2, 5, 5, 9], 0.5),
    "exponential": lambda m, o: m.ExponentialLR(o, 0.9),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "lambda": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "multiplicative": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95),
    "constant": lambda m, o: m.ConstantLR(o, 0.3, 4),
    "linear": lambda m, o: m.LinearLR(o, 0.2, 0.9, 6),
    "onecycle": lambda m, o: m.OneCycleLR(o, [1.0, 2.0], total_steps=25),
    "onecycle3": lambda m, o: m.OneCycleLR(o, 1.0, total_steps=25, three_phase=True,
                                           anneal_strategy="linear"),
    "sequential": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.5, total_iters=3), m.CosineAnnealingLR(o, T_max=10)],
        milestones=[4]),
    "chained": lambda m, o: m.ChainedScheduler([m.StepLR(o, 2, 0.5), m.ExponentialLR(o, 0.9)]),
    "two_schedulers": lambda m, o: (m.StepLR(o, 2, 0.5), m.ExponentialLR(o, 0.9))[1],
}


def trajectory(lib, make, steps=25, metrics=None, opt="SGD", opt_kw=None):
    ps = [lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(3))]
    o = getattr(lib.optim, opt)([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.5}],
                                **(opt_kw or dict(lr=1.0, momentum=0.9)))
    sched = make(lib.optim.lr_scheduler, o)
    out = [list(sched.get_last_lr())]
    for i in range(steps):
        for p in ps:
            p.grad = lib.ones(p.shape)
        o.step()
        sched.step(metrics[i]) if metrics else sched.step()
        g = o.param_groups[0]
        out.append(list(sched.get_last_lr()) + [g.get("momentum", g.get("betas"))])
    return out


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours = trajectory(compat, SCHEDULES[name])
    ref = trajectory(torch, SCHEDULES[name])
    np.testing.assert_allclose([r[:2] for r in ours], [r[:2] for r in ref], rtol=1e-12)
    assert [r[2:] for r in ours] == [r[2:] for r in ref]


def test_onecycle_cycles_adam_beta1_like_torch():
    torch = pytest.importorskip("torch")
    kw = dict(opt="Adam", opt_kw=dict(lr=0.1))
    assert trajectory(compat, SCHEDULES["onecycle"], **kw) == \
        trajectory(torch, SCHEDULES["onecycle"], **kw)


@pytest.mark.parametrize("kw", [dict(patience=2, factor=0.5),
                                dict(mode="max", patience=1, threshold_mode="abs", cooldown=2,
                                     min_lr=[0.1, 0.2])])
def test_reduce_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    metrics = [1, 0.9, 0.95, 0.96, 0.97, 0.98, 0.5, 0.6, 0.7, 0.8, 0.9] + [1] * 14

    def make(m, o):
        return m.ReduceLROnPlateau(o, **kw)

    assert trajectory(compat, make, metrics=metrics) == trajectory(torch, make,
                                                                   metrics=metrics)


def make_opt(lr=1.0):
    return optim.SGD([nn.Parameter(compat.ones(1))], lr=lr)


def test_by_hand():
    opt = make_opt()
    sched = S.CosineAnnealingLR(opt, T_max=4, eta_min=0.0)
    lrs = []
    for _ in range(4):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    expect = [(1 + math.cos(math.pi * t / 4)) / 2 for t in range(1, 5)]
    np.testing.assert_allclose(lrs, expect, atol=1e-12)
    opt = make_opt()
    plateau = S.ReduceLROnPlateau(opt, patience=0, factor=0.5, min_lr=0.2)
    for loss in (1.0, 2.0, 3.0):  # the best, then two bad epochs: two reductions
        plateau.step(compat.tensor(loss))
    assert plateau.get_last_lr() == [0.25]
    plateau.step(5.0)  # max(0.125, min_lr)
    assert plateau.get_last_lr() == [0.2]


def test_lr_changed_by_hand_carries_on():
    opt = make_opt()
    sched = S.ExponentialLR(opt, gamma=0.5)
    opt.param_groups[0]["lr"] = 4.0
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [2.0]


def test_step_with_epoch_uses_closed_form_and_warns():
    opt = make_opt()
    sched = S.StepLR(opt, step_size=2, gamma=0.1)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(5)
    assert sched.get_last_lr() == pytest.approx([0.01])


def test_state_dict_round_trip_through_save_load(tmp_path):
    for name in ("multistep", "onecycle", "lambda", "sequential"):
        opt = optim.SGD([{"params": [nn.Parameter(compat.ones(1))]},
                         {"params": [nn.Parameter(compat.ones(1))], "lr": 0.5}],
                        lr=1.0, momentum=0.9)
        sched = SCHEDULES[name](S, opt)
        for _ in range(6):
            opt.step()
            sched.step()
        compat.save({"sched": sched.state_dict(), "opt": opt.state_dict()},
                    tmp_path / "s.pt")
        ckpt = compat.load(tmp_path / "s.pt")
        opt2 = optim.SGD([{"params": [nn.Parameter(compat.ones(1))]},
                          {"params": [nn.Parameter(compat.ones(1))], "lr": 0.5}],
                         lr=1.0, momentum=0.9)
        sched2 = SCHEDULES[name](S, opt2)
        sched2.load_state_dict(ckpt["sched"])
        opt2.load_state_dict(ckpt["opt"])
        a, b = [], []
        for _ in range(5):
            for o, s, out in ((opt, sched, a), (opt2, sched2, b)):
                o.step()
                s.step()
                out.append(s.get_last_lr())
        assert a == b, name


def test_plateau_state_dict_round_trip(tmp_path):
    opt = make_opt()
    sched = S.ReduceLROnPlateau(opt, patience=1)
    sched.step(1.0)
    compat.save(sched.state_dict(), tmp_path / "p.pt")
    sched2 = S.ReduceLROnPlateau(make_opt(), patience=5)
    sched2.load_state_dict(compat.load(tmp_path / "p.pt"))
    assert sched2.best == 1.0 and sched2.patience == 1 and sched2.mode_worse == math.inf


def test_errors():
    opt = make_opt()
    with pytest.raises(TypeError, match="not an Optimizer"):
        S.StepLR(object(), 1)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(opt, 1, last_epoch=3)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(opt, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        S.StepLR(make_opt(), 1).step()
