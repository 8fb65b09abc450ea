"""The vocabulary every primitive rule speaks, with no operations of its own: symbolic
zeros (``Zero``), linear-argument markers (``UndefinedPrimal``) and the JVP of a
primitive that has no derivative (``defjvp_zero``).

Helpers that need operations live with the primitives they use: ``deflinear``,
``instantiate_zeros``, ``moveaxis`` and ``bdim_to_front`` in ``primitives/shape.py``;
``defjvp``, ``add_tangents`` and ``elementwise_batch`` in ``primitives/elementwise.py``.
"""

from __future__ import annotations

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


def defjvp_zero(prim: Primitive):
    """The output does not depend differentiably on the inputs (comparisons, integer ops...)."""

    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if prim.multiple_results:
            return ans, [Zero(get_aval(a)) for a in ans]
        return ans, Zero(get_aval(ans))

    prim.jvp = rule
