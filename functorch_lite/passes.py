"""Backend-independent IR passes. ``jit`` runs ``simplify`` on every staged program.

* ``cse``: equations with the same primitive, inputs (in any order for a ``COMMUTATIVE``
  primitive) and params compute the same value (every primitive is pure), so later copies
  are replaced by the first. Autodiff and vmap produce many such copies (e.g. one
  broadcast per use of a residual, ``q * s`` beside ``s * q``).
* ``dce`` (in ir.py): drop equations whose results are unused.
"""

from __future__ import annotations

import numpy as np

from .ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, check_enabled, dce, typecheck

# primitives whose operands may be swapped without changing a bit of the result (not max
# and min: numpy's maximum(-0.0, 0.0) is -0.0 but maximum(0.0, -0.0) is 0.0), nan payloads
# aside (IEEE leaves them unspecified)
COMMUTATIVE = frozenset({"add", "mul", "and", "or", "xor", "eq", "ne"})


def _param_key(params):
    try:
        key = tuple(sorted(params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def cse(jaxpr: Jaxpr) -> Jaxpr:
    """Common-subexpression elimination over a flat jaxpr."""
    rename: dict[int, object] = {}
    seen: dict[tuple, list] = {}
    eqns = []

    def sub(v):
        return rename.get(id(v), v) if isinstance(v, Var) else v

    def in_key(v):
        if isinstance(v, Literal):
            # by bits and weak type: 0.0 == -0.0 as numbers, but x * 0.0 and x * -0.0 differ
            val = np.asarray(v.val)
            return ("lit", val.dtype.str, val.tobytes(), v.aval.weak_type)
        return ("var", id(v))

    for e in jaxpr.eqns:
        invars = [sub(v) for v in e.invars]
        pk = _param_key(e.params)
        key = None
        if pk is not None:
            ins = tuple(in_key(v) for v in invars)
            key = (e.prim.name, tuple(sorted(ins)) if e.prim.name in COMMUTATIVE else ins, pk)
            prev = seen.get(key)
            if prev is not None:
                for v, p in zip(e.outvars, prev):
                    rename[id(v)] = p
                continue
        eqns.append(Eqn(e.prim, invars, e.outvars, e.params))
        if key is not None:
            seen[key] = e.outvars
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, [sub(v) for v in jaxpr.outvars])


def simplify(closed: ClosedJaxpr) -> ClosedJaxpr:
    """CSE then DCE; the result computes the same outputs."""
    j, _ = dce(cse(closed.jaxpr))
    if check_enabled():
        typecheck(j)
    return ClosedJaxpr(j, closed.consts)
