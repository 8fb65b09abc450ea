"""Dropout layers: ``Dropout``, ``Dropout1d/2d/3d`` (whole channels), ``AlphaDropout``;
active only in training mode, drawing from compat's generator.

>>> d = nn.Dropout(p=0.2)
>>> d, d.eval()(compat.ones(3))
(Dropout(p=0.2, inplace=False), tensor([1., 1., 1.]))
"""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class DropoutNd(Module):
    """Dropout's two arguments (PyTorch's ``_DropoutNd``)."""

    fn = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return self.fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(DropoutNd):
    r"""During training, zeroes each element with probability ``p`` and scales the others
    by :math:`1/(1-p)`; the identity in evaluation mode.

    Args:
        p: probability of an element to be zeroed (default 0.5).
        inplace: do it in place.

    Example::

        >>> nn.Dropout(p=0.2)(compat.randn(20, 16)).shape
        torch.Size([20, 16])
    """


class Dropout1d(DropoutNd):
    r"""Zeroes whole channels of :math:`(N, C, L)` with probability ``p`` in training.

    Example::

        >>> nn.Dropout1d()(compat.ones(2, 4, 3)).shape
        torch.Size([2, 4, 3])
    """

    fn = staticmethod(F.dropout1d)


class Dropout2d(DropoutNd):
    r"""Zeroes whole channels of :math:`(N, C, H, W)` with probability ``p`` in training.

    Example::

        >>> nn.Dropout2d()(compat.ones(2, 4, 3, 3)).shape
        torch.Size([2, 4, 3, 3])
    """

    fn = staticmethod(F.dropout2d)


class Dropout3d(DropoutNd):
    r"""Zeroes whole channels of :math:`(N, C, D, H, W)` with probability ``p`` in training.

    Example::

        >>> nn.Dropout3d()(compat.ones(1, 2, 2, 2, 2)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    fn = staticmethod(F.dropout3d)


class AlphaDropout(DropoutNd):
    r"""Dropout that keeps SELU activations' mean and variance (dropped units take SELU's
    negative saturation value, then an affine correction).

    Example::

        >>> nn.AlphaDropout(0.2).eval()(compat.ones(2))
        tensor([1., 1.])
    """

    fn = staticmethod(F.alpha_dropout)


__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]
