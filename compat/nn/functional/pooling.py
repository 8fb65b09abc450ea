"""Pooling: ``max_pool1d/2d/3d``, ``avg_pool1d/2d/3d``, ``adaptive_avg_pool1d/2d/3d``,
``adaptive_max_pool1d/2d``, ``lp_pool2d``: ``Op`` s over ``functorch_lite.nn.max_pool`` /
``avg_pool`` (PyTorch's ``ceil_mode`` as extra high-side padding, its average divisors as
a constant array where they are not one number), adaptive average pooling as two small
averaging matrices (exact bins ``[floor(i L / n), ceil((i + 1) L / n))``).

Max pooling's gradient with tied maxima in a window is shared between them (the core's
rule for ``max``); PyTorch gives it all to one. Windows after a ReLU tie only at 0, where
the ReLU's own gradient is 0, so trained networks see the same gradients.

>>> F.max_pool2d(compat.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
[[[[5.0, 7.0], [13.0, 15.0]]]]
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp

from ...ops.dispatch import Op
from ...tensor import Tensor, wrap
from .conv import ntuple


def pool_geometry(input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
                  n: int, name: str):
    """(kernel, stride, dilation, ((lo, hi), ...)) for PyTorch's pooling arguments; with
    ``ceil_mode`` the high side gets the extra padding that makes the last partial window
    count (but never a window that starts in the right padding)."""
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}: Expected {n + 1}D or {n + 2}D input, but got input of "
                           f"size: {list(input.shape)}")
    k = ntuple(kernel_size, n, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else \
        ntuple(stride, n, "stride")
    p = ntuple(padding, n, "padding")
    d = ntuple(dilation, n, "dilation")
    if any(pi * 2 > ki for pi, ki in zip(p, k)):
        raise RuntimeError(f"{name}: pad should be at most half of effective kernel size, but "
                           f"got pad={p[0]}, kernel_size={k[0]} and dilation={d[0]}")
    pads = []
    for size, ki, si, pi, di in zip(input.shape[-n:], k, s, p, d):
        span = di * (ki - 1) + 1
        out = out_size(size, span, si, pi, ceil_mode)
        if out < 1:
            raise RuntimeError(f"{name}: Given input size {tuple(input.shape)}, calculated "
                               "output size is too small")
        extra = max((out - 1) * si + span - (size + 2 * pi), 0)
        pads.append((pi, pi + extra))
    return k, s, d, tuple(pads)


def out_size(size: int, span: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length."""
    num = size + 2 * pad - span
    if not ceil_mode:
        return num // stride + 1
    out = -(-num // stride) + 1
    if (out - 1) * stride >= size + pad:  # the last window would start in the padding
        out -= 1
    return out


def max_pool_fn(x, kernel, stride, pads, dilation):
    return fl.nn.max_pool(x, kernel, stride, pads, dilation)


max_pool_ops = {n: Op(max_pool_fn, f"MaxPool{n}DWithIndices") for n in (1, 2, 3)}


def max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n):
    k, s, d, pads = pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode,
                                  n, f"max_pool{n}d")
    out = max_pool_ops[n](input, kernel=k, stride=s, pads=pads, dilation=d)
    if return_indices:
        return out, max_indices(input, k, s, pads, d)
    return out


def max_indices(input: Tensor, k, s, pads, d) -> Tensor:
    """The flat spatial index of each window's (first) maximum, as PyTorch returns with
    ``return_indices=True`` (computed on the concrete data; indices have no gradient)."""
    x = np.asarray(input.numpy(force=True))
    n = len(k)
    spatial = x.shape[-n:]
    flat = np.arange(int(np.prod(spatial)), dtype=np.int64).reshape(spatial)
    pad_cfg = [(0, 0)] * (x.ndim - n) + list(pads)
    xp = np.pad(x, pad_cfg, constant_values=-np.inf)
    fp = np.pad(flat, list(pads), constant_values=-1)
    win_x = window_view(xp, k, s, d, n)
    win_i = window_view(fp, k, s, d, n)
    lead = win_x.shape[:x.ndim - n]
    outs = win_x.shape[x.ndim - n:x.ndim]
    wx = win_x.reshape(lead + outs + (-1,))
    best = np.argmax(wx, axis=-1)
    wi = np.broadcast_to(win_i.reshape(outs + (-1,)), wx.shape)
    return wrap(np.take_along_axis(wi, best[..., None], axis=-1)[..., 0].copy())


def window_view(a: np.ndarray, k, s, d, n: int) -> np.ndarray:
    """``(*lead, *out, *window)`` strided view of the ``n`` trailing dims of ``a``."""
    lead = a.shape[:-n]
    outs = tuple((size - (di * (ki - 1) + 1)) // si + 1
                 for size, ki, si, di in zip(a.shape[-n:], k, s, d))
    st = a.strides[-n:]
    shape = lead + outs + tuple(k)
    strides = a.strides[:-n] + tuple(si * b for si, b in zip(s, st)) + tuple(
        di * b for di, b in zip(d, st))
    return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=False)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    r"""1-d max pooling over :math:`(N, C, L)`: the max of each window of ``kernel_size``
    (stride defaults to the kernel size; padding counts as :math:`-\infty`).

    >>> F.max_pool1d(compat.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[3.0, 2.0]]]
    """
    return max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode,
                      return_indices, 1)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    r"""2-d max pooling over :math:`(N, C, H, W)`; output size per dim
    :math:`\lfloor (L + 2p - d(k - 1) - 1)/s \rfloor + 1` (ceiling with ``ceil_mode``).

    Args:
        kernel_size, stride, padding, dilation: ints or pairs (stride defaults to
            ``kernel_size``).
        ceil_mode: round the output size up (a last partial window counts).
        return_indices: also return the flat index (``h * W + w``) of each max.

    >>> F.max_pool2d(compat.ones(1, 1, 5, 5), 2, ceil_mode=True).shape
    torch.Size([1, 1, 3, 3])
    """
    return max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode,
                      return_indices, 2)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    r"""3-d max pooling over :math:`(N, C, D, H, W)` (see :func:`max_pool2d`).

    >>> F.max_pool3d(compat.ones(1, 1, 4, 4, 4), 2).shape
    torch.Size([1, 1, 2, 2, 2])
    """
    return max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode,
                      return_indices, 3)


def avg_pool_fn(x, kernel, stride, pads, count_include_pad):
    return fl.nn.avg_pool(x, kernel, stride, pads, count_include_pad)


def sum_pool_div_fn(x, divisor, kernel, stride, pads):
    total = fnp.multiply(fl.nn.avg_pool(x, kernel, stride, pads), math.prod(kernel))
    return fnp.divide(total, divisor)


avg_pool_ops = {n: Op(avg_pool_fn, f"AvgPool{n}D") for n in (1, 2, 3)}
sum_pool_div_ops = {n: Op(sum_pool_div_fn, f"AvgPool{n}D") for n in (1, 2, 3)}


def pool_divisor(spatial, k, s, p, pads, count_include_pad: bool, dtype) -> np.ndarray:
    """PyTorch's per-window divisor: the window clipped to the padded input (with
    ``count_include_pad``) or to the input, never including the ``ceil_mode`` overhang."""
    per_dim = []
    for size, ki, si, pi, (lo, hi) in zip(spatial, k, s, p, pads):
        out = (size + lo + hi - ki) // si + 1
        start = np.arange(out) * si - pi
        end = np.minimum(start + ki, size + pi)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        per_dim.append((end - start).astype(np.float64))
    div = per_dim[0]
    for v in per_dim[1:]:
        div = np.multiply.outer(div, v)
    return div.astype(dtype)


def avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override, n):
    k, s, _, pads = pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode, n,
                                  f"avg_pool{n}d")
    overhang = any(hi != lo for lo, hi in pads)
    if divisor_override is None and not overhang:
        return avg_pool_ops[n](input, kernel=k, stride=s, pads=pads,
                               count_include_pad=bool(count_include_pad))
    p = tuple(lo for lo, _ in pads)
    if divisor_override is not None:
        divisor = np.asarray(divisor_override, input.array.dtype)
    else:
        divisor = pool_divisor(input.shape[-n:], k, s, p, pads, count_include_pad,
                               input.array.dtype)
    return sum_pool_div_ops[n](input, divisor, kernel=k, stride=s, pads=pads)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    r"""1-d average pooling over :math:`(N, C, L)`.

    >>> F.avg_pool1d(compat.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[2.0, 1.0]]]
    """
    return avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      None, 1)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    r"""2-d average pooling over :math:`(N, C, H, W)`: each window's sum divided by the
    kernel size (padding counted as zeros when ``count_include_pad``), or by
    ``divisor_override``.

    >>> F.avg_pool2d(compat.ones(1, 1, 4, 4), 2, padding=1, count_include_pad=False).shape
    torch.Size([1, 1, 3, 3])
    """
    return avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override, 2)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    r"""3-d average pooling over :math:`(N, C, D, H, W)` (see :func:`avg_pool2d`).

    >>> F.avg_pool3d(compat.ones(1, 1, 2, 2, 2), 2).tolist()
    [[[[[1.0]]]]]
    """
    return avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override, 3)


def adaptive_bins(size: int, out: int) -> list:
    """PyTorch's adaptive pooling bins: ``[floor(i L / n), ceil((i + 1) L / n))``."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def averaging_matrix(size: int, out: int, dtype) -> np.ndarray:
    m = np.zeros((out, size), dtype)
    for i, (a, b) in enumerate(adaptive_bins(size, out)):
        m[i, a:b] = 1.0 / (b - a)
    return m


def adaptive_avg_fn(x, *mats):
    # one small matmul per pooled dim: (..., L) @ M.T -> (..., out), the dim moved last
    n = len(mats)
    for j, m in enumerate(mats):
        axis = x.ndim - n + j
        x = fnp.moveaxis(fnp.matmul(fnp.moveaxis(x, axis, -1), fnp.transpose(m)), -1, axis)
    return x


def global_avg_fn(x, axes):
    return fnp.mean(x, axis=axes, keepdims=True)


adaptive_avg_op = Op(adaptive_avg_fn, "AdaptiveAvgPool")
global_avg_op = Op(global_avg_fn, "Mean")


def output_sizes(input: Tensor, output_size, n: int) -> tuple:
    sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * n
    if len(sizes) != n:
        raise ValueError(f"output_size must have {n} entries, got {output_size}")
    return tuple(input.shape[-n + i] if o is None else int(o) for i, o in enumerate(sizes))


def adaptive_avg_poolnd(input: Tensor, output_size, n: int) -> Tensor:
    outs = output_sizes(input, output_size, n)
    spatial = tuple(input.shape[-n:])
    if all(o == 1 for o in outs):
        return global_avg_op(input, axes=tuple(range(input.ndim - n, input.ndim)))
    if all(L % o == 0 for L, o in zip(spatial, outs)):
        k = tuple(L // o for L, o in zip(spatial, outs))
        return avg_pool_ops[n](input, kernel=k, stride=k, pads=((0, 0),) * n,
                               count_include_pad=True)
    dt = input.array.dtype
    mats = [averaging_matrix(L, o, dt) for L, o in zip(spatial, outs)]
    return adaptive_avg_op(input, *mats)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    r"""1-d adaptive average pooling to length ``output_size``.

    >>> F.adaptive_avg_pool1d(compat.tensor([[[1.0, 2.0, 3.0]]]), 2).tolist()
    [[[1.5, 2.5]]]
    """
    return adaptive_avg_poolnd(input, output_size, 1)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    r"""2-d adaptive average pooling to ``output_size`` (an int, a pair, or None to keep
    a dim): output cell :math:`i` averages input rows
    :math:`[\lfloor iH/h \rfloor, \lceil (i+1)H/h \rceil)`.

    >>> F.adaptive_avg_pool2d(compat.ones(2, 3, 7, 5), (1, 1)).shape
    torch.Size([2, 3, 1, 1])
    """
    return adaptive_avg_poolnd(input, output_size, 2)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    r"""3-d adaptive average pooling (see :func:`adaptive_avg_pool2d`).

    >>> F.adaptive_avg_pool3d(compat.ones(1, 1, 4, 4, 4), 2).shape
    torch.Size([1, 1, 2, 2, 2])
    """
    return adaptive_avg_poolnd(input, output_size, 3)


def adaptive_max_fn(x, bins):
    # bins: per pooled dim, the (start, end) of each output cell; stack the window maxima
    n = len(bins)
    lead = x.ndim - n

    def rec(a, d):
        if d == n:
            return a
        cells = [rec(fnp.max(lax_slice(a, lead + d, s, e), axis=lead + d, keepdims=True), d + 1)
                 for s, e in bins[d]]
        return fnp.concatenate(cells, axis=lead + d)

    return rec(x, 0)


def lax_slice(a, axis: int, start: int, end: int):
    idx = [slice(None)] * a.ndim
    idx[axis] = slice(start, end)
    return a[tuple(idx)]


adaptive_max_op = Op(adaptive_max_fn, "AdaptiveMaxPool")
AdaptiveMaxResult = namedtuple("AdaptiveMaxResult", ["values", "indices"])


def adaptive_max_poolnd(input: Tensor, output_size, return_indices: bool, n: int):
    outs = output_sizes(input, output_size, n)
    spatial = tuple(input.shape[-n:])
    if all(L % o == 0 for L, o in zip(spatial, outs)):
        k = tuple(L // o for L, o in zip(spatial, outs))
        return max_poolnd(input, k, k, 0, 1, False, return_indices, n)
    if return_indices:
        raise NotImplementedError("adaptive_max_pool with return_indices needs the output "
                                  "size to divide the input size here")
    bins = tuple(tuple(adaptive_bins(L, o)) for L, o in zip(spatial, outs))
    return adaptive_max_op(input, bins=bins)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    r"""1-d adaptive max pooling to length ``output_size``.

    >>> F.adaptive_max_pool1d(compat.tensor([[[1.0, 5.0, 3.0]]]), 2).tolist()
    [[[5.0, 5.0]]]
    """
    return adaptive_max_poolnd(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    r"""2-d adaptive max pooling to ``output_size`` (bins as
    :func:`adaptive_avg_pool2d`).

    >>> F.adaptive_max_pool2d(compat.ones(1, 1, 5, 5), 2).shape
    torch.Size([1, 1, 2, 2])
    """
    return adaptive_max_poolnd(input, output_size, return_indices, 2)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    r"""2-d power-average pooling :math:`(\sum_{\text{window}} x^p)^{1/p}`.

    >>> F.lp_pool2d(compat.ones(1, 1, 2, 2), 2, 2).tolist()
    [[[[2.0]]]]
    """
    k = ntuple(kernel_size, 2, "kernel_size")
    pooled = avg_pool2d(input ** norm_type, k, stride, 0, ceil_mode)
    return (pooled.sign() * pooled.abs().relu() * (k[0] * k[1])) ** (1.0 / norm_type)


__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "lp_pool2d", "max_pool1d", "max_pool2d", "max_pool3d",
]
