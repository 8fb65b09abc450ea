"""Structured control flow: ``cond``/``switch``, ``while_loop``, ``fori_loop``, ``scan``, ``map``.

Each is a primitive carrying its body as a jaxpr, with rules for every transform:

* ``cond``: JVP and batching of the branches; reverse mode by partially evaluating each
  branch: residuals equal to a known operand are forwarded, the others travel out of one
  known ``cond`` in slots shared between branches by type; the unknown ``cond`` is then
  transposed branch by branch. A *batched* predicate turns the cond into a select: every
  branch runs.
* ``while_loop``: JVP (tangents ride along in the carry) and batching (a batched predicate
  keeps looping while any lane is active, and finished lanes keep their value). Reverse
  mode needs a static trip count: use ``fori_loop`` with Python-int bounds or ``scan``.
* ``scan``: JVP, partial evaluation (residuals that depend only on consts are computed
  once, outside the loop; the others are stacked per iteration), transpose (a reversed
  scan; symbolic-zero ``ys`` cotangents are not materialised) and batching.

Weakly typed loop carries (``init=0.0``) adopt the dtype the body returns for them, and
weakly typed branch outputs join the other branches' dtype, as in JAX.
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from . import primitives as P
from . import tree as tree_util
from .api_util import as_array, fun_name
from .autodiff import jvp_jaxpr, partial_eval_jaxpr, transpose_jaxpr
from .batching import batch_jaxpr
from .core import Primitive, ShapedArray, Tracer, get_aval, set_trace
from .ir import ClosedJaxpr, Jaxpr, Var, dce
from .primitives.shape import bdim_to_front, instantiate_zeros, moveaxis
from .rules import Zero, is_undefined
from .staging import trace_to_jaxpr

# --------------------------------------------------------------------------- jaxpr helpers


def _leaf_weak(x):
    if isinstance(x, Tracer):
        return bool(x.aval.weak_type)
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def _trace_fn(fun, in_tree, avals, kind, out_dtypes=None):
    """Trace ``fun`` on ``avals``; returns (closed jaxpr, output tree, which output leaves
    are weakly typed). ``out_dtypes`` converts the outputs (joins weak branch outputs)."""
    store = {}

    def flat(*xs):
        out = fun(*tree_util.unflatten(in_tree, xs))
        ol, store["tree"] = tree_util.flatten(out)
        store["weak"] = [_leaf_weak(o) for o in ol]
        ol = [as_array(o) for o in ol]
        if out_dtypes is not None:
            ol = [o if d is None or get_aval(o).dtype == d else P.convert(o, d)
                  for o, d in zip(ol, out_dtypes)]
        return ol

    closed = trace_to_jaxpr(flat, avals, fun_name=fun_name(fun), kind=kind)
    return closed, store["tree"], store["weak"]


def _avals_str(avals):
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _same_types(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype
                                    for x, y in zip(a, b))


def _weak_flags(raw_leaves):
    """Which loop-carry leaves are weakly typed (Python scalars, weak tracers)."""
    out = []
    for x in raw_leaves:
        if isinstance(x, Tracer):
            out.append(bool(x.aval.weak_type))
        else:
            out.append(isinstance(x, (bool, int, float, complex))
                       and not isinstance(x, np.generic))
    return out


def _promote_weak(avals, weak, out_avals):
    """Like JAX: a weakly typed carry (``init=0.0``) adopts the dtype the body returns for
    it, when the shape agrees and the kind does not narrow. Returns new avals or None."""
    if len(avals) != len(out_avals):
        return None
    new, changed = [], False
    for a, w, o in zip(avals, weak, out_avals):
        if (w and o.shape == a.shape and o.dtype != a.dtype
                and dtypes.kind_rank(o.dtype) >= dtypes.kind_rank(a.dtype)):
            new.append(ShapedArray(a.shape, o.dtype))
            changed = True
        else:
            new.append(a)
    return new if changed else None


# --------------------------------------------------------------------------- cond / switch

cond_p = Primitive("cond", multiple_results=True)


def _cond_impl(index, *args, branches):
    i = int(np.clip(np.asarray(index), 0, len(branches) - 1))
    return [np.asarray(o) for o in branches[i].call(*args)]


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
    out_nz = [False] * n_out
    first = [jvp_jaxpr(b, nz, [False] * n_out) for b in branches]
    for _, bnz in first:
        out_nz = [x or y for x, y in zip(out_nz, bnz)]
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
    out_unk = [False] * n_out
    for b in branches:
        out_unk = [x or y for x, y in zip(out_unk, partial_eval_jaxpr(b, unk)[2])]
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
    out_b = [False] * n_out
    for b in branches:
        out_b = [x or y for x, y in zip(out_b, batch_jaxpr(b, odims, size,
                                                                  [False] * n_out)[1])]
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
    traced = [_trace_fn(b, in_tree, avals, "lax.cond branch") for b in branches]
    if len(branches) > 1:
        targets = _join_weak(traced)
        if targets is not None:
            traced = [_trace_fn(b, in_tree, avals, "lax.cond branch", targets)
                      for b in branches]
    t0, tree0, _ = traced[0]
    for (ti, treei, _), nm in zip(traced[1:], names[1:]):
        if treei != tree0 or not _same_types(t0.out_avals, ti.out_avals):
            raise TypeError(
                f"cond/switch: branch outputs must have the same structure, shapes and dtypes, "
                f"but {names[0]} returns {tree0} {_avals_str(t0.out_avals)} and {nm} returns "
                f"{treei} {_avals_str(ti.out_avals)}")
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


# --------------------------------------------------------------------------- while_loop


class _CarryTypeError(TypeError):
    """A loop body returned a carry of another structure or type than its init."""


while_p = Primitive("while", multiple_results=True)


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc = list(args[:cond_nconsts])
    bc = list(args[cond_nconsts:cond_nconsts + body_nconsts])
    carry = list(args[cond_nconsts + body_nconsts:])
    while bool(np.asarray(cond_jaxpr.call(*cc + carry)[0])):
        carry = body_jaxpr.call(*bc + carry)
    return [np.asarray(c) for c in carry]


def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    return [a.strip_weak() for a in body_jaxpr.out_avals]


def _while_jvp(primals, tangents, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    nc, nb = cond_nconsts, body_nconsts
    cc, bc, init = primals[:nc], primals[nc:nc + nb], primals[nc + nb:]
    bct, initt = tangents[nc:nc + nb], tangents[nc + nb:]
    bc_nz = [type(t) is not Zero for t in bct]
    carry_nz = [type(t) is not Zero for t in initt]
    while True:  # which carries get a tangent: a fixpoint over the body
        body_jvp, out_nz = jvp_jaxpr(body_jaxpr, bc_nz + carry_nz, carry_nz)
        new = [a or b for a, b in zip(carry_nz, out_nz)]
        if new == carry_nz:
            break
        carry_nz = new
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
    carry_b = [d is not None for d in initd]
    while True:
        _, out_b = batch_jaxpr(body_jaxpr, list(bcd) + [0 if b else None for b in carry_b],
                                     size, [False] * n)
        new = [a or b for a, b in zip(carry_b, out_b)]
        if new == carry_b:
            break
        carry_b = new
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
    weak = _weak_flags(tree_util.leaves(init_val))
    for _ in range(3):
        bj, btree, _ = _trace_fn(body_fun, arg_tree, avals, "lax.while_loop body_fun")
        promoted = _promote_weak(avals, weak, bj.out_avals) if btree == tree else None
        if promoted is None:
            break
        avals = promoted
    cj, ctree, _ = _trace_fn(cond_fun, arg_tree, avals, "lax.while_loop cond_fun")
    oa = cj.out_avals
    if ctree.num_leaves != 1 or oa[0].shape != () or oa[0].dtype != np.bool_:
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got "
                        f"{_avals_str(oa)}")
    if btree != tree or not _same_types(bj.out_avals, avals):
        raise _CarryTypeError(
            f"while_loop: body_fun `{fun_name(body_fun)}` must return the same structure and "
            f"types as init_val: init_val is {tree} {_avals_str(avals)}, body_fun returns "
            f"{btree} {_avals_str(bj.out_avals)}")
    cj, cc = cj.hoist_consts()
    bj, bc = bj.hoist_consts()
    outs = while_p.bind(*cc, *bc, *[P.convert(x, a.dtype) for x, a in zip(leaves, avals)],
                        cond_jaxpr=cj, body_jaxpr=bj, cond_nconsts=len(cc), body_nconsts=len(bc))
    return tree_util.unflatten(tree, outs)


def _is_static_int(x):
    if isinstance(x, Tracer):
        return False
    return isinstance(x, (int, np.integer)) or (isinstance(x, np.ndarray) and x.ndim == 0
                                                and dtypes.is_int(x.dtype))


def fori_loop(lower, upper, body_fun, init_val):
    """``for i in range(lower, upper): val = body_fun(i, val)``.

    With concrete bounds it is a ``scan`` (so reverse-mode differentiable); with traced
    bounds a ``while_loop``.
    """
    seen = {}

    def run(val):
        seen.pop("out", None)  # an error raised inside body_fun is not ours to reword
        out = body_fun(*val)
        seen["in"], seen["out"] = val[1], out
        return out

    try:
        if _is_static_int(lower) and _is_static_int(upper):
            lo, hi = int(lower), int(upper)
            idt = np.asarray(lower).dtype if isinstance(lower, (np.ndarray, np.integer)) \
                else dtypes.default_int

            def step(carry, _):
                i, val = carry
                return (P.add(i, 1), run((i, val))), None

            # an empty range is a zero-length scan: init_val comes back as arrays
            (_, out), _ = scan(step, (np.asarray(lo, idt), init_val), None,
                               length=max(hi - lo, 0))
            return out
        lo, hi = as_array(lower), as_array(upper)
        dt = np.result_type(get_aval(lo).dtype, get_aval(hi).dtype)
        lo, hi = P.convert(lo, dt), P.convert(hi, dt)

        def wcond(c):
            return P.lt(c[0], c[1])

        def wbody(c):
            i, u, val = c
            return (P.add(i, 1), u, run((i, val)))

        return while_loop(wcond, wbody, (lo, hi, init_val))[2]
    except _CarryTypeError:
        if "out" not in seen:
            raise
        il, it = tree_util.flatten(seen["in"])
        ol, ot = tree_util.flatten(seen["out"])
        ia = [get_aval(as_array(x)).strip_weak() for x in il]
        oa = [get_aval(as_array(x)).strip_weak() for x in ol]
        raise TypeError(
            f"fori_loop: body_fun `{fun_name(body_fun)}` must return the same structure and "
            f"types as init_val: init_val is {it} {_avals_str(ia)}, body_fun returns {ot} "
            f"{_avals_str(oa)}") from None


# --------------------------------------------------------------------------- scan

scan_p = Primitive("scan", multiple_results=True)


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry):
    consts = list(args[:num_consts])
    carry = list(args[num_consts:num_consts + num_carry])
    xs = args[num_consts + num_carry:]
    y_avals = jaxpr.out_avals[num_carry:]
    ys = [np.empty((length,) + a.shape, a.dtype) for a in y_avals]
    for step in range(length):
        i = length - 1 - step if reverse else step
        outs = jaxpr.call(*consts + carry + [x[i] for x in xs])
        carry = outs[:num_carry]
        for buf, y in zip(ys, outs[num_carry:]):
            buf[i] = y
    return [np.asarray(c) for c in carry] + ys


def _scan_abstract_eval(*avals, jaxpr, length, reverse, num_consts, num_carry):
    outs = [a.strip_weak() for a in jaxpr.out_avals]
    return outs[:num_carry] + [ShapedArray((length,) + a.shape, a.dtype) for a in
                               outs[num_carry:]]


def _split3(seq, nc, ncarry):
    return list(seq[:nc]), list(seq[nc:nc + ncarry]), list(seq[nc + ncarry:])


def _scan_jvp(primals, tangents, jaxpr, length, reverse, num_consts, num_carry):
    nc, ncar = num_consts, num_carry
    consts, init, xs = _split3(primals, nc, ncar)
    ct, it_, xt = _split3(tangents, nc, ncar)
    c_nz = [type(t) is not Zero for t in ct]
    x_nz = [type(t) is not Zero for t in xt]
    carry_nz = [type(t) is not Zero for t in it_]
    ny = len(jaxpr.out_avals) - ncar
    while True:  # which carries get a tangent: a fixpoint over the body
        jj, out_nz = jvp_jaxpr(jaxpr, c_nz + carry_nz + x_nz, carry_nz + [False] * ny)
        new = [a or b for a, b in zip(carry_nz, out_nz[:ncar])]
        if new == carry_nz:
            break
        carry_nz = new
    y_nz = out_nz[ncar:]
    c_av, car_av, x_av = _split3(jaxpr.in_avals, nc, ncar)
    sel = lambda avs, nz: [a.strip_weak() for a, z in zip(avs, nz) if z]
    nct, ncart, nxt = sum(c_nz), sum(carry_nz), sum(x_nz)

    def body(*a):  # (consts, consts_t, carry, carry_t, x, x_t) -> (carry, carry_t, y, y_t)
        k = 0

        def take(n):
            nonlocal k
            out = list(a[k:k + n])
            k += n
            return out

        c, c_t, car, car_t, x, x_t = (take(nc), take(nct), take(ncar), take(ncart), take(len(x_av)),
                                      take(nxt))
        outs = jj.call(*c + car + x + c_t + car_t + x_t)
        prim, tan = outs[:ncar + ny], outs[ncar + ny:]
        return prim[:ncar] + tan[:ncart] + prim[ncar:] + tan[ncart:]

    avals = (list(c_av) + sel(c_av, c_nz) + list(car_av) + sel(car_av, carry_nz) + list(x_av)
             + sel(x_av, x_nz))
    new_j = trace_to_jaxpr(body, avals, kind="jvp")
    args = (consts + [t for t in ct if type(t) is not Zero] + init
            + [instantiate_zeros(t) for t, z in zip(it_, carry_nz) if z] + xs
            + [t for t in xt if type(t) is not Zero])
    outs = scan_p.bind(*args, jaxpr=new_j, length=length, reverse=reverse,
                       num_consts=nc + nct, num_carry=ncar + ncart)
    carry_o, carry_t = outs[:ncar], iter(outs[ncar:ncar + ncart])
    ys, ys_t = outs[ncar + ncart:ncar + ncart + ny], iter(outs[ncar + ncart + ny:])
    out_avals = _scan_abstract_eval(*[get_aval(x) for x in primals], jaxpr=jaxpr, length=length,
                                    reverse=reverse, num_consts=nc, num_carry=ncar)
    t_out = ([next(carry_t) if z else Zero(a) for z, a in zip(carry_nz, out_avals[:ncar])]
             + [next(ys_t) if z else Zero(a) for z, a in zip(y_nz, out_avals[ncar:])])
    return carry_o + list(ys), t_out


def _scan_partial_eval(trace, args, params):
    jaxpr, length, reverse = params["jaxpr"], params["length"], params["reverse"]
    nc, ncar = params["num_consts"], params["num_carry"]
    consts, init, xs = _split3(args, nc, ncar)
    cu = [trace.is_own(x) for x in consts]
    xu = [trace.is_own(x) for x in xs]
    caru = [trace.is_own(x) for x in init]
    ny = len(jaxpr.out_avals) - ncar
    while True:
        out_u = partial_eval_jaxpr(jaxpr, tuple(cu + caru + xu))[2]
        new = [a or b for a, b in zip(caru, out_u[:ncar])]
        if new == caru:
            break
        caru = new
    known, unknown, out_unk, n_res, res_src = partial_eval_jaxpr(
        jaxpr, tuple(cu + caru + xu), tuple(caru + [False] * ny))
    kconsts = [x for x, u in zip(consts, cu) if not u]
    kinit = [x for x, u in zip(init, caru) if not u]
    kxs = [x for x, u in zip(xs, xu) if not u]
    n_kc = len(kconsts)
    nkcar = len(kinit)
    nky = ny - sum(out_unk[ncar:])
    # Where each residual comes from:
    # * "inv": it depends only on known consts, so it is loop-invariant: computed once,
    #   outside the loop (a known const itself is just passed), and given to the unknown
    #   scan as a const instead of `length` stacked copies;
    # * "xs": it is a slice of a known xs: the unknown scan scans that same array;
    # * "stk": anything else is stacked by the known scan.
    invariant, hoist = _invariant_outputs(known, n_kc, nkcar + nky)
    if length == 0:  # nothing runs: do not evaluate the body's const-only work either
        invariant = [False] * len(invariant)
    kind = ["inv" if inv else "xs" if s_ is not None and s_ >= n_kc + nkcar else "stk"
            for inv, s_ in zip(invariant, res_src)]
    fwd_xs = [kxs[s_ - n_kc - nkcar] for k, s_ in zip(kind, res_src) if k == "xs"]

    def known_body(*a):
        outs = known.call(*a)
        res = outs[nkcar + nky:]
        return outs[:nkcar + nky] + [r for r, k in zip(res, kind) if k == "stk"]

    k_avals = [v.aval for v in known.jaxpr.invars]
    kj = trace_to_jaxpr(known_body, k_avals, kind="partial eval")
    with set_trace(trace.parent):
        inv_vals = list(hoist.call(*kconsts)) if any(invariant) else []
        kouts = scan_p.bind(*kconsts, *kinit, *kxs, jaxpr=kj, length=length, reverse=reverse,
                            num_consts=n_kc, num_carry=nkcar)
    kcarry, kys, stacked = kouts[:nkcar], kouts[nkcar:nkcar + nky], kouts[nkcar + nky:]
    res_avals = [v.aval for v in unknown.jaxpr.invars[:n_res]]
    uconsts = [x for x, u in zip(consts, cu) if u]
    uinit = [x for x, u in zip(init, caru) if u]
    uxs = [x for x, u in zip(xs, xu) if u]
    n_uc, n_inv, n_stk, n_fx = len(uconsts), len(inv_vals), len(stacked), len(fwd_xs)

    def unknown_body(*a):
        uc, inv = a[:n_uc], iter(a[n_uc:n_uc + n_inv])
        rest = a[n_uc + n_inv:]
        ucar, rest = rest[:len(uinit)], rest[len(uinit):]
        stk, fx = iter(rest[:n_stk]), iter(rest[n_stk:n_stk + n_fx])
        ux = rest[n_stk + n_fx:]
        src = {"inv": inv, "stk": stk, "xs": fx}
        res = [next(src[k]) for k in kind]
        return unknown.call(*res + list(uc) + list(ucar) + list(ux))

    u_avals = ([get_aval(x) for x in uconsts]
               + [a for a, k in zip(res_avals, kind) if k == "inv"]
               + [a for a, u in zip(jaxpr.in_avals[nc:nc + ncar], caru) if u]
               + [a for a, k in zip(res_avals, kind) if k == "stk"]
               + [a for a, k in zip(res_avals, kind) if k == "xs"]
               + [a for a, u in zip(jaxpr.in_avals[nc + ncar:], xu) if u])
    uj = trace_to_jaxpr(unknown_body, u_avals, kind="partial eval")
    uouts = trace.stage(scan_p, uconsts + inv_vals + uinit + list(stacked) + fwd_xs + uxs,
                        dict(params, jaxpr=uj, num_consts=n_uc + n_inv, num_carry=len(uinit)))
    ucarry, uys = uouts[:len(uinit)], uouts[len(uinit):]
    kc, uc_it, ky, uy = iter(kcarry), iter(ucarry), iter(kys), iter(uys)
    carry_out = [next(uc_it) if u else next(kc) for u in caru]
    ys_out = [next(uy) if u else next(ky) for u in out_unk[ncar:]]
    return carry_out + ys_out


def _invariant_outputs(closed: ClosedJaxpr, n_consts, first):
    """Which outputs from position ``first`` on depend only on the first ``n_consts``
    inputs (loop-invariant), and a jaxpr computing those from the consts."""
    j = closed.jaxpr
    varying = {id(v) for v in j.invars[n_consts:]}
    for e in j.eqns:
        if any(
                isinstance(v, Var) and id(v) in varying for v in e.invars):
            varying.update(id(v) for v in e.outvars)
    outs = j.outvars[first:]
    inv = [not (isinstance(v, Var) and id(v) in varying) for v in outs]
    eqns = [e for e in j.eqns if not any(id(v) in varying for v in e.outvars)]
    hj, _ = dce(Jaxpr(list(j.constvars), list(j.invars[:n_consts]), eqns,
                      [v for v, i in zip(outs, inv) if i]))
    return inv, ClosedJaxpr(hj, list(closed.consts))


def _scan_transpose(cts, *args, jaxpr, length, reverse, num_consts, num_carry):
    nc, ncar = num_consts, num_carry
    consts, init, xs = _split3(args, nc, ncar)
    c_lin = [is_undefined(c) for c in consts]
    x_lin = [is_undefined(x) for x in xs]
    ct_carry = [instantiate_zeros(c) for c in cts[:ncar]]
    # symbolic-zero cotangents of ys are not materialised as (length, ...) arrays
    y_nz = [type(c) is not Zero for c in cts[ncar:]]
    ct_ys = [c for c in cts[ncar:] if type(c) is not Zero]
    res_c = [c for c, lin in zip(consts, c_lin) if not lin]
    res_x = [x for x, lin in zip(xs, x_lin) if not lin]
    c_av, car_av, x_av = _split3(jaxpr.in_avals, nc, ncar)
    lin_c_av = [a.strip_weak() for a, lin in zip(c_av, c_lin) if lin]
    tj = transpose_jaxpr(jaxpr, tuple(c_lin + [True] * ncar + x_lin))
    nlc, nrc, nyz = len(lin_c_av), len(res_c), len(ct_ys)
    y_av = [a.strip_weak() for a in jaxpr.out_avals[ncar:]]

    def body(*a):  # consts: res_c; carry: (acc, ct_carry); xs: (ct_y, res_x)
        rc = list(a[:nrc])
        acc = list(a[nrc:nrc + nlc])
        ctc = list(a[nrc + nlc:nrc + nlc + ncar])
        rest = a[nrc + nlc + ncar:]
        given, rx = iter(rest[:nyz]), list(rest[nyz:])
        cty = [next(given) if nz else P.zeros_like_aval(a) for a, nz in zip(y_av, y_nz)]
        r = tj.call(*rc + rx + ctc + cty)
        d_c, d_car, d_x = r[:nlc], r[nlc:nlc + ncar], r[nlc + ncar:]
        return [P.add(x, y) for x, y in zip(acc, d_c)] + list(d_car) + list(d_x)

    res_x_slice_av = [a for a, lin in zip(x_av, x_lin) if not lin]
    bj = trace_to_jaxpr(body, [get_aval(c) for c in res_c] + lin_c_av
                        + [a.strip_weak() for a in car_av]
                        + [a for a, nz in zip(y_av, y_nz) if nz] + res_x_slice_av,
                        kind="transpose")
    acc0 = [P.zeros_like_aval(a) for a in lin_c_av]
    outs = scan_p.bind(*res_c, *acc0, *ct_carry, *ct_ys, *res_x, jaxpr=bj, length=length,
                       reverse=not reverse, num_consts=nrc, num_carry=nlc + ncar)
    acc, ct_init, ct_x = outs[:nlc], outs[nlc:nlc + ncar], outs[nlc + ncar:]
    acc_it, x_it = iter(acc), iter(ct_x)
    return ([next(acc_it) if lin else None for lin in c_lin]
            + [c if is_undefined(i) else None for c, i in zip(ct_init, init)]
            + [next(x_it) if lin else None for lin in x_lin])


def _scan_batch(size, vals, dims, jaxpr, length, reverse, num_consts, num_carry):
    nc, ncar = num_consts, num_carry
    consts, init, xs = _split3(vals, nc, ncar)
    cd, initd, xd = _split3(dims, nc, ncar)
    ny = len(jaxpr.out_avals) - ncar
    carry_b = [d is not None for d in initd]
    body_cd = [None if d is None else 0 for d in cd]
    body_xd = [None if d is None else 0 for d in xd]
    while True:
        _, out_b = batch_jaxpr(jaxpr, body_cd + [0 if b else None for b in carry_b]
                                     + body_xd, size, [False] * (ncar + ny))
        new = [a or b for a, b in zip(carry_b, out_b[:ncar])]
        if new == carry_b:
            break
        carry_b = new
    bj, out_b = batch_jaxpr(jaxpr, body_cd + [0 if b else None for b in carry_b] + body_xd,
                                  size, carry_b + [False] * ny)
    consts = [x if d is None else moveaxis(x, d, 0) for x, d in zip(consts, cd)]
    init = [bdim_to_front(x, d, size) if b else x for x, d, b in zip(init, initd, carry_b)]
    xs = [x if d is None else moveaxis(x, d, 1) for x, d in zip(xs, xd)]
    outs = scan_p.bind(*consts, *init, *xs, jaxpr=bj, length=length, reverse=reverse,
                       num_consts=nc, num_carry=ncar)
    return outs, [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[ncar:]]


scan_p.impl = _scan_impl
scan_p.abstract_eval = _scan_abstract_eval
scan_p.jvp = _scan_jvp
scan_p.partial_eval = _scan_partial_eval
scan_p.transpose = _scan_transpose
scan_p.batch = _scan_batch


def scan(f, init, xs=None, length: int | None = None, reverse: bool = False, unroll: int = 1):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns
    ``(final carry, stacked ys)``. Differentiable in both modes, batchable, jit-able.

    >>> def cumsum(c, x):
    ...     return c + x, c + x
    >>> fl.lax.scan(cumsum, 0.0, fnp.arange(4.0))  # doctest: +SKIP
    (array(6., dtype=float32), array([0., 1., 3., 6.], dtype=float32))
    """
    c_leaves, c_tree = tree_util.flatten(init)
    c_leaves = [as_array(x) for x in c_leaves]
    x_leaves, x_tree = tree_util.flatten(xs)
    x_leaves = [as_array(x) for x in x_leaves]
    lens = {get_aval(x).shape[0] if get_aval(x).shape else None for x in x_leaves}
    if None in lens:
        raise ValueError("scan: every leaf of xs needs a leading axis to scan over, got shapes "
                         + ", ".join(str(get_aval(x).shape) for x in x_leaves))
    if length is not None:
        lens.add(int(length))
    if len(lens) > 1:
        raise ValueError("scan: inconsistent lengths: xs leading dims "
                         + ", ".join(str(get_aval(x).shape) for x in x_leaves)
                         + (f" and length={length}" if length is not None else ""))
    if not lens:
        raise ValueError("scan: pass xs or length= to set the number of iterations")
    n = lens.pop()
    c_avals = [get_aval(x).strip_weak() for x in c_leaves]
    x_avals = [ShapedArray(get_aval(x).shape[1:], get_aval(x).dtype) for x in x_leaves]
    in_tree = tree_util.structure((init, xs))
    store = {}

    def body(*a):
        carry = tree_util.unflatten(c_tree, a[:len(c_avals)])
        xv = tree_util.unflatten(x_tree, a[len(c_avals):])
        out = f(carry, xv)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"scan: `{fun_name(f)}` must return a pair (carry, y), got "
                            f"{type(out).__name__}")
        new_c, y = out
        cl, ct = tree_util.flatten(new_c)
        yl, store["y_tree"] = tree_util.flatten(y)
        store["c_tree"] = ct
        return [as_array(v) for v in cl] + [as_array(v) for v in yl]

    del in_tree
    weak = _weak_flags(tree_util.leaves(init))
    for _ in range(3):
        closed = trace_to_jaxpr(body, c_avals + x_avals, fun_name=fun_name(f),
                                kind="lax.scan body")
        out_c_avals = closed.out_avals[:len(c_avals)]
        promoted = (_promote_weak(c_avals, weak, out_c_avals) if store["c_tree"] == c_tree
                    else None)
        if promoted is None:
            break
        c_avals = promoted
    if store["c_tree"] != c_tree or not _same_types(out_c_avals, c_avals):
        raise _CarryTypeError(
            f"scan: `{fun_name(f)}` must return a carry with the same structure and types as "
            f"init: init is {c_tree} {_avals_str(c_avals)}, the carry returned is "
            f"{store['c_tree']} {_avals_str(out_c_avals)}")
    j, consts = closed.hoist_consts()
    outs = scan_p.bind(*consts, *[P.convert(x, a.dtype) for x, a in zip(c_leaves, c_avals)],
                       *x_leaves, jaxpr=j, length=n, reverse=bool(reverse),
                       num_consts=len(consts), num_carry=len(c_avals))
    carry = tree_util.unflatten(c_tree, outs[:len(c_avals)])
    ys = tree_util.unflatten(store["y_tree"], outs[len(c_avals):])
    return carry, ys


def map(f, xs):  # noqa: A001 - JAX name
    """``fnp.stack([f(x) for x in xs])`` as a scan (sequential; use vmap for parallel)."""
    _, ys = scan(lambda c, x: (c, f(x)), (), xs)
    return ys
