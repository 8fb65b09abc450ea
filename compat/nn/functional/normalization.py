"""Normalisation: ``batch_norm`` (batch statistics in training, updating the running
statistics in place as PyTorch does), ``layer_norm``, ``group_norm``, ``instance_norm``,
``rms_norm``, ``normalize``, ``local_response_norm``; one ``Op`` each over
``functorch_lite.nn`` functions.

>>> F.layer_norm(compat.tensor([[1.0, 3.0]]), (2,))
tensor([[-1.0000,  1.0000]])
"""

from __future__ import annotations

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp

from ...grad_mode import no_grad
from ...ops.dispatch import Op
from ...tensor import Tensor, is_concrete


def channel_axes(ndim: int) -> tuple:
    """The axes batch statistics reduce over: every one but the channel axis 1."""
    return (0,) + tuple(range(2, ndim))


def batch_norm_train_fn(x, w, b, eps):
    """Normalise with the batch's own statistics; also return the batch mean and the
    unbiased variance (what the running statistics track)."""
    axes = channel_axes(x.ndim)
    n = int(np.prod([x.shape[a] for a in axes]))
    mean = fnp.mean(x, axis=axes)
    var = fnp.var(x, axis=axes)
    y = fl.nn.batch_norm(x, mean, var, w, b, eps)
    unbiased = fnp.multiply(var, n / max(n - 1, 1))
    return y, fl.stop_gradient(mean), fl.stop_gradient(unbiased)


def batch_norm_eval_fn(x, mean, var, w, b, eps):
    return fl.nn.batch_norm(x, mean, var, w, b, eps)


batch_norm_train_op = Op(batch_norm_train_fn, "NativeBatchNorm", multi=True)
batch_norm_eval_op = Op(batch_norm_eval_fn, "NativeBatchNorm")


def update_running(stat: Tensor, batch_value, momentum: float) -> None:
    """``stat <- (1 - momentum) stat + momentum batch_value`` in place, outside autograd.
    Inside a transform whose traced values include the buffer, the tensor's array becomes
    the traced update (as compat's in-place ops do); a concrete buffer never takes a
    traced value (the update is skipped)."""
    old = stat.array
    if is_concrete(old):
        if not is_concrete(batch_value):
            return
        old *= 1.0 - momentum
        old += momentum * np.asarray(batch_value, old.dtype)
    else:
        new = fnp.add(fnp.multiply(old, 1.0 - momentum), fnp.multiply(batch_value, momentum))
        stat.array = fnp.astype(new, old.dtype)
    stat.version[0] += 1


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Batch normalisation over the channel dim 1 of :math:`(N, C, *)`:

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    In training (or without running statistics) the mean and biased variance of the batch
    are used, and ``running_mean``/``running_var`` (when given) move towards the batch
    mean and the *unbiased* batch variance:
    :math:`\hat x_{new} = (1 - \text{momentum}) \hat x + \text{momentum}\, x_t`.
    Otherwise the running statistics normalise.

    >>> rm, rv = compat.zeros(2), compat.ones(2)
    >>> _ = F.batch_norm(compat.tensor([[1.0, 2.0], [3.0, 6.0]]), rm, rv, training=True)
    >>> rm, rv
    (tensor([0.2000, 0.4000]), tensor([1.1000, 1.7000]))
    """
    if training or running_mean is None:
        shape = input.shape
        n = int(np.prod([shape[a] for a in channel_axes(input.ndim)])) if input.ndim > 1 else 0
        if training and n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {shape}")
        y, mean, var = batch_norm_train_op(input, weight, bias, eps=float(eps))
        if training and running_mean is not None:
            update_running(running_mean, mean.array, momentum)
            update_running(running_var, var.array, momentum)
        return y
    return batch_norm_eval_op(input, running_mean, running_var, weight, bias, eps=float(eps))


def layer_norm_fn(x, w, b, eps, axes):
    return fl.nn.layer_norm(x, w, b, eps, axis=axes)


layer_norm_op = Op(layer_norm_fn, "NativeLayerNorm")


def normalized_axes(input: Tensor, normalized_shape, name: str) -> tuple:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
        normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k:]) != shape or k > input.ndim:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{input.shape!r}")
    return tuple(range(input.ndim - k, input.ndim))


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    r"""Layer normalisation over the trailing dims ``normalized_shape``:
    :math:`y = (x - \mathrm{E}[x]) / \sqrt{\mathrm{Var}[x] + \epsilon} \cdot \gamma + \beta`
    (biased variance).

    >>> F.layer_norm(compat.ones(2, 3), (3,)).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    axes = normalized_axes(input, normalized_shape, "layer_norm")
    return layer_norm_op(input, weight, bias, eps=float(eps), axes=axes)


def rms_norm_fn(x, w, eps, axes):
    ms = fnp.mean(fnp.multiply(x, x), axis=axes, keepdims=True)
    y = fnp.multiply(x, fl.lax.rsqrt(fnp.add(ms, eps)))
    return y if w is None else fnp.multiply(y, w)


rms_norm_op = Op(rms_norm_fn, "RmsNorm")


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    r"""Root-mean-square normalisation over the trailing dims:
    :math:`y = x / \sqrt{\mathrm{E}[x^2] + \epsilon} \cdot \gamma` (``eps`` defaults to the
    dtype's machine epsilon, as PyTorch).

    >>> F.rms_norm(compat.tensor([[3.0, 4.0]]), (2,))
    tensor([[0.8485, 1.1314]])
    """
    axes = normalized_axes(input, normalized_shape, "rms_norm")
    if eps is None:
        eps = float(np.finfo(input.array.dtype).eps)
    return rms_norm_op(input, weight, eps=float(eps), axes=axes)


def group_norm_fn(x, w, b, groups, eps):
    n, c = x.shape[0], x.shape[1]
    g = fnp.reshape(x, (n, groups, -1))
    y = fnp.reshape(fl.nn.layer_norm(g, None, None, eps, axis=-1), x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if w is not None:
        y = fnp.multiply(y, fnp.reshape(w, shape))
    if b is not None:
        y = fnp.add(y, fnp.reshape(b, shape))
    return y


group_norm_op = Op(group_norm_fn, "NativeGroupNorm")


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    r"""Group normalisation: the channels of :math:`(N, C, *)` split into ``num_groups``
    groups, each normalised over its channels and spatial dims, then a per-channel affine.

    >>> F.group_norm(compat.tensor([[1.0, 3.0, 5.0, 5.0]]), 2).tolist()
    [[-0.9999949932098389, 0.9999949932098389, 0.0, 0.0]]
    """
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {input.shape} and num_groups="
                           f"{num_groups}")
    return group_norm_op(input, weight, bias, groups=int(num_groups), eps=float(eps))


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Instance normalisation: each channel of each example normalised over its spatial
    dims (``group_norm`` with one group per channel); with ``use_input_stats=False`` the
    running statistics normalise instead.

    >>> F.instance_norm(compat.tensor([[[1.0, 3.0]]])).tolist()
    [[[-0.9999949932098389, 0.9999949932098389]]]
    """
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    if running_mean is not None:
        n, c = input.shape[0], input.shape[1]
        flat = input.reshape(1, n * c, *input.shape[2:])
        stats = [s.repeat(n) if s is not None else None for s in (running_mean, running_var)]
        batch_norm(flat, stats[0], stats[1], None, None, True, momentum, eps)
        with no_grad():
            running_mean.copy_(stats[0].reshape(n, c).mean(0))
            running_var.copy_(stats[1].reshape(n, c).mean(0))
    return group_norm(input, input.shape[1], weight, bias, eps)


def normalize_fn(x, p, dim, eps):
    return fl.nn.normalize(x, p, dim, eps)


normalize_op = Op(normalize_fn, "Normalize")


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    r""":math:`v / \max(\lVert v \rVert_p, \epsilon)` along ``dim``.

    >>> F.normalize(compat.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    res = normalize_op(input, p=float(p), dim=int(dim), eps=float(eps))
    if out is not None:
        return out.copy_(res)
    return res


def local_response_norm_fn(x, size, alpha, beta, k):
    sq = fnp.multiply(x, x)
    c = x.shape[1]
    pad = [(0, 0)] * x.ndim
    pad[1] = (size // 2, (size - 1) // 2)
    sq = fnp.pad(sq, pad)
    acc = sum(fnp.take(sq, np.arange(i, i + c), axis=1) for i in range(size))
    div = fnp.power(fnp.add(fnp.multiply(acc, alpha / size), k), beta)
    return fnp.divide(x, div)


local_response_norm_op = Op(local_response_norm_fn, "LocalResponseNorm")


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    r"""Local response normalisation across channels:
    :math:`b_c = a_c (k + \frac{\alpha}{n} \sum_{c'} a_{c'}^2)^{-\beta}` over a window of
    ``size`` neighbouring channels.

    >>> F.local_response_norm(compat.ones(1, 3, 2), 2).shape
    torch.Size([1, 3, 2])
    """
    return local_response_norm_op(input, size=int(size), alpha=float(alpha),
                                  beta=float(beta), k=float(k))


__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "local_response_norm",
           "normalize", "rms_norm"]
