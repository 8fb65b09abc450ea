"""``torch.autograd.functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp`` and
``vhp`` of functions of tensors, computed by ``compat.func`` (the core's transforms).

>>> compat.autograd.functional.jacobian(lambda x: x ** 2, compat.tensor([1.0, 3.0]))
tensor([[2., 0.],
        [0., 6.]])
"""

from __future__ import annotations

from .. import func


def as_tuple(x) -> tuple[tuple, bool]:
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def jacobian(func_, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func_`` at ``inputs`` (a tensor or a tuple of tensors; then one
    Jacobian per input).

    >>> compat.autograd.functional.jacobian(lambda x: x.sum(), compat.ones(2))
    tensor([1., 1.])
    """
    ins, multi = as_tuple(inputs)
    argnums = tuple(range(len(ins))) if multi else 0
    transform = func.jacfwd if strategy == "forward-mode" else func.jacrev
    return transform(func_, argnums=argnums)(*ins)


def hessian(func_, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of the scalar ``func_`` at ``inputs``.

    >>> compat.autograd.functional.hessian(lambda x: (x ** 3).sum(), compat.tensor([1.0]))
    tensor([[6.]])
    """
    ins, multi = as_tuple(inputs)
    return func.hessian(func_, argnums=tuple(range(len(ins))) if multi else 0)(*ins)


def vjp(func_, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func_(inputs), v^T J)``; ``v`` may be omitted for a scalar output.

    >>> compat.autograd.functional.vjp(lambda x: x * 2, compat.ones(2), compat.ones(2))[1]
    tensor([2., 2.])
    """
    ins, multi = as_tuple(inputs)
    out, pull = func.vjp(func_, *ins)
    if v is None:
        v = out.new_ones(())
    grads = pull(v)
    return out, grads if multi else grads[0]


def jvp(func_, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func_(inputs), J v)``.

    >>> compat.autograd.functional.jvp(lambda x: x * 3, compat.ones(2), compat.ones(2))[1]
    tensor([3., 3.])
    """
    ins, _ = as_tuple(inputs)
    vs, _ = as_tuple(v) if v is not None else (tuple(x.new_ones(x.shape) for x in ins), False)
    return func.jvp(func_, ins, vs)


def hvp(func_, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func_(inputs), H v)`` for a scalar ``func_``.

    >>> compat.autograd.functional.hvp(lambda x: (x ** 3).sum(), compat.ones(2),
    ...                                compat.ones(2))[1]
    tensor([6., 6.])
    """
    ins, multi = as_tuple(inputs)
    vs, _ = as_tuple(v)
    argnums = tuple(range(len(ins))) if multi else 0
    value = func_(*ins)
    _, tangent = func.jvp(func.grad(func_, argnums=argnums), ins, vs)
    return value, tangent


vhp = hvp  # the Hessian of a scalar function is symmetric: v^T H == H v
