"""Activation layers: thin Modules over ``compat.nn.functional`` (``ReLU``, ``GELU``,
``Softmax``...), with PyTorch's constructor arguments and ``repr``.

>>> nn.Sequential(nn.Linear(2, 2), nn.GELU(approximate="tanh"))[1]
GELU(approximate='tanh')
"""

from __future__ import annotations

from ..ops.creation import full
from ..tensor import Tensor
from . import functional as F
from .module import Module
from .parameter import Parameter


def inplace_repr(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class ReLU(Module):
    r"""Applies :math:`\text{ReLU}(x) = \max(0, x)` elementwise.

    Args:
        inplace: do the operation in place.

    Example::

        >>> nn.ReLU()(compat.tensor([-1.0, 1.0]))
        tensor([0., 1.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return inplace_repr(self.inplace)


class LeakyReLU(Module):
    r"""Applies :math:`\max(0, x) + \text{negative\_slope} \min(0, x)` elementwise.

    Example::

        >>> nn.LeakyReLU(0.1)(compat.tensor([-1.0]))
        tensor([-0.1000])
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class Hardtanh(Module):
    r"""Applies :math:`\text{clip}(x, \text{min\_val}, \text{max\_val})` elementwise.

    Example::

        >>> nn.Hardtanh()(compat.tensor([-2.0, 2.0]))
        tensor([-1.,  1.])
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0,
                 inplace: bool = False) -> None:
        super().__init__()
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    r"""Applies :math:`\min(\max(0, x), 6)` elementwise.

    Example::

        >>> nn.ReLU6()(compat.tensor([7.0]))
        tensor([6.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return inplace_repr(self.inplace)


class ELU(Module):
    r"""Applies :math:`x` for :math:`x > 0`, else :math:`\alpha (e^x - 1)`.

    Example::

        >>> nn.ELU()(compat.tensor([0.0]))
        tensor([0.])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    r"""Applies :math:`\max(0, x) + \min(0, \alpha (e^{x/\alpha} - 1))`.

    Example::

        >>> nn.CELU()(compat.tensor([0.0]))
        tensor([0.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)


class GELU(Module):
    r"""Applies the Gaussian error linear unit :math:`x \Phi(x)` (``approximate="tanh"``:
    the tanh approximation).

    Example::

        >>> nn.GELU()(compat.tensor([0.0]))
        tensor([0.])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class PReLU(Module):
    r"""Applies :math:`\max(0, x) + a \min(0, x)` with a learned :math:`a` (one, or one per
    channel), initialised to ``init``.

    Example::

        >>> nn.PReLU()(compat.tensor([-4.0]))
        tensor([-1.], grad_fn=<PreluBackward0>)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(full((num_parameters,), init, device=device, dtype=dtype))

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softplus(Module):
    r"""Applies :math:`\frac{1}{\beta}\log(1 + e^{\beta x})` (linear above ``threshold``).

    Example::

        >>> nn.Softplus()(compat.tensor([0.0]))
        tensor([0.6931])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Threshold(Module):
    r"""Keeps :math:`x > \text{threshold}`, replaces the rest with ``value``.

    Example::

        >>> nn.Threshold(0.1, 20.0)(compat.tensor([0.0, 1.0]))
        tensor([20.,  1.])
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class GLU(Module):
    r"""Gated linear unit: :math:`a \otimes \sigma(b)` for the halves of the input along
    ``dim``.

    Example::

        >>> nn.GLU()(compat.ones(2, 4)).shape
        torch.Size([2, 2])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Hardshrink(Module):
    r""":math:`x` where :math:`|x| > \lambda`, else 0.

    Example::

        >>> nn.Hardshrink()(compat.tensor([0.2, 0.7]))
        tensor([0.0000, 0.7000])
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    r""":math:`x - \lambda \operatorname{sign}(x)` where :math:`|x| > \lambda`, else 0.

    Example::

        >>> nn.Softshrink()(compat.tensor([0.2, 0.75]))
        tensor([0.0000, 0.2500])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class RReLU(Module):
    r"""Randomized leaky ReLU: random negative slopes from
    :math:`\mathcal{U}(\text{lower}, \text{upper})` in training, their mean in evaluation.

    Example::

        >>> nn.RReLU(0.2, 0.4).eval()(compat.tensor([-1.0]))
        tensor([-0.3000])
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                           else "")


class SoftmaxBase(Module):
    """Shared shape of ``Softmax``, ``LogSoftmax`` and ``Softmin``: one ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(SoftmaxBase):
    r"""Applies :math:`e^{x_i} / \sum_j e^{x_j}` along ``dim``.

    Example::

        >>> nn.Softmax(dim=1)(compat.zeros(1, 2))
        tensor([[0.5000, 0.5000]])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)


class LogSoftmax(SoftmaxBase):
    r"""Applies :math:`\log \text{softmax}(x)` along ``dim``.

    Example::

        >>> nn.LogSoftmax(dim=1)(compat.zeros(1, 2))
        tensor([[-0.6931, -0.6931]])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class Softmin(SoftmaxBase):
    r"""Applies :math:`\text{softmax}(-x)` along ``dim``.

    Example::

        >>> nn.Softmin(dim=0)(compat.zeros(2))
        tensor([0.5000, 0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)


def simple(name: str, fn, formula: str, example: str, takes_inplace: bool = False) -> type:
    """An argument-free activation Module class (``Sigmoid``, ``Tanh``...) over ``fn``."""
    def __init__(self, inplace: bool = False) -> None:
        Module.__init__(self)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return fn(input, inplace=True) if self.inplace else fn(input)

    def extra_repr(self) -> str:
        return inplace_repr(self.inplace)

    ns = {"__init__": __init__, "forward": forward, "extra_repr": extra_repr,
          "__doc__": f"Applies {formula} elementwise.\n\n    Example::\n\n        {example}\n",
          "__module__": __name__}
    if not takes_inplace:
        ns["__init__"] = lambda self, *args, **kwargs: Module.__init__(self)
        ns["forward"] = lambda self, input: fn(input)
        ns["extra_repr"] = lambda self: ""
    return type(name, (Module,), ns)


Sigmoid = simple("Sigmoid", F.sigmoid, r":math:`1 / (1 + e^{-x})`",
                 ">>> nn.Sigmoid()(compat.zeros(1))\n        tensor([0.5000])")
Tanh = simple("Tanh", F.tanh, r":math:`\tanh(x)`",
              ">>> nn.Tanh()(compat.zeros(1))\n        tensor([0.])")
SiLU = simple("SiLU", F.silu, r":math:`x \sigma(x)`",
              ">>> nn.SiLU()(compat.zeros(1))\n        tensor([0.])", takes_inplace=True)
Mish = simple("Mish", F.mish, r":math:`x \tanh(\text{softplus}(x))`",
              ">>> nn.Mish()(compat.zeros(1))\n        tensor([0.])", takes_inplace=True)
Hardswish = simple("Hardswish", F.hardswish, r":math:`x \cdot \text{hardsigmoid}(x)`",
                   ">>> nn.Hardswish()(compat.zeros(1))\n        tensor([0.])",
                   takes_inplace=True)
Hardsigmoid = simple("Hardsigmoid", F.hardsigmoid, r":math:`\text{clip}(x/6 + 1/2, 0, 1)`",
                     ">>> nn.Hardsigmoid()(compat.zeros(1))\n        tensor([0.5000])",
                     takes_inplace=True)
SELU = simple("SELU", F.selu, r":math:`\text{scale} \cdot \text{elu}(x, \alpha)`",
              ">>> nn.SELU()(compat.zeros(1))\n        tensor([0.])", takes_inplace=True)
LogSigmoid = simple("LogSigmoid", F.logsigmoid, r":math:`\log \sigma(x)`",
                    ">>> nn.LogSigmoid()(compat.zeros(1))\n        tensor([-0.6931])")
Softsign = simple("Softsign", F.softsign, r":math:`x / (1 + |x|)`",
                  ">>> nn.Softsign()(compat.ones(1))\n        tensor([0.5000])")
Tanhshrink = simple("Tanhshrink", F.tanhshrink, r":math:`x - \tanh(x)`",
                    ">>> nn.Tanhshrink()(compat.zeros(1))\n        tensor([0.])")

__all__ = [
    "CELU", "ELU", "GELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh",
    "LeakyReLU", "LogSigmoid", "LogSoftmax", "Mish", "PReLU", "RReLU", "ReLU", "ReLU6", "SELU",
    "SiLU", "Sigmoid", "Softmax", "Softmin", "Softplus", "Softshrink", "Softsign", "Tanh",
    "Tanhshrink", "Threshold",
]
