"""The staged program: a flat, typed list of equations ``outs = prim[params](ins)``.

Every consumer (the reference interpreter, autodiff's transpose, the backends)
is a loop over ``Jaxpr.eqns``. ``str(closed_jaxpr)`` is the text that ``make_ir``
prints and that backends use (with shapes and dtypes) as a cache key.
"""

from __future__ import annotations

import itertools

import numpy as np

from .core import ShapedArray, dtype_short


class Var:
    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in the IR."""

    __slots__ = ("val", "aval")

    def __init__(self, val, aval: ShapedArray):
        self.val = val
        self.aval = aval

    def __repr__(self):
        return f"Literal({self.val})"


class Eqn:
    __slots__ = ("prim", "invars", "outvars", "params")

    def __init__(self, prim, invars, outvars, params):
        self.prim = prim
        self.invars = list(invars)
        self.outvars = list(outvars)
        self.params = params


class Jaxpr:
    def __init__(self, constvars, invars, eqns, outvars):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.eqns = list(eqns)
        self.outvars = list(outvars)

    def __str__(self):
        return pp_jaxpr(self)


class ClosedJaxpr:
    """A Jaxpr with values for its constvars. Hashable by identity (used as a param)."""

    def __init__(self, jaxpr: Jaxpr, consts):
        self.jaxpr = jaxpr
        self.consts = list(consts)

    @property
    def in_avals(self):
        return [v.aval for v in self.jaxpr.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.jaxpr.outvars]

    @property
    def eqns(self):
        return self.jaxpr.eqns

    def __str__(self):
        return pp_jaxpr(self.jaxpr)

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(str(self))

    __repr__ = __str__


# --------------------------------------------------------------------------- printing


def _names():
    for n in itertools.count(1):
        for chars in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n):
            yield "".join(chars)


def _fmt_param(v, names, indent):
    if isinstance(v, ClosedJaxpr):
        v = v.jaxpr
    if isinstance(v, Jaxpr):
        inner = pp_jaxpr(v, indent + 4)
        return "\n" + inner
    if isinstance(v, (tuple, list)) and v and all(isinstance(e, (Jaxpr, ClosedJaxpr)) for e in v):
        return "(" + ",".join(_fmt_param(e, names, indent) for e in v) + ")"
    if isinstance(v, np.dtype):
        return dtype_short(v)
    if callable(v) and hasattr(v, "__name__"):
        return v.__name__
    return repr(v)


def pp_jaxpr(jaxpr: Jaxpr, indent: int = 0) -> str:
    gen = _names()
    names: dict[int, str] = {}

    def name(v):
        if isinstance(v, Literal):
            val = np.asarray(v.val)
            suffix = "" if val.dtype.kind == "b" else f":{dtype_short(val.dtype)}"
            return repr(val.item()) + suffix
        if id(v) not in names:
            names[id(v)] = next(gen)
        return names[id(v)]

    def decl(v):
        return f"{name(v)}:{v.aval.str_short()}"

    pad = " " * indent
    head = " ".join(decl(v) for v in jaxpr.constvars)
    args = " ".join(decl(v) for v in jaxpr.invars)
    lines = [f"{pad}{{ lambda {head + ' ; ' if head else ''}{args}. let"]
    for e in jaxpr.eqns:
        outs = " ".join(decl(v) for v in e.outvars)
        ps = ", ".join(f"{k}={_fmt_param(p, names, indent + 4)}"
                       for k, p in sorted(e.params.items()))
        ins = " ".join(name(v) for v in e.invars)
        lines.append(f"{pad}    {outs} = {e.prim.name}{'[' + ps + ']' if ps else ''} {ins}")
    outs = " ".join(name(v) for v in jaxpr.outvars)
    lines.append(f"{pad}  in ({outs}) }}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- interpretation


def eval_jaxpr(jaxpr: Jaxpr, consts, args):
    """Evaluate by binding each equation under the current trace (so transforms see it)."""
    env: dict[int, object] = {}

    def read(v):
        return v.val if isinstance(v, Literal) else env[id(v)]

    for v, x in zip(jaxpr.constvars, consts):
        env[id(v)] = x
    for v, x in zip(jaxpr.invars, args):
        env[id(v)] = x
    for e in jaxpr.eqns:
        outs = e.prim.bind(*[read(v) for v in e.invars], **e.params)
        if not e.prim.multiple_results:
            outs = (outs,)
        for v, x in zip(e.outvars, outs):
            env[id(v)] = x
    return [read(v) for v in jaxpr.outvars]


def eval_closed(closed: ClosedJaxpr, *args):
    return eval_jaxpr(closed.jaxpr, closed.consts, args)


def dce(jaxpr: Jaxpr, used_outputs=None) -> tuple[Jaxpr, list[bool]]:
    """Drop equations whose results are not needed; returns (jaxpr, which invars are used)."""
    outvars = jaxpr.outvars if used_outputs is None else [
        v for v, u in zip(jaxpr.outvars, used_outputs) if u]
    live = {id(v) for v in outvars if isinstance(v, Var)}
    kept = []
    for e in reversed(jaxpr.eqns):
        if any(id(v) in live for v in e.outvars) or getattr(e.prim, "effectful", False):
            kept.append(e)
            live.update(id(v) for v in e.invars if isinstance(v, Var))
    kept.reverse()
    used_in = [id(v) in live for v in jaxpr.invars]
    constvars = [v for v in jaxpr.constvars]
    return Jaxpr(constvars, jaxpr.invars, kept, outvars), used_in


def typecheck(jaxpr: Jaxpr) -> None:
    """Re-run every shape rule and check it agrees with the recorded output types."""
    defined = {id(v) for v in jaxpr.constvars + jaxpr.invars}
    for e in jaxpr.eqns:
        for v in e.invars:
            if isinstance(v, Var) and id(v) not in defined:
                raise TypeError(f"IR: {e.prim.name} uses an undefined variable")
        out = e.prim.abstract_eval(*[v.aval for v in e.invars], **e.params)
        out = out if e.prim.multiple_results else [out]
        for a, v in zip(out, e.outvars):
            if a.shape != v.aval.shape or a.dtype != v.aval.dtype:
                raise TypeError(f"IR: {e.prim.name} produces {a} but the IR records {v.aval}")
            defined.add(id(v))
