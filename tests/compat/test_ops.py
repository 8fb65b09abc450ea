"""compat's functional vocabulary: forward values against numpy and against the formulas
PyTorch documents, function and method forms, and PyTorch itself as an optional oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import compat as torch

R = np.random.RandomState(1)
X = R.randn(3, 4).astype(np.float32)
P = R.uniform(0.5, 2.0, (3, 4)).astype(np.float32)


def close(t, ref, rtol=1e-5, atol=1e-6):
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), np.asarray(ref), rtol=rtol, atol=atol)


UNARY = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "abs": np.abs,
    "neg": np.negative, "sign": np.sign, "floor": np.floor, "ceil": np.ceil,
    "round": np.round, "trunc": np.trunc, "log1p": np.log1p, "expm1": np.expm1,
    "log2": np.log2, "log10": np.log10, "exp2": np.exp2, "reciprocal": np.reciprocal,
    "square": np.square, "rsqrt": lambda a: 1 / np.sqrt(a), "atan": np.arctan,
    "asinh": np.arcsinh, "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "relu": lambda a: np.maximum(a, 0), "frac": lambda a: a - np.trunc(a),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_function_and_method(name):
    a = P if name in ("log", "sqrt", "log2", "log10", "rsqrt", "log1p") else X
    close(getattr(torch, name)(torch.tensor(a)), UNARY[name](a))
    close(getattr(torch.tensor(a), name)(), UNARY[name](a))
    t = torch.tensor(a)
    getattr(t, name + "_")()
    close(t, UNARY[name](a))


def test_erf_formula():
    from math import erf
    a = np.array([-1.5, 0.0, 0.3, 2.0], np.float32)
    close(torch.erf(torch.tensor(a)), [erf(v) for v in a])
    close(torch.erfc(torch.tensor(a)), [1 - erf(v) for v in a])


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2, "pow": np.power,
    "remainder": np.mod, "fmod": np.fmod, "hypot": np.hypot, "logaddexp": np.logaddexp,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcasting(name):
    a, b = (P, P[0]) if name == "pow" else (X, X[1:2] + 0.5)
    close(getattr(torch, name)(torch.tensor(a), torch.tensor(b)), BINARY[name](a, b))
    close(getattr(torch.tensor(a), name)(torch.tensor(b)), BINARY[name](a, b))
    close(getattr(torch, name)(torch.tensor(a), 1.5), BINARY[name](a, np.float32(1.5)))


def test_operators():
    a, b = torch.tensor(X), torch.tensor(P)
    close(a + b, X + P)
    close(a - b, X - P)
    close(a * b, X * P)
    close(a / b, X / P)
    close(a // b, np.floor_divide(X, P))
    close(a % b, np.mod(X, P))
    close(b ** 2, P ** 2)
    close(-a, -X)
    close(abs(a), np.abs(X))
    close(a @ b.t(), X @ P.T)
    close(3 - a, 3 - X)
    close(2 / b, 2 / P)
    close(2 ** a, 2 ** X, rtol=1e-5)
    assert ((a > 0) & (a < 1)).tolist() == ((X > 0) & (X < 1)).tolist()
    assert (~(a > 0)).tolist() == (~(X > 0)).tolist()
    assert ((a > 0) | (a < -1) ^ (a > 5)).dtype is torch.bool
    i = torch.tensor([5, -7])
    assert (i << 1).tolist() == [10, -14] and (i >> 1).tolist() == [2, -4]


def test_div_rounding_modes():
    a = torch.tensor([7, -7, 7, -7])
    b = torch.tensor([2, 2, -2, -2])
    assert torch.div(a, b, rounding_mode="trunc").tolist() == [3, -3, -3, 3]
    assert torch.div(a, b, rounding_mode="floor").tolist() == [3, -4, -4, 3]
    assert torch.div(a.float(), b, rounding_mode="trunc").tolist() == [3, -3, -3, 3]
    close(torch.true_divide(a, b), [3.5, -3.5, -3.5, 3.5])


def test_reductions():
    t = torch.tensor(X)
    close(t.sum(), X.sum())
    close(t.sum(dim=1), X.sum(1))
    close(t.sum((0, 1)), X.sum())
    close(t.sum(0, keepdim=True), X.sum(0, keepdims=True))
    close(t.mean(1), X.mean(1))
    close(t.prod(0), X.prod(0))
    close(t.std(), X.std(ddof=1))
    close(t.std(dim=1, unbiased=False), X.std(1))
    close(t.var(0), X.var(0, ddof=1))
    close(t.var(1, correction=0, keepdim=True), X.var(1, keepdims=True))
    close(torch.std(t, 0, True), X.std(0, ddof=1))
    v, m = torch.var_mean(t, 1)
    close(v, X.var(1, ddof=1))
    close(m, X.mean(1))
    close(t.amax(1), X.max(1))
    close(t.amin((0, 1)), X.min())
    close(t.logsumexp(1), np.log(np.exp(X).sum(1)))
    close(t.norm(), np.linalg.norm(X))
    close(t.norm(p=1, dim=1), np.abs(X).sum(1))
    close(torch.linalg.norm(t), np.linalg.norm(X))
    close(t.cumsum(1), X.cumsum(1))
    close(t.cumprod(0), X.cumprod(0))
    assert torch.tensor([1, 2]).sum().dtype is torch.int64
    assert torch.tensor([True, True]).sum().item() == 2
    with pytest.raises(RuntimeError, match="mean"):
        torch.tensor([1, 2]).mean()
    assert torch.tensor([1, 2]).float().mean().item() == 1.5
    assert torch.tensor([0, 1, 2]).count_nonzero().item() == 2
    assert torch.tensor([[1, 0], [1, 1]]).all(1).tolist() == [False, True]
    assert torch.tensor([[1, 0], [0, 0]]).any().item() is True


def test_max_min_forms():
    t = torch.tensor(X)
    close(t.max(), X.max())
    res = t.max(dim=1)
    close(res.values, X.max(1))
    assert res.indices.tolist() == X.argmax(1).tolist()
    values, indices = torch.min(t, 0, keepdim=True)
    close(values, X.min(0, keepdims=True))
    assert indices.shape == (1, 4) and indices.dtype is torch.int64
    close(torch.max(t, torch.zeros(4)), np.maximum(X, 0))
    assert t.argmax().item() == X.argmax()
    assert t.argmin(1).tolist() == X.argmin(1).tolist()
    assert t.argmax(1, keepdim=True).shape == (3, 1)


def test_orderings():
    t = torch.tensor([3.0, 1.0, 2.0, 5.0])
    s = t.sort()
    assert s.values.tolist() == [1, 2, 3, 5] and s.indices.tolist() == [1, 2, 0, 3]
    assert t.sort(descending=True).values.tolist() == [5, 3, 2, 1]
    assert t.argsort().tolist() == [1, 2, 0, 3]
    top = t.topk(2)
    assert top.values.tolist() == [5, 3] and top.indices.tolist() == [3, 0]
    assert t.topk(2, largest=False).values.tolist() == [1, 2]
    m = torch.tensor(X).topk(2, dim=0)
    close(m.values, -np.sort(-X, 0)[:2])
    assert t.median().item() == 2.0  # the lower of the two middle values
    assert t.kthvalue(3).values.item() == 3.0
    assert torch.tensor([2, 1, 2, 3]).unique().tolist() == [1, 2, 3]
    u, inv, cnt = torch.tensor([2, 1, 2]).unique(return_inverse=True, return_counts=True)
    assert u.tolist() == [1, 2] and inv.tolist() == [1, 0, 1] and cnt.tolist() == [1, 2]


def test_softmax_family():
    t = torch.tensor(X)
    e = np.exp(X - X.max(1, keepdims=True))
    close(torch.softmax(t, dim=1), e / e.sum(1, keepdims=True))
    close(t.log_softmax(1), np.log(e / e.sum(1, keepdims=True)), atol=1e-5)
    close(t.softmax(0).sum(0), np.ones(4))


def test_shape_ops():
    t = torch.arange(24).view(2, 3, 4)
    a = np.arange(24).reshape(2, 3, 4)
    assert t.permute(2, 0, 1).tolist() == a.transpose(2, 0, 1).tolist()
    assert t.transpose(0, 2).tolist() == a.swapaxes(0, 2).tolist()
    assert t.flatten().tolist() == a.ravel().tolist()
    assert t.flatten(1).shape == (2, 12) and t.flatten(0, 1).shape == (6, 4)
    assert torch.flatten(t, start_dim=1).shape == (2, 12)
    assert t.unflatten(2, (2, 2)).shape == (2, 3, 2, 2)
    assert t.movedim(0, -1).tolist() == np.moveaxis(a, 0, -1).tolist()
    assert t.unsqueeze(1).shape == (2, 1, 3, 4) and t.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert torch.zeros(1, 2, 1).squeeze().shape == (2,)
    assert torch.zeros(1, 2, 1).squeeze(-1).shape == (1, 2)
    assert [c.shape[1] for c in t.chunk(2, dim=1)] == [2, 1]
    assert [c.shape[2] for c in t.split([1, 3], dim=2)] == [1, 3]
    assert [c.shape[0] for c in torch.arange(10).split(4)] == [4, 4, 2]
    assert torch.cat([t, t], dim=-1).shape == (2, 3, 8)
    assert torch.stack([t, t], dim=1).shape == (2, 2, 3, 4)
    assert t.repeat(1, 2, 1).shape == (2, 6, 4)
    assert torch.tensor([1, 2]).repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert torch.tensor([1, 2]).repeat_interleave(2).tolist() == [1, 1, 2, 2]
    assert t.flip(0).tolist() == a[::-1].tolist()
    assert torch.tensor([1, 2, 3]).roll(1).tolist() == [3, 1, 2]
    assert torch.ones(3, 3).tril().tolist() == np.tril(np.ones((3, 3))).tolist()
    assert torch.ones(3, 3).triu(1).sum().item() == 3
    assert torch.diag(torch.tensor([1, 2])).tolist() == [[1, 0], [0, 2]]
    assert torch.hstack([torch.ones(2), torch.zeros(1)]).tolist() == [1, 1, 0]
    assert torch.vstack([torch.ones(2), torch.zeros(2)]).shape == (2, 2)
    assert t.narrow(1, 1, 2).shape == (2, 2, 4)
    assert t.expand(3, 2, 3, 4).shape == (3, 2, 3, 4)
    assert torch.zeros(2, 1).expand_as(torch.zeros(2, 5)).shape == (2, 5)
    assert t.view_as(torch.zeros(6, 4)).shape == (6, 4)
    assert [u.tolist() for u in torch.tensor([[1, 2], [3, 4]]).unbind(1)] == [[1, 3], [2, 4]]
    assert t.T.shape == (4, 3, 2) and torch.zeros(2, 3).T.shape == (3, 2)


def test_indexing_ops():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    idx = torch.tensor([[0, 2], [1, 0]])
    assert torch.gather(x, 1, idx).tolist() == [[1, 3], [5, 4]]
    assert x.gather(0, torch.tensor([[1, 0, 1]])).tolist() == [[4, 2, 6]]
    s = torch.zeros(2, 3).scatter(1, idx, torch.tensor([[10.0, 20.0], [30.0, 40.0]]))
    assert s.tolist() == [[10, 0, 20], [40, 30, 0]]
    z = torch.zeros(2, 3)
    assert z.scatter_(0, torch.tensor([[1, 0, 1]]), 7.0) is z
    assert z.tolist() == [[0, 7, 0], [7, 0, 7]]
    acc = torch.zeros(3).scatter_add(0, torch.tensor([0, 0, 2]), torch.tensor([1.0, 2.0, 3.0]))
    assert acc.tolist() == [3, 0, 3]
    assert torch.zeros(3).scatter(0, torch.tensor([1, 1]), torch.tensor([2.0, 3.0]),
                                  reduce="add").tolist() == [0, 5, 0]
    assert x.index_select(1, torch.tensor([2, 0])).tolist() == [[3, 1], [6, 4]]
    assert x.masked_fill(x > 3, 0).tolist() == [[1, 2, 3], [0, 0, 0]]
    assert x.masked_select(x > 4).tolist() == [5, 6]
    assert torch.take(x, torch.tensor([0, 5])).tolist() == [1, 6]
    assert x.nonzero().shape == (6, 2)
    assert torch.tensor([0, 2, 0]).nonzero(as_tuple=True)[0].tolist() == [1]
    assert torch.where(torch.tensor([1, 0, 3]) > 0)[0].tolist() == [0, 2]
    assert torch.zeros(3).index_add(0, torch.tensor([1, 1]),
                                    torch.tensor([1.0, 2.0])).tolist() == [0, 3, 0]
    assert torch.zeros(3).index_fill(0, torch.tensor([0, 2]), 5).tolist() == [5, 0, 5]
    y = torch.zeros(2, 2)
    y.index_put_((torch.tensor([0, 1]), torch.tensor([1, 0])), torch.tensor([1.0, 2.0]))
    assert y.tolist() == [[0, 1], [2, 0]]
    with pytest.raises(RuntimeError, match="int64"):
        x.gather(1, torch.tensor([[0]], dtype=torch.int32))


def test_linalg():
    a, b = torch.tensor(X), torch.tensor(P)
    close(torch.mm(a, b.t()), X @ P.T)
    close(torch.matmul(a, torch.tensor(P[0])), X @ P[0])
    close(torch.bmm(a.unsqueeze(0), b.t().unsqueeze(0))[0], X @ P.T)
    close(torch.einsum("ij,kj->ik", a, b), X @ P.T)
    close(torch.einsum("ij->", a), X.sum())
    close(torch.outer(a[0], b[0]), np.outer(X[0], P[0]))
    close(torch.dot(a[0], b[0]), X[0] @ P[0])
    close(torch.addmm(torch.ones(3, 3), a, b.t(), beta=2, alpha=0.5), 2 + 0.5 * X @ P.T)
    close(torch.tensordot(a, b, dims=([1], [1])), X @ P.T)
    close(torch.trace(torch.tensor(X[:3, :3])), np.trace(X[:3, :3]))
    close(torch.cdist(a, b), np.linalg.norm(X[:, None] - P[None], axis=-1), rtol=1e-4)
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        torch.dot(a, a)


def test_misc_pointwise():
    t = torch.tensor([-2.0, 0.5, 3.0])
    assert t.clamp(min=0).tolist() == [0, 0.5, 3]
    assert t.clamp(max=1).tolist() == [-2, 0.5, 1]
    assert torch.clamp(t, torch.tensor([-1.0, 1.0, 0.0]), 2.0).tolist() == [-1, 1, 2]
    with pytest.raises(RuntimeError, match="At least one"):
        t.clamp()
    assert torch.where(t > 0, t, torch.zeros(3)).tolist() == [0, 0.5, 3]
    assert torch.where(t > 0, 1.0, 0.0).tolist() == [0, 1, 1]
    close(torch.lerp(t, torch.zeros(3), 0.5), [-1, 0.25, 1.5])
    close(torch.addcdiv(t, t, torch.tensor([2.0, 2.0, 2.0]), value=2), 2 * np.array(
        [-2.0, 0.5, 3.0]))
    assert torch.isclose(t, t + 1e-7).all().item()
    assert torch.allclose(t, t.clone()) and not torch.allclose(t, t + 1)
    assert torch.equal(t, t.clone()) and not torch.equal(t, t[:2])
    nan = torch.tensor([float("nan"), float("inf"), 1.0])
    assert torch.isnan(nan).tolist() == [True, False, False]
    assert torch.isinf(nan).tolist() == [False, True, False]
    assert torch.isfinite(nan).tolist() == [False, False, True]
    assert torch.nan_to_num(nan).tolist()[0] == 0
    assert torch.round(torch.tensor([1.2345]), decimals=2).item() == pytest.approx(1.23)


@given(st.sampled_from([(4,), (2, 3), (2, 1, 3)]), st.sampled_from([None, 0, -1]),
       st.booleans(), st.sampled_from([np.float32, np.float64, np.int64]))
def test_reductions_hypothesis(shape, dim, keepdim, dt):
    a = (R.randn(*shape) * 5).astype(dt)
    t = torch.tensor(a)
    np_kw = dict(axis=dim, keepdims=keepdim)
    np.testing.assert_allclose(t.sum(dim, keepdim).numpy(), a.sum(**np_kw), rtol=1e-5)
    assert t.amax(() if dim is None else dim, keepdim).tolist() == a.max(**np_kw).tolist()
    if dt != np.int64:
        close(t.mean(dim, keepdim), a.mean(**np_kw), rtol=1e-5)
        assert t.mean(dim, keepdim).dtype == t.dtype
    if dim is not None:
        v, i = t.max(dim, keepdim)
        assert i.tolist() == a.argmax(dim, keepdims=keepdim).tolist()


# --------------------------------------------------------------------------- PyTorch oracle


ORACLE = [
    ("add", lambda m, a, b: m.add(a, b, alpha=2)),
    ("sub", lambda m, a, b: m.sub(a, b)),
    ("div", lambda m, a, b: m.div(a, b)),
    ("pow", lambda m, a, b: m.pow(a.abs() + 0.5, b)),
    ("atan2", lambda m, a, b: m.atan2(a, b)),
    ("std", lambda m, a, b: a.std(dim=1)),
    ("var0", lambda m, a, b: m.var(a, 0, unbiased=False)),
    ("norm", lambda m, a, b: a.norm(p=3, dim=0)),
    ("logsumexp", lambda m, a, b: m.logsumexp(a, dim=1)),
    ("log_softmax", lambda m, a, b: m.log_softmax(a, dim=0)),
    ("softmax", lambda m, a, b: m.softmax(a, dim=-1)),
    ("median", lambda m, a, b: a.median(dim=1).values),
    ("cumprod", lambda m, a, b: a.cumprod(1)),
    ("remainder", lambda m, a, b: m.remainder(a, b)),
    ("fmod", lambda m, a, b: m.fmod(a, b)),
    ("clamp", lambda m, a, b: a.clamp(-0.5, 0.5)),
    ("erf", lambda m, a, b: m.erf(a)),
    ("sigmoid", lambda m, a, b: m.sigmoid(a)),
    ("einsum", lambda m, a, b: m.einsum("ij,kj->ik", a, b)),
    ("topk", lambda m, a, b: a.topk(2, dim=1).values),
    ("where", lambda m, a, b: m.where(a > b, a, b)),
    ("scatter_add", lambda m, a, b: a.scatter_add(1, m.tensor([[0, 0, 1, 1]] * 3), b)),
    ("index_select", lambda m, a, b: a.index_select(1, m.tensor([3, 0]))),
    ("round", lambda m, a, b: (a * 3).round()),
    ("floor_divide", lambda m, a, b: a // b),
    ("repr", lambda m, a, b: repr(a * 100)),
]


@pytest.mark.parametrize("name", [n for n, _ in ORACLE])
def test_against_pytorch(name):
    pt = pytest.importorskip("torch")
    f = dict(ORACLE)[name]
    a, b = X, P
    ours = f(torch, torch.tensor(a), torch.tensor(b))
    theirs = f(pt, pt.tensor(a), pt.tensor(b))
    if isinstance(ours, str):
        assert ours == theirs
        return
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_gradients_against_pytorch():
    pt = pytest.importorskip("torch")

    def f(m, a, b):
        h = (a @ b.t()).tanh()
        return (m.log_softmax(h, dim=1) * h.sigmoid()).sum() + a.std() + b.max(1).values.sum()

    ta, tb = torch.tensor(X, requires_grad=True), torch.tensor(P, requires_grad=True)
    pa, pb = pt.tensor(X, requires_grad=True), pt.tensor(P, requires_grad=True)
    f(torch, ta, tb).backward()
    f(pt, pa, pb).backward()
    np.testing.assert_allclose(ta.grad.numpy(), pa.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tb.grad.numpy(), pb.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_grids_and_small_helpers():
    gi, gj = torch.meshgrid(torch.tensor([1, 2]), torch.tensor([3, 4, 5]), indexing="ij")
    ni, nj = np.meshgrid([1, 2], [3, 4, 5], indexing="ij")
    assert gi.tolist() == ni.tolist() and gj.tolist() == nj.tolist()
    gx, _ = torch.meshgrid(torch.tensor([1, 2]), torch.tensor([3, 4, 5]), indexing="xy")
    assert gx.tolist() == np.meshgrid([1, 2], [3, 4, 5])[0].tolist()
    a, b = torch.broadcast_tensors(torch.zeros(2, 1), torch.ones(3))
    assert a.shape == b.shape == (2, 3)
    assert torch.tensor([1, 4, 9, 16]).diff(n=2).tolist() == [2, 2]
    assert torch.zeros(3, 3).fill_diagonal_(2).trace().item() == 6
    assert torch.pi == np.pi and torch.inf == float("inf") and torch.is_tensor(torch.ones(1))
    assert torch.numel(torch.zeros(2, 5)) == 10
