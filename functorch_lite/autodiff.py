"""Automatic differentiation machinery: JVP tracing, linearize by partial evaluation,
transposition, and the same three on whole programs (for higher-order primitives).

Forward mode runs each primitive's JVP rule. Reverse mode is linearize (JVP on
top of a partial-evaluation trace: primal work runs now, tangent work is staged
into a linear program) followed by transposing that program equation by equation
with each primitive's transpose rule. One set of rules therefore gives jvp, vjp,
grad and every higher order, as all rules are written with primitives. The user-facing
functions (grad, vjp, jacrev...) are in ``derivatives.py``; ``checkpoint`` in
``checkpoint.py``.
"""

from __future__ import annotations

from . import core, dtypes
from .core import Primitive, Trace, Tracer, get_aval, new_trace, set_trace
from .ir import ClosedJaxpr, Literal, Var, cached_transform
from .primitives.elementwise import add_tangents
from .primitives.shape import instantiate_zeros
from .rules import UndefinedPrimal, Zero, is_undefined
from .staging import JaxprTrace, StagedTracer, trace_to_jaxpr

# --------------------------------------------------------------------------- JVP trace


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self.owner = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    def to_concrete(self, what, kind):
        # bool/int/float of a primal are fine (Python control flow works under grad, as in
        # JAX); handing the array to numpy would silently drop its derivative, so refuse.
        if kind == "array":
            raise core.concretization_error(self, what + " (it would lose the derivative)", kind)
        p = self.primal
        return p.to_concrete(what, kind) if isinstance(p, Tracer) else p


class JVPTrace(Trace):
    kind = "jvp"

    def lift(self, x):
        if isinstance(x, JVPTracer) and x.owner is self:
            return x.primal, x.tangent
        self.check_foreign(x)
        return x, Zero(get_aval(x).strip_weak())

    def wrap(self, p, t):
        if type(t) is Zero:
            return p
        if not dtypes.is_float(get_aval(p).dtype):
            return p
        return JVPTracer(self, p, t)

    def process_primitive(self, prim, args, params):
        ps, ts = [], []
        for x in args:
            p, t = self.lift(x)
            ps.append(p)
            ts.append(t)
        if all(type(t) is Zero for t in ts):
            with set_trace(self.parent):
                return prim.bind(*ps, **params)
        if prim.jvp is None:
            raise NotImplementedError(f"Differentiation rule for '{prim.name}' not implemented")
        with set_trace(self.parent):
            out_p, out_t = prim.jvp(ps, ts, **params)
        if prim.multiple_results:
            return [self.wrap(p, t) for p, t in zip(out_p, out_t)]
        return self.wrap(out_p, out_t)


def jvp_flat(fun, primals, tangents, fun_name=None):
    """Run ``fun`` (flat -> flat list) forward with tangents; tangents may be ``Zero``."""
    trace = JVPTrace(core.current_trace(), fun_name)
    ins = [p if type(t) is Zero else JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
    with new_trace(trace):
        outs = fun(*ins)
    res = [trace.lift(o) for o in outs]
    return [p for p, _ in res], [t for _, t in res]


def linearize_flat(fun, primals, fun_name=None):
    """Returns (primal outputs, linear ClosedJaxpr mapping input tangents to output tangents)."""
    parent = core.current_trace()
    pe = JaxprTrace(parent, fun_name, partial=True, kind="linearize")
    jt = JVPTrace(pe, fun_name)
    tin = [pe.new_arg(get_aval(p).strip_weak()) for p in primals]
    ins = [JVPTracer(jt, p, t) if dtypes.is_float(get_aval(p).dtype) else p
           for p, t in zip(primals, tin)]
    try:
        with set_trace(pe), new_trace(jt):
            outs = fun(*ins)
        res = [jt.lift(o) for o in outs]
        out_p = [p for p, _ in res]
        for p in out_p:
            if isinstance(p, StagedTracer) and p.owner is pe:
                raise TypeError("linearize: a primal output depends on a tangent")
        with set_trace(pe):
            out_t = [instantiate_zeros(t) for _, t in res]
        lin = pe.to_jaxpr(tin, out_t)
    finally:
        pe.invalidate()
    return out_p, lin


# --------------------------------------------------------------------------- transposition


def backward_pass(jaxpr, consts, args, cts_out):
    """Transpose ``jaxpr`` w.r.t. the args given as ``UndefinedPrimal``.

    Equations that do not depend on linear inputs are evaluated forward first (this is
    how rematerialised primal work is recomputed); the rest are transposed in reverse.
    Returns one cotangent (or ``Zero``) per linear arg, in order.
    """
    env: dict[int, object] = {}
    linear: set[int] = set()

    def read(v):
        return v.value if isinstance(v, Literal) else env[id(v)]

    for v, c in zip(jaxpr.constvars, consts):
        env[id(v)] = c
    for v, a in zip(jaxpr.invars, args):
        if is_undefined(a):
            linear.add(id(v))
        else:
            env[id(v)] = a
    lin_eqns = []
    for e in jaxpr.eqns:
        if any(isinstance(v, Var) and id(v) in linear for v in e.invars):
            linear.update(id(v) for v in e.outvars)
            lin_eqns.append(e)
        else:
            outs = e.prim.bind(*[read(v) for v in e.invars], **e.params)
            for v, x in zip(e.outvars, outs if e.prim.multiple_results else [outs]):
                env[id(v)] = x
    ct_env: dict[int, object] = {}

    def put(v, ct):
        if isinstance(v, Var) and id(v) in linear and ct is not None and type(ct) is not Zero:
            ct_env[id(v)] = add_tangents(ct_env[id(v)], ct) if id(v) in ct_env else ct

    for v, ct in zip(jaxpr.outvars, cts_out):
        put(v, ct)
    for e in reversed(lin_eqns):
        cts = [ct_env.pop(id(v), None) for v in e.outvars]
        if all(c is None for c in cts):
            continue
        cts = [Zero(v.aval) if c is None else c for v, c in zip(e.outvars, cts)]
        ins = [UndefinedPrimal(v.aval) if isinstance(v, Var) and id(v) in linear else read(v)
               for v in e.invars]
        if e.prim.transpose is None:
            raise NotImplementedError(f"Transpose rule (for reverse-mode differentiation) for "
                                      f"'{e.prim.name}' not implemented")
        cts_in = e.prim.transpose(cts if e.prim.multiple_results else cts[0], *ins, **e.params)
        for v, ct in zip(e.invars, cts_in):
            put(v, ct)
    return [ct_env.get(id(v), Zero(v.aval)) if id(v) in linear else None
            for v, a in zip(jaxpr.invars, args) if is_undefined(a)]


# --------------------------------------------------------------------------- jaxpr-level helpers


def jvp_jaxpr(closed: ClosedJaxpr, nonzero, instantiate=True) -> tuple[ClosedJaxpr, list]:
    """The JVP of a program: (primals, nonzero tangents) -> (primal outs, tangent outs).

    ``nonzero[i]`` says whether input i has a tangent. ``instantiate`` (a bool, or one per
    output) keeps an output's tangent even when it is a symbolic zero; other zero tangents
    are dropped. Returns (jaxpr, which outputs have a tangent among its results)."""
    n_out = len(closed.out_avals)
    inst = (bool(instantiate),) * n_out if isinstance(instantiate, bool) else tuple(
        bool(i) for i in instantiate)

    def make():
        n = len(closed.in_avals)
        holder = {}

        def f(*args):
            primals, ts = list(args[:n]), iter(args[n:])
            tangents = [next(ts) if nz else Zero(a.strip_weak())
                        for a, nz in zip(closed.in_avals, nonzero)]
            outs, touts = jvp_flat(closed.call, primals, tangents)
            keep = [type(t) is not Zero or i for t, i in zip(touts, inst)]
            holder["keep"] = keep
            return outs + [instantiate_zeros(t) for t, k in zip(touts, keep) if k]

        t_avals = [a.strip_weak() for a, nz in zip(closed.in_avals, nonzero) if nz]
        j = trace_to_jaxpr(f, list(closed.in_avals) + t_avals, kind="jvp")
        return j, holder["keep"]

    return cached_transform(closed, "jvp", (tuple(nonzero), inst), make)


def partial_eval_jaxpr(closed: ClosedJaxpr, unknowns: tuple[bool, ...], instantiate=None):
    """Split into a known jaxpr (known ins -> known outs + residuals) and an unknown one
    (residuals + unknown ins -> unknown outs).

    ``instantiate[i]`` forces output i to be unknown (its known value then travels as a
    residual). Returns (known, unknown, out_unknowns, n_res, res_src) where ``res_src[k]`` is
    the position among the known inputs that residual k is identical to, or None.
    """
    inst = tuple(instantiate) if instantiate is not None else (False,) * len(closed.out_avals)

    def make():
        info = {}

        def known_fun(*known_args):
            pe = JaxprTrace(core.current_trace(), partial=True, kind="partial eval")
            kit = iter(known_args)
            unk_in = []
            args = []
            for a, u in zip(closed.in_avals, unknowns):
                if u:
                    t = pe.new_arg(a)
                    unk_in.append(t)
                    args.append(t)
                else:
                    args.append(next(kit))
            with new_trace(pe):
                outs = closed.call(*args)
            out_unk = [pe.is_own(o) or f for o, f in zip(outs, inst)]
            unk = pe.to_jaxpr(unk_in, [o for o, u in zip(outs, out_unk) if u])
            info["out_unk"] = out_unk
            info["unk"] = unk
            info["res_src"] = [next((j for j, k in enumerate(known_args) if k is r), None)
                               for r in unk.consts]
            return [o for o, u in zip(outs, out_unk) if not u] + list(unk.consts)

        known = trace_to_jaxpr(known_fun, [a for a, u in zip(closed.in_avals, unknowns) if not u],
                               kind="partial eval")
        unk = info["unk"]
        unknown, _ = unk.hoist_consts()
        return known, unknown, info["out_unk"], len(unk.consts), info["res_src"]

    return cached_transform(closed, "pe", (tuple(unknowns), inst), make)


def transpose_jaxpr(closed: ClosedJaxpr, linear: tuple[bool, ...]) -> ClosedJaxpr:
    """Jaxpr of (non-linear ins, output cotangents) -> cotangents of the linear ins."""

    def make():
        in_avals = closed.in_avals
        nonlin = [a for a, lin in zip(in_avals, linear) if not lin]

        def f(*args):
            nl, cts = iter(args[:len(nonlin)]), args[len(nonlin):]
            full = [UndefinedPrimal(a) if lin else next(nl) for a, lin in zip(in_avals, linear)]
            res = backward_pass(closed.jaxpr, closed.consts, full, list(cts))
            lin_avals = [a for a, lin in zip(in_avals, linear) if lin]
            return [instantiate_zeros(r if r is not None else Zero(a))
                    for r, a in zip(res, lin_avals)]

        return trace_to_jaxpr(f, nonlin + [a.strip_weak() for a in closed.out_avals],
                              kind="transpose")

    return cached_transform(closed, "transpose", tuple(linear), make)


# --------------------------------------------------------------------------- call primitives


def define_call_rules(prim: Primitive, rebind):
    """Rules for a primitive that calls ``params['jaxpr']`` (jit, checkpoint...).

    ``rebind(args, jaxpr, **params)`` binds the same kind of call on a new jaxpr.
    """

    def jvp(primals, tangents, jaxpr, **params):
        nonzero = tuple(type(t) is not Zero for t in tangents)
        new, _ = jvp_jaxpr(jaxpr, nonzero)
        outs = rebind(list(primals) + [t for t in tangents if type(t) is not Zero], new, **params)
        n = len(jaxpr.out_avals)
        return outs[:n], outs[n:]

    def partial_eval(trace, args, params):
        jaxpr = params["jaxpr"]
        unknowns = tuple(trace.is_own(x) for x in args)
        known, unknown, out_unk, _, _ = partial_eval_jaxpr(jaxpr, unknowns)
        rest = {k: v for k, v in params.items() if k != "jaxpr"}
        with set_trace(trace.parent):
            kres = rebind([x for x, u in zip(args, unknowns) if not u], known, **rest)
        n_known_out = sum(1 for u in out_unk if not u)
        known_outs, residuals = kres[:n_known_out], kres[n_known_out:]
        unk_outs = trace.stage(prim, list(residuals) + [x for x, u in zip(args, unknowns) if u],
                               dict(rest, jaxpr=unknown))
        ko, uo = iter(known_outs), iter(unk_outs)
        return [next(uo) if u else next(ko) for u in out_unk]

    def transpose(cts, *args, jaxpr, **params):
        linear = tuple(is_undefined(a) for a in args)
        tj = transpose_jaxpr(jaxpr, linear)
        cts = [instantiate_zeros(c) for c in cts]
        res = rebind([a for a in args if not is_undefined(a)] + cts, tj, **params)
        it = iter(res)
        return [next(it) if is_undefined(a) else None for a in args]

    prim.jvp = jvp
    prim.partial_eval = partial_eval
    prim.transpose = transpose


def call_abstract_eval(*avals, jaxpr, **_):
    """Shape rule of a primitive that calls ``params['jaxpr']``."""
    return list(jaxpr.out_avals)


