"""Creation functions: ``zeros``, ``ones``, ``full``, ``empty``, their ``*_like`` forms,
``arange``, ``linspace``, ``logspace``, ``eye``, ``tril_indices``/``triu_indices``.

New memory is allocated by numpy (creating data is not an operation to differentiate); the
dtype defaults follow PyTorch: float creation gives the default float dtype (float32), an
integer ``fill_value`` or ``arange`` bounds give int64.

>>> compat.zeros(2, 3).shape, compat.arange(3), compat.full((2,), 7)
(torch.Size([2, 3]), tensor([0, 1, 2]), tensor([7, 7]))
"""

from __future__ import annotations

import numpy as np

from .. import device as device_mod
from .. import dtypes
from ..tensor import Tensor, own, wrap
from .shape import sizes_arg


def finish(a: np.ndarray, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A new tensor over the freshly allocated ``a`` on ``device``."""
    t = wrap(own(device_mod.put(a, device_mod.canonical(device))))
    if requires_grad:
        t.requires_grad_(True)
    if out is not None:
        out.array = t.array
        out.version[0] += 1
        return out
    return t


def float_dtype(dtype) -> np.dtype:
    return dtypes.to_numpy(dtype) if dtype is not None else dtypes.default_float_numpy()


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, out=None,
          layout=None, pin_memory: bool = False) -> Tensor:
    """A tensor of zeros of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``).

    Args:
        size: the shape.
        dtype: element type (default: the default float dtype, float32).
        device: where to allocate.
        requires_grad: whether autograd records operations on it.

    >>> compat.zeros(2)
    tensor([0., 0.])
    """
    return finish(np.zeros(sizes_arg(size), float_dtype(dtype)), device, requires_grad, out)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, out=None, layout=None,
         pin_memory: bool = False) -> Tensor:
    """A tensor of ones of shape ``size``.

    >>> compat.ones(2, dtype=compat.long)
    tensor([1, 1])
    """
    return finish(np.ones(sizes_arg(size), float_dtype(dtype)), device, requires_grad, out)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, out=None, layout=None,
          pin_memory: bool = False, memory_format=None) -> Tensor:
    """A tensor of shape ``size`` whose values are unspecified (zeros here, so runs are
    reproducible).

    >>> compat.empty(2, 3).shape
    torch.Size([2, 3])
    """
    return finish(np.zeros(sizes_arg(size), float_dtype(dtype)), device, requires_grad, out)


def fill_dtype(fill_value, dtype) -> np.dtype:
    """PyTorch's dtype for ``full``: given, or bool/int64/default float/complex by value."""
    if dtype is not None:
        return dtypes.to_numpy(dtype)
    if isinstance(fill_value, Tensor):
        return fill_value.array.dtype
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(fill_value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(fill_value, complex):
        return np.result_type(dtypes.default_float_numpy(), np.complex64)
    return dtypes.default_float_numpy()


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False, out=None,
         layout=None, pin_memory: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``.

    >>> compat.full((2,), 1.5)
    tensor([1.5000, 1.5000])
    """
    v = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    return finish(np.full(sizes_arg((size,)), v, fill_dtype(fill_value, dtype)), device,
                  requires_grad, out)


def like_dtype(input: Tensor, dtype) -> np.dtype:
    return dtypes.to_numpy(dtype) if dtype is not None else input.array.dtype


def like_device(input: Tensor, device):
    return input.device if device is None else device


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               layout=None, memory_format=None) -> Tensor:
    """Zeros with the shape (and dtype, device) of ``input``.

    >>> compat.zeros_like(compat.tensor([1, 2]))
    tensor([0, 0])
    """
    return finish(np.zeros(input.array.shape, like_dtype(input, dtype)),
                  like_device(input, device), requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
              layout=None, memory_format=None) -> Tensor:
    """Ones with the shape (and dtype, device) of ``input``.

    >>> compat.ones_like(compat.zeros(2))
    tensor([1., 1.])
    """
    return finish(np.ones(input.array.shape, like_dtype(input, dtype)),
                  like_device(input, device), requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               layout=None, memory_format=None) -> Tensor:
    """An uninitialised (here: zero) tensor shaped like ``input``.

    >>> compat.empty_like(compat.tensor([1, 2])).shape
    torch.Size([2])
    """
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False, layout=None, memory_format=None) -> Tensor:
    """``fill_value`` everywhere, with the shape (and dtype, device) of ``input``.

    >>> compat.full_like(compat.zeros(2), 3)
    tensor([3., 3.])
    """
    return finish(np.full(input.array.shape, fill_value, like_dtype(input, dtype)),
                  like_device(input, device), requires_grad)


def arange(start=0, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False, out=None, layout=None) -> Tensor:
    """Values ``start, start + step, ...`` below ``end`` (``arange(n)`` is ``0..n-1``);
    int64 for integer bounds, the default float dtype otherwise.

    >>> compat.arange(1, 4), compat.arange(0, 1, 0.25)
    (tensor([1, 2, 3]), tensor([0.0000, 0.2500, 0.5000, 0.7500]))
    """
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is not None:
        dt = dtypes.to_numpy(dtype)
    elif all(isinstance(v, (int, np.integer)) for v in vals):
        dt = np.dtype(np.int64)
    else:
        dt = dtypes.default_float_numpy()
    # computed in float64 (or int64) then converted, so float32 ranges have the same length
    # as PyTorch's (which sizes them with double arithmetic)
    a = np.arange(*vals, dtype=np.float64 if dt.kind == "f" else None).astype(dt)
    return finish(a, device, requires_grad, out)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False, out=None, layout=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> compat.linspace(0, 1, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    a = np.linspace(float(start), float(end), int(steps)).astype(float_dtype(dtype))
    return finish(a, device, requires_grad, out)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False, out=None, layout=None) -> Tensor:
    """``base ** linspace(start, end, steps)``.

    >>> compat.logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
    """
    a = np.logspace(float(start), float(end), int(steps), base=base).astype(float_dtype(dtype))
    return finish(a, device, requires_grad, out)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False, out=None, layout=None) -> Tensor:
    """The ``n x m`` identity matrix (``m`` defaults to ``n``).

    >>> compat.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return finish(np.eye(int(n), None if m is None else int(m), dtype=float_dtype(dtype)),
                  device, requires_grad, out)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) indices of the lower triangle of a ``row x col`` matrix.

    >>> compat.tril_indices(2, 2)
    tensor([[0, 1, 1],
            [0, 0, 1]])
    """
    r, c = np.tril_indices(row, offset, col)
    dt = dtypes.to_numpy(dtype) if dtype is not None else np.int64
    return finish(np.stack([r, c]).astype(dt), device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) indices of the upper triangle of a ``row x col`` matrix.

    >>> compat.triu_indices(2, 2)
    tensor([[0, 0, 1],
            [0, 1, 1]])
    """
    r, c = np.triu_indices(row, offset, col)
    dt = dtypes.to_numpy(dtype) if dtype is not None else np.int64
    return finish(np.stack([r, c]).astype(dt), device)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding ``s`` (the default float dtype unless ``dtype`` is given).

    >>> compat.scalar_tensor(3)
    tensor(3.)
    """
    return finish(np.array(s, float_dtype(dtype)), device, requires_grad)
