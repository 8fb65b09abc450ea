"""Convolutions: ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d``, each one ``Op`` over
``functorch_lite.nn.conv`` / ``conv_transpose`` (bias included, so a conv layer is one
graph node, as PyTorch's ``ConvolutionBackward0``).

>>> F.conv2d(compat.ones(1, 1, 3, 3), compat.ones(1, 1, 2, 2)).tolist()
[[[[4.0, 4.0], [4.0, 4.0]]]]
"""

from __future__ import annotations

import numpy as np

import functorch_lite as fl
import functorch_lite.lax as L

from ...ops.dispatch import Op
from ...tensor import Tensor


def conv_fn(x, w, b, stride, padding, dilation, groups):
    r"""N-d convolution plus bias. Batched ungrouped convolutions are written as im2col
    patches :math:`(N, C \prod k, P)` contracted with the weight :math:`(O, C \prod k)` in
    one batched matrix product whose output is already :math:`(N, O, P)` -- no transposed
    copy of the patches or of the result, which is what dominates eager time (the same
    formulation lowers to one GEMM per example under ``jit``). Other cases are
    ``functorch_lite.nn.conv``."""
    n = w.ndim - 2
    if groups != 1 or x.ndim != n + 2:
        return fl.nn.conv(x, w, b, stride, padding, dilation, groups)
    nb, o = x.shape[0], w.shape[0]
    k = int(np.prod(w.shape[1:]))
    patches = L.window_patches(x, w.shape[2:], stride, padding, dilation)
    out = patches.shape[2 + n:]
    cols = L.reshape(patches, (nb, k, int(np.prod(out))))
    wb = L.broadcast_in_dim(L.reshape(w, (o, k)), (nb, o, k), (1, 2))
    y = L.reshape(L.dot_general(wb, cols, (((2,), (1,)), ((0,), (0,)))), (nb, o) + out)
    if b is not None:
        y = L.add(y, L.broadcast_in_dim(b, y.shape, (1,)))
    return y


conv_op = Op(conv_fn, "Convolution")


def ntuple(v, n: int, what: str) -> tuple:
    """An int or a sequence as an ``n``-tuple of ints."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return (int(v[0]),) * n
        if len(v) != n:
            raise RuntimeError(f"expected {what} to be a single integer value or a list of "
                               f"{n} values to match the convolution dimensions, but got "
                               f"{what}={list(v)}")
        return tuple(int(e) for e in v)
    return (int(v),) * n


def check_input(input: Tensor, weight: Tensor, n: int, name: str, groups: int,
                transposed: bool = False) -> None:
    """PyTorch's errors for a wrong input rank or channel count (the ones users meet)."""
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(input.shape)}")
    channels = input.shape[-n - 1]
    want = weight.shape[0] if transposed else weight.shape[1] * groups
    if channels != want:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {want} channels, but got "
                           f"{channels} channels instead")


def conv_padding(padding, n: int, stride: tuple, dilation: tuple, kernel: tuple) -> tuple:
    """PyTorch's ``padding`` (int, tuple, "same", "valid") as ``(lo, hi)`` pairs; "same"
    (stride 1 only) pads :math:`d (k - 1)` in total, the extra one on the high side."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
        if padding == "valid":
            return ((0, 0),) * n
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in ntuple(padding, n, "padding"))


def check_dtypes(input: Tensor, weight: Tensor, bias) -> None:
    if input.array.dtype != weight.array.dtype:
        raise RuntimeError(f"Input type ({input.type()}) and weight type ({weight.type()}) "
                           "should be the same")
    if bias is not None and bias.array.dtype != weight.array.dtype:
        raise RuntimeError(f"Input type ({input.type()}) and bias type ({bias.type()}) "
                           "should be the same")


def convnd(input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups: int,
           n: int) -> Tensor:
    check_input(input, weight, n, f"conv{n}d", groups)
    check_dtypes(input, weight, bias)
    stride = ntuple(stride, n, "stride")
    dilation = ntuple(dilation, n, "dilation")
    pads = conv_padding(padding, n, stride, dilation, tuple(weight.shape[2:]))
    return conv_op(input, weight, bias, stride=stride, padding=pads, dilation=dilation,
                   groups=int(groups))


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""1-d convolution (cross-correlation) over an input :math:`(N, C_{in}, L)`:

    .. math:: \text{out}(N_i, C_j) = b_j + \sum_k w_{j,k} \star x_{N_i, k}

    Args:
        input: :math:`(N, C_{in}, L)` or :math:`(C_{in}, L)`.
        weight: :math:`(C_{out}, C_{in} / \text{groups}, k)`.
        bias: :math:`(C_{out})` or None.
        stride, padding, dilation: ints or 1-tuples; ``padding`` may be ``"same"`` or
            ``"valid"``.
        groups: split the channels into this many independent groups.

    >>> F.conv1d(compat.ones(1, 1, 4), compat.ones(1, 1, 3), padding=1).tolist()
    [[[2.0, 3.0, 3.0, 2.0]]]
    """
    return convnd(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""2-d convolution (cross-correlation) over an input :math:`(N, C_{in}, H, W)`; output
    size per spatial dim
    :math:`\lfloor (L + 2p - d (k - 1) - 1) / s \rfloor + 1`.

    Args:
        input: :math:`(N, C_{in}, H, W)` or :math:`(C_{in}, H, W)`.
        weight: :math:`(C_{out}, C_{in} / \text{groups}, kH, kW)`.
        bias: :math:`(C_{out})` or None.
        stride, padding, dilation: ints or pairs; ``padding`` may be ``"same"`` (stride 1)
            or ``"valid"``.
        groups: split the channels into this many independent groups.

    >>> F.conv2d(compat.ones(1, 3, 8, 8), compat.ones(4, 3, 3, 3), padding="same").shape
    torch.Size([1, 4, 8, 8])
    """
    return convnd(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""3-d convolution over an input :math:`(N, C_{in}, D, H, W)` (see :func:`conv2d`).

    >>> F.conv3d(compat.ones(1, 1, 3, 3, 3), compat.ones(2, 1, 3, 3, 3)).shape
    torch.Size([1, 2, 1, 1, 1])
    """
    return convnd(input, weight, bias, stride, padding, dilation, groups, 3)


def conv_transpose_fn(x, w, b, stride, padding, output_padding, groups, dilation):
    return fl.nn.conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation)


conv_transpose_op = Op(conv_transpose_fn, "Convolution")


def conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation,
                     n: int) -> Tensor:
    check_input(input, weight, n, f"conv_transpose{n}d", groups, transposed=True)
    return conv_transpose_op(input, weight, bias, stride=ntuple(stride, n, "stride"),
                             padding=ntuple(padding, n, "padding"),
                             output_padding=ntuple(output_padding, n, "output_padding"),
                             groups=int(groups), dilation=ntuple(dilation, n, "dilation"))


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""1-d transposed convolution (the gradient of :func:`conv1d` with respect to its
    input); output length :math:`(L - 1)s - 2p + d(k - 1) + \text{output\_padding} + 1`.

    Args:
        input: :math:`(N, C_{in}, L)`.
        weight: :math:`(C_{in}, C_{out} / \text{groups}, k)`.

    >>> F.conv_transpose1d(compat.ones(1, 1, 2), compat.ones(1, 1, 3)).tolist()
    [[[1.0, 2.0, 2.0, 1.0]]]
    """
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                            dilation, 1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""2-d transposed convolution ("deconvolution"); output size per dim
    :math:`(L - 1)s - 2p + d(k - 1) + \text{output\_padding} + 1`.

    Args:
        input: :math:`(N, C_{in}, H, W)`.
        weight: :math:`(C_{in}, C_{out} / \text{groups}, kH, kW)`.

    >>> F.conv_transpose2d(compat.ones(1, 2, 4, 4), compat.ones(2, 3, 2, 2), stride=2).shape
    torch.Size([1, 3, 8, 8])
    """
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                            dilation, 2)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""3-d transposed convolution (see :func:`conv_transpose2d`).

    >>> F.conv_transpose3d(compat.ones(1, 1, 2, 2, 2), compat.ones(1, 1, 2, 2, 2)).shape
    torch.Size([1, 1, 3, 3, 3])
    """
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                            dilation, 3)


__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]
