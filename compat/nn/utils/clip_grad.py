r"""Gradient clipping: ``clip_grad_norm_`` (rescale all gradients so their joint norm is at
most ``max_norm``) and ``clip_grad_value_`` (clamp each element), in place.

>>> p = compat.nn.Parameter(compat.zeros(2)); p.grad = compat.tensor([3.0, 4.0])
>>> compat.nn.utils.clip_grad_norm_([p], max_norm=1.0), p.grad
(tensor(5.), tensor([0.6000, 0.8000]))
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ...grad_mode import no_grad
from ...tensor import Tensor, own, wrap


def grads_of(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors: Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    r"""The ``norm_type``-norm of all ``tensors`` together (as if concatenated into one
    vector).

    >>> compat.nn.utils.get_total_norm([compat.tensor([3.0]), compat.tensor([4.0])])
    tensor(5.)
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if not tensors:
        return wrap(np.array(0.0, np.float32))
    norm_type = float(norm_type)
    arrays = [np.asarray(t.numpy(force=True), np.float64).ravel() for t in tensors]
    if math.isinf(norm_type):
        total = max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    else:
        total = sum(float(np.sum(np.abs(a) ** norm_type)) for a in arrays) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return wrap(own(np.array(total, dtype=tensors[0].array.dtype)))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    r"""Scale the gradients of ``parameters`` in place so that their total norm is at most
    ``max_norm``: each gradient is multiplied by
    :math:`\min(1, \text{max\_norm} / (\lVert g \rVert + 10^{-6}))`.

    Args:
        parameters: tensors (or one tensor) whose ``.grad`` to clip.
        max_norm: the largest allowed norm.
        norm_type: the p of the norm (``inf`` for the max norm).
        error_if_nonfinite: raise if the total norm is nan or inf.

    Returns:
        The total norm before clipping (a 0-d tensor).

    >>> p = compat.nn.Parameter(compat.zeros(1)); p.grad = compat.tensor([0.5])
    >>> compat.nn.utils.clip_grad_norm_(p, 1.0), p.grad
    (tensor(0.5000), tensor([0.5000]))
    """
    grads = grads_of(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    coef = float(max_norm) / (float(total) + 1e-6)
    if coef < 1.0:
        with no_grad():
            for g in grads:
                g.mul_(coef)
    return total


clip_grad_norm = clip_grad_norm_  # PyTorch's deprecated name


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    r"""Clamp every gradient element of ``parameters`` to
    :math:`[-\text{clip\_value}, \text{clip\_value}]`, in place.

    >>> p = compat.nn.Parameter(compat.zeros(2)); p.grad = compat.tensor([-3.0, 0.5])
    >>> compat.nn.utils.clip_grad_value_(p, 1.0); p.grad
    tensor([-1.0000,  0.5000])
    """
    c = float(clip_value)
    with no_grad():
        for g in grads_of(parameters):
            g.clamp_(-c, c)


__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "get_total_norm"]
