"""Linear algebra: ``matmul``/``@``, ``mm``, ``bmm``, ``mv``, ``dot``, ``vdot``, ``outer``,
``einsum``, ``tensordot``, ``addmm``/``addmv``/``baddbmm``/``addbmm``, ``kron``, ``trace``,
``cross``, ``cdist``, and ``compat.linalg``'s norms.

>>> a = compat.ones(2, 3)
>>> (a @ a.t()).shape, compat.einsum("ij,kj->ik", a, a).sum()
(torch.Size([2, 2]), tensor(12.))
"""

from __future__ import annotations

import functorch_lite.numpy as fnp

from ..tensor import Tensor, wrap_dim
from .dispatch import Op
from .inplace import write_out
from .pointwise import to_operand
from .reduction import norm

matmul_op = Op(fnp.matmul, "Mm")


def shape_text(shape) -> str:
    return "x".join(map(str, shape))


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with numpy's rules: vectors, matrices and batches (broadcast).

    >>> compat.matmul(compat.ones(2, 3), compat.ones(3)).tolist()
    [3.0, 3.0]
    """
    a, b = input.array.shape, other.array.shape
    if not a or not b:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(a)}D and {len(b)}D")
    k1, k2 = a[-1], b[-2] if len(b) > 1 else b[0]
    if k1 != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({shape_text(a)} and "
                           f"{shape_text(b)})")
    res = matmul_op(input, other)
    return res if out is None else write_out(out, res, "matmul")


def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Product of two matrices (2-d only).

    >>> compat.mm(compat.eye(2), compat.tensor([[1.0], [2.0]])).tolist()
    [[1.0], [2.0]]
    """
    if input.dim() != 2 or mat2.dim() != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got {input.dim()}D and {mat2.dim()}D")
    return matmul(input, mat2, out=out)


def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Batched product of (b, n, m) and (b, m, p) tensors.

    >>> compat.bmm(compat.ones(4, 2, 3), compat.ones(4, 3, 5)).shape
    torch.Size([4, 2, 5])
    """
    if input.dim() != 3 or mat2.dim() != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (got {input.dim()}D and "
                           f"{mat2.dim()}D)")
    if input.array.shape[0] != mat2.array.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {list(input.array.shape)} and "
                           f"{list(mat2.array.shape)}")
    return matmul(input, mat2, out=out)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix times vector.

    >>> compat.mv(compat.eye(2), compat.tensor([3.0, 4.0]))
    tensor([3., 4.])
    """
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}D, "
                           f"{vec.dim()}D")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-d tensors.

    >>> compat.dot(compat.tensor([1.0, 2.0]), compat.tensor([3.0, 4.0]))
    tensor(11.)
    """
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D "
                           "tensors")
    if input.array.shape != other.array.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.numel()}] and "
                           f"src [{other.numel()}] to have the same number of elements, but "
                           "got different sizes")
    return matmul_op(input, other)


inner_op = Op(fnp.inner, "Inner")


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of products over the last dims.

    >>> compat.inner(compat.tensor([1.0, 2.0]), compat.tensor([3.0, 4.0]))
    tensor(11.)
    """
    return inner_op(to_operand(input), to_operand(other))


vdot = dot

outer_op = Op(fnp.outer, "Outer")


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors: ``out[i, j] = input[i] * vec2[j]``.

    >>> compat.outer(compat.tensor([1, 2]), compat.tensor([1, 10]))
    tensor([[ 1, 10],
            [ 2, 20]])
    """
    return outer_op(input, vec2)


ger = outer


def einsum_fn(*xs, equation):
    return fnp.einsum(equation, *xs)


einsum_op = Op(einsum_fn, "Einsum")


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    >>> compat.einsum("i,i->", compat.tensor([1.0, 2.0]), compat.tensor([3.0, 4.0]))
    tensor(11.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return einsum_op(*operands, equation=equation.replace(" ", ""))


def tensordot_fn(a, b, dims):
    return fnp.tensordot(a, b, axes=dims)


tensordot_op = Op(tensordot_fn, "Tensordot")


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or the listed
    pairs ``([a dims], [b dims])``).

    >>> compat.tensordot(compat.ones(2, 3), compat.ones(3, 4), dims=1).shape
    torch.Size([2, 4])
    """
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if not isinstance(dims, int):
        dims = tuple(tuple(int(i) for i in (d if isinstance(d, (list, tuple)) else [d]))
                     for d in dims)
    return tensordot_op(a, b, dims=dims)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``.

    >>> compat.addmm(compat.ones(2, 2), compat.eye(2), compat.eye(2))
    tensor([[2., 1.],
            [1., 2.]])
    """
    prod = mm(mat1, mat2)
    return scaled(input, beta) + scaled(prod, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``.

    >>> compat.addmv(compat.ones(2), compat.eye(2), compat.tensor([1.0, 2.0]))
    tensor([2., 3.])
    """
    return scaled(input, beta) + scaled(mv(mat, vec), alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``.

    >>> compat.baddbmm(compat.zeros(1, 2, 2), compat.ones(1, 2, 3), compat.ones(1, 3, 2)).shape
    torch.Size([1, 2, 2])
    """
    return scaled(input, beta) + scaled(bmm(batch1, batch2), alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``.

    >>> compat.addbmm(compat.zeros(2, 2), compat.ones(3, 2, 1), compat.ones(3, 1, 2))
    tensor([[3., 3.],
            [3., 3.]])
    """
    return scaled(input, beta) + scaled(bmm(batch1, batch2).sum(0), alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``.

    >>> compat.addr(compat.zeros(2, 2), compat.tensor([1.0, 2.0]), compat.tensor([1.0, 3.0]))
    tensor([[1., 3.],
            [2., 6.]])
    """
    return scaled(input, beta) + scaled(outer(vec1, vec2), alpha)


def scaled(t: Tensor, c):
    return t if c == 1 else t * c


kron_op = Op(fnp.kron, "Kron")


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product.

    >>> compat.kron(compat.eye(2), compat.tensor([[1, 2]]))
    tensor([[1., 2., 0., 0.],
            [0., 0., 1., 2.]])
    """
    return kron_op(input, other)


def trace_fn(x):
    return fnp.trace(x)


trace_op = Op(trace_fn, "Trace")


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix.

    >>> compat.trace(compat.eye(3))
    tensor(3.)
    """
    return trace_op(input)


def cross_fn(a, b, dim):
    a, b = fnp.moveaxis(a, dim, -1), fnp.moveaxis(b, dim, -1)
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = fnp.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return fnp.moveaxis(c, -1, dim)


cross_op = Op(cross_fn, "Cross")


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (the first size-3 dim when None).

    >>> compat.cross(compat.tensor([1.0, 0.0, 0.0]), compat.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    if dim is None:
        dim = next(i for i, n in enumerate(input.array.shape) if n == 3)
    return cross_op(input, other, dim=wrap_dim(dim, input.dim()))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, **kwargs) -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` (.., P, M) and ``x2``
    (.., R, M).

    >>> compat.cdist(compat.tensor([[0.0, 0.0]]), compat.tensor([[3.0, 4.0]]))
    tensor([[5.]])
    """
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return norm(diff, p, dim=-1)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements when None)."""
    return norm(x, ord, dim, keepdim, dtype)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """The Frobenius norm of matrices (``ord="fro"``), over ``dim``."""
    if ord not in ("fro", 2.0) and ord != "fro":
        raise NotImplementedError("compat.linalg.matrix_norm supports ord='fro'")
    return norm(A, "fro", dim, keepdim, dtype)


def linalg_norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``compat.linalg.norm``: the 2-norm of the flattened tensor (or over ``dim``)."""
    return norm(A, 2 if ord is None else ord, dim, keepdim, dtype)


__all__ = [
    "addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "cdist", "cross", "dot", "einsum",
    "ger", "inner", "kron", "matmul", "mm", "mv", "outer", "tensordot", "trace", "vdot",
]
