"""Parameters as one flat vector and back (``parameters_to_vector``,
``vector_to_parameters``), in the order the parameters are given.

>>> lin = compat.nn.Linear(2, 1)
>>> v = compat.nn.utils.parameters_to_vector(lin.parameters()); v.shape
torch.Size([3])
>>> compat.nn.utils.vector_to_parameters(compat.zeros(3), lin.parameters())
>>> float(lin.weight.abs().sum() + lin.bias.abs().sum())
0.0
"""

from __future__ import annotations

from collections.abc import Iterable

from ...grad_mode import no_grad
from ...ops.shape import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-d tensor (differentiable
    with respect to them).

    >>> compat.nn.utils.parameters_to_vector([compat.ones(2, 2), compat.zeros(1)]).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0]
    """
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-d ``vec`` into ``parameters`` (in place, outside
    autograd).

    >>> ps = [compat.zeros(2), compat.zeros(1)]
    >>> compat.nn.utils.vector_to_parameters(compat.tensor([1.0, 2.0, 3.0]), ps); ps
    [tensor([1., 2.]), tensor([3.])]
    """
    if not isinstance(vec, Tensor) or vec.dim() != 1:
        raise TypeError(f"expected a 1-d Tensor, but got: {type(vec).__name__}")
    offset = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[offset:offset + n].reshape(p.shape))
            offset += n


__all__ = ["parameters_to_vector", "vector_to_parameters"]
