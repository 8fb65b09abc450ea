"""``Parameter``: a Tensor that a Module registers as one of its parameters.

Assigning a ``Parameter`` to a Module attribute adds it to ``module.parameters()`` (and so
to optimizers and ``state_dict``). It shares memory with the tensor it was made from and
requires grad by default, as ``torch.nn.Parameter``. Like every Tensor subclass it is a
pytree node (its array is the leaf), rebuilt as a ``Parameter``.

>>> p = Parameter(compat.zeros(2))
>>> p.requires_grad, isinstance(p, compat.Tensor)
(True, True)
"""

from __future__ import annotations

from ..ops.creation import empty
from ..tensor import Tensor, init_tensor


class Parameter(Tensor):
    r"""A Tensor that is a module parameter (``torch.nn.Parameter``).

    Args:
        data: the tensor to wrap (memory is shared, not copied); an empty tensor when None.
        requires_grad: whether the parameter requires gradient (default True).

    Example::

        >>> w = nn.Parameter(compat.ones(2, 3))
        >>> w.shape, w.is_leaf
        (torch.Size([2, 3]), True)
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        # a fresh leaf over the same memory: a Parameter is never part of a graph
        t = init_tensor(object.__new__(cls), data.array)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    r"""A Tensor that a module keeps as a buffer when assigned as an attribute
    (``torch.nn.Buffer``): ``self.stats = nn.Buffer(compat.zeros(3))`` is
    ``self.register_buffer("stats", compat.zeros(3))``.

    Args:
        data: the tensor to wrap (memory is shared).
        persistent: whether the buffer is part of ``state_dict``.

    Example::

        >>> nn.Buffer(compat.zeros(2)).persistent
        True
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            data = empty(0)
        t = init_tensor(object.__new__(cls), data.array)
        t.persistent = persistent
        return t


__all__ = ["Buffer", "Parameter"]
