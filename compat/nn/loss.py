"""Loss modules (``nn.CrossEntropyLoss``, ``nn.MSELoss``...): Modules holding a
reduction (and class weights as a buffer, as PyTorch) over ``compat.nn.functional``.

>>> nn.CrossEntropyLoss(label_smoothing=0.1)(compat.zeros(2, 3), compat.tensor([0, 2]))
tensor(1.0986)
"""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .functional.loss import legacy_reduction
from .module import Module


class Loss(Module):
    """Base of the losses: stores ``reduction`` (from the legacy ``size_average`` and
    ``reduce`` flags when given, as PyTorch's ``_Loss``)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)


class WeightedLoss(Loss):
    """A loss with per-class ``weight``, registered as a buffer (so it follows ``.to()`` and
    appears in ``state_dict``, as PyTorch's ``_WeightedLoss``)."""

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(Loss):
    r"""Mean squared error :math:`l_n = (x_n - y_n)^2`, reduced by ``reduction``
    (``"mean"``, ``"sum"`` or ``"none"``).

    Example::

        >>> nn.MSELoss()(compat.tensor([1.0, 3.0]), compat.zeros(2))
        tensor(5.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(Loss):
    r"""Mean absolute error :math:`l_n = |x_n - y_n|`.

    Example::

        >>> nn.L1Loss()(compat.tensor([1.0, -3.0]), compat.zeros(2))
        tensor(2.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(Loss):
    r"""Smooth L1: :math:`0.5 d^2 / \beta` where :math:`|d| < \beta`, else
    :math:`|d| - 0.5\beta`, with :math:`d = x - y`.

    Example::

        >>> nn.SmoothL1Loss()(compat.tensor([0.5]), compat.zeros(1))
        tensor(0.1250)
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(Loss):
    r"""Huber: :math:`0.5 d^2` where :math:`|d| \le \delta`, else
    :math:`\delta(|d| - 0.5\delta)`.

    Example::

        >>> nn.HuberLoss()(compat.tensor([3.0]), compat.zeros(1))
        tensor(2.5000)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class CrossEntropyLoss(WeightedLoss):
    r"""Cross-entropy between logits and class indices (or class probabilities):

    .. math::
        l_n = -w_{y_n} \log \frac{\exp(x_{n, y_n})}{\sum_c \exp(x_{n, c})}

    Args:
        weight: per-class weights :math:`(C)`.
        ignore_index: a target index that contributes nothing.
        reduction: ``"mean"`` (weighted mean over non-ignored targets), ``"sum"``, ``"none"``.
        label_smoothing: :math:`\epsilon`: the target becomes
            :math:`(1 - \epsilon)\,\text{onehot} + \epsilon / C`.

    Shape:
        input :math:`(N, C)`, :math:`(C)` or :math:`(N, C, d_1, \dots)`; target :math:`(N)`
        (int64 indices) or like input (probabilities).

    Example::

        >>> loss = nn.CrossEntropyLoss()
        >>> loss(compat.zeros(3, 5, requires_grad=True), compat.tensor([1, 0, 4]))
        tensor(1.6094, grad_fn=<NllLossBackward0>)
    """

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(WeightedLoss):
    r"""Negative log-likelihood of class indices under log-probabilities:
    :math:`l_n = -w_{y_n} x_{n, y_n}` (use after ``LogSoftmax``).

    Example::

        >>> nn.NLLLoss()(compat.tensor([[-1.0, -2.0]]), compat.tensor([1]))
        tensor(2.)
    """

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(WeightedLoss):
    r"""Binary cross-entropy on probabilities:
    :math:`l_n = -w_n [y_n \log x_n + (1 - y_n)\log(1 - x_n)]` (logs clamped at -100).

    Example::

        >>> nn.BCELoss()(compat.tensor([0.5]), compat.tensor([1.0]))
        tensor(0.6931)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(Loss):
    r"""Sigmoid plus binary cross-entropy in one stable step:
    :math:`l_n = -w_n [p\, y_n \log\sigma(x_n) + (1 - y_n)\log(1 - \sigma(x_n))]`, with
    ``pos_weight`` :math:`p` (per class) weighting positives.

    Example::

        >>> nn.BCEWithLogitsLoss(pos_weight=compat.tensor([2.0]))(compat.zeros(1),
        ...                                                      compat.ones(1))
        tensor(1.3863)
    """

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class KLDivLoss(Loss):
    r"""Kullback-Leibler divergence with log-probability input:
    :math:`l = y(\log y - x)` (or :math:`e^y (y - x)` with ``log_target``); use
    ``reduction="batchmean"`` for the true KL divergence per example.

    Example::

        >>> p = compat.tensor([[0.5, 0.5]])
        >>> nn.KLDivLoss(reduction="batchmean")(p.log(), p)
        tensor(0.)
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class MarginRankingLoss(Loss):
    r""":math:`\max(0, -y (x_1 - x_2) + \text{margin})`.

    Example::

        >>> nn.MarginRankingLoss()(compat.tensor([1.0]), compat.tensor([2.0]),
        ...                        compat.tensor([1.0]))
        tensor(1.)
    """

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(Loss):
    r""":math:`x` where :math:`y = 1`, :math:`\max(0, \text{margin} - x)` where
    :math:`y = -1`.

    Example::

        >>> nn.HingeEmbeddingLoss()(compat.tensor([0.3]), compat.tensor([-1.0]))
        tensor(0.7000)
    """

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(Loss):
    r""":math:`\log(1 + e^{-y x})`.

    Example::

        >>> nn.SoftMarginLoss()(compat.zeros(1), compat.ones(1))
        tensor(0.6931)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(WeightedLoss):
    r"""Multi-label one-versus-all logistic loss (mean over classes).

    Example::

        >>> nn.MultiLabelSoftMarginLoss()(compat.zeros(1, 3), compat.ones(1, 3))
        tensor(0.6931)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, self.weight,
                                             reduction=self.reduction)


class CosineEmbeddingLoss(Loss):
    r""":math:`1 - \cos(x_1, x_2)` for :math:`y = 1`,
    :math:`\max(0, \cos(x_1, x_2) - \text{margin})` for :math:`y = -1`.

    Example::

        >>> nn.CosineEmbeddingLoss()(compat.ones(1, 2), -compat.ones(1, 2),
        ...                          compat.tensor([-1.0]))
        tensor(0.)
    """

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(Loss):
    r""":math:`\max(d(a, p) - d(a, n) + \text{margin}, 0)` with the ``p``-norm distance.

    Example::

        >>> nn.TripletMarginLoss(margin=1.0)(compat.zeros(1, 2), compat.zeros(1, 2),
        ...                                  compat.ones(1, 2) * 3)
        tensor(0.)
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                 swap: bool = False, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p,
                                     self.eps, self.swap, reduction=self.reduction)


class PoissonNLLLoss(Loss):
    r"""Poisson negative log-likelihood (``log_input``: the input is the log-rate).

    Example::

        >>> nn.PoissonNLLLoss()(compat.zeros(2), compat.ones(2))
        tensor(1.)
    """

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None,
                 eps: float = 1e-8, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(Loss):
    r"""Gaussian negative log-likelihood with predicted variance ``var``.

    Example::

        >>> nn.GaussianNLLLoss()(compat.zeros(2), compat.zeros(2), compat.ones(2))
        tensor(0.)
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class MultiMarginLoss(WeightedLoss):
    r"""Multi-class hinge loss
    :math:`\frac{1}{C}\sum_{i \ne y}\max(0, \text{margin} - x_y + x_i)^p`.

    Example::

        >>> nn.MultiMarginLoss()(compat.tensor([[0.1, 0.2, 0.4, 0.8]]), compat.tensor([3]))
        tensor(0.3250)
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                 size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   reduction=self.reduction)


__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CosineEmbeddingLoss", "CrossEntropyLoss",
    "GaussianNLLLoss", "HingeEmbeddingLoss", "HuberLoss", "KLDivLoss", "L1Loss",
    "MSELoss", "MarginRankingLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "NLLLoss",
    "PoissonNLLLoss", "SmoothL1Loss", "SoftMarginLoss", "TripletMarginLoss",
]
