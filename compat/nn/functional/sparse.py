"""Lookup tables: ``embedding`` (one ``Op``: a gather along the table's rows, whose
gradient scatters back; ``padding_idx`` rows get no gradient) and ``one_hot``.

>>> F.embedding(compat.tensor([[0, 2]]), compat.arange(6.0).reshape(3, 2))
tensor([[[0., 1.],
         [4., 5.]]])
"""

from __future__ import annotations

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp

from ...grad_mode import no_grad
from ...ops.dispatch import Op
from ...tensor import Tensor, is_concrete, own, wrap


def embedding_fn(idx, w, freq_scale, padding_idx):
    rows = fnp.take(w, idx, axis=0)
    if padding_idx is not None:
        # the padding row's value is used, but no gradient flows back into it
        pad = fnp.expand_dims(fnp.equal(idx, padding_idx), -1)
        rows = fnp.where(pad, fl.stop_gradient(rows), rows)
    if freq_scale is not None:
        # same value, gradient divided by how often the index occurs in the batch
        frozen = fl.stop_gradient(rows)
        rows = fnp.add(frozen, fnp.multiply(fnp.subtract(rows, frozen),
                                            fnp.expand_dims(freq_scale, -1)))
    return rows


embedding_op = Op(embedding_fn, "Embedding")


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    r"""Rows of the table ``weight`` :math:`(V, D)` at the integer indices ``input``:
    output :math:`(*, D)`.

    Args:
        padding_idx: the row at this index gets no gradient.
        max_norm: rows looked up whose ``norm_type``-norm exceeds it are rescaled in
            ``weight`` (in place) to that norm first.
        scale_grad_by_freq: divide each row's gradient by its index's count in ``input``.
        sparse: accepted; gradients are dense here.

    >>> F.embedding(compat.tensor([1]), compat.eye(3), padding_idx=1)
    tensor([[0., 1., 0.]])
    """
    if input.is_floating_point():
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got torch.FloatTensor "
                           "instead (while checking arguments for embedding)")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = int(padding_idx) % n
    if max_norm is not None:
        renorm_rows(weight, input, max_norm, norm_type)
    scale = None
    if scale_grad_by_freq:
        idx = np.asarray(input.numpy(force=True))
        counts = np.bincount(idx.ravel(), minlength=n)
        scale = (1.0 / counts[idx]).astype(weight.array.dtype)
    return embedding_op(input, weight, scale, padding_idx=padding_idx)


def renorm_rows(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """Rescale (in place, outside autograd) the looked-up rows whose norm exceeds
    ``max_norm`` to that norm (PyTorch's ``embedding_renorm_``)."""
    w = weight.numpy(force=True)
    rows = np.unique(np.asarray(input.numpy(force=True)).ravel())
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        with no_grad():
            w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
        weight.version[0] += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    r"""One-hot encoding of the int64 ``tensor``: a new last dim of size ``num_classes``
    (``max + 1`` when -1), with 1 at each index (int64).

    >>> F.one_hot(compat.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    a = tensor.array
    if a.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if is_concrete(a):
        if num_classes == -1:
            num_classes = int(a.max()) + 1 if a.size else 0
        if a.size and a.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if a.size and a.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes == -1:
        raise RuntimeError("one_hot: num_classes=-1 needs concrete data (pass num_classes "
                           "inside transforms)")
    return wrap(own(fl.nn.one_hot(a, num_classes, dtype=np.int64)))


__all__ = ["embedding", "one_hot"]
