"""compat.Tensor: construction and dtype inference, memory sharing, views and version
counters, repr, conversions, in-place ops, indexing, errors, pickling, pytree use."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import compat as torch
import functorch_lite as fl
import functorch_lite.numpy as fnp

# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], torch.float32), ([1, 2], torch.int64), ([True, False], torch.bool),
    (2.5, torch.float32), (3, torch.int64), ([1, 2.5], torch.float32),
    (np.zeros(2), torch.float64), (np.zeros(2, np.int32), torch.int32),
    ([np.float64(1.0)], torch.float64), (1 + 2j, torch.complex64),
])
def test_dtype_inference(data, dtype):
    assert torch.tensor(data).dtype is dtype


def test_basic_properties():
    t = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert t.shape == (2, 3) and isinstance(t.shape, torch.Size)
    assert repr(t.shape) == "torch.Size([2, 3])"
    assert t.size() == (2, 3) and t.size(1) == 3 and t.size(-2) == 2
    assert t.dim() == t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert torch.tensor([2.5]).item() == 2.5 and isinstance(torch.tensor(3).item(), int)
    with pytest.raises(RuntimeError, match="6 elements cannot be converted"):
        t.item()
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.size(2)


def test_numpy_memory_sharing():
    a = np.zeros(3, np.float32)
    t = torch.from_numpy(a)
    t.add_(1)
    assert a.tolist() == [1, 1, 1]
    a[0] = 7
    assert t[0].item() == 7
    assert t.numpy() is a
    assert torch.as_tensor(a).numpy() is a
    c = torch.tensor(a)  # tensor() copies
    a[1] = 9
    assert c[1].item() == 1
    with pytest.raises(RuntimeError, match="requires grad"):
        torch.ones(1, requires_grad=True).numpy()
    assert torch.ones(1, requires_grad=True).detach().numpy().tolist() == [1.0]
    assert torch.from_numpy(np.zeros(2)).dtype is torch.float64


def test_legacy_constructors_and_type():
    assert torch.Tensor([1, 2]).dtype is torch.float32
    assert torch.Tensor(2, 3).shape == (2, 3)
    assert torch.LongTensor([1, 2]).dtype is torch.int64
    assert torch.FloatTensor(3).shape == (3,)
    assert isinstance(torch.ones(1), torch.FloatTensor)
    assert not isinstance(torch.ones(1), torch.LongTensor)
    x = torch.tensor([1.7, -1.2])
    assert x.type() == "torch.FloatTensor"
    assert x.type(torch.long).tolist() == [1, -1]
    assert x.type(torch.LongTensor).dtype is torch.int64
    assert x.type("torch.DoubleTensor").dtype is torch.float64
    assert torch.tensor([1]).type(torch.float).dtype is torch.float32
    assert torch.autograd.Variable(x) is x


def test_dtypes_and_aliases():
    assert torch.float is torch.float32 and torch.double is torch.float64
    assert torch.long is torch.int64 and torch.int is torch.int32 and torch.short is torch.int16
    assert torch.half is torch.float16
    assert repr(torch.float32) == "torch.float32"
    assert np.zeros(2, torch.float64).dtype == np.float64
    assert pickle.loads(pickle.dumps(torch.int32)) is torch.int32
    assert torch.finfo(torch.float32).eps == np.finfo(np.float32).eps
    assert torch.iinfo(torch.int8).max == 127
    assert torch.promote_types(torch.int32, torch.float32) is torch.float32
    assert torch.tensor([1.0]).is_floating_point()
    assert torch.is_floating_point(torch.tensor([1.0]))


def test_set_default_dtype():
    try:
        torch.set_default_dtype(torch.float64)
        assert torch.tensor([1.0]).dtype is torch.float64
        assert torch.zeros(1).dtype is torch.float64
        assert repr(torch.tensor([1.0])) == "tensor([1.])"
    finally:
        torch.set_default_dtype(torch.float32)
    assert torch.get_default_dtype() is torch.float32


def test_conversions():
    x = torch.tensor([1.5, 2.5])
    assert x.float() is x
    assert x.double().dtype is torch.float64
    assert x.long().tolist() == [1, 2] and x.int().dtype is torch.int32
    assert x.bool().tolist() == [True, True]
    assert x.to(torch.float64).dtype is torch.float64
    assert x.to("cpu") is x and x.cpu() is x
    assert x.to("cpu", torch.float16).dtype is torch.float16
    assert x.to(torch.tensor([1])).dtype is torch.int64
    assert x.to(dtype=torch.float32, copy=True) is not x
    assert x.device == torch.device("cpu") and str(x.device) == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            x.cuda()
        with pytest.raises(RuntimeError, match="CUDA"):
            x.to("cuda")
    assert torch.device("cuda:1").index == 1 and torch.device("cuda", 0).type == "cuda"
    assert torch.tensor([1, 2]).to(float).dtype is torch.float64


# --------------------------------------------------------------------------- repr


@pytest.mark.parametrize("make, text", [
    (lambda: torch.tensor([1.0, 2.0], requires_grad=True),
     "tensor([1., 2.], requires_grad=True)"),
    (lambda: torch.tensor([0.1, 2.0]), "tensor([0.1000, 2.0000])"),
    (lambda: torch.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: torch.tensor(2.5), "tensor(2.5000)"),
    (lambda: torch.tensor([1.0, 2.0], dtype=torch.float64),
     "tensor([1., 2.], dtype=torch.float64)"),
    (lambda: torch.tensor([True, False]), "tensor([ True, False])"),
    (lambda: torch.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: torch.tensor([[1, 2], [3, 4]]), "tensor([[1, 2],\n        [3, 4]])"),
    (lambda: torch.zeros(0), "tensor([])"),
    (lambda: torch.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: torch.tensor([1, 2], dtype=torch.int32), "tensor([1, 2], dtype=torch.int32)"),
    (lambda: torch.tensor([-1.5, 10.0]), "tensor([-1.5000, 10.0000])"),
    (lambda: torch.tensor([float("nan"), 1.0]), "tensor([nan, 1.])"),
])
def test_repr(make, text):
    assert repr(make()) == text


def test_repr_grad_fn_and_summary():
    x = torch.ones(2, requires_grad=True)
    assert repr(x + x) == "tensor([2., 2.], grad_fn=<AddBackward0>)"
    assert repr((x * 2).sum()) == "tensor(4., grad_fn=<SumBackward0>)"
    big = repr(torch.arange(2000))
    assert "..." in big and big.startswith("tensor([   0,    1,    2,")
    assert f"{torch.tensor(2.0):.2f}" == "2.00"


# --------------------------------------------------------------------------- views


def test_views_share_memory_and_version():
    base = torch.arange(6.0)
    views = [base.view(2, 3), base.reshape(3, 2), base[1:4], base.view(2, 3).t(),
             base.unsqueeze(0), base.view(2, 3).permute(1, 0), base.narrow(0, 1, 2),
             base.view(2, 3)[1], base.view(2, 3).select(1, 2), base.view(2, 3).unbind(0)[1]]
    for v in views:
        before = base.clone()
        v.add_(1)
        assert not torch.equal(base, before)
        assert v._version == base._version
    b = base.view(2, 3)
    b[0, 0] = 100
    assert base[0].item() == 100
    assert base.view(2, 3).transpose(0, 1).is_contiguous() is False
    assert base.view(2, 3).t().contiguous().is_contiguous()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        base.view(2, 3).t().view(6)
    assert base.view(2, 3).t().reshape(6).tolist() == base.numpy().reshape(2, 3).T.ravel().tolist()
    assert base.view(-1, 2).shape == (3, 2)
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        base.view(4, -1)


def test_expand_is_a_broadcast_view():
    x = torch.tensor([[1], [2]])
    e = x.expand(2, 3)
    assert e.tolist() == [[1, 1, 1], [2, 2, 2]]
    x[0, 0] = 5
    assert e[0].tolist() == [5, 5, 5]
    with pytest.raises(RuntimeError, match="single memory location"):
        e.add_(1)
    with pytest.raises(RuntimeError, match="expanded size"):
        x.expand(3, 3)


def test_data_and_detach():
    x = torch.ones(2, requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.numpy() is x.detach().numpy()
    d.zero_()
    assert x.sum().item() == 0
    x.data = torch.tensor([3.0, 4.0])
    assert x.tolist() == [3.0, 4.0] and x.requires_grad
    d = x.detach()
    d[0] = 7.0  # not a view for autograd: allowed, and visible through x (shared memory)
    assert x[0].item() == 7.0 and x._version == d._version == 1


# --------------------------------------------------------------------------- in place


def test_inplace_ops():
    x = torch.tensor([1.0, -2.0, 3.0])
    assert x.add_(1) is x and x.tolist() == [2, -1, 4]
    x.sub_(1).mul_(2).div_(4)
    assert x.tolist() == [0.5, -1.0, 1.5]
    x.clamp_(-0.5, 1.0)
    assert x.tolist() == [0.5, -0.5, 1.0]
    x.add_(torch.ones(3), alpha=2)
    assert x.tolist() == [2.5, 1.5, 3.0]
    x.zero_()
    assert x.tolist() == [0, 0, 0]
    x.fill_(7)
    assert x.tolist() == [7, 7, 7]
    x.copy_(torch.tensor([1, 2, 3]))
    assert x.tolist() == [1, 2, 3] and x.dtype is torch.float32
    y = x
    y += 1
    assert y is x and x.tolist() == [2, 3, 4]
    x.pow_(2).sqrt_().neg_().abs_()
    assert x.tolist() == [2, 3, 4]
    i = torch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(1.5)
    i.mul_(3)
    assert i.tolist() == [3, 6]


def test_setitem_and_getitem():
    x = torch.zeros(3, 4)
    x[0] = 1
    x[1, 1:3] = torch.tensor([5.0, 6.0])
    x[:, -1] = torch.tensor([7.0, 8.0, 9.0])
    x[x == 0] = -1
    x[torch.tensor([2]), 0] = 3
    assert x.tolist() == [[1, 1, 1, 7], [-1, 5, 6, 8], [3, -1, -1, 9]]
    assert x[..., 1].tolist() == [1, 5, -1]
    assert x[None].shape == (1, 3, 4)
    assert x[[0, 2]][:, 0].tolist() == [1, 3]
    assert x[torch.tensor([[0, 1]])].shape == (1, 2, 4)
    assert x[1:, ::2].tolist() == [[-1, 6], [3, -1]]
    assert x[-1, -1].item() == 9
    with pytest.raises(IndexError):
        x[5]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    assert [r.tolist() for r in torch.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    assert 3 in torch.tensor([1, 3])


def test_out_argument():
    out = torch.empty(2)
    r = torch.add(torch.tensor([1.0, 2.0]), 1, out=out)
    assert r is out and out.tolist() == [2, 3]
    torch.mul(torch.ones(3), 2, out=out)  # resized, as PyTorch does
    assert out.tolist() == [2, 2, 2]
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torch.add(torch.ones(1, requires_grad=True), 1, out=torch.empty(1))


# --------------------------------------------------------------------------- semantics


def test_promotion():
    f32, f64 = torch.ones(2), torch.ones(2, dtype=torch.float64)
    i64 = torch.tensor([1, 2])
    assert (f32 + f64).dtype is torch.float64
    assert (i64 + f32).dtype is torch.float32
    assert (i64 * 2.5).dtype is torch.float32
    assert (f32 * np.float64(2.0)).dtype is torch.float32
    assert (i64 / 2).dtype is torch.float32 and (i64 / 2).tolist() == [0.5, 1.0]
    assert (i64 // 2).tolist() == [0, 1] and (i64 // 2).dtype is torch.int64
    assert (f32 + torch.tensor(1.0, dtype=torch.float64)).dtype is torch.float32
    assert (i64 + torch.tensor(1.5)).dtype is torch.float32
    assert (torch.tensor([True]) + 1).dtype is torch.int64
    assert (2 ** torch.tensor([1.0, 2.0])).tolist() == [2, 4]
    assert (1 - torch.tensor([1.0])).tolist() == [0]
    assert (np.ones(2, np.float32) * torch.ones(2)).__class__ is torch.Tensor


def test_errors_name_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add.*\(2,\).*\(3,\)"):
        torch.ones(2) + torch.ones(3)
    with pytest.raises(RuntimeError, match=r"shapes cannot be multiplied \(2x3 and 2x3\)"):
        torch.ones(2, 3) @ torch.ones(2, 3)
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        torch.stack([torch.ones(2), torch.ones(3)])
    with pytest.raises(RuntimeError, match="Boolean value of Tensor"):
        bool(torch.ones(2))


def test_pickle_and_deepcopy():
    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert torch.equal(x.detach(), y.detach()) and y.requires_grad and y.is_leaf
    z = copy.deepcopy(x)
    assert z is not x and torch.equal(z.detach(), x.detach()) and z.requires_grad
    z.data.add_(1)
    assert x[0, 0].item() == 1
    with pytest.raises(RuntimeError, match="deepcopy"):
        copy.deepcopy(x * 2)


def test_core_transforms_accept_tensors():
    x = torch.tensor([1.0, 2.0])
    g = fl.grad(lambda t: fnp.sum(fl.numpy.asarray(t) ** 2))(x)
    assert np.allclose(np.asarray(g.array if isinstance(g, torch.Tensor) else g), [2, 4])
    # a Tensor is a pytree node: the function sees a Tensor and may use compat ops
    g2 = fl.grad(lambda t: (t * t).sum().array)(x)
    assert isinstance(g2, torch.Tensor) and g2.tolist() == [2.0, 4.0]
    assert fl.jit(lambda a: fnp.sin(a))(x).shape == (2,)
    assert np.asarray(x).tolist() == [1.0, 2.0]


def test_subclass_is_pytree_node():
    class Param(torch.Tensor):
        pass

    p = torch.ones(2).as_subclass(Param)
    leaves, tree = fl.tree.flatten({"p": p})
    assert len(leaves) == 1 and isinstance(fl.tree.unflatten(tree, leaves)["p"], Param)


def test_creation_functions():
    assert torch.zeros(2, 3).shape == (2, 3) and torch.zeros((2, 3)).dtype is torch.float32
    assert torch.ones(2, dtype=torch.long).tolist() == [1, 1]
    assert torch.full((2,), 7).dtype is torch.int64
    assert torch.full((2,), 1.5).tolist() == [1.5, 1.5]
    assert torch.arange(5).tolist() == [0, 1, 2, 3, 4] and torch.arange(5).dtype is torch.int64
    assert torch.arange(1, 2, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75]
    assert torch.arange(0, 1, 0.1).shape == (10,)
    assert torch.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert torch.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    x = torch.tensor([1, 2])
    assert torch.zeros_like(x).dtype is torch.int64 and torch.ones_like(x).tolist() == [1, 1]
    assert torch.full_like(x, 3).tolist() == [3, 3] and torch.empty_like(x).shape == (2,)
    assert x.new_zeros(3).dtype is torch.int64 and x.new_ones((1, 2)).shape == (1, 2)
    assert x.new_tensor([1.5]).dtype is torch.int64
    assert torch.ones(2, requires_grad=True).requires_grad
    assert torch.tril_indices(3, 3).shape == (2, 6)
