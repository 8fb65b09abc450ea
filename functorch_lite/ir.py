"""The staged program: a flat, typed list of equations ``outs = prim[params](ins)``.

Every consumer (the reference interpreter, autodiff's transpose, the backends)
is a loop over ``Jaxpr.eqns``. ``str(closed_jaxpr)`` is the text that ``make_ir``
prints and that backends use (with shapes and dtypes) as a cache key.
"""

from __future__ import annotations

import itertools
import os
import weakref

import numpy as np

from .array import wrap
from .core import ShapedArray, dtype_short


class Var:
    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in the IR. ``val`` is the plain numpy value
    backends compile; ``value`` is what an interpreter binds (an Array, weakly typed when
    the literal is, so eager evaluation of a program types results as its IR does)."""

    __slots__ = ("val", "aval", "_value")

    def __init__(self, val, aval: ShapedArray):
        self.val = val
        self.aval = aval
        self._value = None

    @property
    def value(self):
        if self._value is None:
            self._value = wrap(np.asarray(self.val), self.aval.weak_type)
        return self._value

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

    def call(self, *args) -> list:
        """Evaluate under the current trace (so enclosing transforms see every equation)."""
        return eval_jaxpr(self.jaxpr, self.consts, args)

    def hoist_consts(self) -> tuple[ClosedJaxpr, list]:
        """The same program with its constants as leading inputs, and those constants.

        Higher-order primitives carry the hoisted form, so their params hold no data and
        the constants flow through transforms like any other operand."""
        j = self.jaxpr
        return ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.eqns, j.outvars), []), self.consts

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


def eval_jaxpr(jaxpr: Jaxpr, consts, args, given: dict | None = None, outvars=None):
    """Evaluate by binding each equation under the current trace (so transforms see it).

    ``given`` maps variables (by id) to values already known: an equation whose results
    are all given is skipped (checkpoint's recomputation reuses saved values so).
    ``outvars`` picks what to return (default: the program's outputs)."""
    env: dict[int, object] = dict(given) if given else {}

    def read(v):
        return v.value if isinstance(v, Literal) else env[id(v)]

    for v, x in zip(jaxpr.constvars, consts):
        env[id(v)] = x
    for v, x in zip(jaxpr.invars, args):
        env[id(v)] = x
    for e in jaxpr.eqns:
        if given and all(id(v) in env for v in e.outvars):
            continue
        outs = e.prim.bind(*[read(v) for v in e.invars], **e.params)
        if not e.prim.multiple_results:
            outs = (outs,)
        for v, x in zip(e.outvars, outs):
            env[id(v)] = x
    return [read(v) for v in (jaxpr.outvars if outvars is None else outvars)]


_derived: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_transform(closed: ClosedJaxpr, kind: str, key, make):
    """Memoise a program derived from ``closed`` (its JVP, transpose, batched form...).

    Held weakly by ``closed``, so a derived program lives as long as its source."""
    per = _derived.setdefault(closed, {})
    k = (kind, key)
    if k not in per:
        per[k] = make()
    return per[k]


def dce(jaxpr: Jaxpr, used_outputs=None) -> tuple[Jaxpr, list[bool]]:
    """Drop equations whose results are not needed; returns (jaxpr, which invars are used)."""
    outvars = jaxpr.outvars if used_outputs is None else [
        v for v, u in zip(jaxpr.outvars, used_outputs) if u]
    live = {id(v) for v in outvars if isinstance(v, Var)}
    kept = []
    for e in reversed(jaxpr.eqns):
        if any(id(v) in live for v in e.outvars):  # every primitive is pure
            kept.append(e)
            live.update(id(v) for v in e.invars if isinstance(v, Var))
    kept.reverse()
    used_in = [id(v) in live for v in jaxpr.invars]
    constvars = [v for v in jaxpr.constvars]
    return Jaxpr(constvars, jaxpr.invars, kept, outvars), used_in


def prune_consts(jaxpr: Jaxpr, consts) -> tuple[Jaxpr, list]:
    """Drop the constants no equation or output uses; returns (jaxpr, their values)."""
    used = {id(v) for e in jaxpr.eqns for v in e.invars} | {id(v) for v in jaxpr.outvars}
    keep = [(v, c) for v, c in zip(jaxpr.constvars, consts) if id(v) in used]
    return (Jaxpr([v for v, _ in keep], jaxpr.invars, jaxpr.eqns, jaxpr.outvars),
            [c for _, c in keep])


def check_enabled() -> bool:
    """Whether every staged program is typechecked (``FUNCTORCH_LITE_CHECK_IR=1``; the test
    suite turns it on)."""
    return os.environ.get("FUNCTORCH_LITE_CHECK_IR", "") not in ("", "0")


def typecheck(jaxpr: Jaxpr) -> None:
    """Check that ``jaxpr`` is well formed, or raise ``TypeError`` naming the equation.

    Every variable is defined exactly once before it is used; literals carry their own
    type; every equation's recorded output types are what its shape rule gives for its
    input types; programs carried as params (branches, loop bodies) are checked too.

    >>> typecheck(fl.make_ir(fnp.sin)(np.ones(3, np.float32)).jaxpr)
    """
    defined: set[int] = set()

    def define(v, where):
        if not isinstance(v, Var):
            raise TypeError(f"IR: {where} binds {v!r}, which is not a variable")
        if id(v) in defined:
            raise TypeError(f"IR: {where} defines a variable that is already defined")
        defined.add(id(v))

    for v in jaxpr.constvars + jaxpr.invars:
        define(v, "the program's inputs")
    for n, e in enumerate(jaxpr.eqns):
        where = f"equation {n} ({e.prim.name})"
        for v in e.invars:
            if isinstance(v, Literal):
                val = np.asarray(v.val)
                if val.shape != v.aval.shape or val.dtype != v.aval.dtype:
                    raise TypeError(f"IR: {where} has a literal {val!r} typed {v.aval}")
            elif not isinstance(v, Var) or id(v) not in defined:
                raise TypeError(f"IR: {where} uses an undefined variable {v!r}")
        for p in e.params.values():
            for sub in (p if isinstance(p, tuple) else (p,)):
                if isinstance(sub, ClosedJaxpr):
                    typecheck(sub.jaxpr)
        out = e.prim.abstract_eval(*[v.aval for v in e.invars], **e.params)
        out = out if e.prim.multiple_results else [out]
        if len(out) != len(e.outvars):
            raise TypeError(f"IR: {where} produces {len(out)} values but the IR binds "
                            f"{len(e.outvars)}")
        for a, v in zip(out, e.outvars):
            if a.shape != v.aval.shape or a.dtype != v.aval.dtype:
                raise TypeError(f"IR: {where} produces {a} but the IR records {v.aval}")
            define(v, where)
    for v in jaxpr.outvars:
        if isinstance(v, Var) and id(v) not in defined:
            raise TypeError(f"IR: the program returns an undefined variable {v!r}")
