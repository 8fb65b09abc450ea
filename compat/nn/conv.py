"""Convolution layers: ``Conv1d``, ``Conv2d``, ``Conv3d``, ``ConvTranspose1d``,
``ConvTranspose2d``, ``ConvTranspose3d`` over ``compat.nn.functional`` (one graph node per
layer, bias included), with PyTorch's attributes, default initialisation, padding modes
and ``repr``.

>>> nn.Conv2d(1, 6, 5, padding=2)
Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
"""

from __future__ import annotations

import math

from ..ops.creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional.conv import ntuple
from .linear import init_bias, register_bias
from .module import Module
from .parameter import Parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class ConvNd(Module):
    """What the convolution layers share: parameters, initialisation, padding modes and
    ``repr`` (PyTorch's ``_ConvNd``)."""

    n = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 output_padding=0, device=None, dtype=None) -> None:
        super().__init__()
        n = self.n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = ntuple(kernel_size, n, "kernel_size")
        self.stride = ntuple(stride, n, "stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = ntuple(padding, n, "padding")
        self.dilation = ntuple(dilation, n, "dilation")
        self.output_padding = ntuple(output_padding, n, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(empty(*shape, device=device, dtype=dtype))
        register_bias(self, bias, out_channels, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight from ``kaiming_uniform_(a=sqrt(5))``, bias from
        :math:`\\mathcal{U}(-1/\\sqrt{\\text{fan\\_in}}, 1/\\sqrt{\\text{fan\\_in}})`."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            init_bias(self.bias, fan_in)

    def mode_padding(self) -> tuple:
        """``F.pad`` widths (last dim first) for a non-zero ``padding_mode``."""
        pads = []
        for i in reversed(range(self.n)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                pads += [total // 2, total - total // 2]
            elif self.padding == "valid":
                pads += [0, 0]
            else:
                pads += [self.padding[i], self.padding[i]]
        return tuple(pads)

    def conv(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        fn = (F.conv1d, F.conv2d, F.conv3d)[self.n - 1]
        if self.padding_mode != "zeros":
            padded = F.pad(input, self.mode_padding(), mode=self.padding_mode)
            return fn(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self.conv(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(ConvNd):
    r"""1-d convolution over :math:`(N, C_{in}, L)`:
    :math:`\text{out}(N_i, C_j) = b_j + \sum_k W_{j,k} \star x(N_i, k)`.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, padding, dilation: ints or 1-tuples (``padding`` may be
            ``"same"`` or ``"valid"``).
        groups: independent channel groups; bias: learn a bias;
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Example::

        >>> nn.Conv1d(16, 33, 3, stride=2)(compat.randn(20, 16, 50)).shape
        torch.Size([20, 33, 24])
    """

    n = 1


class Conv2d(ConvNd):
    r"""2-d convolution over :math:`(N, C_{in}, H, W)`; output size per spatial dim
    :math:`\lfloor (L + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, padding, dilation: ints or pairs (``padding`` may be
            ``"same"`` or ``"valid"``).
        groups: independent channel groups (``groups=in_channels``: depthwise).
        bias: learn a bias.
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Attributes:
        weight: :math:`(C_{out}, C_{in}/\text{groups}, kH, kW)`, ``kaiming_uniform_`` with
            ``a=sqrt(5)``; bias :math:`(C_{out})` from
            :math:`\mathcal{U}(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`.

    Example::

        >>> m = nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
        >>> m(compat.randn(2, 16, 20, 20)).shape
        torch.Size([2, 33, 11, 20])
    """

    n = 2


class Conv3d(ConvNd):
    r"""3-d convolution over :math:`(N, C_{in}, D, H, W)` (see ``Conv2d``).

    Example::

        >>> nn.Conv3d(2, 4, 3)(compat.randn(1, 2, 5, 5, 5)).shape
        torch.Size([1, 4, 3, 3, 3])
    """

    n = 3


class ConvTransposeNd(ConvNd):
    """The transposed convolutions: weight :math:`(C_{in}, C_{out}/\\text{groups}, *k)`
    and an optional ``output_size`` in ``forward`` that picks the output padding."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)

    def output_padding_for(self, input: Tensor, output_size) -> tuple:
        """The output padding that makes the output ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-self.n:]
        spatial = tuple(input.shape[-self.n:])
        pads = []
        for i in range(self.n):
            lo = ((spatial[i] - 1) * self.stride[i] - 2 * self.padding[i]
                  + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not lo <= size[i] < lo + self.stride[i]:
                raise ValueError(f"requested an output size of {size}, but valid sizes range "
                                 f"from {lo} to {lo + self.stride[i] - 1} (for an input of "
                                 f"{spatial})")
            pads.append(size[i] - lo)
        return tuple(pads)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.n - 1]
        return fn(input, self.weight, self.bias, self.stride, self.padding,
                  self.output_padding_for(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(ConvTransposeNd):
    r"""1-d transposed convolution over :math:`(N, C_{in}, L)`: output length
    :math:`(L - 1)s - 2p + d(k - 1) + \text{output\_padding} + 1`.

    Example::

        >>> nn.ConvTranspose1d(4, 2, 3, stride=2)(compat.randn(1, 4, 5)).shape
        torch.Size([1, 2, 11])
    """

    n = 1


class ConvTranspose2d(ConvTransposeNd):
    r"""2-d transposed convolution ("deconvolution") over :math:`(N, C_{in}, H, W)`:
    output size per dim :math:`(L - 1)s - 2p + d(k - 1) + \text{output\_padding} + 1`.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias:
            as ``Conv2d``.
        output_padding: extra size added to one side of the output.

    Example::

        >>> up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
        >>> up(compat.randn(1, 16, 12, 12), output_size=[1, 8, 24, 24]).shape
        torch.Size([1, 8, 24, 24])
    """

    n = 2


class ConvTranspose3d(ConvTransposeNd):
    r"""3-d transposed convolution over :math:`(N, C_{in}, D, H, W)`.

    Example::

        >>> nn.ConvTranspose3d(2, 1, 2, stride=2)(compat.randn(1, 2, 2, 2, 2)).shape
        torch.Size([1, 1, 4, 4, 4])
    """

    n = 3


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]
