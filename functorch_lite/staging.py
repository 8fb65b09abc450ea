"""Tracing Python functions into the IR, fully (for jit) or partially (for linearize).

``JaxprTrace`` records equations. In *partial* mode only operations touching one
of its own tracers ("unknowns") are recorded; operations on known values run in
the parent trace right away. That is partial evaluation: linearize runs the JVP
on top of a partial trace whose unknowns are the tangents, so the primal work
happens now and the tangent work becomes a linear program.
"""

from __future__ import annotations

import numpy as np

from . import core
from .core import ShapedArray, Trace, Tracer, get_aval, set_trace
from .ir import (
    ClosedJaxpr,
    Eqn,
    Jaxpr,
    Literal,
    Var,
    check_enabled,
    dce,
    prune_consts,
    typecheck,
)


class StagedTracer(Tracer):
    __slots__ = ("_var", "origin")

    def __init__(self, trace, var, origin=None):
        self.owner = trace
        self._var = var
        self.origin = origin

    @property
    def aval(self):
        return self._var.aval


class JaxprTrace(Trace):
    def __init__(self, parent, fun_name=None, partial=False, kind="jit"):
        super().__init__(parent, fun_name)
        self.kind = kind
        self.partial = partial
        self.eqns: list[Eqn] = []
        self.invars: list[Var] = []
        self.constvars: list[Var] = []
        self.consts: list = []
        self._const_ids: dict[int, Var] = {}
        self._record_origin = not partial

    # -- values ---------------------------------------------------------------
    def new_arg(self, aval: ShapedArray) -> StagedTracer:
        v = Var(aval)
        self.invars.append(v)
        return StagedTracer(self, v)

    def is_own(self, x) -> bool:
        return isinstance(x, StagedTracer) and x.owner is self

    def to_var(self, x):
        if isinstance(x, StagedTracer) and x.owner is self:
            return x._var
        self.check_foreign(x)
        if isinstance(x, Tracer) and not self._is_ancestor(x.owner):
            raise core.UnexpectedTracerError(
                f"A traced {x.aval.str_short()} from {x.owner.describe()} reached "
                f"{self.describe()}, which runs below that transform, so it cannot use the "
                f"value.\n  at {core.where_str(core.user_frame())}\nThis happens when a "
                "function run by a transform rule (e.g. a custom_jvp/custom_vjp rule) closes "
                "over a traced value; pass the value as an explicit argument instead.")
        if not isinstance(x, Tracer):
            if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
                a = get_aval(x)
                return Literal(np.asarray(x, a.dtype), a)
            if isinstance(x, (np.ndarray, np.generic)) and x.ndim == 0:
                return Literal(np.array(x), get_aval(x))
        v = self._const_ids.get(id(x))
        if v is None:
            v = Var(get_aval(x).strip_weak() if not isinstance(x, Tracer) else x.aval)
            self._const_ids[id(x)] = v
            self.constvars.append(v)
            self.consts.append(x)
        return v

    def _is_ancestor(self, trace) -> bool:
        t = self.parent
        while t is not None:
            if t is trace:
                return True
            t = t.parent
        return False

    def new_tracer(self, aval) -> StagedTracer:
        origin = core.user_frame() if self._record_origin else None
        return StagedTracer(self, Var(aval), origin)

    # -- primitives -----------------------------------------------------------
    def process_primitive(self, prim, args, params):
        if self.partial:
            if not any(isinstance(x, StagedTracer) and x.owner is self for x in args):
                with set_trace(self.parent):
                    return prim.bind(*args, **params)
            if prim.partial_eval is not None:
                return prim.partial_eval(self, args, params)
        elif prim.staging is not None:
            return prim.staging(self, args, params)
        return self.stage(prim, args, params)

    def stage(self, prim, args, params):
        out_avals = prim.abstract_eval(*[get_aval(x) for x in args], **params)
        invars = [self.to_var(x) for x in args]
        outs = [self.new_tracer(a) for a in (out_avals if prim.multiple_results else [out_avals])]
        self.eqns.append(Eqn(prim, invars, [t._var for t in outs], params))
        return outs if prim.multiple_results else outs[0]

    # -- result ---------------------------------------------------------------
    def to_jaxpr(self, in_tracers, outs) -> ClosedJaxpr:
        outvars = [self.to_var(x) for x in outs]
        invars = [self.to_var(t) for t in in_tracers]
        jaxpr = Jaxpr(self.constvars, invars, self.eqns, outvars)
        jaxpr, _ = dce(jaxpr)
        jaxpr, consts = prune_consts(jaxpr, self.consts)
        if check_enabled():
            typecheck(jaxpr)
        return ClosedJaxpr(jaxpr, consts)


def trace_to_jaxpr(fun, in_avals, fun_name=None, kind="jit") -> ClosedJaxpr:
    """Stage ``fun`` (flat list of arrays -> flat list of arrays) on abstract inputs.

    Constants the function closes over (arrays, or tracers of enclosing transforms)
    become the ClosedJaxpr's consts.
    """
    trace = JaxprTrace(core.current_trace(), fun_name or getattr(fun, "__name__", None),
                       kind=kind)
    ins = [trace.new_arg(a) for a in in_avals]
    with core.new_trace(trace):
        outs = fun(*ins)
    return trace.to_jaxpr(ins, list(outs))
