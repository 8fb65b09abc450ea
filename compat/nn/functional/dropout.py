"""Dropout: ``dropout``, ``dropout1d/2d/3d`` (whole channels), ``alpha_dropout``. The keep
mask is drawn from compat's generator (so ``compat.manual_seed`` reproduces it) and the
op multiplies by ``mask / (1 - p)``: one ``Op`` whose gradient is the same product.

>>> _ = compat.manual_seed(0)
>>> y = F.dropout(compat.ones(1000), 0.5)
>>> sorted(set(y.tolist())), 400 < int((y == 0).sum()) < 600
([0.0, 2.0], True)
"""

from __future__ import annotations

import numpy as np

import functorch_lite.numpy as fnp

from ... import device as device_mod
from ... import random as crandom
from ...ops.dispatch import Op
from ...ops.inplace import inplace as run_inplace
from ...tensor import Tensor


def check_p(p: float) -> float:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def mask_fn(x, m):
    return fnp.multiply(x, m)


dropout_op = Op(mask_fn, "Mul")


def keep_mask(input: Tensor, shape: tuple, p: float, scale: float):
    """``keep / (1 - p)`` (or ``keep * scale``) sampled for ``shape``: an array of the
    input's dtype on its device."""
    dt = input.array.dtype
    u = crandom.rng_of(None).random(shape, dtype=np.float32 if dt == np.float32 else
                                    np.float64)
    m = (u >= p).astype(dt)
    m *= scale
    if not isinstance(input.array, np.ndarray) and input.is_cuda:
        return device_mod.put(m, input.device)
    return m


def apply_mask(input: Tensor, mask, inplace: bool) -> Tensor:
    if inplace:
        return run_inplace(input, lambda v: dropout_op(v, mask))
    return dropout_op(input, mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    r"""During training, zeroes each element with probability ``p`` and scales the rest by
    :math:`1/(1-p)` (so the expectation is unchanged); the identity otherwise.

    Args:
        p: probability of an element being zeroed.
        training: apply dropout (``module.training`` in a layer).
        inplace: write the result into ``input``.

    >>> F.dropout(compat.ones(3), 0.5, training=False)
    tensor([1., 1., 1.])
    """
    p = check_p(p)
    if not training or p == 0.0:
        return input
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return apply_mask(input, keep_mask(input, tuple(input.shape), p, scale), inplace)


def feature_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                    n: int, name: str) -> Tensor:
    """Drop whole channels: one draw per (example, channel) of an ``(N, C, *spatial)`` or
    ``(C, *spatial)`` input with ``n`` spatial dims."""
    p = check_p(p)
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}: Expected {n + 1}D or {n + 2}D input, but received a "
                           f"{input.ndim}D input")
    if not training or p == 0.0:
        return input
    lead = input.ndim - n
    shape = tuple(input.shape[:lead]) + (1,) * n
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return apply_mask(input, keep_mask(input, shape, p, scale), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    r"""Zero whole channels of :math:`(N, C, L)` with probability ``p`` (scaling the rest
    by :math:`1/(1-p)`).

    >>> F.dropout1d(compat.ones(2, 3, 4), training=False).shape
    torch.Size([2, 3, 4])
    """
    return feature_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    r"""Zero whole channels of :math:`(N, C, H, W)` with probability ``p``.

    >>> y = F.dropout2d(compat.ones(4, 8, 2, 2))
    >>> bool(((y.sum((2, 3)) == 0) | (y.sum((2, 3)) == 8)).all())
    True
    """
    return feature_dropout(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    r"""Zero whole channels of :math:`(N, C, D, H, W)` with probability ``p``.

    >>> F.dropout3d(compat.ones(1, 2, 1, 1, 1), training=False).shape
    torch.Size([1, 2, 1, 1, 1])
    """
    return feature_dropout(input, p, training, inplace, 3, "dropout3d")


def alpha_fn(x, keep, a, b, alpha_prime):
    return fnp.add(fnp.multiply(fnp.where(keep, x, alpha_prime), a), b)


alpha_dropout_op = Op(alpha_fn, "AlphaDropout")
SELU_ALPHA_PRIME = -1.7580993408473766  # -scale * alpha of SELU: what a dropped unit takes


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    r"""Dropout for SELU networks: dropped units take SELU's negative saturation value and
    an affine map keeps the mean and variance (Klambauer et al.).

    >>> F.alpha_dropout(compat.ones(3), 0.2, training=False)
    tensor([1., 1., 1.])
    """
    p = check_p(p)
    if not training or p == 0.0:
        return input
    q = 1.0 - p
    a = (q + SELU_ALPHA_PRIME ** 2 * q * p) ** -0.5
    b = -a * SELU_ALPHA_PRIME * p
    keep = crandom.rng_of(None).random(tuple(input.shape)) >= p
    res = alpha_dropout_op(input, keep, a=a, b=b, alpha_prime=SELU_ALPHA_PRIME)
    return input.copy_(res) if inplace else res


__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d"]
