"""In-place operations (``x.add_(y)``, ``x[i] = v``, ``out=``): one way to write a result
into a tensor's memory and hand it the result's autograd history.

An in-place operation computes its result out of place with the same ``Op`` as the
out-of-place function, then copies it into the tensor's array (so views see the change),
bumps the version counter shared with those views, and -- when the result is part of the
graph -- makes the tensor's ``grad_fn`` the result's. While recording, the operation runs
on a snapshot of the old value (a copy carrying the old history), so a node that needs the
old value (``mul_``) keeps it. An in-place change to a view of a tensor that requires grad
is recorded on the base too (PyTorch's ``CopySlices``): the base's new value is its old
value with the view's elements replaced, a differentiable ``scatter`` of the core.

>>> x = compat.zeros(3); y = x[1:]; _ = y.add_(1); x
tensor([0., 1., 1.])
"""

from __future__ import annotations

import numpy as np

import functorch_lite.numpy as fnp

from ..grad_mode import STATE
from ..tensor import Tensor, init_tensor, make_view, own, wrap
from .dispatch import Op


def check_inplace(x: Tensor) -> None:
    """PyTorch's refusal to change a leaf that requires grad in place (outside no_grad)."""
    if STATE.enabled:
        if x.grad_fn is None and x.leaf_requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        base = x.base
        if base is not None and base.grad_fn is None and base.leaf_requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")


def snapshot(x: Tensor) -> Tensor:
    """A copy of ``x``'s current value that carries ``x``'s autograd history."""
    t = init_tensor(object.__new__(Tensor), own(x.array.copy()) if isinstance(
        x.array, np.ndarray) else x.array, x.grad_fn, x.output_nr)
    t.leaf_requires_grad = x.leaf_requires_grad
    t.accumulator = x.accumulator
    return t


def needs_graph(*xs) -> bool:
    """True when grad mode is on and some tensor among ``xs`` requires grad."""
    return STATE.enabled and any(isinstance(v, Tensor) and v.requires_grad for v in xs)


def copy_into(target_array, value) -> None:
    """Copy ``value`` into ``target_array`` with PyTorch's casting rule (a float result
    cannot go into an integer tensor)."""
    try:
        np.copyto(target_array, value, casting="same_kind")
    except TypeError:
        raise RuntimeError(f"result type {np.asarray(value).dtype} can't be cast to the "
                           f"desired output type {target_array.dtype}") from None
    except ValueError as e:
        if "read-only" in str(e):
            raise RuntimeError("unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location. Please clone() the "
                               "tensor before performing the operation.") from None
        raise RuntimeError(str(e)) from None


def inplace(x: Tensor, compute, *others) -> Tensor:
    """Run ``compute(x_value)`` (an out-of-place op on a tensor standing for ``x``) and
    store its result in ``x``; ``others`` are the other tensor inputs (to decide whether to
    record). Returns ``x``.

    >>> x = compat.ones(2); inplace(x, lambda v: v * 3) is x, x
    (True, tensor([3., 3.]))
    """
    check_inplace(x)
    if needs_graph(x, *others):
        result = compute(snapshot(x))
    else:
        result = compute(x)
    return assign(x, result)


def assign(x: Tensor, result: Tensor) -> Tensor:
    """Make ``x`` hold ``result`` in place: memory, version counter and autograd history."""
    r = result.array
    a = x.array
    if isinstance(a, np.ndarray):
        if r.shape != a.shape:
            try:
                r = np.broadcast_to(r, a.shape)
            except ValueError:
                raise RuntimeError(f"output with shape {list(a.shape)} doesn't match the "
                                   f"broadcast shape {list(r.shape)}") from None
        copy_into(a, r)
    else:  # a tracer (or GPU array): functional update; views of x do not see it
        x.array = fnp.astype(fnp.broadcast_to(r, a.shape), a.dtype)
    x.version[0] += 1
    if result.grad_fn is not None and STATE.enabled:
        if x.base is not None:
            rebase_view(x, result)
        else:
            x.grad_fn, x.output_nr = result.grad_fn, result.output_nr
    return x


def element_map(view: np.ndarray, base: np.ndarray) -> np.ndarray:
    """For a numpy view of the C-contiguous ``base``, the flat index into ``base`` of each
    element of ``view`` (from their memory addresses)."""
    item = base.itemsize
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
    idx = np.full(view.shape, offset, np.int64)
    for d, (n, st) in enumerate(zip(view.shape, view.strides)):
        shape = [1] * view.ndim
        shape[d] = n
        idx = idx + (np.arange(n, dtype=np.int64) * (st // item)).reshape(shape)
    return idx


def put_fn(base, values, idx):
    flat = fnp.at(fnp.ravel(base))[fnp.ravel(idx)].set(fnp.ravel(values))
    return fnp.reshape(flat, base.shape)


def take_fn(base, idx):
    return fnp.take(fnp.ravel(base), idx)


copy_slices_op = Op(put_fn, "CopySlices")
as_strided_op = Op(take_fn, "AsStrided")


def rebase_view(view: Tensor, result: Tensor) -> None:
    """Record an in-place change to ``view`` (now holding ``result``) on its base: the
    base's new history is its old value with the view's elements replaced, and the view's
    history reads them back from the new base (PyTorch's ``CopySlices``).

    The replacement is linear in both the old base and the new values, so its VJP needs
    only their shapes: the old base is passed as the (already updated) base array."""
    base = view.base
    ba, va = base.array, view.array
    if not (isinstance(ba, np.ndarray) and ba.flags.c_contiguous):
        raise RuntimeError("compat: an in-place change to a view of a tensor that requires "
                           "grad needs a contiguous CPU base; clone() the view first")
    idx = element_map(va, ba)
    old = init_tensor(object.__new__(Tensor), ba, base.grad_fn, base.output_nr)
    new_base = copy_slices_op(old, result, idx)
    base.grad_fn, base.output_nr = new_base.grad_fn, 0
    t = as_strided_op(base, idx)
    view.grad_fn, view.output_nr = t.grad_fn, 0


def write_out(out: Tensor, result: Tensor, name: str) -> Tensor:
    """Store ``result`` in the ``out=`` tensor (resized if its shape differs, as PyTorch)."""
    if STATE.enabled and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    r = result.array
    if tuple(out.array.shape) != tuple(r.shape) or not isinstance(out.array, np.ndarray):
        out.array = own(np.array(r, dtype=out.array.dtype)) if isinstance(r, np.ndarray) \
            else fnp.astype(r, out.array.dtype)
    else:
        copy_into(out.array, r)
    out.version[0] += 1
    return out


__all__ = ["assign", "check_inplace", "inplace", "make_view", "wrap", "write_out"]
