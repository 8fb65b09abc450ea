"""Linear maps: ``linear`` (:math:`xW^T + b`) and ``bilinear``, one ``Op`` each.

>>> F.linear(compat.ones(1, 2), compat.ones(3, 2), compat.zeros(3))
tensor([[2., 2., 2.]])
"""

from __future__ import annotations

import functorch_lite as fl
import functorch_lite.numpy as fnp

from ...ops.dispatch import Op
from ...tensor import Tensor


def linear_fn(x, w, b):
    """``x @ w.T + b``: contracts the last dim of ``x`` with dim 1 of ``w`` directly (no
    transposed copy of ``w``)."""
    y = fl.lax.dot_general(x, w, (((x.ndim - 1,), (1,)), ((), ())))
    return y if b is None else fnp.add(y, b)


# PyTorch's node names: a 2-d input with bias is an addmm, without one an mm
addmm_op = Op(linear_fn, "Addmm")
mm_op = Op(linear_fn, "Mm")


def check_features(input: Tensor, weight: Tensor) -> None:
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        shape = list(input.shape)
        rows = 1 if len(shape) < 2 else int(input.numel() // max(shape[-1], 1))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                           f"{shape[-1] if shape else 1} and {weight.shape[-1]}x"
                           f"{weight.shape[0]})")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Applies an affine map :math:`y = xA^T + b`.

    Args:
        input: :math:`(*, \text{in\_features})`.
        weight: :math:`(\text{out\_features}, \text{in\_features})`.
        bias: :math:`(\text{out\_features})` or None.

    Returns:
        :math:`(*, \text{out\_features})`.

    >>> F.linear(compat.ones(2, 3), compat.ones(4, 3)).shape
    torch.Size([2, 4])
    """
    check_features(input, weight)
    if weight.ndim == 1:  # PyTorch allows a vector weight: a dot product
        return mm_op(input, weight.reshape(1, -1), None).squeeze(-1) if bias is None else \
            addmm_op(input, weight.reshape(1, -1), bias.reshape(1)).squeeze(-1)
    return (mm_op if bias is None else addmm_op)(input, weight, bias)


def bilinear_fn(x1, x2, w, b):
    y = fnp.einsum("...i,oij,...j->...o", x1, w, x2)
    return y if b is None else fnp.add(y, b)


bilinear_op = Op(bilinear_fn, "Bilinear")


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    r"""Applies a bilinear map :math:`y = x_1^T A x_2 + b`.

    Args:
        input1: :math:`(*, \text{in1\_features})`.
        input2: :math:`(*, \text{in2\_features})`.
        weight: :math:`(\text{out}, \text{in1\_features}, \text{in2\_features})`.
        bias: :math:`(\text{out})` or None.

    >>> F.bilinear(compat.ones(1, 2), compat.ones(1, 3), compat.ones(4, 2, 3)).shape
    torch.Size([1, 4])
    """
    return bilinear_op(input1, input2, weight, bias)


__all__ = ["bilinear", "linear"]
