"""Activation functions of ``compat.nn.functional``: each an ``Op`` over the matching
``functorch_lite.nn`` (or ``functorch_lite.numpy``) function, so its gradient is the core's.

``inplace=True`` writes the result into the input (``input.copy_`` of the out-of-place
result, recorded by autograd as PyTorch's in-place ops are).

>>> F.relu(compat.tensor([-1.0, 2.0])), F.gelu(compat.tensor([0.0]))
(tensor([0., 2.]), tensor([0.]))
"""

from __future__ import annotations

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp

from ... import random as crandom
from ...ops import creation, pointwise, reduction
from ...ops.dispatch import Op
from ...ops.inplace import inplace as run_inplace
from ...tensor import Tensor


def maybe_inplace(input: Tensor, inplace: bool, fn, **kwargs) -> Tensor:
    """``fn(input, **kwargs)``, written into ``input`` when ``inplace``."""
    if inplace:
        return run_inplace(input, lambda v: fn(v, **kwargs))
    return fn(input, **kwargs)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    r"""Rectified linear unit, :math:`\max(0, x)` elementwise (gradient 0 at 0).

    Args:
        input: any tensor.
        inplace: write the result into ``input``.

    >>> F.relu(compat.tensor([-1.0, 0.5]))
    tensor([0.0000, 0.5000])
    """
    return maybe_inplace(input, inplace, pointwise.relu)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def leaky_relu_fn(x, negative_slope):
    return fl.nn.leaky_relu(x, negative_slope)


leaky_relu_op = Op(leaky_relu_fn, "LeakyRelu")


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    r""":math:`x` for :math:`x > 0`, else :math:`\text{negative\_slope} \cdot x`.

    >>> F.leaky_relu(compat.tensor([-2.0, 2.0]), 0.1)
    tensor([-0.2000,  2.0000])
    """
    return maybe_inplace(input, inplace, leaky_relu_op, negative_slope=float(negative_slope))


def hardtanh_fn(x, min_val, max_val):
    return fnp.clip(x, min_val, max_val)


hardtanh_op = Op(hardtanh_fn, "Hardtanh")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    r""":math:`\min(\max(x, \text{min\_val}), \text{max\_val})`.

    >>> F.hardtanh(compat.tensor([-3.0, 0.5, 3.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    return maybe_inplace(input, inplace, hardtanh_op, min_val=float(min_val),
                         max_val=float(max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`\min(\max(0, x), 6)`.

    >>> F.relu6(compat.tensor([-1.0, 7.0]))
    tensor([0., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def elu_fn(x, alpha, scale):
    y = fl.nn.elu(x, alpha)
    return fnp.multiply(y, scale) if scale != 1.0 else y


elu_op = Op(elu_fn, "Elu")
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r""":math:`x` for :math:`x > 0`, else :math:`\alpha (e^x - 1)`.

    >>> F.elu(compat.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    return maybe_inplace(input, inplace, elu_op, alpha=float(alpha), scale=1.0)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`\text{scale} \cdot \text{elu}(x, \alpha)` with the self-normalising
    constants :math:`\alpha \approx 1.6733`, :math:`\text{scale} \approx 1.0507`.

    >>> F.selu(compat.tensor([1.0]))
    tensor([1.0507])
    """
    return maybe_inplace(input, inplace, elu_op, alpha=SELU_ALPHA, scale=SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r""":math:`\max(0, x) + \min(0, \alpha (e^{x/\alpha} - 1))`.

    >>> F.celu(compat.tensor([1.0]))
    tensor([1.])
    """
    return maybe_inplace(input, inplace, celu_op, alpha=float(alpha))


def celu_fn(x, alpha):
    return fnp.multiply(fl.nn.elu(fnp.divide(x, alpha)), alpha)


celu_op = Op(celu_fn, "Celu")


def gelu_fn(x, approximate):
    return fl.nn.gelu(x, approximate=approximate == "tanh")


gelu_op = Op(gelu_fn, "Gelu")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    r"""Gaussian error linear unit :math:`x \Phi(x)` (exact, with erf), or with
    ``approximate="tanh"``:
    :math:`0.5 x (1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))`.

    >>> F.gelu(compat.tensor([1.0]))
    tensor([0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return gelu_op(input, approximate=approximate)


def silu_fn(x):
    return fl.nn.silu(x)


silu_op = Op(silu_fn, "Silu")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`x \cdot \sigma(x)` (swish).

    >>> F.silu(compat.tensor([0.0]))
    tensor([0.])
    """
    return maybe_inplace(input, inplace, silu_op)


def mish_fn(x):
    return fnp.multiply(x, fnp.tanh(fl.nn.softplus(x)))


mish_op = Op(mish_fn, "Mish")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`x \tanh(\text{softplus}(x))`.

    >>> F.mish(compat.tensor([0.0]))
    tensor([0.])
    """
    return maybe_inplace(input, inplace, mish_op)


def hardsigmoid_fn(x):
    return fnp.clip(fnp.add(fnp.divide(x, 6.0), 0.5), 0.0, 1.0)


def hardswish_fn(x):
    return fnp.multiply(x, hardsigmoid_fn(x))


hardsigmoid_op = Op(hardsigmoid_fn, "Hardsigmoid")
hardswish_op = Op(hardswish_fn, "Hardswish")


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`\text{clip}(x / 6 + 1/2, 0, 1)`.

    >>> F.hardsigmoid(compat.tensor([0.0]))
    tensor([0.5000])
    """
    return maybe_inplace(input, inplace, hardsigmoid_op)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`x \cdot \text{hardsigmoid}(x)`.

    >>> F.hardswish(compat.tensor([3.0]))
    tensor([3.])
    """
    return maybe_inplace(input, inplace, hardswish_op)


def sigmoid(input: Tensor) -> Tensor:
    r"""Logistic function :math:`1 / (1 + e^{-x})`.

    >>> F.sigmoid(compat.tensor([0.0]))
    tensor([0.5000])
    """
    return pointwise.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    r"""Hyperbolic tangent.

    >>> F.tanh(compat.tensor([0.0]))
    tensor([0.])
    """
    return pointwise.tanh(input)


def softplus_fn(x, beta, threshold):
    # PyTorch: x itself where beta * x > threshold (linear regime, avoids overflow)
    bx = fnp.multiply(x, beta)
    soft = fnp.divide(fl.nn.softplus(bx), beta)
    return fnp.where(fnp.greater(bx, threshold), x, soft)


softplus_op = Op(softplus_fn, "Softplus")


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    r""":math:`\frac{1}{\beta} \log(1 + e^{\beta x})`, and :math:`x` where
    :math:`\beta x > \text{threshold}`.

    >>> F.softplus(compat.tensor([0.0]))
    tensor([0.6931])
    """
    return softplus_op(input, beta=float(beta), threshold=float(threshold))


def logsigmoid_fn(x):
    return fl.nn.log_sigmoid(x)


logsigmoid_op = Op(logsigmoid_fn, "LogSigmoid")


def logsigmoid(input: Tensor) -> Tensor:
    r""":math:`\log \sigma(x) = -\text{softplus}(-x)`, computed stably.

    >>> F.logsigmoid(compat.tensor([0.0]))
    tensor([-0.6931])
    """
    return logsigmoid_op(input)


def softsign_fn(x):
    return fnp.divide(x, fnp.add(fnp.abs(x), 1.0))


softsign_op = Op(softsign_fn, "Softsign")


def softsign(input: Tensor) -> Tensor:
    r""":math:`x / (1 + |x|)`.

    >>> F.softsign(compat.tensor([1.0]))
    tensor([0.5000])
    """
    return softsign_op(input)


def tanhshrink_fn(x):
    return fnp.subtract(x, fnp.tanh(x))


tanhshrink_op = Op(tanhshrink_fn, "Tanhshrink")


def tanhshrink(input: Tensor) -> Tensor:
    r""":math:`x - \tanh(x)`.

    >>> F.tanhshrink(compat.tensor([0.0]))
    tensor([0.])
    """
    return tanhshrink_op(input)


def threshold_fn(x, threshold, value):
    return fnp.where(fnp.greater(x, threshold), x, fnp.full_like(x, value))


threshold_op = Op(threshold_fn, "Threshold")


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    r""":math:`x` where :math:`x > \text{threshold}`, else ``value``.

    >>> F.threshold(compat.tensor([0.5, 2.0]), 1.0, -1.0)
    tensor([-1.,  2.])
    """
    return maybe_inplace(input, inplace, threshold_op, threshold=float(threshold),
                         value=float(value))


def prelu_fn(x, w):
    # one weight, or one per channel (dim 1)
    if w.shape[0] != 1 and x.ndim > 1:
        w = fnp.reshape(w, (1, -1) + (1,) * (x.ndim - 2))
    return fnp.where(fnp.greater(x, 0), x, fnp.multiply(w, x))


prelu_op = Op(prelu_fn, "Prelu")


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    r""":math:`x` for :math:`x > 0`, else :math:`a x` with a learned :math:`a` (one, or one
    per channel).

    >>> F.prelu(compat.tensor([-2.0, 2.0]), compat.tensor([0.25]))
    tensor([-0.5000,  2.0000])
    """
    return prelu_op(input, weight)


def glu_fn(x, dim):
    a, b = fnp.split(x, 2, axis=dim)
    return fnp.multiply(a, fl.nn.sigmoid(b))


glu_op = Op(glu_fn, "Glu")


def glu(input: Tensor, dim: int = -1) -> Tensor:
    r"""Gated linear unit: split ``input`` in halves :math:`a, b` along ``dim`` and return
    :math:`a \otimes \sigma(b)`.

    >>> F.glu(compat.tensor([1.0, 0.0]))
    tensor([0.5000])
    """
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    return glu_op(input, dim=int(dim))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    r""":math:`\text{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}` along ``dim``.

    >>> F.softmax(compat.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    return reduction.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    r""":math:`\log \text{softmax}(x)` along ``dim``, computed stably.

    >>> F.log_softmax(compat.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    return reduction.log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    r""":math:`\text{softmax}(-x)` along ``dim``.

    >>> F.softmin(compat.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    return reduction.softmax(pointwise.neg(input), dim, dtype)


def shrink_fn(x, lambd, soft):
    keep = fnp.greater(fnp.abs(x), lambd)
    y = fnp.subtract(x, fnp.multiply(fnp.sign(x), lambd)) if soft else x
    return fnp.where(keep, y, fnp.zeros_like(x))


shrink_ops = {False: Op(shrink_fn, "Hardshrink"), True: Op(shrink_fn, "Softshrink")}


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    r""":math:`x` where :math:`|x| > \lambda`, else 0.

    >>> F.hardshrink(compat.tensor([-1.0, 0.2, 0.7]))
    tensor([-1.0000,  0.0000,  0.7000])
    """
    return shrink_ops[False](input, lambd=float(lambd), soft=False)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    r""":math:`x - \lambda \operatorname{sign}(x)` where :math:`|x| > \lambda`, else 0.

    >>> F.softshrink(compat.tensor([-1.0, 0.2, 0.75]))
    tensor([-0.5000,  0.0000,  0.2500])
    """
    return shrink_ops[True](input, lambd=float(lambd), soft=True)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    r"""Randomized leaky ReLU: negative inputs scaled by a slope drawn from
    :math:`\mathcal{U}(\text{lower}, \text{upper})` per element in training (from
    compat's generator), by :math:`(\text{lower} + \text{upper}) / 2` otherwise.

    >>> F.rrelu(compat.tensor([-3.0, 1.0]), 0.2, 0.4)
    tensor([-0.9000,  1.0000])
    """
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slope = crandom.rng_of(None).uniform(lower, upper, tuple(input.shape))
    res = prelu_elementwise_op(input, slope.astype(input.array.dtype))
    return input.copy_(res) if inplace else res


def prelu_elementwise_fn(x, slope):
    return fnp.where(fnp.greater(x, 0), x, fnp.multiply(slope, x))


prelu_elementwise_op = Op(prelu_elementwise_fn, "RreluWithNoise")


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    r"""Samples from the Gumbel-softmax distribution:
    :math:`\text{softmax}((\text{logits} + g) / \tau)` with Gumbel noise :math:`g` from
    compat's generator; ``hard=True`` returns the one-hot of the argmax in the forward pass
    with the soft sample's gradient (straight-through).

    >>> y = F.gumbel_softmax(compat.zeros(4, 3), hard=True)
    >>> y.sum(-1).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    u = crandom.rng_of(None).random(tuple(logits.shape))
    g = -np.log(-np.log(u + eps) + eps).astype(logits.array.dtype)
    soft = reduction.softmax((logits + g) / tau, dim)
    if not hard:
        return soft
    idx = soft.argmax(dim, keepdim=True)
    onehot = creation.zeros_like(soft).scatter_(dim, idx, 1.0)
    return onehot - soft.detach() + soft


__all__ = [
    "celu", "elu", "gelu", "glu", "gumbel_softmax", "hardshrink", "hardsigmoid", "hardswish",
    "hardtanh", "leaky_relu", "log_softmax", "logsigmoid", "mish", "prelu", "relu", "relu6",
    "relu_", "rrelu", "selu", "sigmoid", "silu", "softmax", "softmin", "softplus",
    "softshrink", "softsign", "tanh", "tanhshrink", "threshold",
]
