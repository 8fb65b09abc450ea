"""compat.func: torch.func's transforms over the core's, on tensors and on modules
(functional_call against a minimal stand-in with PyTorch's Module interface)."""

from __future__ import annotations

import numpy as np
import pytest

import compat as torch
import functorch_lite as fl
from compat import func
from compat.tensor import wrap

R = np.random.RandomState(2)


class TinyLinear:
    """The part of nn.Module's interface functional_call relies on: named_parameters,
    named_buffers, attribute access and __call__ (parameters in a private dict, read
    through __getattr__, as PyTorch's Module stores them)."""

    def __init__(self, n_in, n_out):
        self._params = {"weight": torch.tensor(R.randn(n_out, n_in).astype(np.float32),
                                               requires_grad=True),
                        "bias": torch.zeros(n_out, requires_grad=True)}
        self._buffers = {"scale": torch.tensor(2.0)}

    def __getattr__(self, name):
        for d in ("_params", "_buffers"):
            store = self.__dict__.get(d, {})
            if name in store:
                return store[name]
        raise AttributeError(name)

    def named_parameters(self):
        return list(self._params.items())

    def named_buffers(self):
        return list(self._buffers.items())

    def __call__(self, x):
        return (x @ self.weight.t() + self.bias) * self.scale


class Outer:
    def __init__(self):
        self.inner = TinyLinear(3, 2)

    def named_parameters(self):
        return [("inner." + k, v) for k, v in self.inner.named_parameters()]

    def named_buffers(self):
        return [("inner." + k, v) for k, v in self.inner.named_buffers()]

    def __call__(self, x):
        return self.inner(x).sum(-1)


def test_transforms_closed_forms():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert func.grad(lambda t: (t ** 2).sum())(x).tolist() == [2, 4, 6]
    g, v = func.grad_and_value(lambda t: (t ** 2).sum())(x)
    assert g.tolist() == [2, 4, 6] and v.item() == 14
    (g,), aux = func.grad(lambda t: ((t * t).sum(), t.mean()), argnums=(0,), has_aux=True)(x)
    assert g.tolist() == [2, 4, 6] and aux.item() == 2
    out, vjp_fn = func.vjp(lambda t: t.sin(), x)
    (ct,) = vjp_fn(torch.ones(3))
    np.testing.assert_allclose(ct.numpy(), np.cos([1.0, 2.0, 3.0]), rtol=1e-6)
    y, t = func.jvp(lambda a: a * a, (x,), (torch.ones(3),))
    assert y.tolist() == [1, 4, 9] and t.tolist() == [2, 4, 6]
    jr = func.jacrev(lambda a: a ** 2)(x)
    jf = func.jacfwd(lambda a: a ** 2)(x)
    assert jr.tolist() == jf.tolist() == np.diag([2.0, 4.0, 6.0]).tolist()
    h = func.hessian(lambda a: (a ** 3).sum())(x)
    assert h.tolist() == np.diag([6.0, 12.0, 18.0]).tolist()
    gg = func.grad(func.grad(lambda a: (a ** 3).sum()))  # second derivative of a scalar fn
    assert gg(torch.tensor(2.0)).item() == 12


def test_vmap_dims():
    a = torch.tensor(R.randn(4, 3).astype(np.float32))
    b = torch.tensor(R.randn(3).astype(np.float32))
    out = func.vmap(torch.dot, in_dims=(0, None))(a, b)
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-5)
    out = func.vmap(lambda r: r * 2, in_dims=1, out_dims=1)(a)
    assert torch.allclose(out, a * 2)
    per_ex = func.vmap(func.grad(lambda w, x: (w * x).sum().tanh()), in_dims=(None, 0))(b, a)
    expected = (1 - np.tanh(a.numpy() @ b.numpy()) ** 2)[:, None] * a.numpy()
    np.testing.assert_allclose(per_ex.numpy(), expected, rtol=1e-5)


def test_functional_call_swaps_and_restores():
    m = TinyLinear(3, 2)
    x = torch.ones(1, 3)
    w0 = m.weight
    params = {"weight": torch.zeros(2, 3), "bias": torch.ones(2)}
    out = func.functional_call(m, params, (x,))
    assert out.tolist() == [[2.0, 2.0]]
    assert m.weight is w0  # restored
    out = func.functional_call(m, ({"weight": torch.zeros(2, 3)}, {"scale": torch.tensor(3.0)}),
                               x)
    assert out.tolist() == [[0.0, 0.0]]  # bias stays the module's zeros
    with pytest.raises(RuntimeError, match="missing keys"):
        func.functional_call(m, {"weight": torch.zeros(2, 3)}, (x,), strict=True)
    with pytest.raises(ValueError, match="multiple dictionaries"):
        func.functional_call(m, ({"bias": torch.ones(2)}, {"bias": torch.ones(2)}), (x,))


def test_functional_call_gradients():
    m = Outer()
    x = torch.tensor(R.randn(5, 3).astype(np.float32))
    params = {k: v.detach() for k, v in m.named_parameters()}

    def loss(p, xb):
        return func.functional_call(m, p, (xb,)).pow(2).mean()

    g = func.grad(loss)(params, x)
    # the same gradient from eager autograd on the module's own parameters
    loss_eager = m(x).pow(2).mean()
    loss_eager.backward()
    for k, v in m.named_parameters():
        np.testing.assert_allclose(g[k].numpy(), v.grad.numpy(), rtol=1e-5, atol=1e-6)
    # eager autograd through functional_call reaches the tensors passed in
    p2 = {k: v.detach().clone().requires_grad_() for k, v in m.named_parameters()}
    loss(p2, x).backward()
    for k, v in m.named_parameters():
        np.testing.assert_allclose(p2[k].grad.numpy(), v.grad.numpy(), rtol=1e-5, atol=1e-6)
    # per-example gradients: vmap over the batch of grad of a one-example loss
    per_ex = func.vmap(func.grad(lambda p, xi: loss(p, xi.unsqueeze(0))),
                       in_dims=(None, 0))(params, x)
    np.testing.assert_allclose(per_ex["inner.weight"].numpy().mean(0),
                               g["inner.weight"].numpy(), rtol=1e-4, atol=1e-6)
    assert per_ex["inner.bias"].shape == (5, 2)


def test_compat_code_traces_under_core_transforms():
    def h(t):  # views, setitem, in-place, cat, reductions: all run on traced values too
        y = t.view(2, 3).t() * 2
        y[0] = y[1] * 3 + 1  # (y[0] * y[0] would read a value changed in place: an error,
        # as in PyTorch)
        z = y.clamp(min=0.5).sum(0)
        w = torch.cat([z, z.max().unsqueeze(0)])
        w.add_(1)
        return (w.log_softmax(0) * torch.arange(w.shape[0])).sum()

    x = torch.tensor([0.1, 0.7, 0.2, 0.4, 0.3, 0.9], requires_grad=True)
    h(x).backward()
    g = func.grad(h)(x.detach())
    np.testing.assert_allclose(g.numpy(), x.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert float(fl.jit(lambda t: h(t).array)(x.detach())) == pytest.approx(h(x).item(),
                                                                           rel=1e-6)


def test_no_grad_as_bare_decorator():
    @torch.no_grad
    def f(t):
        return t * 2

    assert not f(torch.ones(1, requires_grad=True)).requires_grad and f.__name__ == "f"


def test_backward_traces_inside_jit():
    """Eager autograd on tensors holding traced values: loss.backward() inside fl.jit stages
    forward and backward as one program (what compat.compile builds on)."""

    def step(w, x):
        weight = wrap(w).requires_grad_(True)
        loss = ((wrap(x) @ weight).tanh() ** 2).sum()
        loss.backward()
        return loss.array, weight.grad.array

    w = R.randn(3, 2).astype(np.float32)
    x = R.randn(4, 3).astype(np.float32)
    loss, g = fl.jit(step)(w, x)
    weight = torch.tensor(w, requires_grad=True)
    eager = ((torch.tensor(x) @ weight).tanh() ** 2).sum()
    eager.backward()
    assert float(loss) == pytest.approx(eager.item(), rel=1e-6)
    np.testing.assert_allclose(np.asarray(g), weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert "pow" not in str(fl.make_ir(step)(w, x))  # x ** 2 is a product both ways
