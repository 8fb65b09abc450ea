"""Pooling layers: ``MaxPool1d/2d/3d``, ``AvgPool1d/2d/3d``, ``AdaptiveAvgPool1d/2d/3d``,
``AdaptiveMaxPool1d/2d``, ``LPPool2d`` over ``compat.nn.functional``, with PyTorch's
arguments and ``repr``.

>>> nn.MaxPool2d(2)
MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
"""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class MaxPoolNd(Module):
    """Max pooling's arguments, kept as given (PyTorch's ``_MaxPoolNd``)."""

    fn = staticmethod(F.max_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor):
        return self.fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                       ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding},"
                f" dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPoolNd):
    r"""1-d max pooling over :math:`(N, C, L)` (stride defaults to ``kernel_size``).

    Example::

        >>> nn.MaxPool1d(2)(compat.tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
        [[[3.0, 2.0]]]
    """

    fn = staticmethod(F.max_pool1d)


class MaxPool2d(MaxPoolNd):
    r"""2-d max pooling over :math:`(N, C, H, W)`: each output is the max of a
    ``kernel_size`` window; output size per dim
    :math:`\lfloor (L + 2p - d(k-1) - 1)/s \rfloor + 1` (rounded up with ``ceil_mode``).

    Args:
        kernel_size: window size; stride: step (default ``kernel_size``);
        padding: implicit :math:`-\infty` padding; dilation: window element spacing;
        return_indices: also return the flat indices of the maxima;
        ceil_mode: round the output size up.

    Example::

        >>> nn.MaxPool2d(3, stride=2)(compat.randn(20, 16, 50, 32)).shape
        torch.Size([20, 16, 24, 15])
    """

    fn = staticmethod(F.max_pool2d)


class MaxPool3d(MaxPoolNd):
    r"""3-d max pooling over :math:`(N, C, D, H, W)`.

    Example::

        >>> nn.MaxPool3d(2)(compat.randn(1, 1, 4, 4, 4)).shape
        torch.Size([1, 1, 2, 2, 2])
    """

    fn = staticmethod(F.max_pool3d)


def as_tuple(v, n: int):
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * n


class AvgPool1d(Module):
    r"""1-d average pooling over :math:`(N, C, L)`.

    Example::

        >>> nn.AvgPool1d(2)(compat.tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
        [[[2.0, 1.0]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        # PyTorch keeps 1-tuples here (and prints them)
        self.kernel_size = as_tuple(kernel_size, 1)
        self.stride = as_tuple(stride if stride is not None else kernel_size, 1)
        self.padding = as_tuple(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    r"""2-d average pooling over :math:`(N, C, H, W)`: each window's mean (padding counted
    as zeros with ``count_include_pad``; ``divisor_override`` replaces the window size).

    Example::

        >>> nn.AvgPool2d(2)(compat.ones(1, 1, 4, 4)).shape
        torch.Size([1, 1, 2, 2])
    """

    fn = staticmethod(F.avg_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return self.fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                       self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    r"""3-d average pooling over :math:`(N, C, D, H, W)`.

    Example::

        >>> nn.AvgPool3d(2)(compat.ones(1, 1, 2, 2, 2)).tolist()
        [[[[[1.0]]]]]
    """

    fn = staticmethod(F.avg_pool3d)


class AdaptiveAvgPoolNd(Module):
    """Adaptive average pooling to a fixed ``output_size``."""

    fn = staticmethod(F.adaptive_avg_pool2d)

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return self.fn(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPoolNd):
    r"""1-d adaptive average pooling to length ``output_size``.

    Example::

        >>> nn.AdaptiveAvgPool1d(2)(compat.tensor([[[1.0, 2.0, 3.0]]])).tolist()
        [[[1.5, 2.5]]]
    """

    fn = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(AdaptiveAvgPoolNd):
    r"""2-d adaptive average pooling to ``output_size`` (an int, a pair, None keeps a dim):
    output cell :math:`i` averages rows :math:`[\lfloor iH/h \rfloor,
    \lceil (i+1)H/h \rceil)`.

    Example::

        >>> nn.AdaptiveAvgPool2d((1, 1))(compat.randn(2, 64, 7, 7)).shape
        torch.Size([2, 64, 1, 1])
    """

    fn = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(AdaptiveAvgPoolNd):
    r"""3-d adaptive average pooling to ``output_size``.

    Example::

        >>> nn.AdaptiveAvgPool3d(1)(compat.ones(1, 2, 3, 3, 3)).shape
        torch.Size([1, 2, 1, 1, 1])
    """

    fn = staticmethod(F.adaptive_avg_pool3d)


class AdaptiveMaxPool1d(AdaptiveAvgPoolNd):
    r"""1-d adaptive max pooling to length ``output_size``.

    Example::

        >>> nn.AdaptiveMaxPool1d(1)(compat.tensor([[[1.0, 5.0, 3.0]]])).tolist()
        [[[5.0]]]
    """

    fn = staticmethod(F.adaptive_max_pool1d)

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return self.fn(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(AdaptiveMaxPool1d):
    r"""2-d adaptive max pooling to ``output_size``.

    Example::

        >>> nn.AdaptiveMaxPool2d(2)(compat.ones(1, 1, 5, 5)).shape
        torch.Size([1, 1, 2, 2])
    """

    fn = staticmethod(F.adaptive_max_pool2d)


class LPPool2d(Module):
    r"""2-d power-average pooling :math:`(\sum_{\text{window}} x^p)^{1/p}`.

    Example::

        >>> nn.LPPool2d(2, 2)(compat.ones(1, 1, 2, 2)).tolist()
        [[[[2.0]]]]
    """

    def __init__(self, norm_type: float, kernel_size, stride=None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool2d(input, self.norm_type, self.kernel_size, self.stride,
                           self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "LPPool2d", "MaxPool1d",
    "MaxPool2d", "MaxPool3d",
]
