"""Normalisation layers: ``BatchNorm1d/2d/3d`` (running statistics with ``momentum`` or a
cumulative average, unbiased running variance, ``num_batches_tracked``), ``LayerNorm``,
``GroupNorm``, ``InstanceNorm1d/2d/3d``, ``RMSNorm``, ``LocalResponseNorm``.

>>> bn = nn.BatchNorm1d(2)
>>> _ = bn(compat.tensor([[1.0, 2.0], [3.0, 6.0]]))
>>> bn.running_mean, bn.running_var, bn.num_batches_tracked
(tensor([0.2000, 0.4000]), tensor([1.1000, 1.7000]), tensor(1))
"""

from __future__ import annotations

from ..grad_mode import no_grad
from ..ops.creation import empty, ones, zeros
from ..tensor import Tensor, tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class NormBase(Module):
    """Parameters and running statistics of the batch and instance norms (PyTorch's
    ``_NormBase``): ``weight``/``bias`` when ``affine``; ``running_mean``, ``running_var``
    and ``num_batches_tracked`` buffers when ``track_running_stats``."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device,
                                                       dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Running statistics reset; weight 1, bias 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def check_input_dim(self, input: Tensor) -> None:
        """Subclasses raise PyTorch's ``ValueError`` for a wrong input rank."""

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNormNd(NormBase):
    r"""Batch normalisation over the channel dim 1:

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    In training the batch's mean and biased variance normalise, and the running statistics
    move towards the batch mean and unbiased variance by ``momentum``
    (:math:`\hat x \leftarrow (1 - m)\hat x + m x_t`; ``momentum=None``: a cumulative
    average). In evaluation the running statistics normalise (the batch's, when
    ``track_running_stats=False``).
    """

    def forward(self, input: Tensor) -> Tensor:
        self.check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)


class BatchNorm1d(BatchNormNd):
    r"""Batch normalisation of :math:`(N, C)` or :math:`(N, C, L)` inputs (see
    ``BatchNorm2d`` for the formula and arguments).

    Example::

        >>> nn.BatchNorm1d(100)(compat.randn(20, 100)).shape
        torch.Size([20, 100])
    """

    def check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(BatchNormNd):
    r"""Batch normalisation of :math:`(N, C, H, W)` inputs, per channel:

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    Args:
        num_features: :math:`C`.
        eps: added to the variance.
        momentum: running-statistics update factor (None: cumulative average).
        affine: learn :math:`\gamma` (ones) and :math:`\beta` (zeros).
        track_running_stats: keep running mean/variance (else batch statistics always).

    Example::

        >>> bn = nn.BatchNorm2d(3)
        >>> y = bn(compat.randn(8, 3, 4, 4))
        >>> bool(y.mean((0, 2, 3)).abs().max() < 1e-5), int(bn.num_batches_tracked)
        (True, 1)
    """

    def check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class BatchNorm3d(BatchNormNd):
    r"""Batch normalisation of :math:`(N, C, D, H, W)` inputs.

    Example::

        >>> nn.BatchNorm3d(2)(compat.randn(2, 2, 2, 2, 2)).shape
        torch.Size([2, 2, 2, 2, 2])
    """

    def check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 5:
            raise ValueError(f"expected 5D input (got {input.dim()}D input)")


class InstanceNormNd(NormBase):
    r"""Instance normalisation: each channel of each example normalised over its spatial
    dims (``affine`` and ``track_running_stats`` default to False, as PyTorch)."""

    spatial = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (self.spatial + 1, self.spatial + 2):
            raise ValueError(f"expected {self.spatial + 1}D or {self.spatial + 2}D input (got "
                             f"{input.dim()}D input)")
        unbatched = input.dim() == self.spatial + 1
        x = input.unsqueeze(0) if unbatched else input
        use_input = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input, self.momentum if self.momentum is not None else 0.1,
                            self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(InstanceNormNd):
    r"""Instance normalisation of :math:`(N, C, L)` inputs.

    Example::

        >>> nn.InstanceNorm1d(3)(compat.randn(2, 3, 5)).shape
        torch.Size([2, 3, 5])
    """

    spatial = 1


class InstanceNorm2d(InstanceNormNd):
    r"""Instance normalisation of :math:`(N, C, H, W)` inputs.

    Example::

        >>> nn.InstanceNorm2d(3)(compat.randn(2, 3, 4, 4)).shape
        torch.Size([2, 3, 4, 4])
    """

    spatial = 2


class InstanceNorm3d(InstanceNormNd):
    r"""Instance normalisation of :math:`(N, C, D, H, W)` inputs.

    Example::

        >>> nn.InstanceNorm3d(1)(compat.randn(1, 1, 2, 2, 2)).shape
        torch.Size([1, 1, 2, 2, 2])
    """

    spatial = 3


def shape_tuple(normalized_shape) -> tuple:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(normalized_shape)


class LayerNorm(Module):
    r"""Layer normalisation over the trailing dims ``normalized_shape``:

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    (biased variance), with elementwise :math:`\gamma` (ones) and :math:`\beta` (zeros) of
    shape ``normalized_shape`` when ``elementwise_affine``.

    Example::

        >>> ln = nn.LayerNorm(10)
        >>> ln, ln(compat.randn(20, 5, 10)).shape
        (LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True), torch.Size([20, 5, 10]))
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(*self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """Weight 1, bias 0."""
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    r"""Root-mean-square normalisation over the trailing dims:
    :math:`y = x / \sqrt{\mathrm{E}[x^2] + \epsilon} \cdot \gamma`.

    Example::

        >>> nn.RMSNorm(4)(compat.ones(2, 4)).shape
        torch.Size([2, 4])
    """

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    r"""Group normalisation: channels split into ``num_groups`` groups, each normalised
    over its channels and spatial dims; per-channel affine (ones, zeros).

    Example::

        >>> nn.GroupNorm(3, 6)(compat.randn(20, 6, 10, 10)).shape
        torch.Size([20, 6, 10, 10])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(ones(num_channels, device=device, dtype=dtype))
            self.register_parameter("bias", Parameter(zeros(num_channels, device=device,
                                                            dtype=dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class LocalResponseNorm(Module):
    r"""Local response normalisation across channels.

    Example::

        >>> nn.LocalResponseNorm(2)(compat.ones(1, 3, 2, 2)).shape
        torch.Size([1, 3, 2, 2])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "LocalResponseNorm", "RMSNorm",
]
