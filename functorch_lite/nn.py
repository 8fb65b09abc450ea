"""Functional neural-network building blocks (activations, losses, normalisation,
convolution, pooling, dropout), written with traceable primitives so ``grad``,
``vmap`` and ``jit`` apply to all of them.

Layouts follow PyTorch: channels first (``NCHW`` inputs, ``OIHW`` conv weights),
N-d by the rank of the weight (1-D, 2-D, 3-D...). Softmax-like functions take
``axis=-1`` by default (JAX's convention).

Convolution and pooling are ``window_patches`` (im2col, see
``functorch_lite.primitives.conv``) followed by ``dot_general`` or a reduction, so
their derivatives and batching rules are those primitives' rules.

>>> import numpy as np, functorch_lite as fl, functorch_lite.nn as nn
>>> nn.relu(np.array([-1.0, 2.0], np.float32))
Array([0., 2.], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import dtypes, random
from . import lax as L
from . import numpy as fnp
from .primitives.conv import window_overlap_add, window_patches, window_patches_p

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "swish", "sigmoid", "log_sigmoid",
    "softplus", "tanh", "softmax", "log_softmax", "logsumexp", "one_hot", "conv",
    "conv_transpose", "max_pool", "avg_pool", "dropout", "layer_norm", "batch_norm",
    "normalize", "cross_entropy", "binary_cross_entropy_with_logits", "mse",
]


# ------------------------------------------------------------------ helpers


def _arr(x):
    return fnp.asarray(x)


def _float(x):
    """``x`` as an array of a float dtype (integers become float32)."""
    x = _arr(x)
    return x if dtypes.is_float(L.aval(x).dtype) else fnp.astype(x, dtypes.default_float)


def _shape(x):
    return L.aval(x).shape


def _axes(axis, ndim, name):
    if axis is None:
        return tuple(range(ndim))
    axs = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axs:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of bounds for an array of rank {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axis}")
    return tuple(sorted(out))


def _expand(v, shape, axes):
    """Broadcast ``v`` (reduced over ``axes``, keepdims or not) back to ``shape``."""
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    v = L.reshape(v, tuple(shape[i] for i in kept))
    return L.broadcast_in_dim(v, shape, kept)


def _reduce(loss, reduction, name, count=None):
    if reduction == "none":
        return loss
    total = L.reduce_sum(loss, tuple(range(len(_shape(loss)))))
    if reduction == "sum":
        return total
    if reduction == "mean":
        n = int(np.prod(_shape(loss), dtype=np.int64)) if count is None else count
        return L.div(total, n)
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


# ------------------------------------------------------------------ activations


def relu(x):
    """``max(x, 0)``; the derivative at 0 is 0 (as PyTorch).

    >>> relu(np.array([-1.0, 0.0, 3.0], np.float32))
    Array([0., 0., 3.], dtype=float32)
    """
    x = _arr(x)
    return L.select(L.gt(x, 0), x, L.zeros_like(x))


def relu6(x):
    """``min(max(x, 0), 6)``.

    >>> relu6(np.array([-1.0, 3.0, 9.0], np.float32))
    Array([0., 3., 6.], dtype=float32)
    """
    x = _arr(x)
    return L.select(L.gt(x, 6), L.full_like(x, 6), relu(x))


def leaky_relu(x, negative_slope=0.01):
    """``x`` for ``x > 0`` else ``negative_slope * x``.

    >>> leaky_relu(np.array([-2.0, 2.0], np.float32), 0.1)
    Array([-0.2,  2. ], dtype=float32)
    """
    x = _float(x)
    return L.select(L.gt(x, 0), x, L.mul(x, negative_slope))


def elu(x, alpha=1.0):
    """``x`` for ``x > 0`` else ``alpha * (exp(x) - 1)``.

    >>> elu(np.array([0.0, 1.0], np.float32))
    Array([0., 1.], dtype=float32)
    """
    x = _float(x)
    neg = L.mul(L.expm1(L.min(x, L.zeros_like(x))), alpha)  # min(): no overflow in exp
    return L.select(L.gt(x, 0), x, neg)


def gelu(x, approximate=False):
    """Gaussian error linear unit. Exact ``x * Phi(x)`` (with ``erf``) by default, as
    PyTorch; ``approximate=True`` (or ``"tanh"``) uses the tanh approximation.

    >>> gelu(np.array([0.0, 1.0], np.float32))
    Array([0.       , 0.8413447], dtype=float32)
    """
    x = _float(x)
    if approximate in (False, None, "none"):
        cdf = L.mul(L.add(L.erf(L.mul(x, 1 / math.sqrt(2.0))), 1.0), 0.5)
        return L.mul(x, cdf)
    if approximate not in (True, "tanh"):
        raise ValueError(f"gelu: approximate must be a bool or 'tanh', got {approximate!r}")
    inner = L.mul(L.add(x, L.mul(L.mul(L.mul(x, x), x), 0.044715)), math.sqrt(2.0 / math.pi))
    return L.mul(L.mul(x, 0.5), L.add(L.tanh(inner), 1.0))


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))`` (no overflow for large ``|x|``).

    >>> sigmoid(np.array([0.0], np.float32))
    Array([0.5], dtype=float32)
    """
    return L.logistic(_float(x))


def silu(x):
    """``x * sigmoid(x)`` (a.k.a. swish).

    >>> silu(np.array([0.0, 1.0], np.float32))
    Array([0.       , 0.7310586], dtype=float32)
    """
    x = _float(x)
    return L.mul(x, L.logistic(x))


swish = silu


def softplus(x):
    """``log(1 + exp(x))``, computed as ``max(x, 0) + log1p(exp(-|x|))`` (stable).

    >>> softplus(np.array([0.0], np.float32))
    Array([0.6931472], dtype=float32)
    """
    x = _float(x)
    return L.add(L.max(x, L.zeros_like(x)), L.log1p(L.exp(L.neg(L.abs(x)))))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)`` (stable).

    >>> log_sigmoid(np.array([0.0], np.float32))
    Array([-0.6931472], dtype=float32)
    """
    return L.neg(softplus(L.neg(_float(x))))


def tanh(x):
    """Hyperbolic tangent.

    >>> tanh(np.array([0.0], np.float32))
    Array([0.], dtype=float32)
    """
    return L.tanh(_float(x))


# ------------------------------------------------------------------ softmax family


def _stable_shift(x, axes):
    """The per-slice max of ``x`` (no gradient; non-finite maxima replaced by 0), reduced
    and broadcast back to ``x``'s shape."""
    m = L.reduce_max(L.stop_gradient(x), axes)
    m = L.select(L.is_finite(m), m, L.zeros_like(m))
    return m, _expand(m, _shape(x), axes)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))``, shifted by the max so it neither overflows nor
    underflows; a slice of all ``-inf`` gives ``-inf`` (no NaN).

    >>> logsumexp(np.array([0.0, 0.0], np.float32))
    Array(0.6931472, dtype=float32)
    """
    x = _float(x)
    shape = _shape(x)
    axes = _axes(axis, len(shape), "logsumexp")
    m, mx = _stable_shift(x, axes)
    out = L.add(L.log(L.reduce_sum(L.exp(L.sub(x, mx)), axes)), m)
    if keepdims:
        out = L.reshape(out, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return out


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis, keepdims=True)``, stable for large ``|x|``.

    >>> log_softmax(np.array([0.0, 0.0], np.float32))
    Array([-0.6931472, -0.6931472], dtype=float32)
    """
    x = _float(x)
    shape = _shape(x)
    axes = _axes(axis, len(shape), "log_softmax")
    shifted = L.sub(x, _stable_shift(x, axes)[1])
    lse = L.log(L.reduce_sum(L.exp(shifted), axes))
    return L.sub(shifted, _expand(lse, shape, axes))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis)``, shifted by the max for stability.

    >>> softmax(np.array([0.0, 0.0], np.float32))
    Array([0.5, 0.5], dtype=float32)
    """
    x = _float(x)
    shape = _shape(x)
    axes = _axes(axis, len(shape), "softmax")
    e = L.exp(L.sub(x, _stable_shift(x, axes)[1]))
    return L.div(e, _expand(L.reduce_sum(e, axes), shape, axes))


def one_hot(x, num_classes, dtype=np.float32, axis=-1):
    """One-hot encoding of integer ``x``: a new axis of size ``num_classes`` (last by
    default). Out-of-range labels give an all-zero row (as JAX).

    >>> one_hot(np.array([0, 2]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    x = _arr(x)
    if dtypes.is_float(L.aval(x).dtype):
        raise TypeError(f"one_hot: labels must be integers, got {L.aval(x).dtype.name}")
    shape = _shape(x)
    nd = len(shape) + 1
    ax = int(axis) % nd if -nd <= int(axis) < nd else None
    if ax is None:
        raise ValueError(f"one_hot: axis {axis} is out of bounds for the result rank {nd}")
    out_shape = shape[:ax] + (int(num_classes),) + shape[ax:]
    kept = tuple(i for i in range(nd) if i != ax)
    xb = L.broadcast_in_dim(x, out_shape, kept)
    classes = L.iota(L.aval(x).dtype, out_shape, ax)
    return L.convert(L.eq(xb, classes), dtypes.canonical(dtype))


# ------------------------------------------------------------------ losses


def cross_entropy(logits, labels, *, axis=-1, label_smoothing=0.0, reduction="mean",
                  ignore_index=None):
    """Softmax cross-entropy between ``logits`` and integer class ``labels`` (shape of
    ``logits`` without ``axis``) or class probabilities shaped like ``logits``.

    ``label_smoothing=eps`` mixes the target with the uniform distribution as PyTorch:
    ``(1 - eps) * nll + eps * mean_c(-log_softmax)``. ``reduction`` is "mean" (over the
    examples; with ``ignore_index``, over the non-ignored ones), "sum" or "none".
    ``ignore_index`` (integer labels only): examples with that label contribute 0.
    The class axis defaults to the last one (PyTorch uses ``axis=1``).

    >>> cross_entropy(np.zeros((2, 4), np.float32), np.array([1, 3]))
    Array(1.3862944, dtype=float32)
    """
    logits = _float(logits)
    labels = _arr(labels)
    shape = _shape(logits)
    (ax,) = _axes(axis, len(shape), "cross_entropy")
    n_classes = shape[ax]
    logp = log_softmax(logits, ax)
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {eps}")
    lab_aval = L.aval(labels)
    count = None
    if not dtypes.is_float(lab_aval.dtype):
        expected = shape[:ax] + shape[ax + 1:]
        if lab_aval.shape != expected:
            raise ValueError(f"cross_entropy: integer labels of shape {lab_aval.shape} do not "
                             f"match logits of shape {shape} without axis {ax} "
                             f"(expected {expected})")
        target = one_hot(labels, n_classes, dtype=L.aval(logp).dtype, axis=ax)
        loss = L.neg(L.reduce_sum(L.mul(target, logp), (ax,)))
        if eps:
            smooth = L.div(L.neg(L.reduce_sum(logp, (ax,))), n_classes)
            loss = L.add(L.mul(loss, 1.0 - eps), L.mul(smooth, eps))
        if ignore_index is not None:
            keep = L.ne(labels, L.full_like(labels, ignore_index))
            loss = L.select(keep, loss, L.zeros_like(loss))
            count = L.convert(L.reduce_sum(L.convert(keep, np.int64),
                                           tuple(range(len(expected)))),
                              L.aval(loss).dtype)
    else:
        if lab_aval.shape != shape:
            raise ValueError(f"cross_entropy: probability targets of shape {lab_aval.shape} "
                             f"must have the shape of the logits {shape}")
        if ignore_index is not None:
            raise ValueError("cross_entropy: ignore_index needs integer class labels")
        target = fnp.astype(labels, L.aval(logp).dtype)
        if eps:
            target = L.add(L.mul(target, 1.0 - eps), eps / n_classes)
        loss = L.neg(L.reduce_sum(L.mul(target, logp), (ax,)))
    return _reduce(loss, reduction, "cross_entropy", count)


def binary_cross_entropy_with_logits(logits, targets, reduction="mean"):
    """Binary cross-entropy on logits, ``max(x, 0) - x * t + log1p(exp(-|x|))``
    (stable for any ``x``).

    >>> binary_cross_entropy_with_logits(np.zeros(2, np.float32), np.ones(2, np.float32))
    Array(0.6931472, dtype=float32)
    """
    x = _float(logits)
    t = fnp.astype(targets, L.aval(x).dtype)
    if _shape(t) != _shape(x):
        raise ValueError(f"binary_cross_entropy_with_logits: targets of shape {_shape(t)} "
                         f"do not match logits of shape {_shape(x)}")
    loss = L.sub(softplus(x), L.mul(x, t))
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def mse(pred, target, reduction="mean"):
    """Squared error ``(pred - target)**2`` reduced by ``reduction`` ("mean", "sum",
    "none"); shapes broadcast as numpy.

    >>> mse(np.array([1.0, 3.0], np.float32), np.array([0.0, 0.0], np.float32))
    Array(5., dtype=float32)
    """
    d = fnp.subtract(_float(pred), target)
    return _reduce(L.mul(d, d), reduction, "mse")


# ------------------------------------------------------------------ normalisation


def _param_shape(p, shape, axes, what, name):
    """Broadcast a per-feature parameter whose dims are the ``axes`` of ``shape``."""
    p = _arr(p)
    ps = _shape(p)
    want = tuple(shape[a] for a in axes)
    if ps == want:
        return L.broadcast_in_dim(p, shape, axes)
    if len(ps) == len(shape):
        return fnp.broadcast_to(p, shape)
    raise ValueError(f"{name}: {what} of shape {ps} does not match the normalised dims {want} "
                     f"of the input shape {shape}")


def layer_norm(x, weight=None, bias=None, eps=1e-5, axis=-1):
    """Normalise over ``axis`` (an int or a tuple) to zero mean and unit (biased)
    variance, then scale by ``weight`` and shift by ``bias`` (shaped like the
    normalised dims).

    >>> layer_norm(np.array([[1.0, 3.0]], np.float32))
    Array([[-0.999995,  0.999995]], dtype=float32)
    """
    x = _float(x)
    shape = _shape(x)
    axes = _axes(axis, len(shape), "layer_norm")
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    mean = _expand(L.div(L.reduce_sum(x, axes), n), shape, axes)
    d = L.sub(x, mean)
    var = L.div(L.reduce_sum(L.mul(d, d), axes), n)
    y = L.mul(d, _expand(L.rsqrt(L.add(var, eps)), shape, axes))
    if weight is not None:
        y = L.mul(y, fnp.astype(_param_shape(weight, shape, axes, "weight", "layer_norm"),
                                L.aval(y).dtype))
    if bias is not None:
        y = L.add(y, fnp.astype(_param_shape(bias, shape, axes, "bias", "layer_norm"),
                                L.aval(y).dtype))
    return y


def batch_norm(x, mean, var, weight=None, bias=None, eps=1e-5):
    """Normalise ``x`` (``(N, C, ...)``) with the given per-channel statistics
    ``mean`` and ``var`` (shape ``(C,)``), then scale and shift per channel: PyTorch's
    ``F.batch_norm`` in evaluation mode. (For training, compute the batch statistics
    with ``fnp.mean``/``fnp.var`` over every axis but 1 and pass them in.)

    >>> batch_norm(np.ones((1, 2), np.float32), np.ones(2, np.float32),
    ...            np.ones(2, np.float32), eps=0.0)
    Array([[0., 0.]], dtype=float32)
    """
    x = _float(x)
    shape = _shape(x)
    if len(shape) < 2:
        raise ValueError(f"batch_norm: input of shape {shape} needs a channel axis 1")
    dt = L.aval(x).dtype

    def chan(p, what):
        p = fnp.astype(p, dt)
        if _shape(p) != (shape[1],):
            raise ValueError(f"batch_norm: {what} of shape {_shape(p)} does not match the "
                             f"{shape[1]} channels of the input shape {shape}")
        return L.broadcast_in_dim(p, shape, (1,))

    y = L.mul(L.sub(x, chan(mean, "mean")), L.rsqrt(L.add(chan(var, "var"), eps)))
    if weight is not None:
        y = L.mul(y, chan(weight, "weight"))
    if bias is not None:
        y = L.add(y, chan(bias, "bias"))
    return y


def normalize(x, p=2.0, axis=-1, eps=1e-12):
    """``x / max(||x||_p, eps)`` along ``axis`` (PyTorch's ``F.normalize``).

    >>> normalize(np.array([3.0, 4.0], np.float32))
    Array([0.6, 0.8], dtype=float32)
    """
    x = _float(x)
    shape = _shape(x)
    axes = _axes(axis, len(shape), "normalize")
    a = L.abs(x)
    if p == 2:
        norm = L.sqrt(L.reduce_sum(L.mul(x, x), axes))
    elif p == 1:
        norm = L.reduce_sum(a, axes)
    else:
        norm = L.pow(L.reduce_sum(L.pow(a, float(p)), axes), 1.0 / float(p))
    return L.div(x, _expand(L.max(norm, L.full_like(norm, eps)), shape, axes))


# ------------------------------------------------------------------ dropout


def dropout(key, rate, x, deterministic=False):
    """Inverted dropout: zero each element with probability ``rate`` and scale the
    rest by ``1 / (1 - rate)``, using ``functorch_lite.random.bernoulli(key, ...)``.
    ``deterministic=True`` (evaluation) or ``rate == 0`` returns ``x`` unchanged.
    ``rate`` must be a Python number.

    >>> dropout(None, 0.5, np.ones(3, np.float32), deterministic=True)
    Array([1., 1., 1.], dtype=float32)
    """
    x = _arr(x)
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1], got {rate}")
    if deterministic or rate == 0.0:
        return x
    x = _float(x)
    if rate == 1.0:
        return L.zeros_like(x)
    keep = random.bernoulli(key, 1.0 - rate, _shape(x))
    return L.select(_arr(keep), L.div(x, 1.0 - rate), L.zeros_like(x))


# ------------------------------------------------------------------ convolution & pooling


def _tuple(v, n, what, name):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(e) for e in v)
    if len(v) != n:
        raise ValueError(f"{name}: {what} {v} must have {n} entries (one per spatial dim)")
    return v


def _padding(padding, spatial, window, strides, dilation, name):
    """Normalise ``padding`` to ``((lo, hi), ...)``: an int, a tuple of ints or of
    ``(lo, hi)`` pairs, or "SAME" (output size ``ceil(in / stride)``, the extra on the
    high side) or "VALID" (none)."""
    n = len(window)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0),) * n
        if mode == "SAME":
            pads = []
            for size, k, s, d in zip(spatial, window, strides, dilation):
                out = -(-size // s)
                total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"{name}: padding must be an int, a tuple, 'SAME' or 'VALID', "
                         f"got {padding!r}")
    if isinstance(padding, (int, np.integer)):
        return ((int(padding), int(padding)),) * n
    padding = tuple(padding)
    if len(padding) != n:
        raise ValueError(f"{name}: padding {padding} must have {n} entries (one per spatial "
                         "dim)")
    out = []
    for p in padding:
        if isinstance(p, (int, np.integer)):
            out.append((int(p), int(p)))
        elif isinstance(p, Sequence) and len(p) == 2:
            out.append((int(p[0]), int(p[1])))
        else:
            raise ValueError(f"{name}: padding entry {p!r} must be an int or a (lo, hi) pair")
    if any(lo < 0 or hi < 0 for lo, hi in out):
        raise ValueError(f"{name}: padding {padding} must be non-negative")
    return tuple(out)


def _promote_pair(x, w):
    x, w = _arr(x), _arr(w)
    dt, _ = dtypes.promote([L.aval(x).dtype, L.aval(w).dtype], [False, False])
    return fnp.astype(x, dt), fnp.astype(w, dt)


def conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """N-d convolution (cross-correlation, as PyTorch's ``conv1d/2d/3d``).

    ``x``: ``(N, C, *spatial)`` (or unbatched ``(C, *spatial)``); ``w``:
    ``(O, C // groups, *kernel)``, whose rank decides the number of spatial dims;
    ``b``: ``(O,)`` or None. ``stride`` and ``dilation`` are ints or per-dim tuples;
    ``padding`` an int, a per-dim tuple of ints or of ``(lo, hi)`` pairs, "SAME" or
    "VALID". Returns ``(N, O, *out)``.

    >>> x = np.ones((1, 1, 4), np.float32); w = np.ones((1, 1, 3), np.float32)
    >>> conv(x, w, padding=1)
    Array([[[2., 3., 3., 2.]]], dtype=float32)
    """
    x, w = _promote_pair(x, w)
    xs, ws = _shape(x), _shape(w)
    n = len(ws) - 2
    if n < 1:
        raise ValueError(f"conv: weight of shape {ws} needs rank >= 3 (O, C/groups, *kernel)")
    if len(xs) == n + 1:
        y = conv(L.reshape(x, (1,) + xs), w, b, stride, padding, dilation, groups)
        return L.reshape(y, _shape(y)[1:])
    if len(xs) != n + 2:
        raise ValueError(f"conv: input of shape {xs} does not fit weight of shape {ws}: "
                         f"expected rank {n + 2} (N, C, *spatial) or {n + 1}")
    groups = int(groups)
    if groups < 1 or ws[0] % groups:
        raise ValueError(f"conv: {ws[0]} output channels of weight shape {ws} are not "
                         f"divisible by groups={groups}")
    if xs[1] != ws[1] * groups:
        raise ValueError(f"conv: input of shape {xs} has {xs[1]} channels but weight of shape "
                         f"{ws} expects {ws[1] * groups} (= {ws[1]} x groups={groups})")
    kernel = ws[2:]
    strides = _tuple(stride, n, "stride", "conv")
    dil = _tuple(dilation, n, "dilation", "conv")
    pads = _padding(padding, xs[2:], kernel, strides, dil, "conv")
    patches = window_patches(x, kernel, strides, pads, dil)  # (N, C, *k, *out)
    out_sp = _shape(patches)[2 + n:]
    win = tuple(range(2, 2 + n))
    if groups == 1:
        y = L.dot_general(patches, w, (((1,) + win, (1,) + win), ((), ())))  # (N, *out, O)
        y = L.transpose(y, (0, n + 1) + tuple(range(1, n + 1)))
    else:
        g, cg, og = groups, ws[1], ws[0] // groups
        p = L.reshape(patches, (xs[0], g, cg) + kernel + out_sp)
        wg = L.reshape(w, (g, og, cg) + kernel)
        win_g = tuple(range(3, 3 + n))
        y = L.dot_general(p, wg, (((2,) + win_g, (2,) + win_g), ((1,), (0,))))
        # (G, N, *out, Og) -> (N, G, Og, *out) -> (N, O, *out)
        y = L.transpose(y, (1, 0, n + 2) + tuple(range(2, n + 2)))
        y = L.reshape(y, (xs[0], ws[0]) + out_sp)
    if b is not None:
        y = _add_bias(y, b, ws[0], "conv")
    return y


def _add_bias(y, b, channels, name):
    b = fnp.astype(b, L.aval(y).dtype)
    if _shape(b) != (channels,):
        raise ValueError(f"{name}: bias of shape {_shape(b)} does not match {channels} output "
                         "channels")
    return L.add(y, L.broadcast_in_dim(b, _shape(y), (1,)))


def conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                   dilation=1):
    """Transposed convolution, PyTorch's ``conv_transpose1d/2d/3d`` (the gradient of
    :func:`conv` with respect to its input). ``x``: ``(N, C_in, *spatial)``; ``w``:
    ``(C_in, C_out // groups, *kernel)``; output size per dim
    ``(in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.
    ``padding`` is an int or a per-dim tuple of ints.

    >>> conv_transpose(np.ones((1, 1, 2), np.float32), np.ones((1, 1, 3), np.float32))
    Array([[[1., 2., 2., 1.]]], dtype=float32)
    """
    x, w = _promote_pair(x, w)
    xs, ws = _shape(x), _shape(w)
    n = len(ws) - 2
    if n < 1:
        raise ValueError(f"conv_transpose: weight of shape {ws} needs rank >= 3")
    if len(xs) == n + 1:
        y = conv_transpose(L.reshape(x, (1,) + xs), w, b, stride, padding, output_padding,
                           groups, dilation)
        return L.reshape(y, _shape(y)[1:])
    groups = int(groups)
    if len(xs) != n + 2 or xs[1] != ws[0] or groups < 1 or ws[0] % groups:
        raise ValueError(f"conv_transpose: input of shape {xs} does not fit weight of shape "
                         f"{ws} with groups={groups} (expected (N, {ws[0]}, *spatial) with "
                         f"{ws[0]} divisible by groups)")
    kernel = ws[2:]
    strides = _tuple(stride, n, "stride", "conv_transpose")
    dil = _tuple(dilation, n, "dilation", "conv_transpose")
    pad = _tuple(padding, n, "padding", "conv_transpose")
    opad = _tuple(output_padding, n, "output_padding", "conv_transpose")
    if any(o >= max(s, d) or o < 0 for o, s, d in zip(opad, strides, dil)):
        raise ValueError(f"conv_transpose: output_padding {opad} must be smaller than stride "
                         f"{strides} or dilation {dil}")
    out_sp = tuple((i - 1) * s - 2 * p + d * (k - 1) + o + 1
                   for i, s, p, d, k, o in zip(xs[2:], strides, pad, dil, kernel, opad))
    if any(o < 1 for o in out_sp):
        raise ValueError(f"conv_transpose: output size {out_sp} is not positive for input "
                         f"{xs}, weight {ws}")
    g, cg, og = groups, ws[0] // groups, ws[1]
    nb = xs[0]
    # columns[n, g, o, *k, *in] = sum_c x[n, g, c, *in] w[g, c, o, *k]; then overlap-add
    xg = L.reshape(x, (nb, g, cg) + xs[2:])
    wg = L.reshape(w, (g, cg, og) + kernel)
    cols = L.dot_general(xg, wg, (((2,), (1,)), ((1,), (0,))))  # (G, N, *in, Og, *k)
    perm = (1, 0, n + 2) + tuple(range(n + 3, 2 * n + 3)) + tuple(range(2, n + 2))
    cols = L.reshape(L.transpose(cols, perm), (nb, g * og) + kernel + xs[2:])
    y = window_overlap_add(cols, out_sp, kernel, strides, tuple((p, p) for p in pad), dil)
    if b is not None:
        y = _add_bias(y, b, g * og, "conv_transpose")
    return y


def _pool_setup(x, kernel_size, stride, padding, dilation, name):
    shape = _shape(x)
    if isinstance(kernel_size, (int, np.integer)):
        n = len(shape) - 2
        if n < 1:
            raise ValueError(f"{name}: input of shape {shape} has no spatial dims after (N, C); "
                             "pass kernel_size as a tuple to pool its trailing dims")
        kernel = (int(kernel_size),) * n
    else:
        kernel = tuple(int(k) for k in kernel_size)
        n = len(kernel)
        if n > len(shape):
            raise ValueError(f"{name}: kernel_size {kernel} has more dims than the input "
                             f"shape {shape}")
    strides = kernel if stride is None else _tuple(stride, n, "stride", name)
    dil = _tuple(dilation, n, "dilation", name)
    pads = _padding(padding, shape[len(shape) - n:], kernel, strides, dil, name)
    return kernel, strides, pads, dil, n


def max_pool(x, kernel_size, stride=None, padding=0, dilation=1):
    """Max pooling over the trailing spatial dims (PyTorch's ``max_pool1d/2d/3d``).

    An int ``kernel_size`` pools every dim after ``(N, C)``; a tuple pools that many
    trailing dims. ``stride`` defaults to ``kernel_size``; ``padding`` (ints, pairs,
    "SAME", "VALID") pads with ``-inf``. Ties share the gradient equally (PyTorch
    gives it to one of them).

    >>> max_pool(np.arange(8.0).reshape(1, 1, 8), 2)
    Array([[[1., 3., 5., 7.]]])
    """
    x = _arr(x)
    kernel, strides, pads, dil, n = _pool_setup(x, kernel_size, stride, padding, dilation,
                                                "max_pool")
    dt = L.aval(x).dtype
    if dtypes.is_float(dt):
        pad_value = -np.inf
    elif dt == np.bool_:
        pad_value = 0
    else:
        pad_value = int(np.iinfo(dt).min)
    p = window_patches(x, kernel, strides, pads, dil, pad_value=pad_value)
    lead = len(_shape(x)) - n
    return L.reduce_max(p, tuple(range(lead, lead + n)))


def avg_pool(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Average pooling over the trailing spatial dims (PyTorch's ``avg_pool1d/2d/3d``).

    Arguments as :func:`max_pool`. Padding counts as zeros in the average
    (``count_include_pad=True``, PyTorch's default); with ``False`` each window is
    divided by its number of real elements.

    >>> avg_pool(np.arange(8.0, dtype=np.float32).reshape(1, 1, 8), 2)
    Array([[[0.5, 2.5, 4.5, 6.5]]], dtype=float32)
    """
    x = _float(x)
    kernel, strides, pads, dil, n = _pool_setup(x, kernel_size, stride, padding, 1,
                                                "avg_pool")
    shape = _shape(x)
    lead = len(shape) - n
    p = window_patches(x, kernel, strides, pads, dil)
    s = L.reduce_sum(p, tuple(range(lead, lead + n)))
    if count_include_pad or all(lo == hi == 0 for lo, hi in pads):
        return L.div(s, int(np.prod(kernel, dtype=np.int64)))
    # per-window count of real elements: a constant known from the static shapes
    ones = np.ones(shape[lead:], L.aval(x).dtype)
    counts = window_patches_p.impl(ones, window_shape=kernel, strides=strides, padding=pads,
                                   dilation=dil, pad_value=0.0).sum(axis=tuple(range(n)))
    return L.div(s, L.broadcast_in_dim(counts.astype(L.aval(x).dtype), _shape(s),
                                       tuple(range(lead, lead + n))))
