"""Automatic differentiation: JVP tracing, linearize by partial evaluation, transposition.

Forward mode runs each primitive's JVP rule. Reverse mode is linearize (JVP on
top of a partial-evaluation trace: primal work runs now, tangent work is staged
into a linear program) followed by transposing that program equation by equation
with each primitive's transpose rule. One set of rules therefore gives jvp, vjp,
grad and every higher order, as all rules are written with primitives.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from . import core, dtypes
from . import primitives as P
from . import tree as tree_util
from .core import Primitive, Trace, Tracer, get_aval, new_trace, set_trace
from .ir import ClosedJaxpr, Literal, Var, eval_jaxpr
from .primitives.elementwise import add_tangents
from .primitives.shape import instantiate
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


def _as_array(x):
    """Accept numpy arrays, Python scalars, tracers and compat Tensors as leaves."""
    if isinstance(x, (Tracer, np.ndarray)):
        return x
    conv = getattr(x, "__fl_array__", None)
    if conv is not None:
        return conv()
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return np.asarray(x, dtypes.scalar_dtype(x) if not isinstance(x, np.generic) else x.dtype)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    raise TypeError(f"expected an array, a Python scalar or a compat Tensor, got "
                    f"{type(x).__name__}")


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
            out_t = [instantiate(t) for _, t in res]
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
        return v.val if isinstance(v, Literal) else env[id(v)]

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

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(kind, closed, key, make):
    per = _cache.setdefault(closed, {})
    k = (kind, key)
    if k not in per:
        per[k] = make()
    return per[k]


def jvp_jaxpr(closed: ClosedJaxpr, nonzero: tuple[bool, ...]) -> ClosedJaxpr:
    """Jaxpr of (primals, nonzero tangents) -> (primal outs, tangent outs)."""

    def make():
        n = len(closed.in_avals)
        t_avals = [a.strip_weak() for a, nz in zip(closed.in_avals, nonzero) if nz]

        def f(*args):
            primals, ts = list(args[:n]), iter(args[n:])
            tangents = [next(ts) if nz else Zero(a.strip_weak())
                        for a, nz in zip(closed.in_avals, nonzero)]
            outs, touts = jvp_flat(lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, a),
                                   primals, tangents)
            return outs + [instantiate(t) for t in touts]

        return trace_to_jaxpr(f, list(closed.in_avals) + t_avals, kind="jvp")

    return _cached("jvp", closed, tuple(nonzero), make)


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
                outs = eval_jaxpr(closed.jaxpr, closed.consts, args)
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
        from .ir import Jaxpr

        j = unk.jaxpr
        unknown = ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.eqns, j.outvars), [])
        return known, unknown, info["out_unk"], len(unk.consts), info["res_src"]

    return _cached("pe", closed, (tuple(unknowns), inst), make)


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
            return [instantiate(r if r is not None else Zero(a)) for r, a in zip(res, lin_avals)]

        return trace_to_jaxpr(f, nonlin + [a.strip_weak() for a in closed.out_avals],
                              kind="transpose")

    return _cached("transpose", closed, tuple(linear), make)


# --------------------------------------------------------------------------- call primitives


def define_call_rules(prim: Primitive, rebind):
    """Rules for a primitive that calls ``params['jaxpr']`` (jit, checkpoint...).

    ``rebind(args, jaxpr, **params)`` binds the same kind of call on a new jaxpr.
    """

    def jvp(primals, tangents, jaxpr, **params):
        nonzero = tuple(type(t) is not Zero for t in tangents)
        new = jvp_jaxpr(jaxpr, nonzero)
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
        cts = [instantiate(c) for c in cts]
        res = rebind([a for a in args if not is_undefined(a)] + cts, tj, **params)
        it = iter(res)
        return [next(it) if is_undefined(a) else None for a in args]

    prim.jvp = jvp
    prim.partial_eval = partial_eval
    prim.transpose = transpose


def _call_abstract_eval(*avals, jaxpr, **_):
    return [a for a in jaxpr.out_avals]


# checkpoint / remat ---------------------------------------------------------------

remat_p = Primitive("checkpoint", multiple_results=True)
remat_p.impl = lambda *args, jaxpr: eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, args)
remat_p.abstract_eval = _call_abstract_eval


def _remat_rebind(args, jaxpr, **params):
    return remat_p.bind(*args, jaxpr=jaxpr)


define_call_rules(remat_p, _remat_rebind)


def _remat_partial_eval(trace, args, params):
    # Save only the inputs: known outputs are computed now, and the staged equation
    # recomputes the primal work from the inputs during the backward pass.
    jaxpr = params["jaxpr"]
    unknowns = tuple(trace.is_own(x) for x in args)
    known_j, _, out_unk, _, _ = partial_eval_jaxpr(jaxpr, unknowns)
    from .ir import dce

    # run only the known part now (not the tangent work on zero-filled unknowns)
    n_known = sum(1 for u in out_unk if not u)
    kj, _ = dce(known_j.jaxpr, [i < n_known for i in range(len(known_j.jaxpr.outvars))])
    with set_trace(trace.parent):
        known = remat_p.bind(*[x for x, u in zip(args, unknowns) if not u],
                             jaxpr=ClosedJaxpr(kj, known_j.consts)) if n_known else []
    known = iter(known)
    known = [None if u else next(known) for u in out_unk]
    j, _ = dce(jaxpr.jaxpr, out_unk)
    sub = ClosedJaxpr(j, jaxpr.consts)
    staged = trace.stage(remat_p, list(args), {"jaxpr": sub})
    it = iter(staged)
    return [next(it) if u else k for k, u in zip(known, out_unk)]


def _remat_transpose(cts, *args, jaxpr):
    res = backward_pass(jaxpr.jaxpr, jaxpr.consts, list(args), list(cts))
    it = iter(res)
    return [next(it) if is_undefined(a) else None for a in args]


def _remat_batch(size, vals, dims, jaxpr):
    from .batching import batch_jaxpr

    outs = remat_p.bind(*vals, jaxpr=batch_jaxpr(jaxpr, dims, size))
    return outs, [0] * len(outs)


remat_p.partial_eval = _remat_partial_eval
remat_p.transpose = _remat_transpose
remat_p.batch = _remat_batch


def checkpoint(fun, *, prevent_cse: bool = True, static_argnums=()):
    """Rematerialise ``fun`` in the backward pass: save its inputs, not its intermediates.

    >>> f = fl.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> fl.grad(lambda x: f(x).sum())(np.ones(3, np.float32))  # doctest: +SKIP
    """

    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        static = {i % len(args) for i in nums if -len(args) <= i < len(args)}
        dyn = [a for i, a in enumerate(args) if i not in static]
        leaves, in_tree = tree_util.flatten((dyn, kwargs))
        leaves = [_as_array(x) for x in leaves]
        out_tree = {}

        def flat(*xs):
            d, kw = tree_util.unflatten(in_tree, xs)
            it = iter(d)
            out = fun(*[args[i] if i in static else next(it) for i in range(len(args))], **kw)
            ol, out_tree["t"] = tree_util.flatten(out)
            return ol

        closed = trace_to_jaxpr(flat, [get_aval(x) for x in leaves], kind="checkpoint")
        outs = remat_p.bind(*closed.consts, *leaves, jaxpr=_close_over_consts(closed))
        return tree_util.unflatten(out_tree["t"], outs)

    return wrapped


def _close_over_consts(closed: ClosedJaxpr) -> ClosedJaxpr:
    from .ir import Jaxpr

    j = closed.jaxpr
    return ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.eqns, j.outvars), [])


remat = checkpoint


# --------------------------------------------------------------------------- public API


def _fun_name(fun):
    return getattr(fun, "__name__", type(fun).__name__)


def _flatten_fun(fun, in_tree, has_aux=False):
    store = {}

    def flat(*leaves):
        out = fun(*tree_util.unflatten(in_tree, leaves))
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(f"has_aux=True requires `{_fun_name(fun)}` to return a pair "
                                f"(output, aux), got {type(out).__name__}")
            out, aux = out
            # aux is not differentiated: unwrap it so no tracer of this transform escapes
            store["aux"] = tree_util.map(
                lambda v: P.stop_gradient(v) if isinstance(v, Tracer) else v, aux)
        ol, store["out_tree"] = tree_util.flatten(out)
        return [_as_array(x) for x in ol]

    return flat, store


def jvp(fun, primals, tangents, has_aux: bool = False):
    """Forward-mode: ``(fun(*primals), J @ tangents)``.

    >>> fl.jvp(fnp.sin, (0.0,), (1.0,))  # doctest: +SKIP
    (array(0., dtype=float32), array(1., dtype=float32))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists")
    p_leaves, p_tree = tree_util.flatten(tuple(primals))
    t_leaves, t_tree = tree_util.flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(f"jvp: primal and tangent structures differ: {p_tree} vs {t_tree}")
    p_leaves = [_as_array(x) for x in p_leaves]
    ts = []
    for p, t in zip(p_leaves, t_leaves):
        t = _as_array(t)
        pa, ta = get_aval(p), get_aval(t)
        if pa.shape != ta.shape:
            raise ValueError(f"jvp: tangent shape {ta.shape} does not match primal shape "
                             f"{pa.shape}")
        ts.append(P.convert(t, pa.dtype) if ta.dtype != pa.dtype and dtypes.is_float(pa.dtype)
                  else t)
    flat, store = _flatten_fun(fun, p_tree, has_aux)
    outs, touts = jvp_flat(flat, p_leaves, ts, _fun_name(fun))
    touts = [instantiate(t) for t in touts]
    out = tree_util.unflatten(store["out_tree"], outs)
    tout = tree_util.unflatten(store["out_tree"], touts)
    return (out, tout, store["aux"]) if has_aux else (out, tout)


def linearize(fun, *primals):
    """``(fun(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` applies the linearization.

    The primal computation runs once; ``jvp_fn`` only evaluates the linear program.
    """
    leaves, in_tree = tree_util.flatten(primals)
    leaves = [_as_array(x) for x in leaves]
    flat, store = _flatten_fun(fun, in_tree)
    outs, lin = linearize_flat(flat, leaves, _fun_name(fun))
    out_tree = store["out_tree"]

    def jvp_fn(*tangents):
        tl, tt = tree_util.flatten(tangents)
        if tt != in_tree:
            raise ValueError(f"linearize: tangent structure {tt} differs from primals {in_tree}")
        return tree_util.unflatten(out_tree, eval_jaxpr(lin.jaxpr, lin.consts,
                                                        [_as_array(t) for t in tl]))

    return tree_util.unflatten(out_tree, outs), jvp_fn


def vjp(fun, *primals, has_aux: bool = False):
    """Reverse-mode: ``(fun(*primals), vjp_fn)`` with ``vjp_fn(cotangent) -> tuple``.

    >>> y, f_vjp = fl.vjp(fnp.sin, np.float32(0.5))  # doctest: +SKIP
    >>> f_vjp(np.float32(1.0))  # (cos(0.5),)
    """
    leaves, in_tree = tree_util.flatten(primals)
    leaves = [_as_array(x) for x in leaves]
    flat, store = _flatten_fun(fun, in_tree, has_aux)
    outs, lin = linearize_flat(flat, leaves, _fun_name(fun))
    out_tree = store["out_tree"]
    in_avals = [get_aval(x) for x in leaves]
    out_avals = [get_aval(o) for o in outs]

    def vjp_fn(ct):
        cl, ct_tree = tree_util.flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: cotangent structure {ct_tree} differs from the output "
                             f"structure {out_tree}")
        cts = []
        for c, a in zip(cl, out_avals):
            c = _as_array(c)
            ca = get_aval(c)
            if ca.shape != a.shape:
                raise ValueError(f"vjp: cotangent shape {ca.shape} does not match output shape "
                                 f"{a.shape} of `{_fun_name(fun)}`")
            cts.append(P.convert(c, a.dtype) if ca.dtype != a.dtype else c)
        args = [UndefinedPrimal(a.strip_weak()) for a in in_avals]
        res = backward_pass(lin.jaxpr, lin.consts, args, cts)
        res = [_zeros_or(r, a) for r, a in zip(res, in_avals)]
        return tree_util.unflatten(in_tree, res)

    out = tree_util.unflatten(out_tree, outs)
    return (out, vjp_fn, store["aux"]) if has_aux else (out, vjp_fn)


def _zeros_or(r, aval):
    if r is None or type(r) is Zero:
        if core.is_under_transform():
            return P.zeros_like_aval(aval.strip_weak())
        return np.zeros(aval.shape, aval.dtype)
    return r


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums {argnums} out of range for {nargs} positional "
                             "arguments")
    return single, tuple(a % nargs for a in nums)


def _split_args(fun, args, kwargs, nums):
    def partial_fun(*dyn):
        full = list(args)
        for i, d in zip(nums, dyn):
            full[i] = d
        return fun(*full, **kwargs)

    partial_fun.__name__ = _fun_name(fun)
    return partial_fun, tuple(args[i] for i in nums)


def value_and_grad(fun, argnums=0, has_aux: bool = False):
    """Returns a function computing ``(fun(*args), grad)``; with ``has_aux``,
    ``((value, aux), grad)``.

    >>> vg = fl.value_and_grad(lambda x: (x ** 2).sum())
    >>> vg(np.array([1.0, 2.0], np.float32))  # doctest: +SKIP
    (array(5., dtype=float32), array([2., 4.], dtype=float32))
    """
    name = _fun_name(fun)

    @functools.wraps(fun)
    def vg(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        f, dyn = _split_args(fun, args, kwargs, nums)
        for i, d in zip(nums, dyn):
            for leaf in tree_util.leaves(d):
                dt = get_aval(_as_array(leaf)).dtype
                if not dtypes.is_float(dt):
                    raise TypeError(
                        f"grad requires real floating-point inputs, but argument {i} of "
                        f"`{name}` has dtype {dt.name}. Convert it (x.astype(fnp.float32)) or "
                        "exclude it from argnums.")
        res = vjp(f, *dyn, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        a = get_aval(_as_array(out)) if not isinstance(out, (tuple, list, dict)) else None
        if a is None or a.shape != () or not dtypes.is_float(a.dtype):
            desc = (f"{a.str_short()} (shape {a.shape})" if a is not None
                    else type(out).__name__)
            raise TypeError(
                f"grad requires `{name}` to return a scalar real value (shape ()), but it "
                f"returned {desc}. Reduce it (e.g. .sum() or .mean()), or use fl.vjp / "
                "fl.jacrev for non-scalar outputs.")
        g = f_vjp(np.ones((), a.dtype) if not core.is_under_transform()
                  else P.full((), 1, a.dtype))
        g = g[0] if single else tuple(g)
        return ((out, res[2]), g) if has_aux else (out, g)

    return vg


def grad(fun, argnums=0, has_aux: bool = False):
    """Gradient of a scalar-valued ``fun`` with respect to ``args[argnums]``.

    >>> fl.grad(lambda x: fnp.sin(x))(np.float32(0.0))  # doctest: +SKIP
    array(1., dtype=float32)
    """
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        out, gr = vg(*args, **kwargs)
        return (gr, out[1]) if has_aux else gr

    return g


def _std_basis(leaves):
    from . import numpy as fnp

    sizes = [get_aval(x).size for x in leaves]
    n = sum(sizes)
    dt = dtypes.promote([get_aval(x).dtype for x in leaves], [False] * len(leaves))[0] \
        if leaves else np.float32
    eye = np.eye(n, dtype=dt)
    out, start = [], 0
    for x, s in zip(leaves, sizes):
        a = get_aval(x)
        out.append(fnp.asarray(eye[:, start:start + s].reshape((n,) + a.shape), a.dtype))
        start += s
    return out, n


def _jac_tree(mats, out_tree, in_tree, single):
    """Assemble per-(output leaf, input leaf) blocks into JAX's nested structure."""
    rows = []
    for blocks in mats:
        inner = tree_util.unflatten(in_tree, blocks)
        rows.append(inner[0] if single else inner)
    return tree_util.unflatten(out_tree, rows)


def jacfwd(fun, argnums=0, has_aux: bool = False):
    """Jacobian by forward mode: ``vmap`` of ``jvp`` over the input basis."""
    from .batching import vmap

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "jacfwd")
        f, dyn = _split_args(fun, args, kwargs, nums)
        leaves, in_tree = tree_util.flatten(dyn)
        leaves = [_as_array(x) for x in leaves]
        flat, store = _flatten_fun(lambda *d: f(*d), in_tree, has_aux)
        basis, n = _std_basis(leaves)

        def push(*ts):
            outs, touts = jvp_flat(flat, leaves, list(ts), _fun_name(fun))
            return [instantiate(t) for t in touts]

        touts = vmap(push, in_axes=0, out_axes=-1)(*basis)
        in_avals = [get_aval(x) for x in leaves]
        mats = []
        for t in touts:
            ta = get_aval(t)
            blocks, start = [], 0
            for ia in in_avals:
                blk = P.slice_in_dim(t, start, start + ia.size, axis=ta.ndim - 1)
                blocks.append(P.reshape(blk, ta.shape[:-1] + ia.shape))
                start += ia.size
            mats.append(blocks)
        out = _jac_tree(mats, store["out_tree"], in_tree, single)
        return (out, store["aux"]) if has_aux else out

    return jac


def jacrev(fun, argnums=0, has_aux: bool = False):
    """Jacobian by reverse mode: ``vmap`` of the ``vjp`` over the output basis."""
    from .batching import vmap

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "jacrev")
        f, dyn = _split_args(fun, args, kwargs, nums)
        leaves, in_tree = tree_util.flatten(dyn)
        leaves = [_as_array(x) for x in leaves]
        flat, store = _flatten_fun(lambda *d: f(*d), in_tree, has_aux)
        outs, lin = linearize_flat(flat, leaves, _fun_name(fun))
        in_avals = [get_aval(x) for x in leaves]
        out_avals = [get_aval(o) for o in outs]
        basis, m = _std_basis(outs)

        def pull(*cts):
            args_ = [UndefinedPrimal(a.strip_weak()) for a in in_avals]
            res = backward_pass(lin.jaxpr, lin.consts, args_, list(cts))
            return [instantiate(r if r is not None else Zero(a)) for r, a in zip(res, in_avals)]

        cts = vmap(pull)(*basis)  # each: (m, *in_shape)
        mats = []
        start = 0
        for oa in out_avals:
            row = []
            for c, ia in zip(cts, in_avals):
                blk = P.slice_in_dim(c, start, start + oa.size, axis=0)
                row.append(P.reshape(blk, oa.shape + ia.shape))
            mats.append(row)
            start += oa.size
        out = _jac_tree(mats, store["out_tree"], in_tree, single)
        return (out, store["aux"]) if has_aux else out

    return jac


def hessian(fun, argnums=0, has_aux: bool = False):
    """``jacfwd(jacrev(fun))``: the dense Hessian of a scalar function."""
    return jacfwd(jacrev(fun, argnums, has_aux), argnums, has_aux)


def stop_gradient(x):
    """Identity on values, zero derivative. Works on pytrees."""
    return tree_util.map(lambda v: P.stop_gradient(_as_array(v)), x)
