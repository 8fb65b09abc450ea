"""compat.nn.init: bounds and moments of the samplers, PyTorch's gains and fans,
reproducibility from compat.manual_seed, in-place under no_grad on parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

import compat as torch
from compat import nn
from compat.nn import init


def test_fans_and_gains_match_pytorch():
    assert init.calculate_fan_in_and_fan_out(torch.empty(4, 3)) == (3, 4)
    assert init.calculate_fan_in_and_fan_out(torch.empty(8, 2, 3, 3)) == (18, 72)
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == math.sqrt(1 / 3)
    assert init.calculate_gain("selu") == 0.75 and init.calculate_gain("conv2d") == 1
    with pytest.raises(ValueError):
        init.calculate_fan_in_and_fan_out(torch.empty(3))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swishy")
    t = pytest.importorskip("torch")
    for name, param in [("relu", None), ("leaky_relu", 0.2), ("tanh", None), ("selu", None)]:
        assert init.calculate_gain(name, param) == t.nn.init.calculate_gain(name, param)


def test_bounds_and_moments():
    torch.manual_seed(0)
    w = torch.empty(200, 300)
    init.xavier_uniform_(w, gain=2.0)
    a = 2.0 * math.sqrt(6 / 500)
    assert float(w.abs().max()) <= a and float(w.abs().max()) > 0.95 * a
    init.xavier_normal_(w)
    np.testing.assert_allclose(float(w.std()), math.sqrt(2 / 500), rtol=0.05)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    np.testing.assert_allclose(float(w.std()), math.sqrt(2 / 200), rtol=0.05)
    init.kaiming_uniform_(w, nonlinearity="relu")
    assert float(w.abs().max()) <= math.sqrt(6 / 300)
    init.trunc_normal_(w, mean=1.0, std=2.0, a=-1.0, b=2.0)
    assert -1.0 <= float(w.min()) and float(w.max()) <= 2.0
    init.normal_(w, 3.0, 0.5)
    np.testing.assert_allclose([float(w.mean()), float(w.std())], [3.0, 0.5], rtol=0.02)
    init.uniform_(w, -2, -1)
    assert -2 <= float(w.min()) and float(w.max()) < -1
    init.constant_(w, 0.3)
    assert float(w.min()) == float(w.max()) == pytest.approx(0.3)
    q = init.orthogonal_(torch.empty(3, 5), gain=2.0)
    np.testing.assert_allclose((q @ q.T).numpy(), 4 * np.eye(3), atol=1e-5)
    assert init.eye_(torch.empty(2, 3)).tolist() == [[1, 0, 0], [0, 1, 0]]
    d = init.dirac_(torch.empty(2, 2, 3))
    assert d[:, :, 1].tolist() == [[1, 0], [0, 1]] and float(d.sum()) == 2
    s = init.sparse_(torch.empty(10, 4), 0.3)
    assert all(int((s[:, j] == 0).sum()) == 3 for j in range(4))


def test_in_place_on_parameters_and_reproducible():
    lin = nn.Linear(4, 4)
    w = lin.weight
    torch.manual_seed(5)
    init.kaiming_uniform_(lin.weight)
    first = lin.weight.clone()
    torch.manual_seed(5)
    init.kaiming_uniform_(lin.weight)
    assert lin.weight is w and torch.equal(lin.weight, first)
    assert lin.weight.requires_grad and lin.weight.is_leaf
    g = torch.Generator().manual_seed(1)
    a = init.normal_(torch.empty(3), generator=g)
    b = init.normal_(torch.empty(3), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    torch.manual_seed(9)
    m1 = nn.Sequential(nn.Linear(3, 3), nn.Conv2d(1, 2, 3))
    torch.manual_seed(9)
    m2 = nn.Sequential(nn.Linear(3, 3), nn.Conv2d(1, 2, 3))
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)
