r"""Parameter initialisation (``torch.nn.init``): in-place fills under ``no_grad`` that draw
from compat's generator, so ``compat.manual_seed`` makes them reproducible.

Fan-in and fan-out of a weight of shape :math:`(O, I, k_1, \dots)` are
:math:`I \prod k` and :math:`O \prod k` (for a matrix :math:`(O, I)`: :math:`I` and
:math:`O`); ``calculate_gain`` gives PyTorch's recommended gains.

>>> w = compat.empty(3, 5)
>>> _ = nn.init.kaiming_uniform_(w, a=5 ** 0.5)
>>> bool((w.abs() <= 1 / 5 ** 0.5).all())
True
"""

from __future__ import annotations

import math

import numpy as np

from .. import random as crandom
from ..grad_mode import no_grad
from ..tensor import Tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    r"""The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid,
    :math:`5/3` for tanh, :math:`\sqrt{2}` for relu,
    :math:`\sqrt{2 / (1 + \text{slope}^2)}` for leaky_relu (slope ``param``, default 0.01),
    :math:`3/4` for selu.

    >>> nn.init.calculate_gain("relu")
    1.4142135623730951
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight with at least 2 dims.

    >>> nn.init.calculate_fan_in_and_fan_out(compat.empty(4, 3, 5, 5))
    (75, 100)
    """
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    shape = tensor.shape
    receptive = int(np.prod(shape[2:], dtype=np.int64)) if tensor.dim() > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


# PyTorch's private name, which initialisation code in the wild calls
_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out


def fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: crandom.Generator | None = None) -> Tensor:
    r"""Fill with samples from :math:`\mathcal{U}(a, b)`.

    >>> bool((nn.init.uniform_(compat.empty(4), -1, 1).abs() <= 1).all())
    True
    """
    with no_grad():
        return crandom.uniform_(tensor, a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: crandom.Generator | None = None) -> Tensor:
    r"""Fill with samples from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

    >>> nn.init.normal_(compat.empty(2, 3)).shape
    torch.Size([2, 3])
    """
    with no_grad():
        return crandom.normal_(tensor, mean, std, generator=generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: crandom.Generator | None = None) -> Tensor:
    r"""Fill with samples from :math:`\mathcal{N}(\text{mean}, \text{std}^2)` truncated to
    :math:`[a, b]` (samples outside are redrawn, which gives exactly the truncated
    distribution).

    >>> bool((nn.init.trunc_normal_(compat.empty(100)).abs() <= 2).all())
    True
    """
    rng = crandom.rng_of(generator)
    w = rng.normal(mean, std, tensor.shape)
    for _ in range(1000):  # each round keeps the accepted fraction, so few are needed
        bad = (w < a) | (w > b)
        if not bad.any():
            break
        w[bad] = rng.normal(mean, std, int(bad.sum()))
    with no_grad():
        return tensor.copy_(np.clip(w, a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    >>> nn.init.constant_(compat.empty(2), 0.5)
    tensor([0.5000, 0.5000])
    """
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    >>> nn.init.zeros_(compat.empty(2))
    tensor([0., 0.])
    """
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones.

    >>> nn.init.ones_(compat.empty(2))
    tensor([1., 1.])
    """
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity matrix.

    >>> nn.init.eye_(compat.empty(2, 2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad():
        return tensor.copy_(np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-d conv weight with the Dirac delta (the identity convolution,
    per group).

    >>> nn.init.dirac_(compat.empty(1, 1, 3)).tolist()
    [[[0.0, 1.0, 0.0]]]
    """
    if tensor.dim() not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    shape = tensor.shape
    if shape[0] % groups:
        raise ValueError("dim 0 must be divisible by groups")
    out_per = shape[0] // groups
    w = np.zeros(shape)
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(out_per, shape[1])):
            w[(g * out_per + d, d) + centre] = 1
    with no_grad():
        return tensor.copy_(w)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: crandom.Generator | None = None) -> Tensor:
    r"""Glorot uniform: :math:`\mathcal{U}(-a, a)` with
    :math:`a = \text{gain} \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`.

    >>> bool((nn.init.xavier_uniform_(compat.empty(3, 3)).abs() <= 1).all())
    True
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: crandom.Generator | None = None) -> Tensor:
    r"""Glorot normal: :math:`\mathcal{N}(0, \sigma^2)` with
    :math:`\sigma = \text{gain} \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`.

    >>> nn.init.xavier_normal_(compat.empty(3, 3)).shape
    torch.Size([3, 3])
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: crandom.Generator | None = None) -> Tensor:
    r"""He uniform: :math:`\mathcal{U}(-b, b)` with
    :math:`b = \text{gain} \sqrt{3 / \text{fan\_mode}}` (``a``: the leaky_relu slope that
    sets the gain). ``Linear`` and ``Conv`` use ``a=sqrt(5)``, i.e.
    :math:`b = 1/\sqrt{\text{fan\_in}}`.

    >>> bool((nn.init.kaiming_uniform_(compat.empty(4, 4)).abs() <= 1.23).all())
    True
    """
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: crandom.Generator | None = None) -> Tensor:
    r"""He normal: :math:`\mathcal{N}(0, \sigma^2)` with
    :math:`\sigma = \text{gain} / \sqrt{\text{fan\_mode}}`.

    >>> nn.init.kaiming_normal_(compat.empty(4, 4), nonlinearity="relu").shape
    torch.Size([4, 4])
    """
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0,
                generator: crandom.Generator | None = None) -> Tensor:
    r"""Fill with a (semi-)orthogonal matrix (the Q of a QR of a normal sample, signs fixed
    by R's diagonal), scaled by ``gain``; dims after the first are flattened.

    >>> q = nn.init.orthogonal_(compat.empty(3, 3))
    >>> bool(compat.allclose(q @ q.T, compat.eye(3), atol=1e-5))
    True
    """
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = crandom.rng_of(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    with no_grad():
        return tensor.copy_((gain * q).reshape(tensor.shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: crandom.Generator | None = None) -> Tensor:
    r"""Fill a 2-d tensor with :math:`\mathcal{N}(0, \text{std}^2)` samples and zero the
    fraction ``sparsity`` of each column.

    >>> int((nn.init.sparse_(compat.empty(4, 2), 0.5) == 0).sum())
    4
    """
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    rng = crandom.rng_of(generator)
    w = rng.normal(0.0, std, (rows, cols))
    for c in range(cols):
        w[rng.permutation(rows)[:zeros], c] = 0
    with no_grad():
        return tensor.copy_(w)


# PyTorch's deprecated un-suffixed names
uniform, normal, constant = uniform_, normal_, constant_
xavier_uniform, xavier_normal = xavier_uniform_, xavier_normal_
kaiming_uniform, kaiming_normal, orthogonal = kaiming_uniform_, kaiming_normal_, orthogonal_

__all__ = [
    "calculate_fan_in_and_fan_out", "calculate_gain", "constant_", "dirac_", "eye_",
    "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_", "orthogonal_", "sparse_",
    "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]
