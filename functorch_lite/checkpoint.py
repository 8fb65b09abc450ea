"""``checkpoint`` (``remat``): a call primitive whose reverse mode saves only the inputs
and recomputes the primal work in the backward pass.

>>> f = fl.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
>>> fl.grad(lambda x: f(x).sum())(np.ones(3, np.float32))  # doctest: +SKIP
"""

from __future__ import annotations

import functools

from . import tree as tree_util
from .api_util import as_array
from .autodiff import backward_pass, call_abstract_eval, define_call_rules, partial_eval_jaxpr
from .batching import batch_jaxpr
from .core import Primitive, get_aval, set_trace
from .ir import ClosedJaxpr, dce
from .rules import is_undefined
from .staging import trace_to_jaxpr

remat_p = Primitive("checkpoint", multiple_results=True)
remat_p.impl = lambda *args, jaxpr: jaxpr.call(*args)
remat_p.abstract_eval = call_abstract_eval
define_call_rules(remat_p, lambda args, jaxpr: remat_p.bind(*args, jaxpr=jaxpr))


def _remat_partial_eval(trace, args, params):
    # Save only the inputs: known outputs are computed now, and the staged equation
    # recomputes the primal work from the inputs during the backward pass.
    jaxpr = params["jaxpr"]
    unknowns = tuple(trace.is_own(x) for x in args)
    known_j, _, out_unk, _, _ = partial_eval_jaxpr(jaxpr, unknowns)
    # run only the known part now (not the tangent work on zero-filled unknowns)
    n_known = sum(1 for u in out_unk if not u)
    kj, _ = dce(known_j.jaxpr, [i < n_known for i in range(len(known_j.jaxpr.outvars))])
    with set_trace(trace.parent):
        known = remat_p.bind(*[x for x, u in zip(args, unknowns) if not u],
                             jaxpr=ClosedJaxpr(kj, known_j.consts)) if n_known else []
    known = iter(known)
    known = [None if u else next(known) for u in out_unk]
    j, _ = dce(jaxpr.jaxpr, out_unk)
    staged = trace.stage(remat_p, list(args), {"jaxpr": ClosedJaxpr(j, jaxpr.consts)})
    it = iter(staged)
    return [next(it) if u else k for k, u in zip(known, out_unk)]


def _remat_transpose(cts, *args, jaxpr):
    res = backward_pass(jaxpr.jaxpr, jaxpr.consts, list(args), list(cts))
    it = iter(res)
    return [next(it) if is_undefined(a) else None for a in args]


def _remat_batch(size, vals, dims, jaxpr):
    batched, _ = batch_jaxpr(jaxpr, dims, size)
    outs = remat_p.bind(*vals, jaxpr=batched)
    return outs, [0] * len(outs)


remat_p.partial_eval = _remat_partial_eval
remat_p.transpose = _remat_transpose
remat_p.batch = _remat_batch


def checkpoint(fun, *, prevent_cse: bool = True, static_argnums=()):
    """Rematerialise ``fun`` in the backward pass: save its inputs, not its intermediates.

    ``static_argnums`` marks positional arguments passed through as Python values.
    ``prevent_cse`` is accepted for JAX compatibility: the recomputation lives inside the
    staged ``checkpoint`` equation, which no pass merges with the forward work, so it is
    never undone whatever the flag says.

    >>> f = fl.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> fl.grad(lambda x: f(x).sum())(np.ones(3, np.float32))  # doctest: +SKIP
    """
    if not isinstance(prevent_cse, bool):
        raise TypeError(f"checkpoint: prevent_cse must be a bool, got {prevent_cse!r}")
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

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

        closed = trace_to_jaxpr(flat, [get_aval(x) for x in leaves], kind="checkpoint")
        jaxpr, consts = closed.hoist_consts()
        outs = remat_p.bind(*consts, *leaves, jaxpr=jaxpr)
        return tree_util.unflatten(out_tree["t"], outs)

    return wrapped


remat = checkpoint
