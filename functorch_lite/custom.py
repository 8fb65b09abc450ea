"""User-defined derivatives: ``custom_jvp`` and ``custom_vjp`` (JAX semantics).

Each is a primitive whose params carry the user's functions (flattened over pytrees).
Under jit the primal function is staged as a jaxpr (``call_jaxpr``) so backends can
compile it; the derivative rules stay Python callables and are traced when used.
"""

from __future__ import annotations

import functools

from . import core
from . import primitives as P
from . import tree as tree_util
from .api_util import as_array, fun_name
from .batching import vmap_flat
from .core import Primitive, Tracer, get_aval, set_trace
from .primitives.shape import instantiate_zeros, moveaxis
from .rules import Zero, is_undefined
from .staging import trace_to_jaxpr


def _stage_call(prim):
    """Staging rule: trace the primal function once and keep it as ``call_jaxpr``."""

    def rule(trace, args, params):
        fun = params["fun"]
        closed = trace_to_jaxpr(fun, [get_aval(a) for a in args], fun_name=params.get("name"),
                                kind="custom rule")
        nc = len(closed.consts)
        new = dict(params, fun=closed.hoist_consts()[0].call, call_jaxpr=closed,
                   num_consts=params.get("num_consts", 0) + nc)
        for k in ("jvp", "fwd", "bwd"):
            if k in params:
                new[k] = _skip_consts(params[k], nc, k)
        return trace.stage(prim, list(closed.consts) + list(args), new)

    return rule


def _skip_consts(fn, nc, kind):
    if nc == 0:
        return fn
    if kind == "jvp":  # args: consts, primals, const tangents, tangents
        def jvp(*a):
            n = (len(a) - 2 * nc) // 2
            return fn(*a[nc:nc + n], *a[2 * nc + n:])
        return jvp
    if kind == "fwd":
        return lambda *a: fn(*a[nc:])

    def bwd(*a):  # residuals and cotangents are unchanged; consts get no cotangent
        return [None] * nc + list(fn(*a))
    return bwd


def _closure_convert(flat_fun, in_avals, probe=None):
    """If ``flat_fun`` closes over tracers of enclosing transforms, return (consts, fun taking
    the consts as leading arguments); else ``([], None)``. Explicit arguments let every trace
    see those values (a Python closure would run them below their own trace)."""
    if not core.is_under_transform():
        return [], None
    if probe is None:
        try:
            probe = trace_to_jaxpr(flat_fun, in_avals, kind="custom rule")
        except core.ConcretizationError:
            # Python control flow on the arguments: the function only runs on concrete
            # primals (as it does under grad and jvp, where rules see concrete values),
            # so there is nothing to convert
            return [], None
    if not any(isinstance(c, Tracer) for c in probe.consts):
        return [], None
    hoisted, consts = probe.hoist_consts()
    return list(consts), hoisted.call


def _check_closed_over_tangents(tangents, num_consts, kind, name):
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise TypeError(
            f"differentiation of the {kind} function `{name}` with respect to a value it closes "
            f"over is not supported: its custom rule only covers its explicit arguments. Pass "
            "that value to the function as an argument (and extend the rule), or wrap it in "
            "fl.stop_gradient.")


def _out_avals(params, avals):
    cj = params.get("call_jaxpr")
    if cj is not None:
        return list(cj.out_avals)
    return list(trace_to_jaxpr(params["fun"], avals).out_avals)


# --------------------------------------------------------------------------- custom_jvp

custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.impl = lambda *args, fun, jvp, **_: fun(*args)
custom_jvp_call_p.abstract_eval = lambda *avals, **params: _out_avals(params, avals)
custom_jvp_call_p.staging = _stage_call(custom_jvp_call_p)
custom_jvp_call_p.impl_takes_arrays = True  # the user's function runs on its arguments


def _cjvp_jvp(primals, tangents, fun, jvp, num_consts=0, name="?", **_):
    _check_closed_over_tangents(tangents, num_consts, "custom_jvp", name)
    ts = [instantiate_zeros(t) for t in tangents]
    outs = jvp(*primals, *ts)
    n = len(outs) // 2
    return outs[:n], outs[n:]


def _cjvp_pe(trace, args, params):
    # a custom_jvp function applied to tangent values: its primal definition is linear then
    with set_trace(trace):
        return params["fun"](*args)


def _cjvp_batch(size, vals, dims, fun, jvp, num_consts=0, name="?", **params):
    fun_b = lambda *a: vmap_flat(fun, a, dims, size, 0)
    jvp_b = lambda *a: vmap_flat(jvp, a, list(dims) + list(dims), size, 0)
    outs = custom_jvp_call_p.bind(*vals, fun=fun_b, jvp=jvp_b, num_consts=num_consts, name=name)
    return outs, [0] * len(outs)


custom_jvp_call_p.jvp = _cjvp_jvp
custom_jvp_call_p.partial_eval = _cjvp_pe
custom_jvp_call_p.batch = _cjvp_batch


def _split_args(fun, nondiff_argnums, args):
    """Separate non-differentiable (static) arguments and flatten the rest.

    Returns (static, dyn, leaves, in_tree, full_args, flat_fun, store): ``full_args`` puts
    the static arguments back; ``flat_fun`` runs ``fun`` on leaves and records the output
    tree in ``store["tree"]``."""
    nd = {i % len(args) for i in nondiff_argnums}
    static = [(i, a) for i, a in enumerate(args) if i in nd]
    dyn = tuple(a for i, a in enumerate(args) if i not in nd)
    leaves, in_tree = tree_util.flatten(dyn)
    leaves = [as_array(x) for x in leaves]
    store = {}

    def full_args(d):
        it = iter(d)
        sm = dict(static)
        return [sm[i] if i in sm else next(it) for i in range(len(args))]

    def flat_fun(*xs):
        out = fun(*full_args(tree_util.unflatten(in_tree, xs)))
        ol, store["tree"] = tree_util.flatten(out)
        return [as_array(o) for o in ol]

    flat_fun.__name__ = fun_name(fun)  # errors while tracing it name the user's function
    return static, dyn, leaves, in_tree, full_args, flat_fun, store


class custom_jvp:
    """A function with a user-defined JVP rule.

    >>> @fl.custom_jvp
    ... def f(x):
    ...     return fnp.sin(x)
    >>> @f.defjvp
    ... def f_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return f(x), fnp.cos(x) * t
    """

    def __init__(self, fun, nondiff_argnums=()):
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None
        functools.update_wrapper(self, fun, updated=())

    def defjvp(self, jvp):
        """``jvp(primals, tangents) -> (primal_out, tangent_out)``; nondiff args come first."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *tangent_fns):
        """One ``fn(tangent, primal_out, *primals)`` per argument (``None``: no dependence)."""

        def jvp(primals, tangents):
            out = self(*primals)
            acc = None
            for fn, t in zip(tangent_fns, tangents):
                if fn is None:
                    continue
                c = fn(t, out, *primals)
                acc = c if acc is None else tree_util.map(P.add, acc, c)
            return out, acc if acc is not None else tree_util.map(P.zeros_like, out)

        self.jvp = jvp

    def __call__(self, *args):
        if self.jvp is None:
            raise AttributeError(f"custom_jvp `{fun_name(self.fun)}` has no JVP rule; define "
                                 "one with @f.defjvp")
        static, dyn, leaves, in_tree, full_args, flat_fun, store = _split_args(
            self.fun, self.nondiff_argnums, args)

        def flat_jvp(*xs):
            n = len(xs) // 2
            ps = tree_util.unflatten(in_tree, xs[:n])
            ts = tree_util.unflatten(in_tree, xs[n:])
            po, to = self.jvp(*[a for _, a in static], tuple(ps), tuple(ts))
            ol, store["tree"] = tree_util.flatten(po)
            tl, tt = tree_util.flatten(to)
            if tt != store["tree"]:
                raise TypeError(f"custom_jvp rule of `{fun_name(self.fun)}` returned tangent "
                                f"structure {tt} for primal structure {store['tree']}")
            ol = [as_array(o) for o in ol]
            tl = [P.convert(as_array(t), get_aval(o).dtype) for t, o in zip(tl, ol)]
            for t, o in zip(tl, ol):
                if get_aval(t).shape != get_aval(o).shape:
                    raise ValueError(f"custom_jvp rule of `{fun_name(self.fun)}`: tangent shape "
                                     f"{get_aval(t).shape} differs from primal shape "
                                     f"{get_aval(o).shape}")
            return ol + tl

        name = fun_name(self.fun)
        consts, fun_cc = _closure_convert(flat_fun, [get_aval(x) for x in leaves])
        if fun_cc is not None:
            outs = custom_jvp_call_p.bind(*consts, *leaves, fun=fun_cc,
                                          jvp=_skip_consts(flat_jvp, len(consts), "jvp"),
                                          num_consts=len(consts), name=name)
        else:
            outs = custom_jvp_call_p.bind(*leaves, fun=flat_fun, jvp=flat_jvp, name=name)
        return tree_util.unflatten(store["tree"], outs)


# --------------------------------------------------------------------------- custom_vjp

custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.impl = lambda *args, fun, **_: fun(*args)
custom_vjp_call_p.abstract_eval = lambda *avals, **params: _out_avals(params, avals)
custom_vjp_call_p.staging = _stage_call(custom_vjp_call_p)
custom_vjp_call_p.impl_takes_arrays = True

custom_lin_p = Primitive("custom_lin", multiple_results=True)
custom_lin_p.abstract_eval = lambda *avals, bwd, num_res, out_avals, name: list(out_avals)


def _custom_lin_impl(*args, bwd, num_res, out_avals, name):
    raise TypeError(f"forward-mode differentiation (jvp, jacfwd, hessian) of the custom_vjp "
                    f"function `{name}` is not supported: it only defines a VJP. Use "
                    "reverse mode (grad, vjp, jacrev) or define it with custom_jvp.")


def _custom_lin_transpose(cts, *args, bwd, num_res, out_avals, name):
    res = args[:num_res]
    cts = [instantiate_zeros(c) for c in cts]
    in_cts = bwd(*res, *cts)
    out = [None] * num_res
    for a, c in zip(args[num_res:], in_cts):
        if not is_undefined(a):
            out.append(None)
        elif c is None:
            out.append(Zero(a.aval))
        else:
            out.append(c)
    return out


custom_lin_p.impl = _custom_lin_impl
# jacfwd of a custom_vjp function batches this equation: the same clear error
custom_lin_p.batch = lambda size, vals, dims, **params: _custom_lin_impl(**params)
custom_lin_p.transpose = _custom_lin_transpose


def _cvjp_jvp(primals, tangents, fun, fwd, bwd, num_out, name, num_consts=0, **_):
    _check_closed_over_tangents(tangents, num_consts, "custom_vjp", name)
    outs = fwd(*primals)
    n = num_out()  # known once fwd has run
    out, res = outs[:n], outs[n:]
    ts = [instantiate_zeros(t) for t in tangents]
    t_out = custom_lin_p.bind(*res, *ts, bwd=bwd, num_res=len(res),
                              out_avals=tuple(get_aval(o).strip_weak() for o in out), name=name)
    return out, t_out


def _cvjp_pe(trace, args, params):
    with set_trace(trace):
        return params["fun"](*args)


def _cvjp_batch(size, vals, dims, fun, fwd, bwd, num_out, name, num_consts=0, **_):
    fun_b = lambda *a: vmap_flat(fun, a, dims, size, 0)
    fwd_b = lambda *a: vmap_flat(fwd, a, dims, size, 0)

    in_avals = []
    for v, d in zip(vals, dims):
        a = get_aval(v)
        in_avals.append(a if d is None else a.update(shape=a.shape[:d] + a.shape[d + 1:]))

    def bwd_b(*a):
        cts = vmap_flat(lambda *x: [instantiate_zeros(Zero(av) if c is None else c)
                                    for c, av in zip(bwd(*x), in_avals)], a, [0] * len(a), size, 0)
        out = []
        for c, d in zip(cts, dims):
            if d is None:
                out.append(P.reduce_sum(c, (0,)))
            else:
                out.append(moveaxis(c, 0, d))
        return out

    outs = custom_vjp_call_p.bind(*vals, fun=fun_b, fwd=fwd_b, bwd=bwd_b, num_out=num_out,
                                  name=name, num_consts=num_consts)
    return outs, [0] * len(outs)


custom_vjp_call_p.jvp = _cvjp_jvp
custom_vjp_call_p.partial_eval = _cvjp_pe
custom_vjp_call_p.batch = _cvjp_batch


def _ct_leaves(c, d, name):
    """Cotangent leaves of ``c`` for argument ``d``; ``None`` anywhere means zeros for that
    whole subtree (as in JAX)."""
    if c is None:
        return [None] * len(tree_util.leaves(d))
    cn, dn = tree_util.children(c), tree_util.children(d)
    if cn is None and dn is None:
        return [c]
    if cn is None or dn is None or cn[0] is not dn[0] or cn[1] != dn[1] or \
            len(cn[2]) != len(dn[2]):
        raise TypeError(f"custom_vjp bwd of `{name}` returned a cotangent of structure "
                        f"{tree_util.structure(c)} for an argument of structure "
                        f"{tree_util.structure(d)}")
    return [x for a, b in zip(cn[2], dn[2]) for x in _ct_leaves(a, b, name)]


class custom_vjp:
    """A function with a user-defined VJP: ``f.defvjp(fwd, bwd)``.

    ``fwd(*args) -> (out, residuals)``; ``bwd(*nondiff, residuals, cotangent) -> tuple`` with
    one cotangent (or None) per differentiable argument.

    >>> @fl.custom_vjp
    ... def clip_grad(x):
    ...     return x
    >>> clip_grad.defvjp(lambda x: (x, None), lambda res, g: (fnp.clip(g, -1, 1),))
    """

    def __init__(self, fun, nondiff_argnums=()):
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None
        functools.update_wrapper(self, fun, updated=())

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        name = fun_name(self.fun)
        if self.fwd is None:
            raise AttributeError(f"custom_vjp `{name}` has no VJP rule; define one with "
                                 "f.defvjp(fwd, bwd)")
        static, dyn, leaves, in_tree, full_args, flat_fun, store = _split_args(
            self.fun, self.nondiff_argnums, args)
        in_avals = [get_aval(x) for x in leaves]

        def flat_fwd(*xs):
            res = self.fwd(*full_args(tree_util.unflatten(in_tree, xs)))
            if not (isinstance(res, tuple) and len(res) == 2):
                raise TypeError(f"custom_vjp fwd of `{name}` must return (output, residuals)")
            out, r = res
            ol, store["tree"] = tree_util.flatten(out)
            rl, store["res_tree"] = tree_util.flatten(r)
            return [as_array(o) for o in ol] + [as_array(x) for x in rl]

        def flat_bwd(*xs):
            nres = store["res_tree"].num_leaves
            r = tree_util.unflatten(store["res_tree"], xs[:nres])
            ct = tree_util.unflatten(store["tree"], xs[nres:])
            cts = self.bwd(*[a for _, a in static], r, ct)
            if not isinstance(cts, (tuple, list)) or len(cts) != len(dyn):
                raise TypeError(f"custom_vjp bwd of `{name}` must return a tuple with one entry "
                                f"per differentiable argument ({len(dyn)}), got {cts!r:.80}")
            flat = []
            for c, d in zip(cts, dyn):
                flat.extend(_ct_leaves(c, d, name))
            return [None if c is None else P.convert(as_array(c), a.dtype)
                    for c, a in zip(flat, in_avals)]

        def num_out():
            # the output tree is recorded whenever fun or fwd runs; the rules ask after that
            return store["tree"].num_leaves

        consts, fun_cc = _closure_convert(flat_fun, in_avals)
        if fun_cc is not None:
            nc = len(consts)
            outs = custom_vjp_call_p.bind(*consts, *leaves, fun=fun_cc,
                                          fwd=_skip_consts(flat_fwd, nc, "fwd"),
                                          bwd=_skip_consts(flat_bwd, nc, "bwd"),
                                          num_out=num_out, name=name, num_consts=nc)
        else:
            outs = custom_vjp_call_p.bind(*leaves, fun=flat_fun, fwd=flat_fwd, bwd=flat_bwd,
                                          num_out=num_out, name=name)
        return tree_util.unflatten(store["tree"], outs)
