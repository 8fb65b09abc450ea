"""compat.compile: forward, gradients and optimizer steps equal eager; BatchNorm buffers
written back; retrace only on new shapes/dtypes/modes; eager fallback with one warning;
functions (arguments and closures); the compiled module's Module surface; graph errors."""

from __future__ import annotations

import doctest
import importlib
import warnings

import numpy as np
import pytest

import compat
import compat.nn.functional as F
from compat import nn, optim


class Small(nn.Module):
    """conv -> BatchNorm -> ReLU -> pool -> linear: every kind of state compile handles."""

    def __init__(self):
        super().__init__()
        # no bias before BatchNorm: its gradient would be pure rounding noise, which Adam's
        # normalisation turns into steps of +-lr, so eager and compiled code that round
        # differently (the LLVM backend fuses and reassociates) would drift apart
        self.conv = nn.Conv2d(1, 3, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 3 * 3, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.flatten(1))


def pair(cls=Small):
    compat.manual_seed(0)
    a = cls()
    compat.manual_seed(0)
    b = cls()
    return a, b


def data(n=8, seed=0):
    rng = np.random.RandomState(seed)
    return (compat.tensor(rng.randn(n, 1, 6, 6).astype(np.float32)),
            compat.tensor(rng.randint(0, 4, n)))


def assert_close(a, b, tol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_forward_gradients_and_steps_match_eager():
    eager, model = pair()
    compiled = compat.compile(model)
    opts = [optim.Adam(eager.parameters(), lr=0.01), optim.Adam(compiled.parameters(), lr=0.01)]
    x, y = data()
    for _ in range(3):
        losses = []
        for m, opt in zip((eager, compiled), opts):
            opt.zero_grad()
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            losses.append(loss)
            grads = [p.grad for p in m.parameters()]
            opt.step()
        assert_close(*losses)
        for ge, gc in zip([p.grad for p in eager.parameters()], grads):
            assert_close(ge, gc)
    for pe, pc in zip(eager.parameters(), model.parameters()):
        assert_close(pe, pc)
    # BatchNorm's running statistics were written back into the module's buffers
    for be, bc in zip(eager.buffers(), model.buffers()):
        assert_close(be, bc)
    assert int(model.bn.num_batches_tracked) == 3
    eager.eval()
    compiled.eval()
    with compat.no_grad():
        assert_close(eager(x), compiled(x))


def test_input_gradients_and_non_scalar_outputs():
    eager, model = pair()
    compiled = compat.compile(model)
    x, _ = data()
    xe, xc = x.clone().requires_grad_(), x.clone().requires_grad_()
    w = compat.randn(8, 4)
    (eager(xe) * w).sum().backward()
    out = compiled(xc)
    assert out.grad_fn.name() == "CompiledFunctionBackward"
    out.backward(w)
    assert_close(xe.grad, xc.grad)


def test_retrace_rules():
    _, model = pair()
    compiled = compat.compile(model)
    x, y = data()
    for _ in range(3):
        compiled(x).sum().backward()
    progs = compiled.compiled.programs
    assert len(progs) == 1
    (prog,) = progs.values()
    assert prog.forward.trace_count == 1 and prog.backward.trace_count == 1
    compiled(data(n=5)[0])                 # a new batch size
    compiled(x.double().float())           # same signature again: no retrace
    assert len(progs) == 2
    compiled.eval()                        # train/eval flags select the program
    compiled(x)
    assert len(progs) == 3
    with compat.no_grad():                 # forward-only program
        compiled(x)
    assert len(progs) == 4
    model.double()
    compiled(x.double())                   # new dtypes
    assert len(progs) == 5


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        h = self.lin(x)
        if h.sum() > 0:   # Python control flow on a tensor value: not traceable
            return h.relu()
        return -h


def test_fallback_warns_once_and_matches_eager():
    eager, model = pair(DataDependent)
    compiled = compat.compile(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in (2, 3, 2):
            x = compat.randn(n, 3)
            assert_close(compiled(x), eager(x))
    msgs = [str(w.message) for w in caught if "compat.compile" in str(w.message)]
    assert len(msgs) == 1 and "DataDependent" in msgs[0] and "eagerly" in msgs[0]
    with pytest.raises(TypeError):
        compat.compile(model, fullgraph=True)(compat.randn(2, 3))


def test_dropout_in_training_falls_back_and_eval_compiles():
    compiled = compat.compile(nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)))
    with pytest.warns(UserWarning, match="random numbers"):
        compiled(compat.ones(4, 3))
    compiled.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(compat.ones(4, 3))
    assert [p is not None for p in compiled.compiled.programs.values()] == [False, True]


def test_functions_arguments_statics_and_closures():
    @compat.compile
    def f(x, y, scale=2.0):
        return (x * y).sin().sum() * scale

    x = compat.randn(5, requires_grad=True)
    y = compat.randn(5)
    f(x, y, scale=3.0).backward()
    g = x.grad.clone()
    x.grad = None
    ((x * y).sin().sum() * 3.0).backward()
    assert_close(g, x.grad)
    assert f.__name__ == "f" and f(x, y).shape == ()

    model = nn.Linear(3, 1)

    def loss_fn(inp, target):
        return ((model(inp) - target) ** 2).mean()

    compiled = compat.compile(loss_fn)
    inp, target = compat.randn(4, 3), compat.randn(4, 1)
    compiled(inp, target).backward()
    g = model.weight.grad.clone()
    model.zero_grad()
    loss_fn(inp, target).backward()
    assert_close(g, model.weight.grad)
    with compat.no_grad():
        model.weight.fill_(0.5)   # the closure's parameters are inputs, not constants
    assert_close(compiled(inp, target), loss_fn(inp, target))


def test_compiled_module_surface():
    inner = nn.Linear(2, 3)
    compiled = compat.compile(inner)
    assert isinstance(compiled, nn.Module) and compiled._orig_mod is inner
    assert compiled.in_features == 2 and compiled.weight is inner.weight
    assert list(compiled.state_dict()) == ["_orig_mod.weight", "_orig_mod.bias"]
    assert len(list(compiled.parameters())) == 2
    compiled.eval()
    assert not inner.training
    assert compat.compile(inner, disable=True) is inner
    assert compat.compile(inner, backend="eager") is inner
    assert compat.compile()(inner)._orig_mod is inner


def test_graph_errors():
    compiled = compat.compile(nn.Linear(2, 2))
    out = compiled(compat.ones(1, 2)).sum()
    out.backward(retain_graph=True)
    out.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()
    out = compiled(compat.ones(1, 2)).sum()
    with compat.no_grad():
        compiled.weight.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_llvm_backend():
    pytest.importorskip("llvmlite")
    eager, model = pair(lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)))
    compiled = compat.compile(model, backend="llvm")
    x, y = compat.randn(5, 4), compat.tensor([0, 1, 2, 0, 1])
    F.cross_entropy(compiled(x), y).backward()
    F.cross_entropy(eager(x), y).backward()
    for a, b in zip(eager.parameters(), model.parameters()):
        assert_close(a.grad, b.grad)


def test_docstring_examples():
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    module = importlib.import_module("compat.compile")  # the module, not the function
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, "compat.compile"):
        test.globs.update({"compat": compat, "np": np, "nn": nn})
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
