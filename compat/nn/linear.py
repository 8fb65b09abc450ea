"""Linear layers: ``Linear`` (:math:`y = xA^T + b`) and ``Bilinear``
(:math:`y = x_1^T A x_2 + b`), with PyTorch's default initialisation.

>>> nn.Linear(3, 2)(compat.ones(4, 3)).shape
torch.Size([4, 2])
"""

from __future__ import annotations

import math

from ..ops.creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def register_bias(module: Module, bias: bool, size: int, device=None, dtype=None) -> None:
    """Give ``module`` a ``bias`` parameter of ``size`` (uninitialised), or declare it
    absent (None) -- PyTorch's layers always have the name."""
    if bias:
        module.bias = Parameter(empty(size, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def init_bias(bias: Tensor | None, fan_in: int) -> None:
    r"""PyTorch's default bias initialisation, :math:`\mathcal{U}(-1/\sqrt{\text{fan\_in}},
    1/\sqrt{\text{fan\_in}})` (zeros when ``fan_in`` is 0)."""
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    r"""Applies an affine linear transformation :math:`y = xA^T + b`.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: if False, the layer learns no additive bias.

    Shape:
        input :math:`(*, H_{in})`, output :math:`(*, H_{out})`.

    Attributes:
        weight: :math:`(H_{out}, H_{in})`, initialised from
            :math:`\mathcal{U}(-1/\sqrt{H_{in}}, 1/\sqrt{H_{in}})` (``kaiming_uniform_``
            with ``a=sqrt(5)``).
        bias: :math:`(H_{out})`, from the same distribution.

    Example::

        >>> m = nn.Linear(20, 30)
        >>> m(compat.randn(128, 20)).size()
        torch.Size([128, 30])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features, device=device, dtype=dtype))
        register_bias(self, bias, out_features, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (see the class docstring)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        init_bias(self.bias, self.in_features)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    r"""Applies a bilinear transformation :math:`y = x_1^T A x_2 + b`.

    Args:
        in1_features: size of each first input sample.
        in2_features: size of each second input sample.
        out_features: size of each output sample.
        bias: if False, the layer learns no additive bias.

    Attributes:
        weight: :math:`(\text{out}, \text{in1}, \text{in2})`, and bias :math:`(\text{out})`,
            both from :math:`\mathcal{U}(-1/\sqrt{\text{in1}}, 1/\sqrt{\text{in1}})`.

    Example::

        >>> m = nn.Bilinear(20, 30, 40)
        >>> m(compat.randn(128, 20), compat.randn(128, 30)).size()
        torch.Size([128, 40])
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, device=device,
                                      dtype=dtype))
        register_bias(self, bias, out_features, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight and bias from :math:`\\mathcal{U}(-1/\\sqrt{\\text{in1}},
        1/\\sqrt{\\text{in1}})`, as PyTorch."""
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


__all__ = ["Bilinear", "Linear"]
