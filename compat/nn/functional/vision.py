"""Resampling and rearranging images: ``pad``, ``interpolate`` (nearest, nearest-exact,
linear/bilinear/trilinear, with ``align_corners``), ``pixel_shuffle``/``pixel_unshuffle``,
``unfold``/``fold``. Linear interpolation is a product with small constant weight
matrices, one per resized dim (the weights are PyTorch's source coordinates), so its
gradient is the transposed product.

>>> F.interpolate(compat.tensor([[[1.0, 2.0]]]), scale_factor=2, mode="linear").tolist()
[[[1.0, 1.25, 1.75, 2.0]]]
"""

from __future__ import annotations

import math

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp

from ...ops.dispatch import Op
from ...tensor import Tensor
from .pooling import adaptive_avg_poolnd

PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap"}


def pad_fn(x, widths, crops, mode, value):
    if any(c != (0, 0) for c in crops):  # negative padding crops
        x = x[tuple(slice(lo, x.shape[i] - hi) for i, (lo, hi) in enumerate(crops))]
    if mode == "constant":
        return fnp.pad(x, widths, constant_values=value)
    return fnp.pad(x, widths, mode=mode)


pad_ops = {m: Op(pad_fn, n) for m, n in (("constant", "ConstantPadNd"),
                                          ("reflect", "ReflectionPad"),
                                          ("edge", "ReplicationPad"), ("wrap", "CircularPad"))}


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    r"""Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)`` starts
    from the last dim. Modes ``"constant"`` (with ``value``, 0 by default; negative widths
    crop), ``"reflect"``, ``"replicate"``, ``"circular"``.

    >>> F.pad(compat.ones(1, 2), (1, 2), value=9.0)
    tensor([[9., 1., 1., 9., 9.]])
    """
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most twice the "
                           f"number of dims, got {len(pad)} for input of {input.ndim} dims")
    if mode not in PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    widths = [(0, 0)] * input.ndim
    crops = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        widths[d] = (max(lo, 0), max(hi, 0))
        crops[d] = (max(-lo, 0), max(-hi, 0))
    if mode == "reflect" and any(lo >= input.shape[d] or hi >= input.shape[d]
                                 for d, (lo, hi) in enumerate(widths)):
        raise RuntimeError("Padding size should be less than the corresponding input "
                           f"dimension, but got: padding {tuple(pad)} for input of shape "
                           f"{list(input.shape)}")
    np_mode = PAD_MODES[mode]
    return pad_ops[np_mode](input, widths=tuple(widths), crops=tuple(crops), mode=np_mode,
                            value=0.0 if value is None else float(value))


def linear_weights(in_size: int, out_size: int, scale: float | None,
                   align_corners: bool) -> np.ndarray:
    """The ``(out, in)`` matrix of 1-d linear interpolation with PyTorch's source
    coordinates: ``align_corners`` maps corner pixels to corner pixels, otherwise pixel
    centres map with ``src = (dst + 0.5) * in / out - 0.5`` (clamped at 0)."""
    m = np.zeros((out_size, in_size), np.float64)
    for o in range(out_size):
        if align_corners:
            src = o * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        else:
            ratio = (1.0 / scale) if scale else in_size / out_size
            src = max((o + 0.5) * ratio - 0.5, 0.0)
        i0 = min(int(math.floor(src)), in_size - 1)
        i1 = min(i0 + 1, in_size - 1)
        frac = src - i0
        m[o, i0] += 1.0 - frac
        m[o, i1] += frac
    return m


def nearest_index(in_size: int, out_size: int, scale: float | None, exact: bool) -> np.ndarray:
    """PyTorch's nearest source index per output position (``nearest``: floor(dst * r),
    ``nearest-exact``: floor((dst + 0.5) * r), ``r = in / out`` or ``1 / scale``)."""
    ratio = (1.0 / scale) if scale else in_size / out_size
    dst = np.arange(out_size, dtype=np.float64)
    src = np.floor((dst + 0.5) * ratio) if exact else np.floor(dst * ratio)
    return np.minimum(src.astype(np.int64), in_size - 1)


def resample_fn(x, *mats):
    """Apply one ``(out, in)`` matrix per trailing dim (the last ``len(mats)`` dims)."""
    n = len(mats)
    for j, m in enumerate(mats):
        axis = x.ndim - n + j
        x = fnp.moveaxis(fnp.matmul(fnp.moveaxis(x, axis, -1), fnp.transpose(m)), -1, axis)
    return x


def gather_fn(x, *idx):
    n = len(idx)
    for j, ix in enumerate(idx):
        x = fnp.take(x, ix, axis=x.ndim - n + j)
    return x


resample_op = Op(resample_fn, "UpsampleLinear")
nearest_op = Op(gather_fn, "UpsampleNearest")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    r"""Resize the spatial dims of :math:`(N, C, *)` to ``size`` or by ``scale_factor``.

    Args:
        size: the output spatial size (int or tuple).
        scale_factor: multiplier per spatial dim (used for the source coordinates too,
            unless ``recompute_scale_factor``).
        mode: ``"nearest"``, ``"nearest-exact"``, ``"linear"``, ``"bilinear"``,
            ``"trilinear"``, ``"area"``.
        align_corners: for the linear modes, map corner pixel centres to each other.

    >>> F.interpolate(compat.ones(1, 1, 2, 2), scale_factor=2).shape
    torch.Size([1, 1, 4, 4])
    """
    n = input.ndim - 2
    if n < 1:
        raise ValueError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                         f"{input.ndim}D) for the modes: nearest | linear | bilinear | "
                         "trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = tuple(input.shape[2:])
    if size is not None:
        out = tuple(size) if isinstance(size, (list, tuple)) else (int(size),) * n
        scales = (None,) * n
    else:
        sf = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else \
            (float(scale_factor),) * n
        out = tuple(int(math.floor(s * f)) for s, f in zip(spatial, sf))
        scales = (None,) * n if recompute_scale_factor else sf
    if mode == "area":  # PyTorch's area mode is adaptive average pooling to the size
        return adaptive_avg_poolnd(input, out, n)
    if mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
        idx = [nearest_index(i, o, s, mode == "nearest-exact")
               for i, o, s in zip(spatial, out, scales)]
        return nearest_op(input, *idx)
    linear_modes = {"linear": 1, "bilinear": 2, "trilinear": 3}
    if mode not in linear_modes:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported")
    if linear_modes[mode] != n:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{linear_modes[mode] + 2}D input")
    dt = input.array.dtype
    mats = [linear_weights(i, o, s, bool(align_corners)).astype(dt)
            for i, o, s in zip(spatial, out, scales)]
    return resample_op(input, *mats)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`.

    >>> F.upsample(compat.ones(1, 1, 2), scale_factor=2).shape
    torch.Size([1, 1, 4])
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle_fn(x, r):
    *lead, c, h, w = x.shape
    y = fnp.reshape(x, (*lead, c // (r * r), r, r, h, w))
    k = len(lead)
    y = fnp.transpose(y, tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return fnp.reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle_fn(x, r):
    *lead, c, h, w = x.shape
    y = fnp.reshape(x, (*lead, c, h // r, r, w // r, r))
    k = len(lead)
    y = fnp.transpose(y, tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return fnp.reshape(y, (*lead, c * r * r, h // r, w // r))


pixel_shuffle_op = Op(pixel_shuffle_fn, "PixelShuffle")
pixel_unshuffle_op = Op(pixel_unshuffle_fn, "PixelUnshuffle")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    r""":math:`(*, C r^2, H, W) \to (*, C, H r, W r)` (sub-pixel convolution's
    rearrangement).

    >>> F.pixel_shuffle(compat.ones(1, 4, 2, 3), 2).shape
    torch.Size([1, 1, 4, 6])
    """
    return pixel_shuffle_op(input, r=int(upscale_factor))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    r""":math:`(*, C, H r, W r) \to (*, C r^2, H, W)`, the inverse of
    :func:`pixel_shuffle`.

    >>> F.pixel_unshuffle(compat.ones(1, 1, 4, 6), 2).shape
    torch.Size([1, 4, 2, 3])
    """
    return pixel_unshuffle_op(input, r=int(downscale_factor))


def unfold_fn(x, kernel, dilation, padding, stride):
    # im2col as a convolution with the identity filter bank: one output channel per
    # (input channel, kernel offset), in PyTorch's (C, kh, kw) order
    c = x.shape[1]
    k = int(np.prod(kernel))
    eye = np.eye(c * k, dtype=x.dtype).reshape((c * k, c) + tuple(kernel))
    y = fl.nn.conv(x, eye, None, stride, padding, dilation)
    return fnp.reshape(y, (x.shape[0], c * k, -1))


unfold_op = Op(unfold_fn, "Im2Col")


def pair(v) -> tuple:
    return tuple(v) if isinstance(v, (list, tuple)) else (int(v), int(v))


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    r"""Extract sliding local blocks (im2col): :math:`(N, C, H, W) \to
    (N, C \prod k, L)` with :math:`L` the number of block positions.

    >>> F.unfold(compat.ones(1, 2, 3, 3), 2).shape
    torch.Size([1, 8, 4])
    """
    return unfold_op(input, kernel=pair(kernel_size), dilation=pair(dilation),
                     padding=pair(padding), stride=pair(stride))


def fold_fn(cols, output_size, kernel, dilation, padding, stride):
    n, ck, _ = cols.shape
    k = int(np.prod(kernel))
    c = ck // k
    outs = tuple((o + 2 * p - d * (kk - 1) - 1) // s + 1
                 for o, p, d, kk, s in zip(output_size, padding, dilation, kernel, stride))
    y = fnp.reshape(cols, (n, ck) + outs)
    eye = np.eye(c * k, dtype=cols.dtype).reshape((c * k, c) + tuple(kernel))
    return fl.nn.conv_transpose(y, eye, None, stride, padding, 0, 1, dilation)


fold_op = Op(fold_fn, "Col2Im")


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0,
         stride=1) -> Tensor:
    r"""Combine sliding local blocks into an image (col2im, summing overlaps): the
    adjoint of :func:`unfold`.

    >>> F.fold(compat.ones(1, 4, 4), (3, 3), 2).tolist()
    [[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]
    """
    return fold_op(input, output_size=pair(output_size), kernel=pair(kernel_size),
                   dilation=pair(dilation), padding=pair(padding), stride=pair(stride))


__all__ = ["fold", "interpolate", "pad", "pixel_shuffle", "pixel_unshuffle", "unfold",
           "upsample"]
