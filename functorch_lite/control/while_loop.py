"""``while_loop``: the ``while`` primitive, its transform rules and the user-facing function.

The primitive carries a ``cond`` jaxpr and a ``body`` jaxpr, with rules for

* JVP: tangents ride along in the carry (a fixpoint over the body decides which carries
  get one);
* batching: a batched predicate keeps looping while any lane is active, and finished
  lanes keep their value.

Reverse mode needs a static trip count, which a while loop does not have: its partial-eval
rule raises, pointing to ``fori_loop`` with Python-int bounds or ``scan``. A weakly typed
carry (``init_val=0.0``) adopts the dtype the body returns for it, as in JAX.
"""

from __future__ import annotations

import numpy as np

from .. import primitives as P
from .. import tree as tree_util
from ..api_util import as_array, fun_name
from ..autodiff import jvp_jaxpr
from ..batching import batch_jaxpr
from ..core import Primitive, get_aval
from ..placement import as_ndarray
from ..primitives.shape import bdim_to_front, instantiate_zeros
from ..rules import Zero
from ..staging import trace_to_jaxpr
from .common import (
    CarryTypeError,
    avals_str,
    carry_fixpoint,
    is_weak,
    promote_weak,
    same_types,
    trace_fn,
)

while_p = Primitive("while", multiple_results=True)


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc = list(args[:cond_nconsts])
    bc = list(args[cond_nconsts:cond_nconsts + body_nconsts])
    carry = list(args[cond_nconsts + body_nconsts:])
    while bool(cond_jaxpr.call(*cc + carry)[0]):
        carry = body_jaxpr.call(*bc + carry)
    return [as_ndarray(c) for c in carry]


def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    return [a.strip_weak() for a in body_jaxpr.out_avals]


def _while_jvp(primals, tangents, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    nc, nb = cond_nconsts, body_nconsts
    cc, bc, init = primals[:nc], primals[nc:nc + nb], primals[nc + nb:]
    bct, initt = tangents[nc:nc + nb], tangents[nc + nb:]
    bc_nz = [type(t) is not Zero for t in bct]
    carry_nz = [type(t) is not Zero for t in initt]
    # which carries get a tangent
    carry_nz = carry_fixpoint(carry_nz, lambda nz: jvp_jaxpr(body_jaxpr, bc_nz + nz, nz)[1])
    body_jvp, _ = jvp_jaxpr(body_jaxpr, bc_nz + carry_nz, carry_nz)
    nbt = sum(bc_nz)
    bc_avals = body_jaxpr.in_avals[:nb]
    carry_avals = body_jaxpr.in_avals[nb:]
    bct_avals = [a.strip_weak() for a, z in zip(bc_avals, bc_nz) if z]
    ct_avals = [a.strip_weak() for a, z in zip(carry_avals, carry_nz) if z]

    def body(*a):  # (bc, bc_t, carry, carry_t) -> (carry, carry_t)
        b, bt = a[:nb], a[nb:nb + nbt]
        c, ct = a[nb + nbt:nb + nbt + len(carry_avals)], a[nb + nbt + len(carry_avals):]
        return body_jvp.call(*list(b) + list(c) + list(bt) + list(ct))

    def cond_fn(*a):  # (cc, carry, carry_t) -> pred
        return cond_jaxpr.call(*list(a[:nc]) + list(a[nc:nc + len(carry_avals)]))

    new_body = trace_to_jaxpr(body, list(bc_avals) + bct_avals + list(carry_avals) + ct_avals)
    new_cond = trace_to_jaxpr(cond_fn, list(cond_jaxpr.in_avals) + ct_avals)
    ct_init = [instantiate_zeros(t) for t, z in zip(initt, carry_nz) if z]
    outs = while_p.bind(*cc, *bc, *[t for t in bct if type(t) is not Zero], *init, *ct_init,
                        cond_jaxpr=new_cond, body_jaxpr=new_body, cond_nconsts=nc,
                        body_nconsts=nb + nbt)
    n = len(init)
    it = iter(outs[n:])
    return outs[:n], [next(it) if z else Zero(a.strip_weak()) for z, a in
                      zip(carry_nz, carry_avals)]


def _while_partial_eval(trace, args, params):
    raise TypeError(
        "Reverse-mode differentiation (grad/vjp) does not work through lax.while_loop, whose "
        "trip count is only known at run time. Use lax.fori_loop with Python-int bounds "
        "(it becomes a scan) or lax.scan; forward mode (jvp/jacfwd) does work.")


def _while_batch(size, vals, dims, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    nc, nb = cond_nconsts, body_nconsts
    cc, bc, init = vals[:nc], vals[nc:nc + nb], vals[nc + nb:]
    ccd, bcd, initd = dims[:nc], dims[nc:nc + nb], dims[nc + nb:]
    n = len(init)
    carry_b = carry_fixpoint(  # which carries get a batch axis
        [d is not None for d in initd],
        lambda cb: batch_jaxpr(body_jaxpr, list(bcd) + [0 if b else None for b in cb], size,
                               [False] * n)[1])
    _, pred_b = batch_jaxpr(cond_jaxpr, list(ccd) + [0 if b else None for b in carry_b],
                                  size, [False])
    if pred_b[0]:
        carry_b = [True] * n
    cdims = [0 if b else None for b in carry_b]
    carry = [bdim_to_front(x, d, size) if b else x for x, d, b in zip(init, initd, carry_b)]
    body_b, _ = batch_jaxpr(body_jaxpr, list(bcd) + cdims, size, carry_b)
    cond_b, _ = batch_jaxpr(cond_jaxpr, list(ccd) + cdims, size, pred_b)
    if not pred_b[0]:
        outs = while_p.bind(*cc, *bc, *carry, cond_jaxpr=cond_b, body_jaxpr=body_b,
                            cond_nconsts=nc, body_nconsts=nb)
        return outs, cdims
    # batched predicate: loop while any lane runs; finished lanes keep their carry
    cc_avals = cond_b.in_avals[:nc]
    bc_avals = body_b.in_avals[:nb]
    carry_avals = body_b.in_avals[nb:]

    def cond_any(*a):
        return [P.reduce_or(cond_b.call(*a)[0], (0,))]

    def body_masked(*a):
        c_consts, b_consts, cur = a[:nc], a[nc:nc + nb], a[nc + nb:]
        p = cond_b.call(*list(c_consts) + list(cur))[0]
        new = body_b.call(*list(b_consts) + list(cur))
        return [P.select(P.broadcast_in_dim(p, get_aval(x).shape, (0,)), y, x)
                for x, y in zip(cur, new)]

    cond2 = trace_to_jaxpr(cond_any, list(cc_avals) + list(carry_avals))
    body2 = trace_to_jaxpr(body_masked, list(cc_avals) + list(bc_avals) + list(carry_avals))
    outs = while_p.bind(*cc, *cc, *bc, *carry, cond_jaxpr=cond2, body_jaxpr=body2,
                        cond_nconsts=nc, body_nconsts=nc + nb)
    return outs, cdims


while_p.impl = _while_impl
while_p.abstract_eval = _while_abstract_eval
while_p.jvp = _while_jvp
while_p.partial_eval = _while_partial_eval
while_p.batch = _while_batch


def while_loop(cond_fun, body_fun, init_val):
    """Repeat ``val = body_fun(val)`` while ``cond_fun(val)``; returns the final ``val``.

    Differentiable in forward mode; batchable (a batched predicate runs until every lane
    is done). For reverse mode use ``fori_loop`` with static bounds or ``scan``.

    >>> fl.lax.while_loop(lambda i: i < 10, lambda i: i + 1, 0)  # doctest: +SKIP
    array(10)
    """
    leaves, tree = tree_util.flatten(init_val)
    arg_tree = tree_util.structure((init_val,))
    leaves = [as_array(x) for x in leaves]
    avals = [get_aval(x).strip_weak() for x in leaves]
    weak = [is_weak(x) for x in tree_util.leaves(init_val)]
    for _ in range(3):
        bj, btree, _ = trace_fn(body_fun, arg_tree, avals, "lax.while_loop body_fun")
        promoted = promote_weak(avals, weak, bj.out_avals) if btree == tree else None
        if promoted is None:
            break
        avals = promoted
    cj, ctree, _ = trace_fn(cond_fun, arg_tree, avals, "lax.while_loop cond_fun")
    oa = cj.out_avals
    if ctree.num_leaves != 1 or oa[0].shape != () or oa[0].dtype != np.bool_:
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got "
                        f"{avals_str(oa)}")
    if btree != tree or not same_types(bj.out_avals, avals):
        raise CarryTypeError(
            f"while_loop: body_fun `{fun_name(body_fun)}` must return the same structure and "
            f"types as init_val: init_val is {tree} {avals_str(avals)}, body_fun returns "
            f"{btree} {avals_str(bj.out_avals)}")
    cj, cc = cj.hoist_consts()
    bj, bc = bj.hoist_consts()
    outs = while_p.bind(*cc, *bc, *[P.convert(x, a.dtype) for x, a in zip(leaves, avals)],
                        cond_jaxpr=cj, body_jaxpr=bj, cond_nconsts=len(cc), body_nconsts=len(bc))
    return tree_util.unflatten(tree, outs)
