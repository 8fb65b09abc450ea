"""compat random sampling: reproducibility from manual_seed and Generator, ranges, dtypes,
the in-place samplers, distributions' moments."""

from __future__ import annotations

import numpy as np
import pytest

import compat as torch


def test_manual_seed_reproduces():
    torch.manual_seed(123)
    a = (torch.rand(3), torch.randn(2, 2), torch.randint(0, 10, (4,)), torch.randperm(6))
    torch.manual_seed(123)
    b = (torch.rand(3), torch.randn(2, 2), torch.randint(0, 10, (4,)), torch.randperm(6))
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert torch.initial_seed() == 123


def test_generator_is_independent():
    g1 = torch.Generator().manual_seed(7)
    torch.manual_seed(0)
    x = torch.rand(4, generator=g1)
    torch.rand(10)  # the default stream does not disturb g1
    g2 = torch.Generator().manual_seed(7)
    assert torch.equal(x, torch.rand(4, generator=g2))
    state = g2.get_state()
    y = torch.randn(3, generator=g2)
    g2.set_state(state)
    assert torch.equal(y, torch.randn(3, generator=g2))
    assert isinstance(torch.Generator().manual_seed(1), torch.Generator)


def test_ranges_and_dtypes():
    torch.manual_seed(0)
    u = torch.rand(1000)
    assert u.dtype is torch.float32 and 0 <= u.min().item() and u.max().item() < 1
    n = torch.randn(20000, dtype=torch.float64)
    assert n.dtype is torch.float64
    assert abs(n.mean().item()) < 0.05 and abs(n.std().item() - 1) < 0.05
    r = torch.randint(3, 7, (500,))
    assert r.dtype is torch.int64 and set(r.tolist()) == {3, 4, 5, 6}
    assert torch.randint(5, (3,)).max().item() < 5
    assert sorted(torch.randperm(10).tolist()) == list(range(10))
    like = torch.zeros(2, 3, dtype=torch.float64)
    assert torch.rand_like(like).dtype is torch.float64 and torch.randn_like(like).shape == (2, 3)
    assert torch.rand(2, 3, requires_grad=True).requires_grad
    m = torch.normal(torch.tensor([0.0, 100.0]), torch.tensor([1.0, 0.0]))
    assert m[1].item() == 100.0
    b = torch.bernoulli(torch.tensor([0.0, 1.0, 1.0]))
    assert b.tolist() == [0, 1, 1]
    s = torch.multinomial(torch.tensor([[0.0, 1.0, 0.0]]), 2, replacement=True)
    assert s.tolist() == [[1, 1]]
    with pytest.raises(RuntimeError, match="without replacement"):
        torch.multinomial(torch.tensor([0.0, 1.0]), 2)


def test_inplace_samplers():
    torch.manual_seed(0)
    t = torch.empty(2000)
    assert t.uniform_(-2, 3) is t
    assert -2 <= t.min().item() and t.max().item() < 3 and abs(t.mean().item() - 0.5) < 0.1
    t.normal_(5.0, 0.5)
    assert abs(t.mean().item() - 5) < 0.05 and abs(t.std().item() - 0.5) < 0.05
    t.bernoulli_(0.25)
    assert set(np.unique(t.numpy()).tolist()) <= {0.0, 1.0} and abs(t.mean().item() - 0.25) < 0.05
    i = torch.empty(100, dtype=torch.int64).random_(0, 4)
    assert set(i.tolist()) <= {0, 1, 2, 3}
    assert torch.empty((), dtype=torch.int64).random_().item() >= 0
    e = torch.empty(3000).exponential_(2.0)
    assert e.min().item() >= 0 and abs(e.mean().item() - 0.5) < 0.05
    w = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.uniform_()
    with torch.no_grad():
        w.uniform_()
    assert w.requires_grad
