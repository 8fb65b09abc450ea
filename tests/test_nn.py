"""functorch_lite.nn and the sliding-window primitives behind conv/pooling.

References: closed forms and direct-loop numpy implementations (always run), and
torch.nn.functional where torch is importable. Gradients are checked against float64
central finite differences; jit against eager; vmap against a Python loop.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.nn as nn
from functorch_lite.primitives.conv import window_overlap_add, window_patches

RNG = np.random.default_rng(1234)


def randn(*shape, dtype=np.float64, rng=RNG):
    return rng.standard_normal(shape).astype(dtype)


def torch_or_skip():
    return pytest.importorskip("torch")


def tt(a):
    torch = torch_or_skip()
    return torch.from_numpy(np.ascontiguousarray(a))


def numerical_grad(f, x, eps=1e-6):
    """Central finite differences of the scalar ``f`` at float64 ``x``."""
    x = np.array(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (float(f(xp)) - float(f(xm))) / (2 * eps)
    return g


def check_grad(f, args, argnum, rtol=1e-5, atol=1e-7):
    """fl.grad of the scalar ``f(*args)`` w.r.t. ``args[argnum]`` against finite differences."""
    got = fl.grad(f, argnums=argnum)(*args)

    def partial(v):
        a = list(args)
        a[argnum] = v
        return f(*a)

    want = numerical_grad(partial, args[argnum])
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def scalarise(y, seed=0):
    """A fixed random projection, so every output entry matters to the gradient."""
    y_shape = np.shape(y)
    proj = np.random.default_rng(seed).standard_normal(y_shape)
    return (y * proj).sum()


# ------------------------------------------------------------------ numpy references


def conv_ref(x, w, b=None, stride=None, pads=None, dil=None, groups=1):
    """Direct-loop N-d cross-correlation (PyTorch semantics)."""
    n = w.ndim - 2
    stride = stride or (1,) * n
    dil = dil or (1,) * n
    pads = pads or ((0, 0),) * n
    xp = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])
    k = w.shape[2:]
    out = [(xp.shape[2 + i] - dil[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(n)]
    nb, c, o_ch = x.shape[0], x.shape[1], w.shape[0]
    cg, og = c // groups, o_ch // groups
    y = np.zeros((nb, o_ch, *out), np.result_type(x, w))
    for o in range(o_ch):
        g = o // og
        for pos in np.ndindex(*out):
            sl = tuple(slice(p * s, p * s + d * (kk - 1) + 1, d)
                       for p, s, d, kk in zip(pos, stride, dil, k))
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + sl]
            y[(slice(None), o) + pos] = np.tensordot(patch, w[o], axes=n + 1)
        if b is not None:
            y[:, o] += b[o]
    return y


def pool_ref(x, k, stride, pads, mode, count_include_pad=True):
    n = len(k)
    lead = x.ndim - n
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, [(0, 0)] * lead + [tuple(p) for p in pads], constant_values=fill)
    valid = np.pad(np.ones(x.shape[lead:]), [tuple(p) for p in pads])
    out = [(xp.shape[lead + i] - k[i]) // stride[i] + 1 for i in range(n)]
    y = np.zeros(x.shape[:lead] + tuple(out), x.dtype)
    for pos in np.ndindex(*out):
        sl = tuple(slice(p * s, p * s + kk) for p, s, kk in zip(pos, stride, k))
        win = xp[(Ellipsis,) + sl].reshape(x.shape[:lead] + (-1,))
        if mode == "max":
            y[(Ellipsis,) + pos] = win.max(-1)
        else:
            cnt = np.prod(k) if count_include_pad else valid[sl].sum()
            y[(Ellipsis,) + pos] = win.sum(-1) / cnt
    return y


def log_softmax_ref(x, axis=-1):
    x = np.asarray(x, np.float64)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def erf(x):
    return np.vectorize(math.erf)(x)


# ------------------------------------------------------------------ activations


def test_activations_closed_forms():
    x = np.array([-30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0])
    sig = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(nn.relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(nn.relu6(x), np.clip(x, 0, 6))
    np.testing.assert_allclose(nn.sigmoid(x), sig, rtol=1e-12)
    np.testing.assert_allclose(nn.silu(x), x * sig, rtol=1e-12)
    np.testing.assert_allclose(nn.softplus(x), np.log1p(np.exp(x)), rtol=1e-12)
    np.testing.assert_allclose(nn.log_sigmoid(x), -np.log1p(np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(nn.gelu(x), 0.5 * x * (1 + erf(x / np.sqrt(2))), rtol=1e-12)
    c = np.sqrt(2 / np.pi)
    np.testing.assert_allclose(nn.gelu(x, approximate=True),
                               0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3))),
                               rtol=1e-12)
    np.testing.assert_allclose(nn.leaky_relu(x, 0.1), np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(nn.elu(x, 2.0), np.where(x > 0, x, 2 * np.expm1(x)))
    np.testing.assert_allclose(nn.tanh(x), np.tanh(x))
    # no overflow for large inputs, float32 stays float32
    big = np.array([-1e4, 1e4], np.float32)
    for f in (nn.softplus, nn.log_sigmoid, nn.sigmoid, nn.silu, nn.gelu, nn.elu):
        out = f(big)
        assert out.dtype == np.float32 and np.isfinite(out).all(), f.__name__
    np.testing.assert_allclose(nn.softplus(big), [0.0, 1e4])


def test_activation_gradients():
    x = np.array([-2.0, -0.3, 0.4, 1.7])
    for f in (nn.gelu, lambda v: nn.gelu(v, approximate=True), nn.silu, nn.softplus,
              nn.log_sigmoid, nn.elu, nn.sigmoid):
        check_grad(lambda v, f=f: f(v).sum(), (x,), 0)
    # relu's derivative at 0 is 0 (PyTorch's choice); softplus' is 1/2 = sigmoid(0)
    np.testing.assert_array_equal(fl.grad(lambda v: nn.relu(v).sum())(np.array([0.0, 1.0])),
                                  [0.0, 1.0])
    np.testing.assert_allclose(fl.grad(lambda v: nn.softplus(v).sum())(np.array([0.0])), [0.5])
    # large inputs give finite gradients
    g = fl.grad(lambda v: nn.softplus(v).sum() + nn.elu(v).sum())(np.array([-1e4, 1e4]))
    assert np.isfinite(g).all()


def test_activations_match_torch():
    torch = torch_or_skip()
    F = torch.nn.functional
    x = randn(50)
    np.testing.assert_allclose(nn.gelu(x), F.gelu(tt(x)).numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(nn.gelu(x, approximate=True),
                               F.gelu(tt(x), approximate="tanh").numpy(), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(nn.silu(x), F.silu(tt(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(nn.softplus(x), F.softplus(tt(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(nn.elu(x), F.elu(tt(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(nn.log_sigmoid(x), F.logsigmoid(tt(x)).numpy(), rtol=1e-12)


# ------------------------------------------------------------------ softmax family


def test_softmax_family_values():
    x = randn(3, 4, 5)
    for axis in (-1, 0, 1, (0, 2)):
        ref = log_softmax_ref(x, axis)
        np.testing.assert_allclose(nn.log_softmax(x, axis), ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(nn.softmax(x, axis), np.exp(ref), rtol=1e-12, atol=1e-15)
        lse = np.log(np.exp(x).sum(axis=axis))
        np.testing.assert_allclose(nn.logsumexp(x, axis), lse, rtol=1e-12)
        np.testing.assert_allclose(nn.logsumexp(x, axis, keepdims=True),
                                   np.log(np.exp(x).sum(axis=axis, keepdims=True)), rtol=1e-12)
    np.testing.assert_allclose(nn.logsumexp(x), np.log(np.exp(x).sum()), rtol=1e-12)
    assert nn.softmax(x.astype(np.float32)).dtype == np.float32
    # integer inputs compute in float32; conv promotes like the rest of the library
    assert nn.log_softmax(np.arange(3)).dtype == np.float32
    assert nn.conv(np.ones((1, 1, 4), np.int64), np.ones((1, 1, 2), np.float32)).dtype == \
        np.float32


def test_softmax_family_stability():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], np.float32)
    ls = nn.log_softmax(x)
    assert np.isfinite(ls).all()
    np.testing.assert_allclose(ls, [[0.0, -2e4, -1e4], [-np.log(3)] * 3], rtol=1e-6)
    np.testing.assert_allclose(nn.softmax(x), np.exp(log_softmax_ref(x)), atol=1e-7)
    np.testing.assert_allclose(nn.logsumexp(x, axis=1), [1e4, -1e4 + np.log(3)], rtol=1e-6)
    # a slice of all -inf: logsumexp is -inf (no NaN); mixed -inf entries are fine
    y = np.array([[-np.inf, -np.inf], [-np.inf, 0.0]], np.float32)
    np.testing.assert_array_equal(nn.logsumexp(y, axis=1), [-np.inf, 0.0])
    g = fl.grad(lambda v: nn.logsumexp(v[1]))(y)
    np.testing.assert_array_equal(g, [[0, 0], [0, 1]])
    assert nn.logsumexp(np.array([np.inf, 0.0])) == np.inf


def test_softmax_family_gradients():
    x = randn(3, 4)
    for f in (lambda v: scalarise(nn.softmax(v)), lambda v: scalarise(nn.log_softmax(v, 0)),
              lambda v: scalarise(nn.logsumexp(v, 1)), lambda v: nn.logsumexp(v)):
        check_grad(f, (x,), 0)
    # d logsumexp = softmax, exactly
    np.testing.assert_allclose(fl.grad(lambda v: nn.logsumexp(v))(x),
                               np.exp(x - np.log(np.exp(x).sum())), rtol=1e-12)


def test_softmax_family_match_torch():
    torch = torch_or_skip()
    x = randn(4, 6)
    np.testing.assert_allclose(nn.log_softmax(x, 1), torch.log_softmax(tt(x), 1).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(nn.logsumexp(x, 0), torch.logsumexp(tt(x), 0).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(nn.softmax(x, 0), torch.softmax(tt(x), 0).numpy(), rtol=1e-12)


def test_one_hot():
    out = nn.one_hot(np.array([[0, 2], [1, 5]]), 3)
    assert out.dtype == np.float32 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out, [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 0, 0]]])
    np.testing.assert_array_equal(nn.one_hot(np.array([1, 0]), 2, dtype=np.int32, axis=0),
                                  np.array([[0, 1], [1, 0]], np.int32))
    with pytest.raises(TypeError):
        nn.one_hot(np.array([1.0]), 2)


# ------------------------------------------------------------------ losses


def ce_ref(logits, labels, eps=0.0, axis=-1):
    logp = np.moveaxis(log_softmax_ref(logits, axis), axis, -1)
    c = logp.shape[-1]
    if np.issubdtype(labels.dtype, np.integer):
        target = np.eye(c)[labels]
    else:
        target = np.moveaxis(labels, axis, -1)
    target = target * (1 - eps) + eps / c
    return -(target * logp).sum(-1)


def test_cross_entropy_values():
    logits = randn(5, 4)
    labels = np.array([0, 3, 1, 1, 2])
    np.testing.assert_allclose(nn.cross_entropy(logits, labels),
                               ce_ref(logits, labels).mean(), rtol=1e-12)
    np.testing.assert_allclose(nn.cross_entropy(logits, labels, reduction="sum"),
                               ce_ref(logits, labels).sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.cross_entropy(logits, labels, reduction="none"),
                               ce_ref(logits, labels), rtol=1e-12)
    # label smoothing, PyTorch's formula: (1 - eps) * nll + eps * mean_c(-logp)
    logp = log_softmax_ref(logits)
    want = (0.9 * -logp[np.arange(5), labels] + 0.1 * -logp.mean(-1)).mean()
    np.testing.assert_allclose(nn.cross_entropy(logits, labels, label_smoothing=0.1), want,
                               rtol=1e-12)
    # probability targets, with and without smoothing
    probs = np.exp(log_softmax_ref(randn(5, 4)))
    for eps in (0.0, 0.2):
        np.testing.assert_allclose(nn.cross_entropy(logits, probs, label_smoothing=eps),
                                   ce_ref(logits, probs, eps).mean(), rtol=1e-12)
    # class axis 1 with spatial dims (PyTorch layout)
    lg = randn(2, 3, 4)
    lb = RNG.integers(0, 3, (2, 4))
    np.testing.assert_allclose(nn.cross_entropy(lg, lb, axis=1), ce_ref(lg, lb, axis=1).mean(),
                               rtol=1e-12)
    # ignore_index: ignored examples drop out of the sum and of the mean's count
    lab2 = labels.copy()
    lab2[[1, 3]] = -100
    keep = lab2 != -100
    np.testing.assert_allclose(nn.cross_entropy(logits, lab2, ignore_index=-100),
                               ce_ref(logits[keep], lab2[keep]).mean(), rtol=1e-12)
    ce_ign = lambda v: nn.cross_entropy(v, lab2, ignore_index=-100)
    np.testing.assert_allclose(fl.jit(ce_ign)(logits), ce_ign(logits), rtol=1e-12)
    g = fl.grad(ce_ign)(logits)
    np.testing.assert_array_equal(g[~keep], 0.0)
    np.testing.assert_allclose(g[keep], fl.grad(nn.cross_entropy)(logits[keep], lab2[keep]),
                               rtol=1e-12)


def test_cross_entropy_stability_and_errors():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], np.float32)
    loss = nn.cross_entropy(logits, np.array([0, 0]), reduction="none")
    assert loss.dtype == np.float32 and np.isfinite(loss).all()
    np.testing.assert_allclose(loss, [0.0, 2e4 + np.log(2)], rtol=1e-6)
    g = fl.grad(lambda v: nn.cross_entropy(v, np.array([0, 0])))(logits)
    assert np.isfinite(g).all()
    with pytest.raises(ValueError, match=r"\(3,\)"):
        nn.cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        nn.cross_entropy(logits, np.array([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="probability targets"):
        nn.cross_entropy(logits, np.ones((2, 2), np.float32))


def test_cross_entropy_gradients():
    logits = randn(4, 3)
    labels = np.array([2, 0, 1, 2])
    # closed form: (softmax - onehot) / N
    want = (np.exp(log_softmax_ref(logits)) - np.eye(3)[labels]) / 4
    np.testing.assert_allclose(fl.grad(nn.cross_entropy)(logits, labels), want, rtol=1e-12)
    check_grad(lambda v: nn.cross_entropy(v, labels, label_smoothing=0.3), (logits,), 0)
    probs = np.exp(log_softmax_ref(randn(4, 3)))
    check_grad(lambda v: nn.cross_entropy(v, probs, reduction="sum"), (logits,), 0)


def test_cross_entropy_matches_torch():
    torch = torch_or_skip()
    F = torch.nn.functional
    logits, labels = randn(6, 5), RNG.integers(0, 5, 6)
    probs = np.exp(log_softmax_ref(randn(6, 5)))
    for eps in (0.0, 0.25):
        for red in ("mean", "sum", "none"):
            np.testing.assert_allclose(
                nn.cross_entropy(logits, labels, label_smoothing=eps, reduction=red),
                F.cross_entropy(tt(logits), tt(labels), label_smoothing=eps,
                                reduction=red).numpy(), rtol=1e-12)
            np.testing.assert_allclose(
                nn.cross_entropy(logits, probs, label_smoothing=eps, reduction=red),
                F.cross_entropy(tt(logits), tt(probs), label_smoothing=eps,
                                reduction=red).numpy(), rtol=1e-12)
    lab2 = labels.copy()
    lab2[:2] = 7
    np.testing.assert_allclose(
        nn.cross_entropy(logits, lab2, ignore_index=7, label_smoothing=0.1),
        F.cross_entropy(tt(logits), tt(lab2), ignore_index=7, label_smoothing=0.1).numpy(),
        rtol=1e-12)
    lg, lb = randn(2, 3, 4, 2), RNG.integers(0, 3, (2, 4, 2))
    np.testing.assert_allclose(nn.cross_entropy(lg, lb, axis=1),
                               F.cross_entropy(tt(lg), tt(lb)).numpy(), rtol=1e-12)


def test_mse_and_bce():
    p, t = randn(3, 4), randn(3, 4)
    np.testing.assert_allclose(nn.mse(p, t), ((p - t) ** 2).mean(), rtol=1e-12)
    np.testing.assert_allclose(nn.mse(p, t, "sum"), ((p - t) ** 2).sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.mse(p, t, "none"), (p - t) ** 2, rtol=1e-12)
    np.testing.assert_allclose(fl.grad(nn.mse)(p, t), 2 * (p - t) / 12, rtol=1e-12)
    y = (RNG.random((3, 4)) > 0.5).astype(np.float64)
    sig = 1 / (1 + np.exp(-p))
    np.testing.assert_allclose(nn.binary_cross_entropy_with_logits(p, y),
                               -(y * np.log(sig) + (1 - y) * np.log(1 - sig)).mean(),
                               rtol=1e-12)
    np.testing.assert_allclose(fl.grad(nn.binary_cross_entropy_with_logits)(p, y),
                               (sig - y) / 12, rtol=1e-10)
    big = nn.binary_cross_entropy_with_logits(np.array([1e4, -1e4], np.float32),
                                              np.array([0.0, 1.0], np.float32), "none")
    np.testing.assert_allclose(big, [1e4, 1e4])


# ------------------------------------------------------------------ normalisation


def test_layer_norm_values_and_grads():
    x, w, b = randn(2, 3, 4), randn(4), randn(4)
    m, v = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    ref = (x - m) / np.sqrt(v + 1e-5) * w + b
    np.testing.assert_allclose(nn.layer_norm(x, w, b), ref, rtol=1e-12)
    # tuple axis, weight shaped like the normalised dims
    w2 = randn(3, 4)
    m2, v2 = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    np.testing.assert_allclose(nn.layer_norm(x, w2, axis=(-2, -1), eps=1e-3),
                               (x - m2) / np.sqrt(v2 + 1e-3) * w2, rtol=1e-12)
    # a non-trailing axis: weight aligns with that axis
    w3 = randn(3)
    m3, v3 = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    np.testing.assert_allclose(nn.layer_norm(x, w3, axis=1),
                               (x - m3) / np.sqrt(v3 + 1e-5) * w3[:, None], rtol=1e-12)
    for argnum in (0, 1, 2):
        check_grad(lambda x, w, b: scalarise(nn.layer_norm(x, w, b)), (x, w, b), argnum)
    with pytest.raises(ValueError, match=r"\(5,\)"):
        nn.layer_norm(x, randn(5))


def test_batch_norm_values_and_grads():
    x = randn(4, 3, 5)
    mean, var, w, b = randn(3), RNG.random(3) + 0.5, randn(3), randn(3)
    ref = ((x - mean[:, None]) / np.sqrt(var[:, None] + 1e-5)) * w[:, None] + b[:, None]
    np.testing.assert_allclose(nn.batch_norm(x, mean, var, w, b), ref, rtol=1e-12)
    x2 = randn(4, 3)
    np.testing.assert_allclose(nn.batch_norm(x2, mean, var),
                               (x2 - mean) / np.sqrt(var + 1e-5), rtol=1e-12)
    for argnum in (0, 1, 2, 3, 4):
        check_grad(lambda *a: scalarise(nn.batch_norm(*a)), (x, mean, var, w, b), argnum)
    with pytest.raises(ValueError, match="channels"):
        nn.batch_norm(x, randn(4), var)


def test_normalisation_matches_torch():
    torch = torch_or_skip()
    F = torch.nn.functional
    x, w, b = randn(2, 3, 4, 5), randn(4, 5), randn(4, 5)
    np.testing.assert_allclose(nn.layer_norm(x, w, b, axis=(-2, -1)),
                               F.layer_norm(tt(x), (4, 5), tt(w), tt(b)).numpy(), rtol=1e-10,
                               atol=1e-12)
    mean, var, wc, bc = randn(3), RNG.random(3) + 0.1, randn(3), randn(3)
    np.testing.assert_allclose(
        nn.batch_norm(x, mean, var, wc, bc, eps=1e-3),
        F.batch_norm(tt(x), tt(mean), tt(var), tt(wc), tt(bc), training=False,
                     eps=1e-3).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nn.normalize(x, axis=1), F.normalize(tt(x), dim=1).numpy(),
                               rtol=1e-12)


# ------------------------------------------------------------------ convolution


@st.composite
def conv_cases(draw):
    n = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(n))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(n))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(n))
    max_size = {1: 8, 2: 6, 3: 5}[n]
    spatial = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - lo - hi), max_size))
                    for k, d, (lo, hi) in zip(kernel, dil, pads))
    nb = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    return n, groups, cg, og, kernel, stride, dil, pads, spatial, nb, bias


@given(conv_cases(), st.integers(0, 2 ** 16))
@settings(max_examples=20)
def test_conv_matches_loop_reference(case, seed):
    n, groups, cg, og, kernel, stride, dil, pads, spatial, nb, bias = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((nb, groups * cg) + spatial)
    w = rng.standard_normal((groups * og, cg) + kernel)
    b = rng.standard_normal(groups * og) if bias else None
    got = nn.conv(x, w, b, stride, pads, dil, groups)
    want = conv_ref(x, w, b, stride, pads, dil, groups)
    assert got.shape == want.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_conv_padding_forms_and_float32():
    x, w = randn(2, 3, 7, 6, dtype=np.float32), randn(4, 3, 3, 2, dtype=np.float32)
    y = nn.conv(x, w, padding=1)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, conv_ref(x.astype(np.float64), w.astype(np.float64),
                                           pads=((1, 1), (1, 1))), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(nn.conv(x, w, padding=(2, 0)), nn.conv(x, w, padding=((2, 2),
                                                                                    (0, 0))))
    np.testing.assert_array_equal(nn.conv(x, w, padding="VALID"), nn.conv(x, w))
    # SAME: output size ceil(in / stride), extra padding on the high side
    ys = nn.conv(x, w, stride=2, padding="SAME")
    assert ys.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(ys, nn.conv(x, w, stride=2, padding=((1, 1), (0, 1))))
    # unbatched input (C, *spatial)
    np.testing.assert_allclose(nn.conv(x[0], w), nn.conv(x, w)[0])


def test_conv_bad_input():
    x, w = randn(2, 3, 8, 8), randn(4, 2, 3, 3)
    with pytest.raises(ValueError, match=r"\(2, 3, 8, 8\).*\(4, 2, 3, 3\)"):
        nn.conv(x, w)
    with pytest.raises(ValueError, match="groups"):
        nn.conv(randn(2, 4, 8, 8), randn(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError):
        nn.conv(randn(3, 8), w)  # rank mismatch
    with pytest.raises(ValueError, match="window"):
        nn.conv(randn(1, 2, 2, 2), w)  # kernel larger than the input
    with pytest.raises(ValueError, match="padding"):
        nn.conv(x, randn(4, 3, 3, 3), padding="FULL")
    with pytest.raises(ValueError, match="bias"):
        nn.conv(x, randn(4, 3, 3, 3), randn(5))


@pytest.mark.parametrize("cfg", [
    dict(xs=(2, 4, 7), ws=(4, 2, 3), kw=dict(stride=2, padding=1, dilation=2, groups=2)),
    dict(xs=(1, 2, 5, 6), ws=(3, 2, 3, 2), kw=dict(stride=(2, 1), padding=((1, 0), (2, 1)))),
    dict(xs=(1, 2, 4, 3, 4), ws=(2, 1, 2, 2, 3), kw=dict(padding=1, groups=2, dilation=(1, 1, 2))),
])
def test_conv_gradients(cfg):
    x, w, b = randn(*cfg["xs"]), randn(*cfg["ws"]), randn(cfg["ws"][0])

    def loss(x, w, b):
        return scalarise(nn.conv(x, w, b, **cfg["kw"]))

    for argnum in (0, 1, 2):
        check_grad(loss, (x, w, b), argnum)


def test_conv_second_order():
    x, w = randn(1, 2, 6), randn(3, 2, 3)
    # d/dx of (d/dw loss) . v against finite differences of the first derivative
    v = randn(3, 2, 3)

    def inner(x):
        return (fl.grad(lambda w: (nn.conv(x, w, stride=2, padding=1) ** 3).sum())(w) * v).sum()

    check_grad(inner, (x,), 0, rtol=1e-5, atol=1e-6)


def test_conv_matches_torch():
    torch = torch_or_skip()
    F = torch.nn.functional
    fns = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
    cases = [
        ((2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
        ((2, 3, 7, 8), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
        ((2, 4, 7, 8), (4, 1, 3, 3), dict(stride=1, padding=1, groups=4)),  # depthwise
        ((2, 3, 7, 8), (4, 3, 3, 3), dict(padding="same", dilation=2)),
        ((1, 4, 5, 6, 5), (4, 2, 3, 3, 2), dict(stride=(1, 2, 1), padding=1, groups=2)),
    ]
    for xs, ws, kw in cases:
        x, w, b = randn(*xs), randn(*ws), randn(ws[0])
        f = fns[len(ws) - 2]
        np.testing.assert_allclose(nn.conv(x, w, b, **kw), f(tt(x), tt(w), tt(b), **kw).numpy(),
                                   rtol=1e-10, atol=1e-12)
        got = fl.grad(lambda x, w, b, kw=kw: scalarise(nn.conv(x, w, b, **kw)),
                      argnums=(0, 1, 2))(x, w, b)
        tx, tw, tb = (tt(a).requires_grad_() for a in (x, w, b))
        y = f(tx, tw, tb, **kw)
        (y * tt(np.random.default_rng(0).standard_normal(y.shape))).sum().backward()
        for g, t in zip(got, (tx, tw, tb)):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose():
    x, w, b = randn(2, 4, 5), randn(4, 3, 3), randn(6)
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=1)
    y = nn.conv_transpose(x, w, b, **kw)
    assert y.shape == (2, 6, 10)
    # it is the adjoint of conv in x: conv_transpose(ct, w) == vjp of conv at ct
    xs = randn(2, 6, 10)
    ct = randn(2, 4, 5)
    # (PyTorch's layout makes the same weight array serve both)
    _, vjp = fl.vjp(lambda v: nn.conv(v, w, stride=2, padding=1, groups=2), xs)
    (want,) = vjp(ct)
    np.testing.assert_allclose(nn.conv_transpose(ct, w, stride=2, padding=1,
                                                 output_padding=1, groups=2), want,
                               rtol=1e-10, atol=1e-12)
    for argnum in (0, 1, 2):
        check_grad(lambda x, w, b: scalarise(nn.conv_transpose(x, w, b, **kw)), (x, w, b),
                   argnum)
    torch = torch_or_skip()
    F = torch.nn.functional
    np.testing.assert_allclose(y, F.conv_transpose1d(tt(x), tt(w), tt(b), **kw).numpy(),
                               rtol=1e-10, atol=1e-12)
    x2, w2 = randn(1, 2, 3, 4), randn(2, 3, 2, 3)
    kw2 = dict(stride=(2, 1), padding=(0, 1), dilation=(1, 2))
    np.testing.assert_allclose(nn.conv_transpose(x2, w2, **kw2),
                               F.conv_transpose2d(tt(x2), tt(w2), **kw2).numpy(), rtol=1e-10,
                               atol=1e-12)


# ------------------------------------------------------------------ pooling


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("xs,k,s,p", [
    ((2, 3, 9), 3, 2, 1),
    ((1, 2, 7, 6), (3, 2), None, ((1, 1), (0, 1))),
    ((1, 2, 5, 6), 2, 1, 0),
    ((1, 1, 4, 5, 4), (2, 3, 2), (2, 1, 2), (1, 1, 0)),
    ((3, 6, 5), (2, 2), (1, 2), 0),  # a tuple kernel pools the trailing dims only
])
def test_pool_values_and_grads(mode, xs, k, s, p):
    x = randn(*xs)
    n = len(k) if isinstance(k, tuple) else len(xs) - 2
    kt = k if isinstance(k, tuple) else (k,) * n
    st_ = kt if s is None else (s if isinstance(s, tuple) else (s,) * n)
    pads = nn._padding(p, xs[-n:], kt, st_, (1,) * n, "test")
    f = nn.max_pool if mode == "max" else nn.avg_pool
    np.testing.assert_allclose(f(x, k, s, p), pool_ref(x, kt, st_, pads, mode), rtol=1e-12)
    check_grad(lambda v: scalarise(f(v, k, s, p)), (x,), 0)
    if mode == "avg":
        np.testing.assert_allclose(nn.avg_pool(x, k, s, p, count_include_pad=False),
                                   pool_ref(x, kt, st_, pads, mode, False), rtol=1e-12)


def test_pool_dtypes_and_same():
    x = randn(1, 2, 5, 5, dtype=np.float32)
    assert nn.max_pool(x, 2).dtype == np.float32 and nn.avg_pool(x, 2).dtype == np.float32
    assert nn.max_pool(x, 2, padding="SAME").shape == (1, 2, 3, 3)
    xi = np.arange(10).reshape(1, 1, 10)
    out = nn.max_pool(xi - 20, 3, 2, 1)
    assert out.dtype == xi.dtype
    np.testing.assert_array_equal(out, [[[-19, -17, -15, -13, -11]]])
    with pytest.raises(ValueError, match="spatial"):
        nn.max_pool(np.ones(4), 2)


def test_pool_matches_torch():
    torch = torch_or_skip()
    F = torch.nn.functional
    x = randn(2, 3, 9, 8)
    np.testing.assert_allclose(nn.max_pool(x, 3, 2, 1), F.max_pool2d(tt(x), 3, 2, 1).numpy())
    np.testing.assert_allclose(nn.max_pool(x, 2, 1, 0, dilation=2),
                               F.max_pool2d(tt(x), 2, 1, 0, dilation=2).numpy())
    np.testing.assert_allclose(nn.avg_pool(x, 3, 2, 1), F.avg_pool2d(tt(x), 3, 2, 1).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(nn.avg_pool(x, (2, 3), (1, 2), (1, 1), count_include_pad=False),
                               F.avg_pool2d(tt(x), (2, 3), (1, 2), (1, 1),
                                            count_include_pad=False).numpy(), rtol=1e-12)
    x1, x3 = randn(2, 3, 10), randn(1, 2, 4, 6, 5)
    np.testing.assert_allclose(nn.max_pool(x1, 3, 2), F.max_pool1d(tt(x1), 3, 2).numpy())
    np.testing.assert_allclose(nn.avg_pool(x1, 4, 3, 2), F.avg_pool1d(tt(x1), 4, 3, 2).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(nn.max_pool(x3, 2, 1, 1), F.max_pool3d(tt(x3), 2, 1, 1).numpy())
    np.testing.assert_allclose(nn.avg_pool(x3, (2, 3, 2)),
                               F.avg_pool3d(tt(x3), (2, 3, 2)).numpy(), rtol=1e-12)
    # gradients (no ties in random data)
    for f, tf, args in [(nn.max_pool, F.max_pool2d, (3, 2, 1)),
                        (nn.avg_pool, F.avg_pool2d, (3, 2, 1))]:
        g = fl.grad(lambda v, f=f, args=args: scalarise(f(v, *args)))(x)
        tx = tt(x).requires_grad_()
        y = tf(tx, *args)
        (y * tt(np.random.default_rng(0).standard_normal(y.shape))).sum().backward()
        np.testing.assert_allclose(g, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ window primitives


@pytest.mark.parametrize("window,strides,padding,dilation", [
    ((3,), (1,), ((1, 2),), (1,)),          # overlapping
    ((2, 2), (2, 2), ((0, 1), (1, 0)), (1, 1)),  # disjoint (fast path)
    ((2, 3), (1, 3), ((0, 0), (2, 1)), (2, 1)),  # mixed
])
def test_window_patches_adjoint_and_batching(window, strides, padding, dilation):
    x = randn(2, 3, *[7] * len(window))
    p = window_patches(x, window, strides, padding, dilation)
    y = randn(*p.shape)
    back = window_overlap_add(y, x.shape[2:], window, strides, padding, dilation)
    np.testing.assert_allclose((p * y).sum(), (x * back).sum(), rtol=1e-12)
    # the transpose of overlap-add is patches again (second-order path)
    _, vjp = fl.vjp(lambda c: window_overlap_add(c, x.shape[2:], window, strides, padding,
                                                 dilation), y)
    np.testing.assert_allclose(vjp(x)[0], p, rtol=1e-12)
    # vmap over a middle axis equals a loop
    xb = np.moveaxis(randn(4, 2, 3, *[7] * len(window)), 0, 1)
    got = fl.vmap(lambda v: window_patches(v, window, strides, padding, dilation),
                  in_axes=1)(xb)
    want = np.stack([window_patches(xb[:, i], window, strides, padding, dilation)
                     for i in range(4)])
    np.testing.assert_array_equal(got, want)
    gotb = fl.vmap(lambda c: window_overlap_add(c, x.shape[2:], window, strides, padding,
                                                dilation))(np.stack([y, 2 * y]))
    np.testing.assert_allclose(gotb, np.stack([back, 2 * back]), rtol=1e-12)


def test_window_patches_pad_value_only_in_forward():
    x = np.array([1.0, 2.0, 3.0])
    p = window_patches(x, (2,), padding=((1, 0),), pad_value=-np.inf)
    np.testing.assert_array_equal(p, [[-np.inf, 1.0, 2.0], [1.0, 2.0, 3.0]])
    _, t = fl.jvp(lambda v: window_patches(v, (2,), padding=((1, 0),), pad_value=-np.inf),
                  (x,), (np.ones(3),))
    np.testing.assert_array_equal(t, [[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])


# ------------------------------------------------------------------ transforms


def test_jit_equals_eager():
    x, w, b = randn(2, 3, 8, 7, dtype=np.float32), randn(4, 3, 3, 3, dtype=np.float32), \
        randn(4, dtype=np.float32)
    labels = np.array([1, 3])

    def model(x, w, b):
        h = nn.gelu(nn.conv(x, w, b, stride=1, padding="SAME"))
        h = nn.max_pool(h, 2)
        h = nn.layer_norm(nn.avg_pool(h, 2, 1, 1), axis=(-2, -1))
        logits = h.reshape(2, -1)[:, :4]
        return nn.cross_entropy(logits, labels, label_smoothing=0.1)

    eager = model(x, w, b)
    np.testing.assert_allclose(fl.jit(model)(x, w, b), eager, rtol=1e-6)
    ge = fl.grad(model, argnums=(0, 1, 2))(x, w, b)
    gj = fl.jit(fl.grad(model, argnums=(0, 1, 2)))(x, w, b)
    for a, c in zip(ge, gj):
        assert a.dtype == np.float32
        np.testing.assert_allclose(c, a, rtol=1e-5, atol=1e-7)
    f = fl.jit(lambda x: (nn.softmax(x), nn.logsumexp(x, 1), nn.batch_norm(
        x, np.zeros(3, np.float32), np.ones(3, np.float32))))
    x2 = randn(2, 3, dtype=np.float32)
    for a, c in zip(f(x2), (nn.softmax(x2), nn.logsumexp(x2, 1),
                            nn.batch_norm(x2, np.zeros(3, np.float32), np.ones(3, np.float32)))):
        np.testing.assert_allclose(a, c, rtol=1e-6)


def test_vmap_equals_loop():
    xs, w = randn(3, 2, 2, 6, 5), randn(4, 2, 3, 2)
    conv = lambda x: nn.conv(x, w, stride=(2, 1), padding=1)
    np.testing.assert_allclose(fl.vmap(conv)(xs), np.stack([conv(x) for x in xs]), rtol=1e-12)
    # batched weights too (in_axes over both), and grouped conv
    ws = randn(3, 4, 1, 3, 2)
    gconv = lambda x, w: nn.conv(x, w, groups=2)
    np.testing.assert_allclose(fl.vmap(gconv)(xs, ws),
                               np.stack([gconv(x, w) for x, w in zip(xs, ws)]), rtol=1e-12)
    for pool in (lambda x: nn.max_pool(x, 2, 1, 1), lambda x: nn.avg_pool(x, (3, 2), 2)):
        got = fl.vmap(pool, in_axes=2, out_axes=0)(xs.transpose(1, 2, 0, 3, 4))
        np.testing.assert_allclose(got, np.stack([pool(x) for x in xs]), rtol=1e-12)
    # per-example gradients
    loss = lambda w, x: scalarise(nn.max_pool(nn.conv(x[None], w), 2))
    per_ex = fl.vmap(fl.grad(loss), in_axes=(None, 0))(w, xs[:, 0])
    np.testing.assert_allclose(per_ex, np.stack([fl.grad(loss)(w, x) for x in xs[:, 0]]),
                               rtol=1e-10)


# ------------------------------------------------------------------ dropout


def test_dropout_deterministic_paths():
    x = randn(3, 4)
    # x itself, as an immutable Array view: no copy, no scaling
    for y in (nn.dropout(None, 0.5, x, deterministic=True), nn.dropout(None, 0.0, x)):
        assert isinstance(y, fl.Array) and np.shares_memory(y, x)
        np.testing.assert_array_equal(y, x)
    with pytest.raises(ValueError, match="rate"):
        nn.dropout(None, 1.5, x)


def test_dropout_random():
    random = pytest.importorskip("functorch_lite.random")
    key = random.PRNGKey(0)
    x = np.ones((200, 50), np.float32)
    y = nn.dropout(key, 0.25, x)
    assert y.dtype == np.float32 and y.shape == x.shape
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_array_equal(nn.dropout(key, 0.25, x), y)  # reproducible
    np.testing.assert_array_equal(nn.dropout(key, 1.0, x), np.zeros_like(x))
    g = fl.grad(lambda v: nn.dropout(key, 0.25, v).sum())(x)
    np.testing.assert_allclose(g, kept / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(fl.jit(lambda v: nn.dropout(key, 0.25, v))(x), y)
