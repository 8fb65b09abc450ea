"""``cond`` and ``switch``: the ``cond`` primitive, its transform rules and the user-facing
functions.

The primitive carries one jaxpr per branch and picks one by an integer index (clamped into
range), with rules for every transform:

* JVP and batching transform every branch, giving them all the output tangents / batch
  axes that any one of them has.
* Reverse mode partially evaluates each branch: residuals equal to a known operand are
  forwarded, the others travel out of one known ``cond`` in slots shared between branches
  by type; the unknown ``cond`` is then transposed branch by branch.
* A *batched* index turns the cond into a select: every branch runs on every lane.

Weakly typed branch outputs (a branch returning ``0.0``) join the other branches' dtype,
as in JAX.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .. import primitives as P
from .. import tree as tree_util
from ..api_util import as_array
from ..autodiff import jvp_jaxpr, partial_eval_jaxpr, transpose_jaxpr
from ..batching import batch_jaxpr
from ..core import Primitive, ShapedArray, get_aval, set_trace
from ..ir import ClosedJaxpr, Jaxpr, Var
from ..placement import as_ndarray
from ..primitives.shape import instantiate_zeros, moveaxis
from ..rules import Zero, is_undefined
from ..staging import trace_to_jaxpr
from .common import avals_str, same_types, trace_fn

cond_p = Primitive("cond", multiple_results=True)


def _any_branch(flags):
    """Per output, whether any branch sets its flag (``flags``: one list per branch)."""
    return [any(fs) for fs in zip(*flags)]


def _cond_impl(index, *args, branches):
    i = min(max(int(index), 0), len(branches) - 1)
    return [as_ndarray(o) for o in branches[i].call(*args)]


def _cond_abstract_eval(index, *avals, branches):
    if index.shape != () or not dtypes.is_int(index.dtype):
        raise TypeError(f"cond: the branch index must be an integer scalar, got "
                        f"{index.str_short()}")
    return [a.strip_weak() for a in branches[0].out_avals]


def _cond_jvp(primals, tangents, branches):
    index, *ops = primals
    ts = tangents[1:]
    nz = tuple(type(t) is not Zero for t in ts)
    n_out = len(branches[0].out_avals)
    first = [jvp_jaxpr(b, nz, [False] * n_out) for b in branches]
    out_nz = _any_branch(bnz for _, bnz in first)
    # a branch whose tangent outputs already match is not traced again
    new = tuple(j if bnz == out_nz else jvp_jaxpr(b, nz, out_nz)[0]
                for b, (j, bnz) in zip(branches, first))
    outs = cond_p.bind(index, *ops, *[t for t in ts if type(t) is not Zero], branches=new)
    it = iter(outs[n_out:])
    touts = [next(it) if z else Zero(a.strip_weak()) for z, a in
             zip(out_nz, branches[0].out_avals)]
    return outs[:n_out], touts


def _cond_partial_eval(trace, args, params):
    branches = params["branches"]
    index, *ops = args
    if trace.is_own(index):
        return trace.stage(cond_p, list(args), params)
    unk = tuple(trace.is_own(x) for x in ops)
    n_out = len(branches[0].out_avals)
    out_unk = _any_branch(partial_eval_jaxpr(b, unk)[2] for b in branches)
    splits = [partial_eval_jaxpr(b, unk, out_unk) for b in branches]
    n_known = n_out - sum(out_unk)
    known_ops = [x for x, u in zip(ops, unk) if not u]
    unk_ops = [x for x, u in zip(ops, unk) if u]
    # Residuals identical to a known operand are forwarded to the unknown cond directly;
    # the others travel out of the known cond in slots shared between branches by type
    # (a branch fills the slots of the others with zeros).
    fwd = sorted({s for *_, src in splits for s in src if s is not None})
    slots: list[ShapedArray] = []
    where = []  # per branch, per residual: ("f", position in fwd) or ("s", slot)
    for known, _, _, _, src in splits:
        used, w = set(), []
        for v, s_ in zip(known.jaxpr.outvars[n_known:], src):
            if s_ is not None:
                w.append(("f", fwd.index(s_)))
                continue
            a = v.aval.strip_weak()
            k = next((k for k, sa in enumerate(slots) if k not in used
                      and sa.shape == a.shape and sa.dtype == a.dtype), None)
            if k is None:
                slots.append(a)
                k = len(slots) - 1
            used.add(k)
            w.append(("s", k))
        where.append(w)
    fwd_ops = [known_ops[s_] for s_ in fwd]

    def known_branch(i):
        def f(*kin):
            outs = splits[i][0].call(*kin)
            vals: list = [None] * len(slots)
            for (kind, k), r in zip(where[i], outs[n_known:]):
                if kind == "s":
                    vals[k] = r
            pad = [P.zeros_like_aval(a) if v is None else v for v, a in zip(vals, slots)]
            return outs[:n_known] + pad
        return trace_to_jaxpr(f, [get_aval(x) for x in known_ops], kind="partial eval")

    n_s, n_f = len(slots), len(fwd_ops)

    def unknown_branch(i):
        def f(*a):
            sl, fw, rest = a[:n_s], a[n_s:n_s + n_f], list(a[n_s + n_f:])
            res = [sl[k] if kind == "s" else fw[k] for kind, k in where[i]]
            return splits[i][1].call(*res + rest)
        return trace_to_jaxpr(f, slots + [get_aval(x) for x in fwd_ops]
                              + [get_aval(x) for x in unk_ops], kind="partial eval")

    kb = tuple(known_branch(i) for i in range(len(branches)))
    ub = tuple(unknown_branch(i) for i in range(len(branches)))
    with set_trace(trace.parent):
        kouts = cond_p.bind(index, *known_ops, branches=kb)
    known_outs, residuals = kouts[:n_known], kouts[n_known:]
    uouts = trace.stage(cond_p, [index] + list(residuals) + fwd_ops + unk_ops,
                        {"branches": ub})
    ki, ui = iter(known_outs), iter(uouts)
    return [next(ui) if u else next(ki) for u in out_unk]


def _cond_transpose(cts, index, *ops, branches):
    if is_undefined(index):
        raise TypeError("cond: the branch index cannot be linear")
    linear = tuple(is_undefined(x) for x in ops)
    cts = [instantiate_zeros(c) for c in cts]
    tb = tuple(transpose_jaxpr(b, linear) for b in branches)
    nonlin = [x for x in ops if not is_undefined(x)]
    res = iter(cond_p.bind(index, *nonlin, *cts, branches=tb))
    return [None] + [next(res) if lin else None for lin in linear]


def _cond_batch(size, vals, dims, branches):
    index, *ops = vals
    idim, *odims = dims
    n_out = len(branches[0].out_avals)
    if idim is not None:
        # a batched predicate: run every branch and select per lane
        per_branch = []
        for b in branches:
            j, _ = batch_jaxpr(b, odims, size, [True] * n_out)
            per_branch.append(j.call(*ops))
        idx = moveaxis(index, idim, 0)
        idx = P.max(P.min(idx, P.full_like(idx, len(branches) - 1)), P.zeros_like(idx))
        outs = []
        for k in range(n_out):
            shape = get_aval(per_branch[0][k]).shape
            which = P.broadcast_in_dim(idx, shape, (0,))
            if len(branches) == 2:
                which = P.ne(which, P.zeros_like(which))
            outs.append(P.select_n(which, *[pb[k] for pb in per_branch]))
        return outs, [0] * n_out
    out_b = _any_branch(batch_jaxpr(b, odims, size, [False] * n_out)[1] for b in branches)
    new = tuple(batch_jaxpr(b, odims, size, out_b)[0] for b in branches)
    outs = cond_p.bind(index, *ops, branches=new)
    return outs, [0 if b else None for b in out_b]


cond_p.impl = _cond_impl
cond_p.abstract_eval = _cond_abstract_eval
cond_p.jvp = _cond_jvp
cond_p.partial_eval = _cond_partial_eval
cond_p.transpose = _cond_transpose
cond_p.batch = _cond_batch


def _join_weak(traced):
    """Output dtypes that make branches agree when they differ only in weakly typed
    leaves (a branch returning ``0.0`` next to one returning a float64 array), else None."""
    outs = [t.out_avals for t, _, _ in traced]
    weaks = [w for _, _, w in traced]
    if len({tr for _, tr, _ in traced}) != 1 or len({len(o) for o in outs}) != 1:
        return None
    targets, changed = [], False
    for k in range(len(outs[0])):
        avs = [o[k] for o in outs]
        if len({a.shape for a in avs}) != 1:
            return None
        if len({a.dtype for a in avs}) == 1:
            targets.append(None)
            continue
        strong = {a.dtype for a, w in zip(avs, (w[k] for w in weaks)) if not w}
        if len(strong) > 1:
            return None
        if strong:
            target = strong.pop()
        else:
            target = dtypes.promote([a.dtype for a in avs], [True] * len(avs))[0]
        if any(dtypes.kind_rank(a.dtype) > dtypes.kind_rank(target)
               for a in avs):
            return None  # never narrow the kind (e.g. float -> int)
        targets.append(target)
        changed = True
    return targets if changed else None


def _switch(idx, branches, operands, names):
    leaves, in_tree = tree_util.flatten(operands)
    leaves = [as_array(x) for x in leaves]
    avals = [get_aval(x) for x in leaves]
    traced = [trace_fn(b, in_tree, avals, "lax.cond branch") for b in branches]
    if len(branches) > 1:
        targets = _join_weak(traced)
        if targets is not None:
            traced = [trace_fn(b, in_tree, avals, "lax.cond branch", targets)
                      for b in branches]
    t0, tree0, _ = traced[0]
    for (ti, treei, _), nm in zip(traced[1:], names[1:]):
        if treei != tree0 or not same_types(t0.out_avals, ti.out_avals):
            raise TypeError(
                f"cond/switch: branch outputs must have the same structure, shapes and dtypes, "
                f"but {names[0]} returns {tree0} {avals_str(t0.out_avals)} and {nm} returns "
                f"{treei} {avals_str(ti.out_avals)}")
    opened = [t.hoist_consts() for t, _, _ in traced]
    const_avals = [[v.aval for v in t.jaxpr.constvars] for t, _, _ in traced]
    all_consts = [c for _, cs in opened for c in cs]
    jaxprs = []
    for i, (j, _) in enumerate(opened):
        pre = [Var(a) for k in range(i) for a in const_avals[k]]
        post = [Var(a) for k in range(i + 1, len(opened)) for a in const_avals[k]]
        jj = j.jaxpr
        nci = len(const_avals[i])
        jaxprs.append(ClosedJaxpr(Jaxpr([], pre + jj.invars[:nci] + post + jj.invars[nci:],
                                        jj.eqns, jj.outvars), []))
    outs = cond_p.bind(idx, *all_consts, *leaves, branches=tuple(jaxprs))
    return tree_util.unflatten(tree0, outs)


def switch(index, branches, *operands):
    """Apply ``branches[index](*operands)``; ``index`` is clamped into range.

    >>> fl.lax.switch(1, [lambda x: x + 1, lambda x: x * 2], 3.0)  # doctest: +SKIP
    array(6., dtype=float32)
    """
    branches = list(branches)
    if not branches:
        raise ValueError("switch: needs at least one branch")
    idx = as_array(index)
    ia = get_aval(idx)
    if ia.shape != ():
        raise TypeError(f"switch: index must be a scalar, got {ia.str_short()}")
    if not dtypes.is_int(ia.dtype):
        idx = P.convert(idx, np.int32)
    return _switch(idx, branches, operands, [f"branch {i}" for i in range(len(branches))])


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands) if pred else false_fun(*operands)``, traceable.

    Under ``vmap`` with a batched ``pred`` both branches run and the results are selected
    per lane (so both must be safe to evaluate on every lane).

    >>> fl.lax.cond(x > 0, lambda x: x, lambda x: -x, x)  # doctest: +SKIP
    """
    p = as_array(pred)
    pa = get_aval(p)
    if pa.shape != ():
        raise TypeError(f"cond: pred must be a scalar, got {pa.str_short()}; for elementwise "
                        "choices use fnp.where")
    if pa.dtype != np.bool_:
        p = P.ne(p, P.zeros_like(p))
    idx = P.convert(p, np.int32)
    return _switch(idx, [false_fun, true_fun], operands, ["false_fun", "true_fun"])
