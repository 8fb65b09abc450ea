"""Control flow as native code: ``cond``, ``while`` and ``scan`` call their branches and
bodies, compiled as nested programs of the same module, from native loops and
branches (no Python between iterations).

A nested program is called like the top one: an array of pointers (its inputs, its
outputs, its arena) plus the ``hidden`` array that holds the constants nested programs
close over. Operands arrive as dense buffers (fusion copies strided views first). A
loop keeps its carry in the equation's output buffers and lets the body write the next
carry to scratch memory, copied back after each iteration; ``scan`` hands the body
pointers into ``xs`` and ``ys`` at the current index.

Call-like equations (``jit``, ``checkpoint``, ``custom_jvp_call``, ``custom_vjp_call``:
``rewrite.CALLS``) are inlined by ``rewrite.optimize`` before fusion; one that reaches
code generation anyway (a program compiled without that pass) calls its program as a
nested program.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from functorch_lite.checkpoint import remat_p
from functorch_lite.control import cond_p, scan_p, while_p
from functorch_lite.custom import custom_jvp_call_p, custom_vjp_call_p
from functorch_lite.fusion import View, fuse
from functorch_lite.ir import ClosedJaxpr, Jaxpr
from functorch_lite.jit import jit_p
from functorch_lite.rewrite import CALLS

from .emit import ALIGN, Builder, Loops, element, function, ltype, nbytes, round_up


@dataclass
class Sub:
    """A nested program: its function name, arena size and hidden-constant slots."""

    fname: str
    arena: int
    hidden: list[int]
    n_in: int


def _subprogram(mod, closed, stem: str) -> Sub:
    jaxpr, consts = closed.hoist_consts()
    hidden = []
    for c in consts:
        mod.hidden.append(np.ascontiguousarray(c))
        hidden.append(len(mod.hidden) - 1)
    fname = mod.fresh(stem)
    layout = mod.program(fuse(jaxpr, own_outputs=True), fname)
    return Sub(fname, layout.arena_bytes, hidden, len(jaxpr.jaxpr.invars))


def _pointer(b: Builder, params, x: View) -> str:
    t = ltype(x.base.aval.dtype)
    return element(b, params[id(x.base)], t, str(x.offset)) if x.offset else params[id(x.base)]


def _call(b: Builder, sub: Sub, inputs: list[str], outputs: list[str], arena: str) -> None:
    """Call a nested program with pointer arguments (hidden constants first)."""
    hidden = [b.emit(f"load ptr, ptr {b.emit(f'getelementptr ptr, ptr %hidden, i64 {h}')}")
              for h in sub.hidden]
    ptrs = hidden + inputs + outputs + [arena]
    arr = b.alloca(f"[{len(ptrs)} x ptr]")
    for i, p in enumerate(ptrs):
        b.do(f"store ptr {p}, ptr {b.emit(f'getelementptr ptr, ptr {arr}, i64 {i}')}")
    b.do(f"call void @{sub.fname}(ptr {arr}, ptr %hidden)")


def _memcpy(b: Builder, dst: str, src: str, nbytes: int) -> None:
    if nbytes:
        b.intrinsics.add("declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)")
        b.do(f"call void @llvm.memcpy.p0.p0.i64(ptr {dst}, ptr {src}, i64 {nbytes}, i1 false)")


def _function(name, params, b) -> str:
    """A control step's function: the buffers, then scratch memory and the hidden array."""
    text = function(name, params, b, noalias=False)
    return text.replace(") #0 {", ", ptr %scratch, ptr %hidden) #0 {", 1)


def _offset(b: Builder, ptr: str, nbytes_each: int, i: str) -> str:
    off = b.emit(f"mul i64 {i}, {nbytes_each}")
    return b.emit(f"getelementptr i8, ptr {ptr}, i64 {off}")


class _Cond:
    @staticmethod
    def prepare(mod, step):
        subs = [_subprogram(mod, br, "branch") for br in step.eqn.params["branches"]]
        return subs, max(s.arena for s in subs)

    @staticmethod
    def lower(mod, step, name, params, subs):
        b = Builder()
        index, *ops = step.inputs
        it = ltype(step.eqn.invars[0].aval.dtype)
        i = b.emit(f"load {it.reg}, ptr {_pointer(b, params, index)}")
        if it.bits < 64:
            i = b.emit(f"{'sext' if it.kind == 'i' else 'zext'} {it.reg} {i} to i64")
        # clamped into range, as the reference interpreter does
        lo = b.emit(f"icmp slt i64 {i}, 0")
        i = b.select(lo, "i64", "0", i)
        hi = b.emit(f"icmp sgt i64 {i}, {len(subs) - 1}")
        i = b.select(hi, "i64", str(len(subs) - 1), i)
        ins = [_pointer(b, params, x) for x in ops]
        outs = [params[id(v)] for v in step.eqn.outvars]
        labels = [mod.fresh("br") for _ in subs]
        done = mod.fresh("brdone")
        cases = " ".join(f"i64 {k}, label %{lab}" for k, lab in enumerate(labels[1:], start=1))
        b.do(f"switch i64 {i}, label %{labels[0]} [ {cases} ]")
        for lab, sub in zip(labels, subs):
            b.label(lab)
            _call(b, sub, ins, outs, "%scratch")
            b.do(f"br label %{done}")
        b.label(done)
        return _function(name, params, b), b


class _While:
    @staticmethod
    def prepare(mod, step):
        p = step.eqn.params
        cond = _subprogram(mod, p["cond_jaxpr"], "wcond")
        body = _subprogram(mod, p["body_jaxpr"], "wbody")
        carry = sum(round_up(nbytes(v.aval)) for v in step.eqn.outvars)
        return (cond, body), ALIGN + carry + max(cond.arena, body.arena)

    @staticmethod
    def lower(mod, step, name, params, subs):
        cond, body = subs
        p = step.eqn.params
        nc, nb = p["cond_nconsts"], p["body_nconsts"]
        b = Builder()
        ops = [_pointer(b, params, x) for x in step.inputs]
        cc, bc, init = ops[:nc], ops[nc:nc + nb], ops[nc + nb:]
        outs = [params[id(v)] for v in step.eqn.outvars]
        sizes = [nbytes(v.aval) for v in step.eqn.outvars]
        for dst, src, n in zip(outs, init, sizes):
            _memcpy(b, dst, src, n)
        pred = "%scratch"
        tmp, off = [], ALIGN
        for n in sizes:
            tmp.append(b.emit(f"getelementptr i8, ptr %scratch, i64 {off}"))
            off += round_up(n)
        arena = b.emit(f"getelementptr i8, ptr %scratch, i64 {off}")
        head, run, done = mod.fresh("wh"), mod.fresh("wb"), mod.fresh("we")
        b.do(f"br label %{head}")
        b.label(head)
        _call(b, cond, cc + outs, [pred], arena)
        flag = b.emit(f"load i8, ptr {pred}")
        go = b.emit(f"icmp ne i8 {flag}, 0")
        b.do(f"br i1 {go}, label %{run}, label %{done}")
        b.label(run)
        _call(b, body, bc + outs, tmp, arena)
        for dst, src, n in zip(outs, tmp, sizes):
            _memcpy(b, dst, src, n)
        b.do(f"br label %{head}")
        b.label(done)
        return _function(name, params, b), b


class _Scan:
    @staticmethod
    def prepare(mod, step):
        body = _subprogram(mod, step.eqn.params["jaxpr"], "sbody")
        ncar = step.eqn.params["num_carry"]
        carry = sum(round_up(nbytes(v.aval)) for v in step.eqn.outvars[:ncar])
        return body, carry + body.arena

    @staticmethod
    def lower(mod, step, name, params, body):
        p = step.eqn.params
        nc, ncar, length, reverse = p["num_consts"], p["num_carry"], p["length"], p["reverse"]
        b = Builder()
        ops = [_pointer(b, params, x) for x in step.inputs]
        consts, init, xs = ops[:nc], ops[nc:nc + ncar], ops[nc + ncar:]
        x_vars = step.eqn.invars[nc + ncar:]
        outs = [params[id(v)] for v in step.eqn.outvars]
        carry, ys = outs[:ncar], outs[ncar:]
        sizes = [nbytes(v.aval) for v in step.eqn.outvars[:ncar]]
        for dst, src, n in zip(carry, init, sizes):
            _memcpy(b, dst, src, n)
        tmp, off = [], 0
        for n in sizes:
            tmp.append(b.emit(f"getelementptr i8, ptr %scratch, i64 {off}"))
            off += round_up(n)
        arena = b.emit(f"getelementptr i8, ptr %scratch, i64 {off}")
        x_step = [nbytes(v.aval) // max(length, 1) for v in x_vars]
        y_step = [nbytes(v.aval) // max(length, 1) for v in step.eqn.outvars[ncar:]]
        loops = Loops(b, "sc")
        k = loops.open(length)
        i = b.emit(f"sub i64 {length - 1}, {k}") if reverse else k
        xi = [_offset(b, x, n, i) for x, n in zip(xs, x_step)]
        yi = [_offset(b, y, n, i) for y, n in zip(ys, y_step)]
        _call(b, body, consts + carry + xi, tmp + yi, arena)
        for dst, src, n in zip(carry, tmp, sizes):
            _memcpy(b, dst, src, n)
        loops.close()
        return _function(name, params, b), b


class _Call:
    @staticmethod
    def prepare(mod, step):
        e = step.eqn
        closed = e.params[CALLS[e.prim.name]]
        j = closed.jaxpr
        if len(e.invars) - len(j.invars) == len(j.constvars):
            # the program's constants are its leading operands (the hoisted form)
            closed = ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.eqns, j.outvars), [])
        sub = _subprogram(mod, closed, "call")
        return sub, sub.arena

    @staticmethod
    def lower(mod, step, name, params, sub):
        b = Builder()
        ins = [_pointer(b, params, x) for x in step.inputs]
        _call(b, sub, ins, [params[id(v)] for v in step.eqn.outvars], "%scratch")
        return _function(name, params, b), b


CONTROL = {cond_p: _Cond, while_p: _While, scan_p: _Scan, jit_p: _Call, remat_p: _Call,
           custom_jvp_call_p: _Call, custom_vjp_call_p: _Call}
