"""``scan`` and ``map``: the ``scan`` primitive, its transform rules and the user-facing
functions.

The primitive carries its body as one jaxpr ``(consts, carry, x) -> (carry, y)``, with
rules for

* JVP: tangents ride along in the carry (a fixpoint over the body decides which carries
  get one);
* partial evaluation: residuals that depend only on consts are computed once, outside the
  loop; residuals that are slices of a known ``xs`` are scanned from it again; the others
  are stacked per iteration by the known scan;
* transpose: a reversed scan; symbolic-zero ``ys`` cotangents are not materialised;
* batching: consts and ``xs`` keep their batch axis (moved to the front / after the scanned
  axis); a carry gets one where its init has one or the body makes it batched.

A weakly typed carry (``init=0.0``) adopts the dtype the body returns for it, as in JAX.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import primitives as P
from .. import tree as tree_util
from ..api_util import as_array, fun_name
from ..autodiff import jvp_jaxpr, partial_eval_jaxpr, transpose_jaxpr
from ..batching import batch_jaxpr
from ..core import Primitive, ShapedArray, get_aval, set_trace
from ..ir import ClosedJaxpr, Jaxpr, Var, dce
from ..placement import array_module, as_ndarray, device_id, is_gpu, put
from ..primitives.shape import bdim_to_front, instantiate_zeros, moveaxis
from ..rules import Zero, is_undefined
from ..staging import trace_to_jaxpr
from .common import (
    CarryTypeError,
    avals_str,
    carry_fixpoint,
    is_weak,
    promote_weak,
    same_types,
)

scan_p = Primitive("scan", multiple_results=True)


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry):
    consts = list(args[:num_consts])
    carry = list(args[num_consts:num_consts + num_carry])
    xs = args[num_consts + num_carry:]
    y_avals = jaxpr.out_avals[num_carry:]
    # the stacked outputs live where the operands do (a GPU operand puts them on its GPU)
    gpu = next((device_id(a) for a in args if is_gpu(a)), None)
    xp = array_module(*args)
    with xp.cuda.Device(gpu) if gpu is not None else contextlib.nullcontext():
        ys = [xp.empty((length,) + a.shape, a.dtype) for a in y_avals]
    for step in range(length):
        i = length - 1 - step if reverse else step
        outs = jaxpr.call(*consts + carry + [x[i] for x in xs])
        carry = outs[:num_carry]
        for buf, y in zip(ys, outs[num_carry:]):
            buf[i] = y if gpu is None else put(y, gpu)
    return [as_ndarray(c) for c in carry] + ys


def _scan_abstract_eval(*avals, jaxpr, length, reverse, num_consts, num_carry):
    outs = [a.strip_weak() for a in jaxpr.out_avals]
    return outs[:num_carry] + [ShapedArray((length,) + a.shape, a.dtype) for a in
                               outs[num_carry:]]


def _split3(seq, nc, ncarry):
    """(consts, carry, xs) of a list laid out like the scan's operands."""
    return list(seq[:nc]), list(seq[nc:nc + ncarry]), list(seq[nc + ncarry:])


def _scan_jvp(primals, tangents, jaxpr, length, reverse, num_consts, num_carry):
    nc, ncar = num_consts, num_carry
    consts, init, xs = _split3(primals, nc, ncar)
    ct, it_, xt = _split3(tangents, nc, ncar)
    c_nz = [type(t) is not Zero for t in ct]
    x_nz = [type(t) is not Zero for t in xt]
    ny = len(jaxpr.out_avals) - ncar
    carry_nz = carry_fixpoint(  # which carries get a tangent
        [type(t) is not Zero for t in it_],
        lambda nz: jvp_jaxpr(jaxpr, c_nz + nz + x_nz, nz + [False] * ny)[1])
    jj, out_nz = jvp_jaxpr(jaxpr, c_nz + carry_nz + x_nz, carry_nz + [False] * ny)
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
    ny = len(jaxpr.out_avals) - ncar
    caru = carry_fixpoint(  # which carries are unknown
        [trace.is_own(x) for x in init],
        lambda unk: partial_eval_jaxpr(jaxpr, tuple(cu + unk + xu))[2])
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
    body_cd = [None if d is None else 0 for d in cd]
    body_xd = [None if d is None else 0 for d in xd]
    carry_b = carry_fixpoint(  # which carries get a batch axis
        [d is not None for d in initd],
        lambda cb: batch_jaxpr(jaxpr, body_cd + [0 if b else None for b in cb] + body_xd,
                               size, [False] * (ncar + ny))[1])
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


def _check_unroll(unroll):
    """``unroll`` is a positive int or a bool, as in JAX; raise otherwise."""
    if isinstance(unroll, (bool, np.bool_)):
        return
    if not isinstance(unroll, (int, np.integer)):
        raise TypeError(f"scan: unroll must be a positive int or a bool, got {unroll!r} of "
                        f"type {type(unroll).__name__}")
    if unroll < 1:
        raise ValueError(f"scan: unroll must be a positive int or a bool, got {unroll!r}")


def scan(f, init, xs=None, length: int | None = None, reverse: bool = False,
         unroll: int | bool = 1):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns
    ``(final carry, stacked ys)``. Differentiable in both modes, batchable, jit-able.

    ``unroll`` (a positive int, or a bool: ``True`` unrolls fully, ``False`` is 1, as in
    JAX) is a scheduling hint and never changes the results: the reference interpreter runs
    one body call per iteration whatever its value; compiled backends may use it to run
    several iterations per loop step. Anything else raises ``TypeError`` / ``ValueError``.

    >>> def cumsum(c, x):
    ...     return c + x, c + x
    >>> fl.lax.scan(cumsum, 0.0, fnp.arange(4.0))  # doctest: +SKIP
    (array(6., dtype=float32), array([0., 1., 3., 6.], dtype=float32))
    """
    _check_unroll(unroll)
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

    weak = [is_weak(x) for x in tree_util.leaves(init)]
    for _ in range(3):
        closed = trace_to_jaxpr(body, c_avals + x_avals, fun_name=fun_name(f),
                                kind="lax.scan body")
        out_c_avals = closed.out_avals[:len(c_avals)]
        promoted = (promote_weak(c_avals, weak, out_c_avals) if store["c_tree"] == c_tree
                    else None)
        if promoted is None:
            break
        c_avals = promoted
    if store["c_tree"] != c_tree or not same_types(out_c_avals, c_avals):
        raise CarryTypeError(
            f"scan: `{fun_name(f)}` must return a carry with the same structure and types as "
            f"init: init is {c_tree} {avals_str(c_avals)}, the carry returned is "
            f"{store['c_tree']} {avals_str(out_c_avals)}")
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
