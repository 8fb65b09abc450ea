"""compat.nn.Module: registration and naming, state_dict / load_state_dict reports, modes,
hooks, freezing, devices and dtypes, repr, containers, and Modules as pytrees for the
core's transforms (PyTorch as an optional oracle for names, orders and reprs)."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import compat as torch
import functorch_lite as fl
from compat import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.body = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 3))
        self.register_buffer("scale", torch.ones(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)
        self.head = nn.ModuleDict({"a": nn.Linear(3, 2)})

    def forward(self, x):
        h = self.bn(self.conv(x)).relu().flatten(1)
        return self.head["a"](self.body(h[:, :8]) * self.scale)


def torch_net(tnn):
    """The same architecture written against real PyTorch."""
    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv = tnn.Conv2d(1, 2, 3)
            self.bn = tnn.BatchNorm2d(2)
            self.body = tnn.Sequential(tnn.Linear(8, 4), tnn.ReLU(), tnn.Linear(4, 3))
            self.register_buffer("scale", real_torch().ones(1))
            self.register_buffer("cache", real_torch().zeros(2), persistent=False)
            self.head = tnn.ModuleDict({"a": tnn.Linear(3, 2)})
    return TNet()


def real_torch():
    return pytest.importorskip("torch")


def test_names_and_order():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == [
        "conv.weight", "conv.bias", "bn.weight", "bn.bias", "body.0.weight", "body.0.bias",
        "body.2.weight", "body.2.bias", "head.a.weight", "head.a.bias"]
    assert [n for n, _ in m.named_buffers()] == [
        "scale", "cache", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert list(m.state_dict()) == [
        "scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
        "bn.running_var", "bn.num_batches_tracked", "body.0.weight", "body.0.bias",
        "body.2.weight", "body.2.bias", "head.a.weight", "head.a.bias"]
    assert [n for n, _ in m.named_modules()] == ["", "conv", "bn", "body", "body.0", "body.1",
                                                "body.2", "head", "head.a"]
    assert [n for n, _ in m.named_children()] == ["conv", "bn", "body", "head"]
    assert len(list(m.parameters())) == 10 and len(list(m.modules())) == 9


def test_names_match_pytorch():
    t = real_torch()
    ours, theirs = Net(), torch_net(t.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for (n, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape), n
        assert str(a.dtype) == str(b.dtype), n


def test_repr_matches_pytorch():
    t = real_torch()
    assert repr(Net()).replace("Net(", "X(") == repr(torch_net(t.nn)).replace("TNet(", "X(")
    assert repr(nn.ModuleList([nn.Linear(2, 2)] * 3)) == repr(
        t.nn.ModuleList([t.nn.Linear(2, 2)] * 3))


def test_shared_parameters_listed_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_bookkeeping_and_errors():
    m = nn.Module()
    m.w = nn.Parameter(torch.ones(2))
    m.sub = nn.Linear(1, 1)
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"]
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' as parameter 'w'"):
        m.w = torch.ones(2)
    m.w = None
    assert m.w is None and list(m.parameters()) == list(m.sub.parameters())
    with pytest.raises(TypeError, match="child module 'sub'"):
        m.sub = 3
    m.register_buffer("b", torch.zeros(1))
    m.b = torch.ones(1)  # a registered buffer name takes tensors
    assert m.b.item() == 1.0
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", torch.zeros(1))
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        _ = m.nope
    del m.sub
    assert "sub" not in dict(m.named_children())

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(torch.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_load_state_dict_strict_report():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    w = b.weight
    assert repr(b.load_state_dict(a.state_dict())) == "<All keys matched successfully>"
    assert b.weight is w and torch.equal(b.weight, a.weight)  # copied in place
    sd = a.state_dict()
    del sd["bias"]
    sd["extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError) as e:
        b.load_state_dict(sd)
    assert str(e.value) == ('Error(s) in loading state_dict for Linear:\n\tMissing key(s) in '
                            'state_dict: "bias". \n\tUnexpected key(s) in state_dict: '
                            '"extra". ')
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]
    assert repr(res) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['extra'])"
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with "
                       r"shape torch.Size\(\[2, 2\]\) from checkpoint, the shape in current "
                       r"model is torch.Size\(\[2, 3\]\)"):
        b.load_state_dict({"weight": torch.zeros(2, 2), "bias": torch.zeros(2)}, strict=False)


def test_load_state_dict_message_matches_pytorch():
    t = real_torch()
    ours, theirs = nn.Linear(3, 2), t.nn.Linear(3, 2)
    bad = {"weight": t.zeros(2, 3), "extra": t.zeros(1)}
    with pytest.raises(RuntimeError) as te:
        theirs.load_state_dict(bad)
    with pytest.raises(RuntimeError) as oe:
        ours.load_state_dict({k: torch.tensor(v.numpy()) for k, v in bad.items()})
    assert str(oe.value) == str(te.value)


def test_state_dict_is_detached_and_shares_memory():
    lin = nn.Linear(2, 2)
    sd = lin.state_dict()
    assert not sd["weight"].requires_grad
    sd["weight"][0, 0] = 5.0
    assert lin.weight[0, 0].item() == 5.0
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight


def test_train_eval_apply_and_zero_grad():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert m.training and m[1].training
    assert m.eval() is m and not m[1].training
    m.train()
    assert m[1].training
    with pytest.raises(ValueError):
        m.train("yes")
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Dropout", "Sequential"]
    m(torch.ones(1, 2)).sum().backward()
    assert m[0].weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert float(m[0].weight.grad.abs().sum()) == 0.0
    m.zero_grad()
    assert m[0].weight.grad is None


def test_forward_hooks_and_handles():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda mod, args: calls.append("pre"))
    h2 = lin.register_forward_hook(lambda mod, args, out: calls.append(("post", out.shape)))
    h3 = lin.register_forward_hook(lambda mod, args, out: out * 0)
    out = lin(torch.ones(1, 2))
    assert calls == ["pre", ("post", torch.Size([1, 2]))]
    assert float(out.abs().sum()) == 0.0
    h3.remove()
    h1.remove()
    h2.remove()
    calls.clear()
    assert float(lin(torch.ones(1, 2)).abs().sum()) > 0 and calls == []
    # a pre-hook replacing the input, kwargs hooks, prepend order
    order = []
    lin.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    lin.register_forward_hook(lambda mod, args, out: order.append("b"))
    lin.register_forward_hook(lambda mod, args, out: order.append("a"), prepend=True)
    lin.register_forward_hook(lambda mod, args, kwargs, out: order.append(sorted(kwargs)),
                              with_kwargs=True)
    assert torch.allclose(lin(torch.ones(1, 2)), lin.bias)
    assert order == ["a", "b", []]


def test_feature_extraction_hook_on_named_module():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    feats = {}
    for name, mod in model.named_modules():
        if isinstance(mod, nn.ReLU):
            mod.register_forward_hook(lambda m, i, o, name=name: feats.update({name: o}))
    model(torch.randn(5, 4))
    assert list(feats) == ["1"] and feats["1"].shape == (5, 3)


def test_requires_grad_freezes():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1))
    model[0].requires_grad_(False)
    model(torch.randn(4, 3)).sum().backward()
    assert model[0].weight.grad is None and model[1].weight.grad is not None
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]


def test_to_keeps_parameter_objects():
    lin = nn.Linear(2, 2)
    w = lin.weight
    lin.weight.grad = torch.ones(2, 2)
    assert lin.double() is lin and lin.weight is w
    assert lin.weight.dtype == torch.float64 and lin.weight.grad.dtype == torch.float64
    assert isinstance(lin.weight, nn.Parameter) and lin.weight.requires_grad
    lin.to(torch.float32).to("cpu").cpu().float()
    assert lin.weight.dtype == torch.float32
    bn = nn.BatchNorm1d(2).double()
    assert bn.num_batches_tracked.dtype == torch.int64  # integer buffers are not cast
    with pytest.raises(TypeError, match="floating point"):
        lin.to(torch.int64)


def test_deepcopy_is_independent():
    m = nn.Sequential(nn.Linear(2, 2))
    c = copy.deepcopy(m)
    assert isinstance(c[0].weight, nn.Parameter)
    with torch.no_grad():
        c[0].weight.fill_(0.0)
    assert float(m[0].weight.abs().sum()) > 0


def test_sequential_indexing_and_editing():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(s[-1], nn.Linear) and s[-1].out_features == 1
    head = s[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert head(torch.ones(4, 2)).shape == (4, 3)
    s.append(nn.Sigmoid())
    del s[1]
    assert [n for n, _ in s.named_children()] == ["0", "1", "2"]
    assert isinstance(s[1], nn.Linear)
    s[2] = nn.Tanh()
    assert isinstance(s[2], nn.Tanh)
    s.insert(0, nn.Identity())
    assert isinstance(s[0], nn.Identity) and len(s) == 4
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    assert [n for n, _ in od.named_parameters()] == ["fc.weight", "fc.bias"]
    assert od.fc.in_features == 1


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    assert len(ml) == 5 and isinstance(ml[-1], nn.Tanh)
    del ml[0]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3"]
    md = nn.ModuleDict({"x": nn.Linear(1, 2)})
    md["y"] = nn.ReLU()
    assert list(md.keys()) == ["x", "y"] and "x" in md and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["x.weight", "x.bias"]
    pl = nn.ParameterList([torch.ones(2), nn.Parameter(torch.zeros(1))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2


def test_parameter_basics():
    t = torch.ones(2)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and isinstance(p, torch.Tensor)
    p.data[0] = 3.0
    assert t[0].item() == 3.0  # shares memory
    assert repr(nn.Parameter(torch.zeros(2))) == (
        "Parameter containing:\ntensor([0., 0.], requires_grad=True)")
    assert not nn.Parameter(torch.ones(1), requires_grad=False).requires_grad


def test_module_is_a_pytree_for_fl_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x, y = torch.randn(5, 3), torch.randn(5, 1)

    def loss(m, x, y):
        return ((m(x) - y) ** 2).mean()

    grads = fl.grad(loss)(model, x, y)
    assert type(grads) is nn.Sequential and isinstance(grads[0].weight, nn.Parameter)
    assert [n for n, _ in grads.named_parameters()] == [n for n, _ in model.named_parameters()]
    loss(model, x, y).backward()
    for (n, g), (_, p) in zip(grads.named_parameters(), model.named_parameters()):
        np.testing.assert_allclose(np.asarray(g.array), p.grad.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=n)
    leaves = fl.tree.leaves(model)
    assert len(leaves) == 4 and all(isinstance(a, np.ndarray) for a in leaves)
    # the original is untouched; tree_map builds a new model of the same type
    doubled = fl.tree.map(lambda a: a * 2, model)
    np.testing.assert_allclose(doubled[0].weight.numpy(force=True),
                               2 * model[0].weight.numpy(force=True))
    assert doubled[0].weight is not model[0].weight


def test_fl_jit_over_a_module():
    lin = nn.Linear(3, 2)
    x = torch.randn(4, 3)
    out = fl.jit(lambda m, x: m(x).array)(lin, x)
    np.testing.assert_allclose(out, lin(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_fl_grad_over_a_model_with_batchnorm():
    """Integer buffers (num_batches_tracked) are structure, not leaves, so fl.grad takes a
    model with BatchNorm; its gradients equal eager backward's."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(),
                          nn.Linear(32, 3))
    x, y = torch.randn(4, 1, 6, 6), torch.tensor([0, 1, 2, 0])

    def loss(m):
        return torch.nn.functional.cross_entropy(m(x), y)

    grads = fl.grad(loss)(model)
    assert "1.num_batches_tracked" in grads.state_dict()
    assert float(model[1].running_mean.abs().sum()) == 0.0  # the traced copy was updated
    loss(model).backward()
    for (n, g), (_, p) in zip(grads.named_parameters(), model.named_parameters()):
        np.testing.assert_allclose(np.asarray(g.array), p.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=n)
