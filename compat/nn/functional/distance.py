"""Similarities and distances: ``cosine_similarity``, ``pairwise_distance``, ``pdist``,
each one ``Op`` over ``functorch_lite.numpy``.

>>> F.cosine_similarity(compat.tensor([[1.0, 0.0]]), compat.tensor([[1.0, 1.0]]))
tensor([0.7071])
"""

from __future__ import annotations

import numpy as np

import functorch_lite.numpy as fnp

from ...ops.dispatch import Op
from ...tensor import Tensor


def cosine_fn(x1, x2, dim, eps):
    # each vector divided by its norm clamped at eps, then the dot product (PyTorch's order,
    # which keeps the result in [-1, 1])
    n1 = fnp.sqrt(fnp.sum(fnp.multiply(x1, x1), axis=dim, keepdims=True))
    n2 = fnp.sqrt(fnp.sum(fnp.multiply(x2, x2), axis=dim, keepdims=True))
    u1 = fnp.divide(x1, fnp.maximum(n1, eps))
    u2 = fnp.divide(x2, fnp.maximum(n2, eps))
    return fnp.sum(fnp.multiply(u1, u2), axis=dim)


cosine_op = Op(cosine_fn, "CosineSimilarity")


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    r"""Cosine similarity along ``dim`` (inputs broadcast):
    :math:`\frac{x_1}{\max(\lVert x_1 \rVert, \epsilon)} \cdot
    \frac{x_2}{\max(\lVert x_2 \rVert, \epsilon)}`.

    >>> F.cosine_similarity(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 4.0]), dim=0)
    tensor(1.0000)
    """
    return cosine_op(x1, x2, dim=int(dim), eps=float(eps))


def pairwise_fn(x1, x2, p, eps, keepdim):
    d = fnp.add(fnp.subtract(x1, x2), eps)
    if p == 2.0:
        return fnp.sqrt(fnp.sum(fnp.multiply(d, d), axis=-1, keepdims=keepdim))
    if p == 1.0:
        return fnp.sum(fnp.abs(d), axis=-1, keepdims=keepdim)
    if np.isinf(p):
        return fnp.max(fnp.abs(d), axis=-1, keepdims=keepdim)
    return fnp.power(fnp.sum(fnp.power(fnp.abs(d), p), axis=-1, keepdims=keepdim), 1.0 / p)


pairwise_op = Op(pairwise_fn, "PairwiseDistance")


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    r""":math:`\lVert x_1 - x_2 + \epsilon \rVert_p` over the last dim.

    >>> F.pairwise_distance(compat.tensor([[0.0, 0.0]]), compat.tensor([[3.0, 4.0]]), eps=0)
    tensor([5.])
    """
    return pairwise_op(x1, x2, p=float(p), eps=float(eps), keepdim=bool(keepdim))


def pdist_fn(x, p, rows, cols):
    d = fnp.subtract(fnp.take(x, rows, axis=0), fnp.take(x, cols, axis=0))
    if p == 2.0:
        return fnp.sqrt(fnp.sum(fnp.multiply(d, d), axis=-1))
    return fnp.power(fnp.sum(fnp.power(fnp.abs(d), p), axis=-1), 1.0 / p)


pdist_op = Op(pdist_fn, "Pdist")


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    r"""The ``p``-norm distance between each pair of rows of :math:`(N, M)`, in the order of
    the upper triangle: :math:`N(N-1)/2` values.

    >>> F.pdist(compat.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]))
    tensor([5.0000, 1.0000, 4.2426])
    """
    rows, cols = np.triu_indices(input.shape[0], 1)
    return pdist_op(input, p=float(p), rows=tuple(rows.tolist()), cols=tuple(cols.tolist()))


__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]
