"""Control flow on the GPU: the loop (or the branch choice) runs on the host, around
branches and bodies compiled by this same backend as nested programs whose kernels run
on the device; only the predicate (a scalar) is copied to the host each iteration.

``CONTROL[prim] = (routine, make)``: ``make(eqn, compile)`` returns
``run(xp, arrays) -> list of arrays``, where ``compile(closed)`` compiles a nested
program (a callable on device arrays). Call-like equations (``jit``, ``checkpoint``,
``custom_jvp_call``, ``custom_vjp_call``), normally inlined by ``rewrite.optimize``,
call their program the same way.

>>> sorted(p.name for p in CONTROL)[:3]
['checkpoint', 'cond', 'custom_jvp_call']
"""

from __future__ import annotations

from functorch_lite.checkpoint import remat_p
from functorch_lite.control import cond_p, scan_p, while_p
from functorch_lite.custom import custom_jvp_call_p, custom_vjp_call_p
from functorch_lite.jit import jit_p
from functorch_lite.rewrite import CALLS


def _cond(eqn, compile):
    branches = [compile(b) for b in eqn.params["branches"]]

    def run(xp, arrays):
        index, *ops = arrays
        i = min(max(int(index), 0), len(branches) - 1)  # one scalar to the host
        return branches[i](*ops)

    return run


def _while(eqn, compile):
    p = eqn.params
    cond, body = compile(p["cond_jaxpr"]), compile(p["body_jaxpr"])
    nc, nb = p["cond_nconsts"], p["body_nconsts"]

    def run(xp, arrays):
        cc, bc, carry = arrays[:nc], arrays[nc:nc + nb], list(arrays[nc + nb:])
        while bool(cond(*cc, *carry)[0]):
            carry = body(*bc, *carry)
        return carry

    return run


def _scan(eqn, compile):
    p = eqn.params
    body = compile(p["jaxpr"])
    n, nc, ncar, rev = p["length"], p["num_consts"], p["num_carry"], p["reverse"]
    y_avals = p["jaxpr"].out_avals[ncar:]

    def run(xp, arrays):
        consts, carry = arrays[:nc], list(arrays[nc:nc + ncar])
        xs = arrays[nc + ncar:]
        ys = [xp.empty((n,) + tuple(a.shape), a.dtype) for a in y_avals]
        for step in range(n):
            i = n - 1 - step if rev else step
            outs = body(*consts, *carry, *[x[i] for x in xs])
            carry = outs[:ncar]
            for buf, y in zip(ys, outs[ncar:]):
                buf[i] = y
        return list(carry) + ys

    return run


def _call(prim):
    def make(eqn, compile):
        fn = compile(eqn.params[CALLS[prim.name]])
        return lambda xp, arrays: fn(*arrays)

    return make


CONTROL = {
    cond_p: ("host branch over compiled branches", _cond),
    while_p: ("host loop over compiled cond and body", _while),
    scan_p: ("host loop over a compiled body", _scan),
}
for _p in (jit_p, remat_p, custom_jvp_call_p, custom_vjp_call_p):
    CONTROL[_p] = ("calls its compiled program", _call(_p))


def nested(eqn) -> list:
    """The programs ``eqn`` calls (each compiled by this backend)."""
    out = []
    for v in eqn.params.values():
        for sub in (v if isinstance(v, tuple) else (v,)):
            if hasattr(sub, "jaxpr") and hasattr(sub, "consts"):
                out.append(sub)
    return out
