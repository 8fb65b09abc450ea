"""Shared vocabulary for primitive rules: symbolic zeros, linear-argument markers,
and helpers that make most rules one line (``defjvp``, ``deflinear``,
``elementwise_batch``...). Rules are written with ``functorch_lite.lax`` so every
rule is itself differentiable and batchable (higher-order derivatives come free).
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .core import Primitive, ShapedArray, get_aval


class Zero:
    """A symbolic zero tangent/cotangent with a known aval (never materialised unless needed)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


class UndefinedPrimal:
    """Marks a linear input of an equation being transposed."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x) -> bool:
    return type(x) is UndefinedPrimal


def is_zero(x) -> bool:
    return type(x) is Zero


def zeros_like_aval(aval: ShapedArray):
    from . import lax

    return lax.full(aval.shape, 0, aval.dtype)


def instantiate(t, aval=None):
    """Materialise a symbolic zero."""
    if type(t) is Zero:
        return zeros_like_aval(t.aval)
    return t


def add_tangents(a, b):
    from . import lax

    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    return lax.add(a, b)


def aval_of(x) -> ShapedArray:
    if type(x) in (Zero, UndefinedPrimal):
        return x.aval
    return get_aval(x)


def differentiable(dtype) -> bool:
    return dtypes.is_float(dtype)


# --------------------------------------------------------------------------- jvp helpers


def defjvp(prim: Primitive, *fns):
    """JVP from per-argument rules ``fn(tangent, ans, *primals, **params)``.

    ``None`` marks an argument the output does not depend on."""

    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        out = Zero(get_aval(ans).strip_weak())
        for fn, t in zip(fns, tangents):
            if fn is None or type(t) is Zero:
                continue
            out = add_tangents(out, fn(t, ans, *primals, **params))
        return ans, out

    prim.jvp = rule


def defjvp_zero(prim: Primitive):
    """The output does not depend differentiably on the inputs (comparisons, integer ops...)."""

    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if prim.multiple_results:
            return ans, [Zero(get_aval(a)) for a in ans]
        return ans, Zero(get_aval(ans))

    prim.jvp = rule


def deflinear(prim: Primitive, transpose_fn):
    """A primitive linear in all its array inputs: JVP is the primitive itself on tangents."""

    def jvp(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return ans, Zero(get_aval(ans))
        ts = [instantiate(t) for t in tangents]
        return ans, prim.bind(*ts, **params)

    prim.jvp = jvp
    prim.transpose = transpose_fn


# --------------------------------------------------------------------------- batching helpers


def moveaxis(x, src: int, dst: int):
    from . import lax

    nd = np.ndim(x) if not hasattr(x, "aval") else x.aval.ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return lax.transpose(x, tuple(perm))


def bdim_to_front(x, d, size):
    """Put the batch dimension of ``x`` first, broadcasting an unbatched ``x`` to ``size``."""
    from . import lax

    if d is None:
        aval = get_aval(x)
        return lax.broadcast_in_dim(x, (size,) + aval.shape, tuple(range(1, aval.ndim + 1)))
    return moveaxis(x, d, 0)


def batch_size(vals, dims):
    for x, d in zip(vals, dims):
        if d is not None:
            return get_aval(x).shape[d]
    raise ValueError("no batched argument")


def elementwise_batch(prim: Primitive):
    """Batching for primitives that need equally shaped operands."""

    def rule(vals, dims, **params):
        size = batch_size(vals, dims)
        first = next(d for d in dims if d is not None)
        if all(d == first or d is None for d in dims) and all(d is not None for d in dims):
            return prim.bind(*vals, **params), first
        args = [bdim_to_front(x, d, size) for x, d in zip(vals, dims)]
        out = prim.bind(*args, **params)
        return out, (([0] * len(out)) if prim.multiple_results else 0)

    prim.batch = rule
