"""compat.nn layers: forward and gradients against hand-computed small cases and against
functorch_lite's functional version; PyTorch (optional) as an oracle with the weights
copied across -- forward, input and parameter gradients, running statistics, names and
reprs for every layer family."""

from __future__ import annotations

import math

import numpy as np
import pytest

import compat as torch
import compat.nn.functional as F
import functorch_lite as fl
import functorch_lite.nn as fnn
from compat import nn

R = np.random.RandomState(0)


def real_torch():
    return pytest.importorskip("torch")


def arr(*shape, scale=1.0):
    return (R.randn(*shape) * scale).astype(np.float32)


def load_from_torch(ours, theirs):
    sd = {k: torch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(sd)


def compare_with_torch(make, inputs, *, train=True, atol=1e-5, rtol=1e-4, out_fn=None,
                       int_inputs=()):
    """Build the layer with ``make(nn)`` in both libraries, copy torch's state into ours,
    run forward on ``inputs`` and backward of a weighted sum; compare outputs, input
    gradients, parameter gradients and buffers (running statistics)."""
    t = real_torch()
    tm, om = make(t.nn), make(nn)
    assert [n for n, _ in om.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert list(om.state_dict()) == list(tm.state_dict())
    assert repr(om) == repr(tm)
    load_from_torch(om, tm)
    tm.train(train)
    om.train(train)
    t_in = [t.tensor(x) if i in int_inputs else t.tensor(x, requires_grad=True)
            for i, x in enumerate(inputs)]
    o_in = [torch.tensor(x) if i in int_inputs else torch.tensor(x, requires_grad=True)
            for i, x in enumerate(inputs)]
    t_out, o_out = tm(*t_in), om(*o_in)
    if out_fn is not None:
        t_out, o_out = out_fn(t_out), out_fn(o_out)
    np.testing.assert_allclose(o_out.detach().numpy(), t_out.detach().numpy(), atol=atol,
                               rtol=rtol)
    w = arr(*t_out.shape)
    (t_out * t.tensor(w)).sum().backward()
    (o_out * torch.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(o_in, t_in)):
        if i not in int_inputs:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=rtol)
    for (name, p), (_, q) in zip(om.named_parameters(), tm.named_parameters()):
        if q.grad is None:
            assert p.grad is None or not p.grad.numpy().any(), name
            continue
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=atol, rtol=rtol,
                                   err_msg=name)
    for (name, b), (_, c) in zip(om.named_buffers(), tm.named_buffers()):
        np.testing.assert_allclose(b.numpy(), c.numpy(), atol=atol, rtol=rtol, err_msg=name)
    return om, tm


# --------------------------------------------------------------------------- hand-computed


def test_linear_by_hand():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[2.0, -1.0]]))
        lin.bias.fill_(0.5)
    x = torch.tensor([[1.0, 3.0], [0.0, 1.0]], requires_grad=True)
    y = lin(x)
    assert y.tolist() == [[-0.5], [-0.5]]
    assert y.grad_fn.name() == "AddmmBackward0"
    y.sum().backward()
    assert lin.weight.grad.tolist() == [[1.0, 4.0]]
    assert lin.bias.grad.tolist() == [2.0]
    assert x.grad.tolist() == [[2.0, -1.0], [2.0, -1.0]]


def test_conv_pool_by_hand():
    conv = nn.Conv2d(1, 1, 2, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.arange(9.0).reshape(1, 1, 3, 3).requires_grad_()
    y = conv(x)
    assert y.tolist() == [[[[8.0, 12.0], [20.0, 24.0]]]]
    y.sum().backward()
    assert x.grad.reshape(-1).tolist() == [1, 2, 1, 2, 4, 2, 1, 2, 1]
    assert conv.weight.grad.reshape(-1).tolist() == [8.0, 12.0, 20.0, 24.0]
    assert nn.MaxPool2d(2)(x[:, :, :2, :2]).item() == 4.0
    assert nn.AvgPool2d(3)(x).item() == 4.0


def test_batchnorm_running_stats_by_hand():
    bn = nn.BatchNorm1d(1, momentum=0.5)
    x = torch.tensor([[1.0], [3.0]])
    y = bn(x)
    np.testing.assert_allclose(y.detach().numpy().ravel(), [-1, 1], atol=1e-4)
    # running mean 0 -> 0.5 * 2; running var 1 -> 0.5 + 0.5 * 2 (unbiased var of [1, 3])
    assert bn.running_mean.tolist() == [1.0] and bn.running_var.tolist() == [1.5]
    bn.eval()
    np.testing.assert_allclose(bn(torch.tensor([[1.0]])).item(), 0.0, atol=1e-5)
    cumulative = nn.BatchNorm1d(1, momentum=None)
    cumulative(torch.tensor([[0.0], [2.0]]))
    cumulative(torch.tensor([[4.0], [6.0]]))
    assert cumulative.running_mean.tolist() == [3.0]  # plain average of the batch means
    assert int(cumulative.num_batches_tracked) == 2


def test_embedding_padding_idx_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=1)
    assert emb.weight[1].tolist() == [0.0, 0.0]
    idx = torch.tensor([[1, 2], [2, 1]])
    emb(idx).sum().backward()
    assert emb.weight.grad.tolist() == [[0, 0], [0, 0], [2, 2], [0, 0]]


def test_dropout_reproducible_and_scaled():
    d = nn.Dropout(0.25)
    torch.manual_seed(3)
    a = d(torch.ones(2000))
    torch.manual_seed(3)
    b = d(torch.ones(2000))
    assert torch.equal(a, b)
    assert set(np.unique(a.numpy()).tolist()) == {0.0, float(np.float32(4.0 / 3.0))}
    assert 0.2 < float((a == 0).float().mean()) < 0.3
    assert torch.equal(d.eval()(torch.ones(5)), torch.ones(5))
    x = torch.ones(10, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient is the same mask times the scale


def test_layer_against_functorch_lite_functional():
    """Each layer equals functorch_lite.nn's function on the same arrays, and its gradients
    equal fl.grad of that function."""
    x = arr(2, 3, 6, 6)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    xt = torch.tensor(x, requires_grad=True)
    y = conv(xt)
    w, b = conv.weight.numpy(force=True), conv.bias.numpy(force=True)
    ref = fnn.conv(x, w, b, stride=2, padding=1)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-5, atol=1e-6)
    y.sum().backward()
    gw = fl.grad(lambda w: fnn.conv(x, w, b, stride=2, padding=1).sum())(w)
    np.testing.assert_allclose(conv.weight.grad.numpy(), gw, rtol=1e-5, atol=1e-5)
    ln = nn.LayerNorm(6)
    np.testing.assert_allclose(ln(xt).detach().numpy(), fnn.layer_norm(x, np.ones(6),
                                                                       np.zeros(6)),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(nn.MaxPool2d(2)(xt).detach().numpy(), fnn.max_pool(x, 2))
    np.testing.assert_allclose(nn.GELU()(xt).detach().numpy(), fnn.gelu(x), rtol=1e-6)


def test_default_initialisation_bounds():
    torch.manual_seed(0)
    lin = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    assert float(lin.weight.abs().max()) <= bound and float(lin.bias.abs().max()) <= bound
    assert float(lin.weight.abs().max()) > 0.9 * bound  # uniform over the whole range
    conv = nn.Conv2d(3, 8, 5)
    fan_in = 3 * 25
    assert float(conv.weight.abs().max()) <= 1 / math.sqrt(fan_in)
    np.testing.assert_allclose(float(conv.weight.std()), 1 / math.sqrt(3 * fan_in), rtol=0.15)
    lstm = nn.LSTM(4, 16)
    assert all(float(p.abs().max()) <= 0.25 for p in lstm.parameters())
    emb = nn.Embedding(1000, 8)
    np.testing.assert_allclose(float(emb.weight.std()), 1.0, rtol=0.1)
    mha = nn.MultiheadAttention(8, 2)
    assert float(mha.in_proj_bias.abs().sum()) == 0.0
    assert float(mha.in_proj_weight.abs().max()) <= math.sqrt(6 / (8 + 24))


# --------------------------------------------------------------------------- PyTorch oracle


@pytest.mark.parametrize("kw", [dict(), dict(bias=False)])
def test_linear_bilinear_vs_torch(kw):
    compare_with_torch(lambda m: m.Linear(5, 3, **kw), [arr(4, 5)])
    compare_with_torch(lambda m: m.Linear(5, 3, **kw), [arr(2, 4, 5)])
    compare_with_torch(lambda m: m.Bilinear(3, 4, 2, **kw), [arr(5, 3), arr(5, 4)])


@pytest.mark.parametrize("cls,kw,shape", [
    ("Conv1d", dict(kernel_size=3, stride=2, padding=1), (2, 4, 9)),
    ("Conv2d", dict(kernel_size=3), (2, 4, 7, 6)),
    ("Conv2d", dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
     (2, 4, 7, 6)),
    ("Conv2d", dict(kernel_size=3, padding="same", dilation=2, groups=2), (2, 4, 7, 6)),
    ("Conv2d", dict(kernel_size=4, padding="same"), (1, 4, 6, 6)),
    ("Conv2d", dict(kernel_size=3, padding="valid", bias=False), (1, 4, 6, 6)),
    ("Conv2d", dict(kernel_size=3, padding=1, padding_mode="reflect"), (1, 4, 5, 5)),
    ("Conv2d", dict(kernel_size=3, padding=2, padding_mode="circular"), (1, 4, 5, 5)),
    ("Conv3d", dict(kernel_size=2), (1, 4, 3, 3, 3)),
    ("ConvTranspose1d", dict(kernel_size=3, stride=2), (2, 4, 5)),
    ("ConvTranspose2d", dict(kernel_size=3, stride=2, padding=1, output_padding=1),
     (2, 4, 4, 5)),
    ("ConvTranspose2d", dict(kernel_size=2, groups=2, dilation=2), (1, 4, 3, 3)),
])
def test_conv_vs_torch(cls, kw, shape):
    out_ch = 6
    compare_with_torch(lambda m: getattr(m, cls)(4, out_ch, **kw), [arr(*shape)], atol=1e-4)


def test_conv_transpose_output_size_vs_torch():
    t = real_torch()
    om, tm = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1), t.nn.ConvTranspose2d(
        3, 2, 3, stride=2, padding=1)
    load_from_torch(om, tm)
    x = arr(1, 3, 5, 5)
    a = om(torch.tensor(x), output_size=[10, 10])
    b = tm(t.tensor(x), output_size=[10, 10])
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda m: m.MaxPool2d(2),
    lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    lambda m: m.MaxPool1d(3, stride=2, dilation=2),
    lambda m: m.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    lambda m: m.AvgPool2d(2, ceil_mode=True),
    lambda m: m.AvgPool1d(2),
    lambda m: m.AdaptiveAvgPool2d((3, 2)),
    lambda m: m.AdaptiveAvgPool2d(1),
    lambda m: m.AdaptiveMaxPool2d((2, 3)),
    lambda m: m.LPPool2d(2, 2),
])
def test_pooling_vs_torch(make):
    x = arr(2, 3, 7, 7) if not isinstance(make(nn), (nn.MaxPool1d, nn.AvgPool1d)) else arr(
        2, 3, 9)
    compare_with_torch(make, [x])


def test_max_pool_indices_vs_torch():
    t = real_torch()
    x = arr(2, 3, 7, 6)
    a, ia = F.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    b, ib = t.nn.functional.max_pool2d(t.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(ia.numpy(), ib.numpy())


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.BatchNorm1d(3), (4, 3)),
    (lambda m: m.BatchNorm1d(3, momentum=None), (4, 3, 5)),
    (lambda m: m.BatchNorm2d(3, affine=False), (4, 3, 2, 2)),
    (lambda m: m.BatchNorm2d(3, track_running_stats=False), (4, 3, 2, 2)),
    (lambda m: m.BatchNorm3d(2), (2, 2, 2, 2, 2)),
    (lambda m: m.LayerNorm([3, 4]), (2, 3, 4)),
    (lambda m: m.LayerNorm(4, elementwise_affine=False), (2, 3, 4)),
    (lambda m: m.GroupNorm(2, 4), (2, 4, 3, 3)),
    (lambda m: m.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
    (lambda m: m.InstanceNorm1d(3, track_running_stats=True), (2, 3, 5)),
    (lambda m: m.RMSNorm(4), (3, 4)),
    (lambda m: m.LocalResponseNorm(3), (2, 5, 3)),
])
def test_normalization_vs_torch(make, shape):
    om, tm = compare_with_torch(make, [arr(*shape) * 2 + 1], atol=1e-4)
    if getattr(om, "track_running_stats", False):
        # a second training step and evaluation mode use the updated running statistics
        t = real_torch()
        x = arr(*shape)
        om(torch.tensor(x)), tm(t.tensor(x))
        om.eval(), tm.eval()
        np.testing.assert_allclose(om(torch.tensor(x)).detach().numpy(),
                                   tm(t.tensor(x)).detach().numpy(), atol=1e-4)
        for (n, a), (_, b) in zip(om.named_buffers(), tm.named_buffers()):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, err_msg=n)


def test_batchnorm_eval_vs_torch():
    t = real_torch()
    om, tm = nn.BatchNorm2d(3), t.nn.BatchNorm2d(3)
    with t.no_grad():
        tm.running_mean.copy_(t.tensor([0.5, -1.0, 2.0]))
        tm.running_var.copy_(t.tensor([2.0, 0.5, 1.5]))
        tm.weight.copy_(t.tensor([1.5, 1.0, -0.5]))
    load_from_torch(om, tm)
    compare_with_torch(lambda m: m.BatchNorm2d(3), [arr(2, 3, 2, 2)], train=False)
    x = arr(2, 3, 2, 2)
    np.testing.assert_allclose(om.eval()(torch.tensor(x)).detach().numpy(),
                               tm.eval()(t.tensor(x)).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda m: m.ReLU(), lambda m: m.LeakyReLU(0.2), lambda m: m.ELU(0.5), lambda m: m.SELU(),
    lambda m: m.CELU(0.7), lambda m: m.GELU(), lambda m: m.GELU(approximate="tanh"),
    lambda m: m.SiLU(), lambda m: m.Mish(), lambda m: m.Sigmoid(), lambda m: m.Tanh(),
    lambda m: m.Softplus(beta=2.0, threshold=3.0), lambda m: m.Hardtanh(-0.5, 0.7),
    lambda m: m.ReLU6(), lambda m: m.Hardswish(), lambda m: m.Hardsigmoid(),
    lambda m: m.LogSigmoid(), lambda m: m.Softsign(), lambda m: m.Tanhshrink(),
    lambda m: m.Threshold(0.1, -2.0), lambda m: m.GLU(), lambda m: m.PReLU(),
    lambda m: m.PReLU(4), lambda m: m.Softmax(dim=1), lambda m: m.LogSoftmax(dim=-1),
    lambda m: m.Softmin(dim=0), lambda m: m.Identity(), lambda m: m.Flatten(),
    lambda m: m.Unflatten(1, (2, 2)),
])
def test_activation_vs_torch(make):
    compare_with_torch(make, [arr(3, 4, 2) * 3])


@pytest.mark.parametrize("make,inputs", [
    (lambda m: m.Embedding(10, 3), [R.randint(0, 10, (2, 4))]),
    (lambda m: m.Embedding(10, 3, padding_idx=2), [np.array([[2, 3, 2]])]),
    (lambda m: m.Embedding(10, 3, scale_grad_by_freq=True), [np.array([[1, 1, 4]])]),
])
def test_embedding_vs_torch(make, inputs):
    compare_with_torch(make, inputs, int_inputs=(0,))


def test_embedding_max_norm_vs_torch():
    t = real_torch()
    om, tm = nn.Embedding(5, 3, max_norm=1.0), t.nn.Embedding(5, 3, max_norm=1.0)
    load_from_torch(om, tm)
    idx = np.array([0, 2, 2])
    np.testing.assert_allclose(om(torch.tensor(idx)).detach().numpy(),
                               tm(t.tensor(idx)).detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(om.weight.numpy(force=True), tm.weight.detach().numpy(),
                               atol=1e-5)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True,
                                             batch_first=True, bias=False)])
def test_recurrent_vs_torch(cls, kw):
    shape = (3, 5, 4) if kw.get("batch_first") else (5, 3, 4)

    def first(out):
        return out[0]

    compare_with_torch(lambda m: getattr(m, cls)(4, 6, **kw), [arr(*shape)], out_fn=first)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_recurrent_states_vs_torch(cls):
    t = real_torch()
    om, tm = getattr(nn, cls)(3, 4, num_layers=2), getattr(t.nn, cls)(3, 4, num_layers=2)
    load_from_torch(om, tm)
    x, h0, c0 = arr(6, 2, 3), arr(2, 2, 4), arr(2, 2, 4)
    if cls == "LSTM":
        (oo, (oh, oc)), (to, (th, tc)) = (om(torch.tensor(x), (torch.tensor(h0),
                                                               torch.tensor(c0))),
                                          tm(t.tensor(x), (t.tensor(h0), t.tensor(c0))))
        np.testing.assert_allclose(oc.detach().numpy(), tc.detach().numpy(), atol=1e-5)
    else:
        (oo, oh), (to, th) = om(torch.tensor(x), torch.tensor(h0)), tm(t.tensor(x),
                                                                        t.tensor(h0))
    np.testing.assert_allclose(oo.detach().numpy(), to.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(oh.detach().numpy(), th.detach().numpy(), atol=1e-5)
    # unbatched input
    ox = om(torch.tensor(x[:, 0]))[0]
    tx = tm(t.tensor(x[:, 0]))[0]
    np.testing.assert_allclose(ox.detach().numpy(), tx.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_vs_torch(cls):
    def first(out):
        return out[0] if isinstance(out, tuple) else out

    compare_with_torch(lambda m: getattr(m, cls)(3, 5), [arr(4, 3)], out_fn=first)


def test_rnn_dropout_between_layers_only_in_training():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = torch.tensor(arr(5, 2, 3))
    lstm.eval()
    a, b = lstm(x)[0], lstm(x)[0]
    assert torch.equal(a, b)
    lstm.train()
    torch.manual_seed(0)
    c = lstm(x)[0]
    torch.manual_seed(0)
    assert torch.equal(c, lstm(x)[0]) and not torch.allclose(a, c)


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, kdim=5, vdim=3),
                                dict(add_bias_kv=True, add_zero_attn=True)])
def test_multihead_attention_vs_torch(kw):
    t = real_torch()
    bf = kw.get("batch_first", False)
    L, S, N, E = 4, 6, 2, 8
    q = arr(N, L, E) if bf else arr(L, N, E)
    k = arr(N, S, kw.get("kdim", E)) if bf else arr(S, N, kw.get("kdim", E))
    v = arr(N, S, kw.get("vdim", E)) if bf else arr(S, N, kw.get("vdim", E))
    om, tm = nn.MultiheadAttention(E, 2, **kw), t.nn.MultiheadAttention(E, 2, **kw)
    assert [n for n, _ in om.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert repr(om) == repr(tm)
    load_from_torch(om, tm)
    kpm = np.zeros((N, S), bool)
    kpm[1, -2:] = True
    am = np.triu(np.ones((L, S), bool), 3)
    for lib, m, store in ((torch, om, {}), (t, tm, {})):
        ins = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        out, w = m(*ins, key_padding_mask=lib.tensor(kpm), attn_mask=lib.tensor(am))
        (out.sum() + (w * lib.tensor(np.arange(w.numel(), dtype=np.float32).reshape(
            tuple(w.shape)))).sum()).backward()
        store.update(out=out.detach().numpy(), w=w.detach().numpy(),
                     grads=[a.grad.numpy() for a in ins],
                     pgrads=[p.grad.numpy() for p in m.parameters()])
        if lib is torch:
            ours = store
        else:
            theirs = store
    for key in ("out", "w"):
        np.testing.assert_allclose(ours[key], theirs[key], atol=1e-5)
    for a, b in zip(ours["grads"] + ours["pgrads"], theirs["grads"] + theirs["pgrads"]):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_multihead_attention_weights_vs_torch():
    t = real_torch()
    om, tm = nn.MultiheadAttention(8, 4), t.nn.MultiheadAttention(8, 4)
    load_from_torch(om, tm)
    x = arr(5, 2, 8)
    for avg in (True, False):
        ow = om(torch.tensor(x), torch.tensor(x), torch.tensor(x),
                average_attn_weights=avg)[1]
        tw = tm(t.tensor(x), t.tensor(x), t.tensor(x), average_attn_weights=avg)[1]
        np.testing.assert_allclose(ow.detach().numpy(), tw.detach().numpy(), atol=1e-5)
    out, w = om(torch.tensor(x), torch.tensor(x), torch.tensor(x), need_weights=False)
    assert w is None and out.shape == (5, 2, 8)


@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, activation="gelu",
                                             batch_first=True)])
def test_transformer_encoder_vs_torch(kw):
    shape = (2, 5, 8) if kw.get("batch_first") else (5, 2, 8)
    compare_with_torch(
        lambda m: m.TransformerEncoder(m.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw),
                                       2, enable_nested_tensor=False)
        if m is not nn else m.TransformerEncoder(m.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, **kw), 2), [arr(*shape)], atol=1e-4)


def test_transformer_decoder_vs_torch():
    compare_with_torch(lambda m: m.TransformerDecoderLayer(8, 2, 16, dropout=0.0),
                       [arr(4, 2, 8), arr(6, 2, 8)], atol=1e-4)


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.Upsample(scale_factor=2), (1, 2, 3, 3)),
    (lambda m: m.Upsample(size=(5, 4), mode="bilinear"), (1, 2, 3, 3)),
    (lambda m: m.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
     (1, 2, 4, 4)),
    (lambda m: m.Upsample(size=7, mode="linear"), (1, 2, 3)),
    (lambda m: m.Upsample(size=5, mode="nearest-exact"), (1, 2, 3)),
    (lambda m: m.PixelShuffle(2), (1, 8, 2, 3)),
    (lambda m: m.PixelUnshuffle(2), (1, 2, 4, 6)),
    (lambda m: m.ZeroPad2d((1, 2, 0, 1)), (1, 2, 3, 3)),
    (lambda m: m.ConstantPad1d((2, -1), 3.5), (1, 2, 4)),
    (lambda m: m.ReflectionPad2d(1), (1, 2, 3, 3)),
    (lambda m: m.ReplicationPad2d((1, 0, 2, 1)), (1, 2, 3, 3)),
    (lambda m: m.CircularPad1d(2), (1, 2, 4)),
    (lambda m: m.Unfold(2, padding=1, stride=2), (1, 2, 4, 5)),
    (lambda m: m.Fold((4, 5), 2), (1, 8, 12)),
])
def test_vision_layers_vs_torch(make, shape):
    compare_with_torch(make, [arr(*shape)])
