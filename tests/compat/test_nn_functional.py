"""compat.nn.functional: losses with PyTorch's reductions, weights, ignore_index, label
smoothing and probability targets; attention, interpolation, padding, distances --
hand-computed cases, and PyTorch (optional) as an oracle for values and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

import compat as torch
import compat.nn.functional as F
import functorch_lite as fl
import functorch_lite.nn as fnn
from compat import nn
from compat.tensor import wrap

R = np.random.RandomState(1)


def real_torch():
    return pytest.importorskip("torch")


def arr(*shape, scale=1.0):
    return (R.randn(*shape) * scale).astype(np.float32)


def compare(fn_name, args, kwargs=None, grad_args=(0,), atol=1e-5, rtol=1e-4):
    """Run ``F.<fn_name>`` in both libraries on the numpy ``args`` (tensors for arrays),
    compare the result and the gradients of ``sum(result * w)`` for ``grad_args``."""
    t = real_torch()
    kwargs = kwargs or {}

    def build(lib):
        out = []
        for i, a in enumerate(args):
            if isinstance(a, np.ndarray):
                out.append(lib.tensor(a, requires_grad=i in grad_args))
            else:
                out.append(a)
        kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return out, kw

    o_args, o_kw = build(torch)
    t_args, t_kw = build(t)
    o = getattr(F, fn_name)(*o_args, **o_kw)
    r = getattr(t.nn.functional, fn_name)(*t_args, **t_kw)
    np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), atol=atol, rtol=rtol)
    w = arr(*r.shape) if r.dim() else np.float32(1.0)
    (o * torch.tensor(w)).sum().backward()
    (r * t.tensor(w)).sum().backward()
    for i in grad_args:
        np.testing.assert_allclose(o_args[i].grad.numpy(), t_args[i].grad.numpy(), atol=atol,
                                   rtol=rtol)
    return o


# --------------------------------------------------------------------------- by hand


def test_losses_by_hand():
    x = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    y = torch.tensor([0, 2])
    lse0 = math.log(math.exp(2) + 2)
    np.testing.assert_allclose(F.cross_entropy(x, y).item(),
                               ((lse0 - 2) + math.log(3)) / 2, rtol=1e-6)
    np.testing.assert_allclose(F.cross_entropy(x, y, reduction="none").tolist(),
                               [lse0 - 2, math.log(3)], rtol=1e-6)
    # ignore_index: the mean is over the kept targets only
    np.testing.assert_allclose(F.cross_entropy(x, torch.tensor([0, -100])).item(), lse0 - 2,
                               rtol=1e-6)
    # class weights: the mean divides by the weights of the targets
    w = torch.tensor([3.0, 1.0, 1.0])
    np.testing.assert_allclose(F.cross_entropy(x, y, weight=w).item(),
                               (3 * (lse0 - 2) + math.log(3)) / 4, rtol=1e-6)
    assert F.mse_loss(torch.tensor([1.0, 3.0]), torch.zeros(2), reduction="sum").item() == 10
    assert F.l1_loss(torch.tensor([1.0, -3.0]), torch.zeros(2)).item() == 2.0
    assert F.nll_loss(torch.tensor([[-1.0, -2.0]]), torch.tensor([1])).item() == 2.0
    np.testing.assert_allclose(F.binary_cross_entropy(torch.tensor([0.5]),
                                                      torch.tensor([1.0])).item(),
                               math.log(2), rtol=1e-6)
    # log(0) is clamped at -100, as PyTorch
    assert F.binary_cross_entropy(torch.tensor([0.0]), torch.tensor([1.0])).item() == 100.0
    np.testing.assert_allclose(F.smooth_l1_loss(torch.tensor([0.5, 3.0]), torch.zeros(2),
                                                reduction="none").tolist(), [0.125, 2.5])
    np.testing.assert_allclose(F.huber_loss(torch.tensor([3.0]), torch.zeros(1),
                                            delta=2.0).item(), 4.0)


def test_cross_entropy_gradient_by_hand():
    x = torch.zeros(1, 4, requires_grad=True)
    F.cross_entropy(x, torch.tensor([2])).backward()
    np.testing.assert_allclose(x.grad.tolist(), [[0.25, 0.25, -0.75, 0.25]], rtol=1e-6)
    assert F.cross_entropy(x, torch.tensor([2])).grad_fn.name() == "NllLossBackward0"


def test_cross_entropy_matches_functorch_lite():
    x, y = arr(5, 7), R.randint(0, 7, 5)
    ours = F.cross_entropy(torch.tensor(x), torch.tensor(y), label_smoothing=0.2)
    ref = fnn.cross_entropy(x, y, label_smoothing=0.2)
    np.testing.assert_allclose(ours.item(), float(ref), rtol=1e-6)
    xt = torch.tensor(x, requires_grad=True)
    F.cross_entropy(xt, torch.tensor(y)).backward()
    np.testing.assert_allclose(xt.grad.numpy(),
                               fl.grad(lambda z: fnn.cross_entropy(z, y))(x), rtol=1e-5,
                               atol=1e-7)


def test_errors_match_pytorch_wording():
    with pytest.raises(ValueError, match="Expected input batch_size"):
        F.cross_entropy(torch.zeros(3, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(torch.zeros(2), torch.zeros(2), reduction="avg")
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        nn.Linear(3, 2)(torch.zeros(4, 5))
    with pytest.raises(RuntimeError, match="expected input\\[1, 3, 8, 8\\] to have 1 channels"):
        nn.Conv2d(1, 2, 3)(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nn.BatchNorm1d(3)(torch.zeros(1, 3))


# --------------------------------------------------------------------------- PyTorch oracle


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_vs_torch(reduction):
    x, y = arr(6, 5), R.randint(0, 5, 6)
    y[1] = -100
    w = np.abs(arr(5)) + 0.5
    compare("cross_entropy", [x, y], dict(reduction=reduction))
    compare("cross_entropy", [x, y], dict(reduction=reduction, weight=w))
    compare("cross_entropy", [x, y], dict(reduction=reduction, label_smoothing=0.1))
    compare("cross_entropy", [x, y], dict(reduction=reduction, label_smoothing=0.3, weight=w))
    y2 = y.copy()
    y2[1] = 3
    compare("cross_entropy", [x, y2], dict(reduction=reduction, ignore_index=3))
    p = np.abs(arr(6, 5))
    p /= p.sum(1, keepdims=True)
    compare("cross_entropy", [x, p], dict(reduction=reduction, label_smoothing=0.2, weight=w))


def test_cross_entropy_spatial_and_unbatched_vs_torch():
    compare("cross_entropy", [arr(2, 4, 3, 3), R.randint(0, 4, (2, 3, 3))])
    compare("cross_entropy", [arr(4), np.array(2)])
    compare("nll_loss", [arr(2, 4, 3), R.randint(0, 4, (2, 3))],
            dict(weight=np.abs(arr(4)) + 0.1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_other_losses_vs_torch(reduction):
    x, y = arr(4, 3), arr(4, 3)
    kw = dict(reduction=reduction)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        compare(name, [x, y], kw, grad_args=(0, 1))
    compare("smooth_l1_loss", [x, y], dict(reduction=reduction, beta=0.5))
    compare("huber_loss", [x, y], dict(reduction=reduction, delta=0.3))
    prob = 1 / (1 + np.exp(-x))
    target = (R.rand(4, 3) > 0.5).astype(np.float32)
    compare("binary_cross_entropy", [prob, target], dict(reduction=reduction,
                                                         weight=np.abs(arr(3))))
    compare("binary_cross_entropy_with_logits", [x * 5, target],
            dict(reduction=reduction, pos_weight=np.abs(arr(3)) + 0.5, weight=np.abs(arr(4, 1))))
    logp = np.log(np.abs(arr(4, 3)) + 0.1).astype(np.float32)
    compare("nll_loss", [logp, R.randint(0, 3, 4)], dict(reduction=reduction,
                                                         weight=np.abs(arr(3))))
    q = np.abs(arr(4, 3)) + 0.01
    q /= q.sum(1, keepdims=True)
    q[0, 1] = 0.0
    compare("kl_div", [logp, q], dict(reduction=reduction))
    compare("kl_div", [logp, np.log(q + 0.1)], dict(reduction=reduction, log_target=True))


def test_kl_div_batchmean_vs_torch():
    logp = np.log(np.abs(arr(4, 3)) + 0.1).astype(np.float32)
    q = np.abs(arr(4, 3))
    compare("kl_div", [logp, q / q.sum(1, keepdims=True)], dict(reduction="batchmean"))


@pytest.mark.parametrize("name,kw", [
    ("softmax", dict(dim=1)), ("log_softmax", dict(dim=0)), ("softmin", dict(dim=-1)),
    ("gelu", dict(approximate="tanh")), ("elu", dict(alpha=0.3)), ("leaky_relu", {}),
    ("softplus", dict(beta=3.0)), ("normalize", dict(p=1.0, dim=0)), ("normalize", {}),
    ("glu", dict(dim=1)), ("hardtanh", {}), ("relu6", {}), ("silu", {}), ("mish", {}),
    ("logsigmoid", {}), ("selu", {}), ("hardshrink", {}), ("softshrink", dict(lambd=0.3)),
    ("rrelu", {}),
])
def test_activations_vs_torch(name, kw):
    compare(name, [arr(3, 4) * 3], kw)


@pytest.mark.parametrize("kw", [dict(), dict(is_causal=True), dict(scale=0.3)])
def test_scaled_dot_product_attention_vs_torch(kw):
    q, k, v = arr(2, 3, 4, 8), arr(2, 3, 6, 8), arr(2, 3, 6, 5)
    compare("scaled_dot_product_attention", [q, k, v], kw, grad_args=(0, 1, 2))


def test_scaled_dot_product_attention_masks_vs_torch():
    q, k, v = arr(2, 4, 8), arr(2, 5, 8), arr(2, 5, 3)
    bool_mask = R.rand(4, 5) > 0.3
    bool_mask[:, 0] = True
    compare("scaled_dot_product_attention", [q, k, v], dict(attn_mask=bool_mask),
            grad_args=(0, 1, 2))
    compare("scaled_dot_product_attention", [q, k, v], dict(attn_mask=arr(2, 4, 5)),
            grad_args=(0, 1, 2))


def test_multi_head_attention_forward_vs_torch():
    t = real_torch()
    E, H = 8, 2
    q, k = arr(3, 2, E), arr(5, 2, E)
    w_in, b_in, w_out, b_out = arr(3 * E, E), arr(3 * E), arr(E, E), arr(E)
    o = F.multi_head_attention_forward(*[torch.tensor(a) for a in (q, k, k)], E, H,
                                       torch.tensor(w_in), torch.tensor(b_in), None, None,
                                       False, 0.0, torch.tensor(w_out), torch.tensor(b_out))
    r = t.nn.functional.multi_head_attention_forward(*[t.tensor(a) for a in (q, k, k)], E, H,
                                                     t.tensor(w_in), t.tensor(b_in), None,
                                                     None, False, 0.0, t.tensor(w_out),
                                                     t.tensor(b_out))
    for a, b in zip(o, r):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


@pytest.mark.parametrize("kw", [
    dict(scale_factor=2, mode="nearest"), dict(size=(5, 7), mode="nearest"),
    dict(size=(5, 7), mode="nearest-exact"), dict(scale_factor=2, mode="bilinear"),
    dict(size=(2, 3), mode="bilinear"), dict(size=(6, 5), mode="bilinear", align_corners=True),
    dict(scale_factor=(1.5, 2.5), mode="bilinear"),
    dict(scale_factor=0.5, mode="bilinear", recompute_scale_factor=True),
    dict(size=(3, 2), mode="area"),
])
def test_interpolate_vs_torch(kw):
    compare("interpolate", [arr(2, 3, 4, 5)], kw)


@pytest.mark.parametrize("pad,mode", [((1, 2), "constant"), ((1, 1, 2, 0), "reflect"),
                                      ((2, 1, 1, 2), "replicate"), ((1, 2, 2, 0), "circular"),
                                      ((-1, 2, 1, -1), "constant")])
def test_pad_vs_torch(pad, mode):
    compare("pad", [arr(2, 3, 4, 5), pad], dict(mode=mode))


def test_distances_vs_torch():
    compare("cosine_similarity", [arr(4, 6), arr(4, 6)], grad_args=(0, 1))
    compare("cosine_similarity", [arr(4, 1, 6), arr(1, 3, 6)], dict(dim=-1), grad_args=(0, 1))
    compare("pairwise_distance", [arr(4, 6), arr(4, 6)], grad_args=(0, 1))
    compare("pairwise_distance", [arr(4, 6), arr(4, 6)], dict(p=1.0, keepdim=True))
    compare("pdist", [arr(5, 3)])


def test_one_hot_and_embedding():
    assert F.one_hot(torch.tensor([1, 0, 3])).tolist() == [[0, 1, 0, 0], [1, 0, 0, 0],
                                                           [0, 0, 0, 1]]
    assert F.one_hot(torch.tensor([1]), 3).dtype == torch.int64
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(torch.tensor([3]), 3)
    w = torch.randn(5, 2, requires_grad=True)
    F.embedding(torch.tensor([4, 4, 0]), w).sum().backward()
    assert w.grad[:, 0].tolist() == [1.0, 0.0, 0.0, 0.0, 2.0]


def test_dropout_functional_modes():
    x = torch.ones(4, 8, 3, 3)
    assert F.dropout(x, 0.5, training=False) is x
    assert torch.equal(F.dropout(x, 0.0), x)
    assert float(F.dropout(x, 1.0).abs().sum()) == 0.0
    y = F.dropout2d(x, 0.5)
    per_channel = y.sum((2, 3))
    assert bool(((per_channel == 0) | (per_channel == 18)).all())
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)
    z = torch.ones(3, requires_grad=True) * 1.0
    F.dropout(z, 0.5, inplace=True)
    assert z.grad_fn is not None


def test_fold_unfold_roundtrip():
    x = torch.tensor(arr(1, 2, 4, 4))
    cols = F.unfold(x, 2, stride=2)
    assert cols.shape == (1, 8, 4)
    assert torch.allclose(F.fold(cols, (4, 4), 2, stride=2), x)


def test_functional_traces_under_fl_transforms():
    """The functional ops are Ops over functorch_lite functions, so fl.grad and fl.vmap
    apply to code written with them."""
    x, w = arr(4, 3), arr(2, 3)
    y = R.randint(0, 2, 4)

    def loss(w):
        return F.cross_entropy(F.linear(torch.tensor(x), wrap(w)),
                               torch.tensor(y)).array

    def ref(w):
        return fnn.cross_entropy(x @ w.T, y)

    np.testing.assert_allclose(fl.grad(loss)(w), fl.grad(ref)(w), rtol=1e-5, atol=1e-6)
    per_row = fl.vmap(lambda r: F.softmax(wrap(r), 0).array)(x)
    np.testing.assert_allclose(per_row, np.asarray(fnn.softmax(x)), rtol=1e-6)


@pytest.mark.parametrize("name,args,kw", [
    ("margin_ranking_loss", lambda: [arr(5), arr(5), np.sign(arr(5))], dict(margin=0.3)),
    ("hinge_embedding_loss", lambda: [arr(5, 4), np.sign(arr(5, 4))], dict(margin=0.5)),
    ("soft_margin_loss", lambda: [arr(5, 4), np.sign(arr(5, 4))], {}),
    ("multilabel_soft_margin_loss", lambda: [arr(5, 4), (arr(5, 4) > 0).astype(np.float32)],
     {}),
    ("cosine_embedding_loss", lambda: [arr(5, 4), arr(5, 4), np.sign(arr(5))], dict(margin=0.2)),
    ("triplet_margin_loss", lambda: [arr(5, 4), arr(5, 4), arr(5, 4)], dict(p=1.0, swap=True)),
    ("poisson_nll_loss", lambda: [np.abs(arr(5, 4)) + 0.1, np.abs(arr(5, 4)) * 3],
     dict(log_input=False, full=True)),
    ("gaussian_nll_loss", lambda: [arr(5, 4), arr(5, 4), np.abs(arr(5)) + 0.1],
     dict(full=True)),
    ("multi_margin_loss", lambda: [arr(5, 4), np.array([0, 1, 2, 3, 1])], dict(p=2, margin=0.5)),
])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_margin_and_likelihood_losses_vs_torch(name, args, kw, reduction):
    compare(name, args(), dict(kw, reduction=reduction))
