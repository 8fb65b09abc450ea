"""Helpers shared by the control-flow modules: tracing user functions, comparing and
promoting the types of branch outputs and loop carries, and the fixpoint over loop carries.
"""

from __future__ import annotations

from .. import dtypes
from .. import primitives as P
from .. import tree as tree_util
from ..api_util import as_array, fun_name
from ..core import ShapedArray, Tracer, get_aval
from ..staging import trace_to_jaxpr


class CarryTypeError(TypeError):
    """A loop body returned a carry of another structure or type than its init."""


def is_weak(x):
    """Whether a raw pytree leaf is weakly typed (a Python scalar, a weakly typed tracer)."""
    if isinstance(x, Tracer):
        return bool(x.aval.weak_type)
    return dtypes.is_python_scalar(x)


def trace_fn(fun, in_tree, avals, kind, out_dtypes=None):
    """Trace ``fun`` on ``avals``; returns (closed jaxpr, output tree, which output leaves
    are weakly typed). ``out_dtypes`` converts the outputs (joins weak branch outputs)."""
    store = {}

    def flat(*xs):
        out = fun(*tree_util.unflatten(in_tree, xs))
        ol, store["tree"] = tree_util.flatten(out)
        store["weak"] = [is_weak(o) for o in ol]
        ol = [as_array(o) for o in ol]
        if out_dtypes is not None:
            ol = [o if d is None or get_aval(o).dtype == d else P.convert(o, d)
                  for o, d in zip(ol, out_dtypes)]
        return ol

    closed = trace_to_jaxpr(flat, avals, fun_name=fun_name(fun), kind=kind)
    return closed, store["tree"], store["weak"]


def avals_str(avals):
    """``(f32[3], i32[])``: avals for an error message."""
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def same_types(a, b):
    """Whether two lists of avals agree in length, shapes and dtypes."""
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype
                                    for x, y in zip(a, b))


def promote_weak(avals, weak, out_avals):
    """Like JAX: a weakly typed carry (``init=0.0``) adopts the dtype the body returns for
    it, when the shape agrees and the kind does not narrow. Returns new avals or None."""
    if len(avals) != len(out_avals):
        return None
    new, changed = [], False
    for a, w, o in zip(avals, weak, out_avals):
        if (w and o.shape == a.shape and o.dtype != a.dtype
                and dtypes.kind_rank(o.dtype) >= dtypes.kind_rank(a.dtype)):
            new.append(ShapedArray(a.shape, o.dtype))
            changed = True
        else:
            new.append(a)
    return new if changed else None


def carry_fixpoint(flags, body_flags):
    """Which loop carries have a property (a nonzero tangent, an unknown value, a batch
    axis) on some iteration: the least fixpoint above ``flags`` (the initial carries') of
    ``flags or body_flags(flags)``, where ``body_flags`` gives the body's output flags for
    carry flags, the carries' first (any outputs after those are ignored)."""
    flags = list(flags)
    while True:
        new = [a or b for a, b in zip(flags, body_flags(flags))]
        if new == flags:
            return flags
        flags = new
