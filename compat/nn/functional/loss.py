"""Loss functions of ``compat.nn.functional``, each one ``Op`` over a pure function of
arrays (``functorch_lite.nn`` where it has the loss), so the gradient is the core's.

Reductions are PyTorch's: ``"mean"`` averages over every element (for class-index losses
with ``weight``: the weighted mean :math:`\\sum_i w_{y_i} l_i / \\sum_i w_{y_i}` over the
non-ignored targets), ``"sum"`` adds, ``"none"`` keeps the per-element losses. The legacy
``size_average``/``reduce`` arguments map to a reduction as in PyTorch.

>>> F.cross_entropy(compat.zeros(2, 4), compat.tensor([1, 3]))
tensor(1.3863)
"""

from __future__ import annotations

import warnings

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp

from ...ops.dispatch import Op
from ...tensor import Tensor

REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """The reduction string for PyTorch's deprecated ``size_average``/``reduce`` flags."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def check_reduction(reduction: str, allowed=REDUCTIONS) -> str:
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduce(loss, reduction: str):
    """``loss`` reduced by ``reduction`` (a pure function of arrays)."""
    if reduction == "mean":
        return fnp.mean(loss)
    if reduction == "sum":
        return fnp.sum(loss)
    return loss


def check_shapes(input: Tensor, target) -> None:
    """PyTorch's warning for a target that only broadcasts to the input."""
    if tuple(input.shape) != tuple(np.shape(target) if not isinstance(target, Tensor)
                                   else target.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=3)


def as_target(target, like: Tensor):
    """A float target as an array of the input's dtype (Python numbers allowed)."""
    if isinstance(target, Tensor):
        return target
    return np.asarray(target, like.array.dtype)


# --------------------------------------------------------------------------- regression


def mse_fn(x, t, reduction):
    return fl.nn.mse(x, t, reduction=reduction)


mse_op = Op(mse_fn, "MseLoss")


def elementwise_loss(op: Op, kind: str, input: Tensor, target, size_average, reduce,
                     reduction: str, weight: Tensor | None) -> Tensor:
    """The shared body of ``mse_loss`` and ``l1_loss``: legacy flags, the shape warning,
    and the weighted variant."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    check_shapes(input, target)
    target = as_target(target, input)
    if weight is not None:
        return weighted_op(input, target, weight, kind=kind, reduction=reduction)
    return op(input, target, reduction=reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    r"""Mean squared error :math:`l_n = (x_n - y_n)^2`, reduced by ``reduction``.

    >>> F.mse_loss(compat.tensor([1.0, 3.0]), compat.tensor([0.0, 0.0]))
    tensor(5.)
    """
    return elementwise_loss(mse_op, "mse", input, target, size_average, reduce, reduction,
                            weight)


def l1_fn(x, t, reduction):
    return reduce(fnp.abs(fnp.subtract(x, t)), reduction)


l1_op = Op(l1_fn, "L1Loss")


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    r"""Mean absolute error :math:`l_n = |x_n - y_n|`, reduced by ``reduction``.

    >>> F.l1_loss(compat.tensor([1.0, -3.0]), compat.tensor([0.0, 0.0]))
    tensor(2.)
    """
    return elementwise_loss(l1_op, "l1", input, target, size_average, reduce, reduction,
                            weight)


def weighted_fn(x, t, w, kind, reduction):
    d = fnp.subtract(x, t)
    loss = fnp.multiply(d, d) if kind == "mse" else fnp.abs(d)
    return reduce(fnp.multiply(loss, w), reduction)


weighted_op = Op(weighted_fn, "WeightedLoss")


def smooth_l1_fn(x, t, beta, reduction):
    d = fnp.abs(fnp.subtract(x, t))
    if beta == 0.0:
        return reduce(d, reduction)
    quad = fnp.divide(fnp.multiply(fnp.multiply(d, d), 0.5), beta)
    return reduce(fnp.where(fnp.less(d, beta), quad, fnp.subtract(d, 0.5 * beta)), reduction)


smooth_l1_op = Op(smooth_l1_fn, "SmoothL1Loss")


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    r"""Smooth L1: :math:`0.5 (x - y)^2 / \beta` where :math:`|x - y| < \beta`, else
    :math:`|x - y| - 0.5 \beta`.

    >>> F.smooth_l1_loss(compat.tensor([0.5, 3.0]), compat.tensor([0.0, 0.0]))
    tensor(1.3125)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    check_shapes(input, target)
    return smooth_l1_op(input, as_target(target, input), beta=float(beta), reduction=reduction)


def huber_fn(x, t, delta, reduction):
    d = fnp.abs(fnp.subtract(x, t))
    quad = fnp.multiply(fnp.multiply(d, d), 0.5)
    lin = fnp.multiply(fnp.subtract(d, 0.5 * delta), delta)
    return reduce(fnp.where(fnp.less_equal(d, delta), quad, lin), reduction)


huber_op = Op(huber_fn, "HuberLoss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0, weight: Tensor | None = None) -> Tensor:
    r"""Huber: :math:`0.5 (x - y)^2` where :math:`|x - y| \le \delta`, else
    :math:`\delta (|x - y| - 0.5 \delta)`.

    >>> F.huber_loss(compat.tensor([0.5, 3.0]), compat.tensor([0.0, 0.0]))
    tensor(1.3125)
    """
    check_reduction(reduction)
    check_shapes(input, target)
    return huber_op(input, as_target(target, input), delta=float(delta), reduction=reduction)


# --------------------------------------------------------------------------- binary


def bce_fn(x, t, w, reduction):
    # PyTorch clamps each log at -100 so that 0 * log(0) stays finite
    log_x = fnp.maximum(fnp.log(x), -100.0)
    log_1mx = fnp.maximum(fnp.log1p(fnp.negative(x)), -100.0)
    loss = fnp.negative(fnp.add(fnp.multiply(t, log_x),
                                fnp.multiply(fnp.subtract(1.0, t), log_1mx)))
    if w is not None:
        loss = fnp.multiply(loss, w)
    return reduce(loss, reduction)


bce_op = Op(bce_fn, "BinaryCrossEntropy")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    r"""Binary cross-entropy between probabilities ``input`` and ``target``:
    :math:`l_n = -w_n [y_n \log x_n + (1 - y_n) \log(1 - x_n)]`, each log clamped to
    :math:`\ge -100`.

    >>> F.binary_cross_entropy(compat.tensor([0.5]), compat.tensor([1.0]))
    tensor(0.6931)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the "
                         f"input size ({input.shape}) is deprecated. Please ensure they have "
                         "the same size.")
    return bce_op(input, target, weight, reduction=reduction)


def bce_logits_fn(x, t, w, pos_weight, reduction):
    # (1 - t) x + (1 + (p - 1) t) softplus(-x): stable for any x
    sp = fl.nn.softplus(fnp.negative(x))
    if pos_weight is None:
        loss = fnp.add(fnp.multiply(fnp.subtract(1.0, t), x), sp)
    else:
        lw = fnp.add(fnp.multiply(fnp.subtract(pos_weight, 1.0), t), 1.0)
        loss = fnp.add(fnp.multiply(fnp.subtract(1.0, t), x), fnp.multiply(lw, sp))
    if w is not None:
        loss = fnp.multiply(loss, w)
    return reduce(loss, reduction)


bce_logits_op = Op(bce_logits_fn, "BinaryCrossEntropyWithLogits")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    r"""Binary cross-entropy on logits, :math:`l_n = -w_n [p\, y_n \log \sigma(x_n) +
    (1 - y_n) \log(1 - \sigma(x_n))]` with ``pos_weight`` :math:`p` weighting the positive
    term, computed stably for any :math:`x`.

    >>> F.binary_cross_entropy_with_logits(compat.zeros(2), compat.ones(2))
    tensor(0.6931)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    return bce_logits_op(input, target, weight, pos_weight, reduction=reduction)


# --------------------------------------------------------------------------- divergence


def kl_div_fn(x, t, reduction, log_target, batch):
    if log_target:
        loss = fnp.multiply(fnp.exp(t), fnp.subtract(t, x))
    else:
        loss = fnp.subtract(fl.scipy.special.xlogy(t, t), fnp.multiply(t, x))
    if reduction == "batchmean":
        return fnp.divide(fnp.sum(loss), batch)
    return reduce(loss, reduction)


kl_div_op = Op(kl_div_fn, "KlDiv")


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    r"""Kullback-Leibler divergence with ``input`` given as log-probabilities:
    :math:`l = y (\log y - x)` (:math:`0` where :math:`y = 0`), or with ``log_target``
    :math:`e^{y} (y - x)`. ``"batchmean"`` divides the sum by the batch size (the
    mathematically right mean); ``"mean"`` averages over all elements, as PyTorch.

    >>> F.kl_div(compat.log(compat.tensor([0.5, 0.5])), compat.tensor([0.5, 0.5]),
    ...          reduction="batchmean")
    tensor(0.)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction, REDUCTIONS + ("batchmean",))
    batch = input.shape[0] if input.ndim else 1
    return kl_div_op(input, target, reduction=reduction, log_target=bool(log_target),
                     batch=batch)


# --------------------------------------------------------------------------- classification


def class_axis(input: Tensor) -> int:
    """Dim 1 holds the classes, or dim 0 for an unbatched ``(C,)`` input."""
    return 0 if input.ndim == 1 else 1


def check_class_target(input: Tensor, target: Tensor) -> None:
    if input.ndim == 0:
        raise RuntimeError("input tensor should be 1D or 2D (or more, for spatial losses)")
    if target.is_floating_point():
        return
    if input.ndim >= 2 and target.ndim >= 1 and input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    if tuple(target.shape) != expected:
        raise RuntimeError(f"expected target of shape {list(expected)} for input of shape "
                           f"{list(input.shape)}, got {list(target.shape)}")


def weighted_class_loss(logp, target, weight, ignore_index, smoothing, reduction, axis):
    """Class-index NLL with per-class ``weight`` (and label smoothing): PyTorch's weighted
    mean divides by the total weight of the non-ignored targets."""
    c = logp.shape[axis]
    valid = fnp.not_equal(target, ignore_index)
    safe = fnp.where(valid, target, 0)
    onehot = fl.nn.one_hot(safe, c, dtype=logp.dtype, axis=axis)
    shape = [1] * logp.ndim
    shape[axis] = c
    wb = fnp.reshape(weight if weight is not None else fnp.ones((c,), logp.dtype), shape)
    wlogp = fnp.multiply(logp, wb)
    zero = fnp.zeros((), logp.dtype)
    nll = fnp.where(valid, fnp.negative(fnp.sum(fnp.multiply(onehot, wlogp), axis=axis)), zero)
    wt = fnp.where(valid, fnp.sum(fnp.multiply(onehot, wb), axis=axis), zero)
    loss = nll
    if smoothing:
        smooth = fnp.where(valid, fnp.negative(fnp.sum(wlogp, axis=axis)), zero)
        loss = fnp.add(fnp.multiply(nll, 1.0 - smoothing), fnp.multiply(smooth, smoothing / c))
    if reduction == "mean":
        return fnp.divide(fnp.sum(loss), fnp.sum(wt))
    return reduce(loss, reduction)


def cross_entropy_fn(x, t, w, ignore_index, smoothing, reduction, axis):
    if w is None and fnp.asarray(t).dtype.kind not in "f":
        return fl.nn.cross_entropy(x, t, axis=axis, label_smoothing=smoothing,
                                   reduction=reduction, ignore_index=ignore_index)
    logp = fl.nn.log_softmax(x, axis=axis)
    if fnp.asarray(t).dtype.kind in "f":
        c = x.shape[axis]
        t = fnp.astype(t, logp.dtype)
        if smoothing:
            t = fnp.add(fnp.multiply(t, 1.0 - smoothing), smoothing / c)
        if w is not None:
            shape = [1] * x.ndim
            shape[axis] = c
            logp = fnp.multiply(logp, fnp.reshape(w, shape))
        return reduce(fnp.negative(fnp.sum(fnp.multiply(t, logp), axis=axis)), reduction)
    return weighted_class_loss(logp, t, w, ignore_index, smoothing, reduction, axis)


cross_entropy_op = Op(cross_entropy_fn, "NllLoss")


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy between logits ``input`` and ``target``: class indices or class
    probabilities. For class indices :math:`y_n`,

    .. math::
        l_n = -w_{y_n} \log \frac{\exp(x_{n, y_n})}{\sum_c \exp(x_{n, c})}

    and with ``label_smoothing`` :math:`\epsilon` the target mixes with the uniform
    distribution: :math:`(1 - \epsilon) l_n + \frac{\epsilon}{C} \sum_c -w_c \log p_{n,c}`.

    Args:
        input: logits :math:`(N, C)`, :math:`(C)` or :math:`(N, C, d_1, ...)`.
        target: class indices :math:`(N)` (int64) or probabilities shaped like ``input``.
        weight: per-class weights :math:`(C)`.
        ignore_index: a target value that contributes nothing (indices only).
        reduction: ``"none"``, ``"mean"`` (weighted mean for indices) or ``"sum"``.
        label_smoothing: :math:`\epsilon \in [0, 1]`.

    >>> F.cross_entropy(compat.tensor([[0.0, 0.0]]), compat.tensor([0]))
    tensor(0.6931)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    check_class_target(input, target)
    floating = target.is_floating_point()
    if floating and tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected target size {list(input.shape)}, got "
                           f"{list(target.shape)}")
    return cross_entropy_op(input, target, weight,
                            ignore_index=None if floating else int(ignore_index),
                            smoothing=float(label_smoothing), reduction=reduction,
                            axis=class_axis(input))


def nll_fn(x, t, w, ignore_index, reduction, axis):
    return weighted_class_loss(x, t, w, ignore_index, 0.0, reduction, axis)


nll_op = Op(nll_fn, "NllLoss")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of class indices under log-probabilities ``input``:
    :math:`l_n = -w_{y_n} x_{n, y_n}`; ``"mean"`` is the weighted mean
    :math:`\sum_n l_n / \sum_n w_{y_n}` over non-ignored targets.

    >>> F.nll_loss(compat.tensor([[-1.0, -2.0]]), compat.tensor([1]))
    tensor(2.)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    check_class_target(input, target)
    return nll_op(input, target, weight, ignore_index=int(ignore_index), reduction=reduction,
                  axis=class_axis(input))


# --------------------------------------------------------------------------- ranking, margins


def margin_ranking_fn(x1, x2, y, margin, reduction):
    return reduce(fnp.maximum(fnp.add(fnp.multiply(fnp.negative(y), fnp.subtract(x1, x2)),
                                      margin), 0.0), reduction)


margin_ranking_op = Op(margin_ranking_fn, "MarginRankingLoss")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    r""":math:`\max(0, -y (x_1 - x_2) + \text{margin})` with :math:`y \in \{1, -1\}`.

    >>> F.margin_ranking_loss(compat.tensor([1.0]), compat.tensor([2.0]), compat.tensor([1.0]))
    tensor(1.)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    return margin_ranking_op(input1, input2, target, margin=float(margin), reduction=reduction)


def hinge_embedding_fn(x, y, margin, reduction):
    pos = fnp.where(fnp.equal(y, 1), x, 0.0)
    neg = fnp.where(fnp.equal(y, -1), fnp.maximum(fnp.subtract(margin, x), 0.0), 0.0)
    return reduce(fnp.add(pos, neg), reduction)


hinge_embedding_op = Op(hinge_embedding_fn, "HingeEmbeddingLoss")


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    r""":math:`x` where :math:`y = 1`, :math:`\max(0, \text{margin} - x)` where
    :math:`y = -1`.

    >>> F.hinge_embedding_loss(compat.tensor([0.3, 0.2]), compat.tensor([1.0, -1.0]))
    tensor(0.5500)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    return hinge_embedding_op(input, target, margin=float(margin), reduction=reduction)


def soft_margin_fn(x, y, reduction):
    return reduce(fl.nn.softplus(fnp.negative(fnp.multiply(y, x))), reduction)


soft_margin_op = Op(soft_margin_fn, "SoftMarginLoss")


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    r""":math:`\log(1 + e^{-y x})` with :math:`y \in \{1, -1\}`.

    >>> F.soft_margin_loss(compat.zeros(2), compat.ones(2))
    tensor(0.6931)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    return soft_margin_op(input, target, reduction=reduction)


def multilabel_soft_margin_fn(x, y, w, reduction):
    loss = fnp.add(fnp.multiply(y, fl.nn.log_sigmoid(x)),
                   fnp.multiply(fnp.subtract(1.0, y), fl.nn.log_sigmoid(fnp.negative(x))))
    if w is not None:
        loss = fnp.multiply(loss, w)
    return reduce(fnp.negative(fnp.mean(loss, axis=-1)), reduction)


multilabel_soft_margin_op = Op(multilabel_soft_margin_fn, "MultilabelSoftMarginLoss")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    r"""Multi-label one-versus-all loss: per sample
    :math:`-\frac{1}{C}\sum_c [y_c \log\sigma(x_c) + (1 - y_c)\log\sigma(-x_c)]`.

    >>> F.multilabel_soft_margin_loss(compat.zeros(1, 2), compat.ones(1, 2))
    tensor(0.6931)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    return multilabel_soft_margin_op(input, target, weight, reduction=reduction)


def cosine_embedding_fn(x1, x2, y, margin, reduction):
    eps = 1e-12  # PyTorch's epsilon on the squared norms
    dot = fnp.sum(fnp.multiply(x1, x2), axis=-1)
    n1 = fnp.add(fnp.sum(fnp.multiply(x1, x1), axis=-1), eps)
    n2 = fnp.add(fnp.sum(fnp.multiply(x2, x2), axis=-1), eps)
    cos = fnp.divide(dot, fnp.sqrt(fnp.multiply(n1, n2)))
    pos = fnp.where(fnp.equal(y, 1), fnp.subtract(1.0, cos), 0.0)
    neg = fnp.where(fnp.equal(y, -1), fnp.maximum(fnp.subtract(cos, margin), 0.0), 0.0)
    return reduce(fnp.add(pos, neg), reduction)


cosine_embedding_op = Op(cosine_embedding_fn, "CosineEmbeddingLoss")


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    r""":math:`1 - \cos(x_1, x_2)` where :math:`y = 1`,
    :math:`\max(0, \cos(x_1, x_2) - \text{margin})` where :math:`y = -1`.

    >>> F.cosine_embedding_loss(compat.ones(1, 2), compat.ones(1, 2), compat.tensor([1.0]))
    tensor(0.)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    return cosine_embedding_op(input1, input2, target, margin=float(margin),
                               reduction=reduction)


def triplet_fn(a, p, n, margin, norm, eps, swap, reduction):
    def dist(u, v):
        d = fnp.add(fnp.subtract(u, v), eps)
        return fnp.power(fnp.sum(fnp.power(fnp.abs(d), norm), axis=-1), 1.0 / norm)

    d_ap, d_an = dist(a, p), dist(a, n)
    if swap:
        d_an = fnp.minimum(d_an, dist(p, n))
    return reduce(fnp.maximum(fnp.add(fnp.subtract(d_ap, d_an), margin), 0.0), reduction)


triplet_op = Op(triplet_fn, "TripletMarginLoss")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    r""":math:`\max(d(a, p) - d(a, n) + \text{margin}, 0)` with
    :math:`d(u, v) = \lVert u - v + \epsilon \rVert_p` (``swap``: use the smaller of
    :math:`d(a, n)` and :math:`d(p, n)`).

    >>> F.triplet_margin_loss(compat.zeros(1, 2), compat.zeros(1, 2), compat.ones(1, 2))
    tensor(0.)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    return triplet_op(anchor, positive, negative, margin=float(margin), norm=float(p),
                      eps=float(eps), swap=bool(swap), reduction=reduction)


def poisson_nll_fn(x, t, log_input, full, eps, reduction):
    if log_input:
        loss = fnp.subtract(fnp.exp(x), fnp.multiply(t, x))
    else:
        loss = fnp.subtract(x, fnp.multiply(t, fnp.log(fnp.add(x, eps))))
    if full:
        # Stirling's term t log t - t + 0.5 log(2 pi t), only where t > 1
        st = fnp.add(fnp.subtract(fl.scipy.special.xlogy(t, t), t),
                     fnp.multiply(0.5, fnp.log(fnp.multiply(2 * np.pi, fnp.maximum(t, 1.0)))))
        loss = fnp.add(loss, fnp.where(fnp.greater(t, 1.0), st, 0.0))
    return reduce(loss, reduction)


poisson_nll_op = Op(poisson_nll_fn, "PoissonNllLoss")


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    r"""Poisson negative log-likelihood: :math:`e^x - y x` (``log_input``) or
    :math:`x - y \log(x + \epsilon)`, plus Stirling's term when ``full``.

    >>> F.poisson_nll_loss(compat.zeros(2), compat.ones(2))
    tensor(1.)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    return poisson_nll_op(input, target, log_input=bool(log_input), full=bool(full),
                          eps=float(eps), reduction=reduction)


def gaussian_nll_fn(x, t, var, full, eps, reduction):
    v = fnp.maximum(var, eps)
    loss = fnp.multiply(0.5, fnp.add(fnp.log(v), fnp.divide(fnp.square(fnp.subtract(x, t)),
                                                            v)))
    if full:
        loss = fnp.add(loss, 0.5 * float(np.log(2 * np.pi)))
    return reduce(loss, reduction)


gaussian_nll_op = Op(gaussian_nll_fn, "GaussianNllLoss")


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    r"""Gaussian negative log-likelihood
    :math:`\frac{1}{2}(\log \max(\sigma^2, \epsilon) + (x - y)^2 / \max(\sigma^2,
    \epsilon))` (plus :math:`\frac{1}{2}\log 2\pi` when ``full``); ``var`` broadcasts
    (one variance per sample is unsqueezed as PyTorch does).

    >>> F.gaussian_nll_loss(compat.zeros(2), compat.zeros(2), compat.ones(2))
    tensor(0.)
    """
    check_reduction(reduction)
    if isinstance(var, Tensor) and var.ndim == input.ndim - 1 and tuple(var.shape) == tuple(
            input.shape[:-1]):
        var = var.unsqueeze(-1)
    return gaussian_nll_op(input, target, as_target(var, input), full=bool(full),
                           eps=float(eps), reduction=reduction)


def multi_margin_fn(x, y, w, p, margin, reduction):
    c = x.shape[-1]
    onehot = fl.nn.one_hot(y, c, dtype=x.dtype)
    picked = fnp.sum(fnp.multiply(x, onehot), axis=-1, keepdims=True)
    m = fnp.maximum(fnp.add(fnp.subtract(margin, picked), x), 0.0)
    if p == 2:
        m = fnp.multiply(m, m)
    if w is not None:
        m = fnp.multiply(m, fnp.expand_dims(fnp.take(w, y), -1))
    m = fnp.multiply(m, fnp.subtract(1.0, onehot))  # the target class itself does not count
    return reduce(fnp.divide(fnp.sum(m, axis=-1), c), reduction)


multi_margin_op = Op(multi_margin_fn, "MultiMarginLoss")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    r"""Multi-class hinge loss per sample:
    :math:`\frac{1}{C}\sum_{i \ne y} \max(0, \text{margin} - x_y + x_i)^p`.

    >>> F.multi_margin_loss(compat.tensor([[0.1, 0.2, 0.4, 0.8]]), compat.tensor([3]))
    tensor(0.3250)
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    return multi_margin_op(input, target, weight, p=int(p), margin=float(margin),
                           reduction=reduction)


__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
    "cross_entropy", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div",
    "l1_loss", "margin_ranking_loss", "mse_loss", "multi_margin_loss",
    "multilabel_soft_margin_loss", "nll_loss", "poisson_nll_loss", "smooth_l1_loss",
    "soft_margin_loss", "triplet_margin_loss",
]
