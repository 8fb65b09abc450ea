"""``checkpoint`` (``remat``): a call primitive whose reverse mode saves only what its
``policy`` allows and recomputes the rest of the primal work in the backward pass.

Policies follow ``jax.checkpoint_policies``: ``policy(prim, *avals, **params) -> bool`` is
asked about each primal equation whose result the backward pass needs; True saves the
result, False recomputes it from the saved values and the checkpoint's inputs. The default
saves nothing (only the inputs). ``checkpoint_name(x, name)`` tags a value so that
``save_only_these_names`` and friends can refer to it.

>>> f = fl.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
>>> fl.grad(lambda x: f(x).sum())(np.ones(3, np.float32))  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable

from . import tree as tree_util
from .api_util import as_array, fun_name
from .autodiff import backward_pass, call_abstract_eval, define_call_rules, partial_eval_jaxpr
from .batching import batch_jaxpr
from .core import Primitive, get_aval, set_trace
from .ir import ClosedJaxpr, Jaxpr, dce, eval_jaxpr
from .primitives.elementwise import elementwise_batch
from .primitives.linalg import dot_general_p
from .rules import UndefinedPrimal, is_undefined
from .staging import trace_to_jaxpr

# --------------------------------------------------------------------------- names

name_p = Primitive("name")
name_p.impl = lambda x, name: x
name_p.abstract_eval = lambda x, name: x
# the tangent is not named: policies choose among primal values
name_p.jvp = lambda primals, tangents, name: (name_p.bind(primals[0], name=name), tangents[0])
elementwise_batch(name_p)


def checkpoint_name(x, name: str):
    """Tag ``x`` with ``name`` for checkpoint policies (the value is unchanged).

    >>> policy = fl.checkpoint_policies.save_only_these_names("hidden")
    >>> f = fl.checkpoint(lambda x: fnp.sin(fl.checkpoint_name(fnp.sin(x), "hidden")),
    ...                   policy=policy)
    """
    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: name must be a string, got {name!r}")
    return tree_util.map(lambda v: name_p.bind(as_array(v), name=name), x)


# --------------------------------------------------------------------------- policies


def _everything_saveable(prim, *_, **__):
    return True


def _nothing_saveable(prim, *_, **__):
    return False


def _dots_saveable(prim, *_, **__):
    return prim is dot_general_p


def _dots_with_no_batch_dims_saveable(prim, *_, **params):
    return prim is dot_general_p and not params["dimension_numbers"][1][0]


def _save_only_these_names(*names: str) -> Callable:
    names_ = frozenset(names)

    def policy(prim, *_, **params):
        return prim is name_p and params["name"] in names_

    return policy


def _save_any_names_but_these(*names: str) -> Callable:
    names_ = frozenset(names)

    def policy(prim, *_, **params):
        return prim is name_p and params["name"] not in names_

    return policy


def _save_anything_except_these_names(*names: str) -> Callable:
    names_ = frozenset(names)

    def policy(prim, *_, **params):
        return not (prim is name_p and params["name"] in names_)

    return policy


def _save_from_both_policies(policy_1: Callable, policy_2: Callable) -> Callable:
    def policy(prim, *avals, **params):
        return policy_1(prim, *avals, **params) or policy_2(prim, *avals, **params)

    return policy


checkpoint_policies = types.SimpleNamespace(
    everything_saveable=_everything_saveable,
    nothing_saveable=_nothing_saveable,
    dots_saveable=_dots_saveable,
    checkpoint_dots=_dots_saveable,
    dots_with_no_batch_dims_saveable=_dots_with_no_batch_dims_saveable,
    checkpoint_dots_with_no_batch_dims=_dots_with_no_batch_dims_saveable,
    save_only_these_names=_save_only_these_names,
    save_any_names_but_these=_save_any_names_but_these,
    save_anything_except_these_names=_save_anything_except_these_names,
    save_from_both_policies=_save_from_both_policies,
)
checkpoint_policies.__doc__ = """Policies for ``checkpoint(fun, policy=...)`` (JAX's names):
which primal values the forward pass saves for the backward pass."""

# --------------------------------------------------------------------------- remat_p

remat_p = Primitive("checkpoint", multiple_results=True)
remat_p.impl = lambda *args, jaxpr, policy=None: jaxpr.call(*args)
remat_p.abstract_eval = call_abstract_eval
define_call_rules(remat_p, lambda args, jaxpr, **params: remat_p.bind(*args, jaxpr=jaxpr, **params))


def _saveable(jaxpr: Jaxpr, policy) -> list:
    """Results of the equations of ``jaxpr`` that ``policy`` lets the forward pass keep."""
    if policy is None:
        return []
    out = []
    for e in jaxpr.eqns:
        if policy(e.prim, *[v.aval for v in e.invars], **e.params):
            out.extend(e.outvars)
    return out


def _remat_partial_eval(trace, args, params):
    # Known outputs and the values the policy saves are computed now; the staged equation
    # recomputes everything else the backward pass needs from those and the inputs.
    jaxpr, policy = params["jaxpr"], params.get("policy")
    unknowns = tuple(trace.is_own(x) for x in args)
    known, unknown, out_unk, n_res, _ = partial_eval_jaxpr(jaxpr, unknowns)
    kj = known.jaxpr
    n_known = len(kj.outvars) - n_res
    res_vars = kj.outvars[n_known:]
    saved = _saveable(kj, policy)
    n_saved = len(saved)

    def recompute(*xs):
        a = xs[n_saved:]
        given = {id(v): x for v, x in zip(saved, xs[:n_saved])}
        res = eval_jaxpr(kj, known.consts, [x for x, u in zip(a, unknowns) if not u], given,
                         res_vars)
        return unknown.call(*res, *[x for x, u in zip(a, unknowns) if u])

    rec = trace_to_jaxpr(recompute, [v.aval for v in saved] + [get_aval(x) for x in args],
                         kind="checkpoint")
    # keep only the saved values the recomputation reads
    _, used = dce(rec.jaxpr)
    keep = [i for i in range(n_saved) if used[i]]
    rj = rec.jaxpr
    rec = ClosedJaxpr(Jaxpr(rj.constvars, [rj.invars[i] for i in keep] + rj.invars[n_saved:],
                            rj.eqns, rj.outvars), rec.consts)
    rec, rec_consts = rec.hoist_consts()
    kept_saved = [saved[i] for i in keep]
    # run the known part now: the known outputs and the saved values, nothing else
    kdone, _ = dce(Jaxpr(kj.constvars, kj.invars, kj.eqns, kj.outvars[:n_known] + kept_saved))
    with set_trace(trace.parent):
        vals = remat_p.bind(*[x for x, u in zip(args, unknowns) if not u],
                            jaxpr=ClosedJaxpr(kdone, known.consts), policy=policy) \
            if kdone.outvars else []
    known_outs, saved_vals = vals[:n_known], vals[n_known:]
    staged = trace.stage(remat_p, list(rec_consts) + list(saved_vals) + list(args),
                         {"jaxpr": rec, "policy": policy})
    ko, it = iter(known_outs), iter(staged)
    return [next(it) if u else next(ko) for u in out_unk]


def _remat_transpose(cts, *args, jaxpr, policy=None):
    # The staged program mixes primal recomputation with linear work, and a nested
    # checkpoint inside it is one equation with both primal and linear outputs. Split it
    # on the linear inputs first: the known part is the recomputation (run now, in the
    # backward pass), the unknown part is purely linear and is what gets transposed.
    linear = tuple(is_undefined(a) for a in args)
    known, unknown, out_unk, n_res, _ = partial_eval_jaxpr(jaxpr, linear)
    kouts = known.call(*[a for a in args if not is_undefined(a)])
    residuals = kouts[len(kouts) - n_res:] if n_res else []
    lin_args = [UndefinedPrimal(a.aval) for a in args if is_undefined(a)]
    lin_cts = [c for c, u in zip(cts, out_unk) if u]
    res = backward_pass(unknown.jaxpr, unknown.consts, list(residuals) + lin_args, lin_cts)
    it = iter(res)
    return [next(it) if is_undefined(a) else None for a in args]


def _remat_batch(size, vals, dims, jaxpr, policy=None):
    batched, _ = batch_jaxpr(jaxpr, dims, size)
    outs = remat_p.bind(*vals, jaxpr=batched, policy=policy)
    return outs, [0] * len(outs)


remat_p.partial_eval = _remat_partial_eval
remat_p.transpose = _remat_transpose
remat_p.batch = _remat_batch


def checkpoint(fun: Callable, *, prevent_cse: bool = True, static_argnums=(),
               policy: Callable | None = None) -> Callable:
    """Rematerialise ``fun`` in the backward pass: save its inputs (and what ``policy``
    allows, see ``fl.checkpoint_policies``), recompute the other intermediates.

    ``static_argnums`` marks positional arguments passed through as Python values.
    ``prevent_cse`` is accepted for JAX compatibility: the recomputation lives inside the
    staged ``checkpoint`` equation, which no pass merges with the forward work, so it is
    never undone whatever the flag says.

    >>> f = fl.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> fl.grad(lambda x: f(x).sum())(np.ones(3, np.float32))  # doctest: +SKIP
    """
    if not isinstance(prevent_cse, bool):
        raise TypeError(f"checkpoint: prevent_cse must be a bool, got {prevent_cse!r}")
    if policy is not None and not callable(policy):
        raise TypeError(f"checkpoint: policy must be a function (see fl.checkpoint_policies), "
                        f"got {policy!r}")
    if policy is _nothing_saveable:
        policy = None
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    name = fun_name(fun)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        static = {i % len(args) for i in nums if -len(args) <= i < len(args)}
        dyn = [a for i, a in enumerate(args) if i not in static]
        leaves, in_tree = tree_util.flatten((dyn, kwargs))
        leaves = [as_array(x) for x in leaves]
        out_tree = {}

        def flat(*xs):
            d, kw = tree_util.unflatten(in_tree, xs)
            it = iter(d)
            out = fun(*[args[i] if i in static else next(it) for i in range(len(args))], **kw)
            ol, out_tree["t"] = tree_util.flatten(out)
            return ol

        closed = trace_to_jaxpr(flat, [get_aval(x) for x in leaves], fun_name=name,
                                kind="checkpoint")
        jaxpr, consts = closed.hoist_consts()
        outs = remat_p.bind(*consts, *leaves, jaxpr=jaxpr, policy=policy)
        return tree_util.unflatten(out_tree["t"], outs)

    return wrapped


remat = checkpoint
