"""Code generation: a fused program (``functorch_lite.fusion``) becomes one LLVM module with
one function per step and one entry point, ``fl_main(ptr args)``.

``args`` is an array of pointers: the program's inputs, then its outputs, then one arena
that holds every intermediate (planned so buffers whose lives do not overlap share
memory). Shapes are static, so every loop bound and stride is a constant and LLVM can
unroll and vectorize freely. No run-time address appears in the code: external symbols
(BLAS) are resolved by name when the object is loaded, so compiled objects can be cached
on disk.

>>> text = generate(fuse(fl.make_ir(lambda x: x * 2.0)(np.ones(4, np.float32)))).text
>>> "define void @fl_main(ptr %args)" in text
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from functorch_lite.fusion import (
    FusedProgram,
    Kernel,
    Opaque,
    View,
    collapse,
    contiguous_strides,
)
from functorch_lite.ir import Literal, Var

from . import mathlib
from .control import CONTROL
from .emit import (
    I64,
    LOOP_HINT,
    Builder,
    Loops,
    const,
    function,
    index,
    load,
    ltype,
    nbytes,
    round_up,
    store,
)
from .lowering import ELEMENTWISE, convert, reduction
from .opaque import OPAQUE, SCRATCH


@dataclass
class Layout:
    """Where each buffer of a program lives at run time: ``args`` holds the inputs, then
    the outputs, then the arena (intermediates at fixed byte offsets)."""

    inputs: list[Var]                   # args[0:n_in]
    outputs: list[Var]                  # args[n_in:n_in+n_out] (unique, not inputs)
    temps: dict[int, int] = field(default_factory=dict)  # Var id -> arena byte offset
    scratch: dict[int, int] = field(default_factory=dict)  # step -> arena byte offset
    arena_bytes: int = 0


@dataclass
class Module:
    text: str
    layout: Layout
    externals: set[str]
    outvars: list  # the program's results: which buffer (or literal) each one is
    hidden: list   # constants of nested programs, passed after the arena pointer
    libraries: dict[str, str] = field(default_factory=dict)  # symbol -> module defining it
    aliases: dict[int, int] = field(default_factory=dict)  # output -> donated input slot


def _step_reads(s) -> list[Var]:
    if isinstance(s, Kernel):
        return [view.base for _, view in s.inputs.values()]
    return [x.base for x in s.inputs if isinstance(x, View)]


def _step_writes(s) -> list[Var]:
    if isinstance(s, Kernel):
        return list(s.outputs) + ([s.reduce.outvars[0]] if s.reduce is not None else [])
    return list(s.eqn.outvars)


def plan(prog: FusedProgram, scratch: dict[int, int] | None = None,
         groups=()) -> Layout:
    """Assign buffers: inputs and outputs are args; other materialised values share an
    arena, each slot freed after the last step that reads it (first fit). ``scratch``
    gives bytes a step needs only while it runs (nested programs' arenas). The steps of
    each of ``groups`` (lists of step indices) run interleaved, a few rows at a time, so
    they are planned as one step: every buffer they touch is live through all of them."""
    j = prog.jaxpr
    inputs = list(j.constvars) + list(j.invars)
    outputs, seen = [], {id(v) for v in inputs}
    for v in prog.outvars:
        if isinstance(v, Var) and id(v) not in seen:
            seen.add(id(v))
            outputs.append(v)
    # units of execution: a group, or one step
    unit_of = {n: n for n in range(len(prog.steps))}
    for g in groups:
        unit_of.update({n: g[-1] for n in g})
    last_read: dict[int, int] = {}
    for n, s in enumerate(prog.steps):
        for v in _step_reads(s):
            last_read[id(v)] = unit_of[n]
    layout = Layout(inputs, outputs)
    free: list[tuple[int, int]] = []  # (offset, size) of free arena ranges
    end = 0

    def take(size):
        nonlocal end
        slot = next((i for i, (_, sz) in enumerate(free) if sz >= size), None)
        if slot is None:
            off, end = end, end + size
            return off
        off, sz = free.pop(slot)
        if sz > size:
            free.append((off + size, sz - size))
        return off

    live: dict[int, tuple[int, int]] = {}
    written: set[int] = set()
    for n, s in enumerate(prog.steps):
        for v in _step_writes(s):
            written.add(id(v))
            if id(v) not in seen and id(v) not in layout.temps:
                layout.temps[id(v)] = take(round_up(nbytes(v.aval)))
                live[id(v)] = (layout.temps[id(v)], round_up(nbytes(v.aval)))
        need = (scratch or {}).get(n, 0)
        if need:
            layout.scratch[n] = take(round_up(need))
            free.append((layout.scratch[n], round_up(need)))
        if unit_of[n] != n:  # inside a group: nothing is freed before its last step
            continue
        for vid, rng in list(live.items()):
            if last_read.get(vid, -1) <= n and vid not in written:
                free.append(rng)
                del live[vid]
        written.clear()
    layout.arena_bytes = end
    return layout


def _same_index_read(step, v: Var) -> bool:
    """Whether every read of ``v`` in ``step`` is of element ``i`` at the iteration's
    index ``i``: a kernel without a reduction reading ``v`` whole, in order."""
    return isinstance(step, Kernel) and step.reduce is None and all(
        view.is_contiguous and view.shape == step.shape
        for _, view in step.inputs.values() if view.base is v)


def donation_aliases(prog: FusedProgram, layout: Layout, donated, groups=()) -> dict[int, int]:
    """Which outputs may be written into which donated inputs' buffers: output ``j`` ->
    input slot ``i`` (``layout.inputs[i]``), each input at most once. Output ``j`` may take
    input ``i``'s buffer when they have one type and no step reads the input after the
    output's first write could have changed it: every read comes before the writing step
    (before its row group, whose kernels run interleaved), or is in that group no later
    than the writer and reads each element at the index the writer writes it."""
    unit = {n: [n] for n in range(len(prog.steps))}
    for g in groups:
        unit.update({n: g for n in g})
    writer = {id(v): n for n, s in enumerate(prog.steps) for v in _step_writes(s)}
    reads: dict[int, list[int]] = {}  # Var id -> the steps reading it
    for n, s in enumerate(prog.steps):
        for vid in {id(v) for v in _step_reads(s)}:
            reads.setdefault(vid, []).append(n)
    returned = {id(v) for v in prog.outvars if isinstance(v, Var)}
    aliases: dict[int, int] = {}
    free = [i for i in donated if id(layout.inputs[i]) not in returned]
    for j, out in enumerate(layout.outputs):
        w = writer.get(id(out))
        if w is None:
            continue
        for i in free:
            x = layout.inputs[i]
            if x.aval.shape != out.aval.shape or x.aval.dtype != out.aval.dtype:
                continue
            first, last = unit[w][0], unit[w][-1]
            steps = reads.get(id(x), [])
            if all(n < first or (n <= w and _same_index_read(prog.steps[n], x))
                   for n in steps) and not any(n > last for n in steps):
                aliases[j] = i
                free.remove(i)
                break
    return aliases


# --------------------------------------------------------------------------- kernels

MATH_INTERLEAVE = 8
PARALLEL_ELEMENTS = 1 << 20  # kernels this large share their outer loop among threads

# ``fl_parallel(task, block, n, threads, pieces)`` runs ``task(block, lo, hi, slot)`` over
# [0, n) cut into ``pieces`` contiguous pieces (as even as integers allow) on up to
# ``threads`` threads: the calling thread and new, detached ones take the next piece from
# a shared counter until none is left; ``slot`` (0 for the caller, 1, 2... for the others)
# tells a task whose scratch it may use. The caller waits for every piece to be done,
# never for a thread: one that starts late (~25 us here, longer on a loaded machine) finds
# nothing left and just ends, and its share was done by the others. The shared state
# lives on the heap, freed by whichever thread leaves it last; a thread that cannot be
# created leaves its pieces to the others. It is a library module (loaded once, never
# unloaded): a late thread may run it after the program that started it is gone.
PARALLEL = """; functorch_lite fl_parallel
declare i64 @llvm.smax.i64(i64, i64)
declare i64 @llvm.smin.i64(i64, i64)
declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_detach(i64)
declare i32 @sched_yield()
declare ptr @malloc(i64)
declare void @free(ptr)

; state, i64 fields: task, block, n, pieces, next piece, pieces done, references, slots
define internal void @fl_work(ptr %st, i64 %slot) nounwind {
entry:
  %task = load ptr, ptr %st
  %bq = getelementptr i64, ptr %st, i64 1
  %block = load ptr, ptr %bq
  %nq = getelementptr i64, ptr %st, i64 2
  %n = load i64, ptr %nq
  %pq = getelementptr i64, ptr %st, i64 3
  %pieces = load i64, ptr %pq
  %xq = getelementptr i64, ptr %st, i64 4
  %dq = getelementptr i64, ptr %st, i64 5
  br label %claim
claim:
  %p = atomicrmw add ptr %xq, i64 1 monotonic
  %go = icmp slt i64 %p, %pieces
  br i1 %go, label %run, label %out
run:
  %a = mul i64 %p, %n
  %lo = sdiv i64 %a, %pieces
  %p1 = add i64 %p, 1
  %b = mul i64 %p1, %n
  %hi = sdiv i64 %b, %pieces
  call void %task(ptr %block, i64 %lo, i64 %hi, i64 %slot)
  %d = atomicrmw add ptr %dq, i64 1 release
  br label %claim
out:
  ret void
}

define internal void @fl_release(ptr %st) nounwind {
entry:
  %rq = getelementptr i64, ptr %st, i64 6
  %r = atomicrmw sub ptr %rq, i64 1 acq_rel
  %last = icmp eq i64 %r, 1
  br i1 %last, label %free, label %keep
free:
  call void @free(ptr %st)
  ret void
keep:
  ret void
}

define internal ptr @fl_thread(ptr %st) nounwind {
entry:
  %sq = getelementptr i64, ptr %st, i64 7
  %slot = atomicrmw add ptr %sq, i64 1 monotonic
  call void @fl_work(ptr %st, i64 %slot)
  call void @fl_release(ptr %st)
  ret ptr null
}

define void @fl_parallel(ptr %task, ptr %block, i64 %n, i64 %threads,
                         i64 %pieces) nounwind {
entry:
  %tid = alloca i64
  %any = icmp sgt i64 %n, 0
  br i1 %any, label %count, label %done
count:
  %p0 = call i64 @llvm.smax.i64(i64 %pieces, i64 1)
  %pc = call i64 @llvm.smin.i64(i64 %p0, i64 %n)
  %t0 = call i64 @llvm.smax.i64(i64 %threads, i64 1)
  %t1 = call i64 @llvm.smin.i64(i64 %t0, i64 64)
  %nt = call i64 @llvm.smin.i64(i64 %t1, i64 %pc)
  %few = icmp sle i64 %nt, 1
  br i1 %few, label %alone, label %share
share:
  %st = call ptr @malloc(i64 64)
  %nomem = icmp eq ptr %st, null
  br i1 %nomem, label %alone, label %init
alone:
  call void %task(ptr %block, i64 0, i64 %n, i64 0)
  br label %done
init:
  store ptr %task, ptr %st
  %bq = getelementptr i64, ptr %st, i64 1
  store ptr %block, ptr %bq
  %nq = getelementptr i64, ptr %st, i64 2
  store i64 %n, ptr %nq
  %pq = getelementptr i64, ptr %st, i64 3
  store i64 %pc, ptr %pq
  %xq = getelementptr i64, ptr %st, i64 4
  store i64 0, ptr %xq
  %dq = getelementptr i64, ptr %st, i64 5
  store i64 0, ptr %dq
  %rq = getelementptr i64, ptr %st, i64 6
  store i64 %nt, ptr %rq
  %sq = getelementptr i64, ptr %st, i64 7
  store i64 1, ptr %sq
  br label %spawn
spawn:
  %t = phi i64 [1, %init], [%tn, %next]
  %more = icmp slt i64 %t, %nt
  br i1 %more, label %one, label %mine
one:
  %rc = call i32 @pthread_create(ptr %tid, ptr null, ptr @fl_thread, ptr %st)
  %ok = icmp eq i32 %rc, 0
  br i1 %ok, label %detach, label %failed
detach:
  %id = load i64, ptr %tid
  %dr = call i32 @pthread_detach(i64 %id)
  br label %next
failed:
  %fr = atomicrmw sub ptr %rq, i64 1 acq_rel
  br label %next
next:
  %tn = add i64 %t, 1
  br label %spawn
mine:
  call void @fl_work(ptr %st, i64 0)
  br label %wait
wait:
  %fin = load atomic i64, ptr %dq acquire, align 8
  %all = icmp sge i64 %fin, %pc
  br i1 %all, label %finish, label %yield
yield:
  %y = call i32 @sched_yield()
  br label %wait
finish:
  call void @fl_release(ptr %st)
  br label %done
done:
  ret void
}
"""


def kernel_function(k: Kernel, name: str, params: dict[int, str],
                    split: bool = False, keep_outer: bool = False) -> tuple[str, Builder]:
    """One kernel as ``define internal void @name(ptr ...)``; ``params`` maps each buffer
    (base Var id) the kernel touches to its parameter name. With ``split``, when every
    index of the outermost loop writes outputs of its own, the function also takes
    ``i64 %lo, i64 %hi`` and runs only those outer indices (``b.outer`` is then their
    count, else None), so threads can share the loop; ``keep_outer`` makes that loop
    the kernel's own dim 0 (never merged with dim 1), so kernels of a row group agree.

    Every operand is an accessor with constant strides over the iteration space, so the
    space is collapsed to as few dims as all accessors allow before looping. A reduction
    whose reduced dims are the innermost accumulates in a register (its float sums are
    reassociated so the loop vectorizes); otherwise it accumulates into the output,
    which first gets the reduction's identity (the loop then vectorizes along the kept,
    contiguous output dim)."""
    b = Builder()
    rank = len(k.shape)
    red = k.reduce
    axes = tuple(red.params["axes"]) if red is not None else ()
    inputs = list(k.inputs.values())
    iotas = [e for e in k.eqns if e.prim.name == "iota"]
    accessors = [list(view.strides) for _, view in inputs]
    accessors.append(list(contiguous_strides(k.shape)))  # elementwise outputs
    if red is not None:
        kept = iter(contiguous_strides([n for d, n in enumerate(k.shape) if d not in axes]))
        accessors.append([0 if d in axes else next(kept) for d in range(rank)])
    accessors += [[int(d == e.params["dimension"]) for d in range(rank)] for e in iotas]
    shape, accs = collapse(list(k.shape), accessors, keep_outer)
    n_in = len(inputs)
    out_strides = accs[n_in]
    iota_strides = dict(zip(map(id, iotas), accs[n_in + 1 + (red is not None):]))
    env = {vid: const(np.asarray(lit.val), ltype(lit.aval.dtype))
           for vid, lit in k.literals.items()}

    def value(x):
        return const(np.asarray(x.val), ltype(x.aval.dtype)) if isinstance(x, Literal) \
            else env[id(x)]

    register = pointwise = False
    if red is not None:
        red_strides = accs[n_in + 1]
        rt = ltype(red.outvars[0].aval.dtype)
        rptr = params[id(red.outvars[0])]
        identity, combine = reduction(red.prim.name, rt)
        # in the collapsed space a dim is reduced when the output does not move along it
        reduced = [s == 0 for s in red_strides]
        first = next((d for d, r in enumerate(reduced) if r), len(shape))
        # every reduced dim had size 1 (collapsed away): each output is one element
        pointwise = bool(axes) and first == len(shape)
        register = bool(axes) and not pointwise and all(reduced[first:])
        n_kept = int(np.prod([n for d, n in enumerate(k.shape) if d not in axes],
                             dtype=np.int64))
        if axes and not register and not pointwise and n_kept:
            fill = Loops(b, "f")
            store(b, rptr, rt, fill.open(n_kept), identity)
            fill.close()
    # the outer loop can be shared when no reduction sums along it
    b.outer = None
    if split and shape and shape[0] > 1 and (red is None or not axes or pointwise
                                             or (register and first > 0)):
        b.outer = shape[0]
    loops = Loops(b, "l")
    idx, acc = [], None
    for d, n in enumerate(shape):
        if register and d == first:
            acc = b.alloca(rt.reg)
            b.do(f"store {rt.reg} {identity}, ptr {acc}")
        idx.append(loops.open("%hi", "%lo") if d == 0 and b.outer else loops.open(n))
    for (v, view), strides in zip(inputs, accs):
        env[id(v)] = load(b, params[id(view.base)], ltype(v.aval.dtype),
                          index(b, idx, strides, view.offset))
    for e in k.eqns:
        out_t = ltype(e.outvars[0].aval.dtype)
        if e in iotas:
            i = index(b, idx, iota_strides[id(e)])
            env[id(e.outvars[0])] = convert(b, I64, out_t, i)
            continue
        ts = [ltype(x.aval.dtype) for x in e.invars]
        env[id(e.outvars[0])] = ELEMENTWISE[e.prim](b, ts, out_t, [value(x) for x in e.invars],
                                                     e.params)
    out_i = None
    for v in k.outputs:
        if red is None or v is not red.outvars[0]:
            out_i = out_i or index(b, idx, out_strides)
            store(b, params[id(v)], ltype(v.aval.dtype), out_i, value(v))
    if red is not None:
        x = value(red.invars[0])
        if not axes:  # a reduction over no axes is the identity function
            store(b, rptr, rt, index(b, idx, red_strides), x)
        elif pointwise:
            store(b, rptr, rt, index(b, idx, red_strides), combine(b, identity, x))
        elif register:
            a = b.emit(f"load {rt.reg}, ptr {acc}")
            b.do(f"store {rt.reg} {combine(b, a, x)}, ptr {acc}")
        else:
            ri = index(b, idx, red_strides)
            store(b, rptr, rt, ri, combine(b, load(b, rptr, rt, ri), x))
    for d in reversed(range(len(shape))):
        # the innermost loop of a kernel calling the math library: polynomial chains
        # are long, so independent vector iterations side by side hide their latency
        # (per element, 1 -> 4 -> 8 interleaved: W1's chain 0.65 -> 0.48 -> 0.43 ns,
        # exp 0.160 -> 0.139 -> 0.122, sigmoid 0.233 -> 0.195 at 8; tanh and log lose
        # ~4% going from 4 to 8, compile time grows ~8 ms per such kernel)
        loops.close(MATH_INTERLEAVE if d == len(shape) - 1 and b.math else 0)
        if register and d == first:
            store(b, rptr, rt, index(b, idx[:d], red_strides[:d]),
                  b.emit(f"load {rt.reg}, ptr {acc}"))
    text = function(name, params, b)
    if b.outer:
        text = text.replace(") #0 {", ", i64 %lo, i64 %hi) #0 {", 1)
    return text, b


# --------------------------------------------------------------------------- row groups

GROUP_ELEMENTS = 1 << 18  # kernels this large run as row groups with their neighbours
GROUP_BLOCK_BYTES = 128 << 10  # rows of a group run this many bytes at a time (L2)


def _rowwise(k: Kernel, rows: int) -> bool:
    """Whether ``k`` can run a few of its ``rows`` (dim 0) at a time: nothing is summed
    along dim 0, and a reduction sums innermost dims (accumulating in a register)."""
    if not isinstance(k, Kernel) or not k.shape or k.shape[0] != rows or rows < 2:
        return False
    if k.reduce is None or not k.reduce.params["axes"]:
        return True
    axes, rank = sorted(k.reduce.params["axes"]), len(k.shape)
    return 0 not in axes and axes == list(range(rank - len(axes), rank))


def _within_row(view: View, base_shape) -> bool:
    """Whether element (i, ...) of ``view`` always lies in row i of its contiguous base."""
    row = int(np.prod(base_shape[1:], dtype=np.int64))
    if not view.shape or view.shape[0] != base_shape[0] or view.offset != 0 \
            or view.strides[0] != row:
        return False
    lo = sum(min(0, (n - 1) * st) for n, st in zip(view.shape[1:], view.strides[1:]))
    hi = sum(max(0, (n - 1) * st) for n, st in zip(view.shape[1:], view.strides[1:]))
    return lo >= 0 and hi < row


def row_groups(prog: FusedProgram) -> list[list[int]]:
    """Runs of consecutive large kernels over the same rows (dim 0) where each reads what
    an earlier one of the run wrote only in the same row: they run interleaved a block
    of rows at a time, so those rows are still in cache for the next kernel (W2's max,
    sum of exp and output passes read x from memory once)."""
    groups, cur, made = [], [], set()
    for n, step in enumerate(prog.steps):
        rows = cur and prog.steps[cur[0]].shape[0]
        ok = bool(cur) and _rowwise(step, rows) and all(
            _within_row(view, view.base.aval.shape) for _, view in step.inputs.values()
            if id(view.base) in made)
        if ok:
            cur.append(n)
        else:
            if len(cur) > 1:
                groups.append(cur)
            cur, made = [], set()
            if isinstance(step, Kernel) and step.shape and _rowwise(step, step.shape[0]) \
                    and int(np.prod(step.shape, dtype=np.int64)) >= GROUP_ELEMENTS:
                cur = [n]
        if cur:
            made |= {id(v) for v in _step_writes(step)}
    if len(cur) > 1:
        groups.append(cur)
    return groups


# --------------------------------------------------------------------------- module


class _Module:
    """Everything one LLVM module collects while its programs are generated."""

    def __init__(self):
        self.funcs: list[str] = []
        self.decls: set[str] = set()
        self.math: set[tuple[str, str]] = set()
        self.externals: set[str] = set()
        self.libraries: dict[str, str] = {}
        self.metadata: list[str] = []  # numbered metadata nodes (loop hints)
        self.parallel = False  # whether the module calls fl_parallel
        self.hidden: list = []  # constants of nested programs
        self.aliases: dict[int, int] = {}  # the top program's output -> donated input slot
        self.count = 0

    def absorb(self, text: str, b: Builder) -> None:
        # each loop hint becomes a distinct, numbered loop metadata node
        while LOOP_HINT in text:
            at = text.index(LOOP_HINT)
            end = at + len(LOOP_HINT)
            while end < len(text) and text[end].isdigit():
                end += 1
            node = 2 * len(self.metadata)
            self.metadata += [f"!{node} = distinct !{{!{node}, !{node + 1}}}",
                              f'!{node + 1} = !{{!"llvm.loop.interleave.count", '
                              f"i32 {text[at + len(LOOP_HINT):end]}}}"]
            text = f"{text[:at]}!{node}{text[end:]}"
        self.funcs.append(text)
        self.decls |= b.intrinsics
        self.math |= b.math
        self.externals |= getattr(b, "externals", set())
        self.libraries.update(getattr(b, "libraries", {}))

    def group_call(self, main: Builder, gname: str, kernels, rows: int, parallel: int,
                   block_rows: int) -> None:
        """Run split kernels (``(name, args)`` each, taking ``lo, hi`` outer indices last)
        as one task over ``rows``: all their buffer pointers go in a block, and the task
        runs every kernel on ``block_rows`` rows before the next rows. With ``parallel``
        (the group's element count) the task goes through ``fl_parallel``: threads share
        the rows, at most one per ``PARALLEL_ELEMENTS // 2`` elements (starting a thread
        costs tens of microseconds)."""
        args = [a for _, ka in kernels for a in ka]
        task = [f"define internal void @{gname}(ptr %block, i64 %lo, i64 %hi, i64 %slot) "
                "#1 {",
                "entry:"]
        for i in range(len(args)):
            task += [f"  %q{i} = getelementptr ptr, ptr %block, i64 {i}",
                     f"  %p{i} = load ptr, ptr %q{i}"]
        task += ["  br label %head", "head:",
                 "  %r = phi i64 [%lo, %entry], [%rn, %body]",
                 "  %more = icmp slt i64 %r, %hi", "  br i1 %more, label %body, label %done",
                 "body:", f"  %r1 = add i64 %r, {block_rows}",
                 "  %rn = call i64 @llvm.smin.i64(i64 %r1, i64 %hi)"]
        at = 0
        for name, ka in kernels:
            ps = ", ".join(f"ptr %p{at + i}" for i in range(len(ka)))
            task.append(f"  call void @{name}({ps}, i64 %r, i64 %rn)")
            at += len(ka)
        task += ["  br label %head", "done:", "  ret void", "}"]
        self.funcs.append("\n".join(task))
        self.decls.add("declare i64 @llvm.smin.i64(i64, i64)")
        block = main.alloca(f"[{len(args)} x ptr]")
        for i, a in enumerate(args):
            main.do(f"store {a}, ptr {main.emit(f'getelementptr ptr, ptr {block}, i64 {i}')}")
        if not parallel:
            main.do(f"call void @{gname}(ptr {block}, i64 0, i64 {rows}, i64 0)")
            return
        threads = self.threads(main, max(1, parallel // (PARALLEL_ELEMENTS // 2)))
        # one piece per thread (equal shares of the rows); a late thread's share is
        # taken by the others
        main.do(f"call void @fl_parallel(ptr @{gname}, ptr {block}, i64 {rows}, "
                f"i64 {threads}, i64 {threads})")

    def use_parallel(self) -> None:
        """Let the module call ``fl_parallel``."""
        if not self.parallel:
            self.parallel = True
            self.libraries["fl_parallel"] = PARALLEL
            self.decls.add("declare void @fl_parallel(ptr, ptr, i64, i64, i64)")
            self.decls.add("declare i64 @llvm.smin.i64(i64, i64)")

    def threads(self, main: Builder, cap: int) -> str:
        """The top program's thread count (found after the hidden constants), at most
        ``cap``, as a value of ``main``; the module may then call ``fl_parallel``."""
        self.use_parallel()
        slot = main.emit(f"getelementptr ptr, ptr %hidden, i64 {len(self.hidden)}")
        threads = main.emit(f"ptrtoint ptr {main.emit(f'load ptr, ptr {slot}')} to i64")
        return main.emit(f"call i64 @llvm.smin.i64(i64 {threads}, i64 {cap})")

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def program(self, prog: FusedProgram, fname: str, top: bool = False,
                donated=()) -> Layout:
        """``define internal void @fname(ptr %args, ptr %hidden)`` running ``prog``. In
        the ``top`` program, large kernels share their outer loop among the number of
        threads found after the hidden constants. An output that may take a ``donated``
        input's buffer (``donation_aliases``, kept in ``self.aliases``) *is* that buffer
        in the code: it is written through the input's pointer, so a kernel reading the
        input and writing the output at the same index uses one pointer (two ``noalias``
        pointers to the same memory would let LLVM reorder the loads after the stores)."""
        subs: dict[int, object] = {}
        scratch: dict[int, int] = {}
        for n, step in enumerate(prog.steps):
            if isinstance(step, Opaque) and step.eqn.prim in CONTROL:
                subs[n], scratch[n] = CONTROL[step.eqn.prim].prepare(self, step)
            elif isinstance(step, Opaque) and step.eqn.prim in SCRATCH:
                scratch[n] = SCRATCH[step.eqn.prim](step)
        groups = row_groups(prog)
        group_of = {g[0]: g for g in groups}
        grouped = {n for g in groups for n in g}
        layout = plan(prog, scratch, groups)
        slot = {id(v): i for i, v in enumerate(layout.inputs)}
        slot.update({id(v): len(layout.inputs) + j for j, v in enumerate(layout.outputs)})
        self.aliases = donation_aliases(prog, layout, donated, groups) if donated else {}
        # an aliased output's buffer is its input's: same slot, same kernel parameter
        canon = {id(layout.outputs[j]): layout.inputs[i] for j, i in self.aliases.items()}
        slot.update({id(layout.outputs[j]): i for j, i in self.aliases.items()})
        arena_slot = len(layout.inputs) + len(layout.outputs)
        main = Builder("m")
        ptrs: dict[int, str] = {}

        def arg(i):
            return main.emit(f"load ptr, ptr {main.emit(f'getelementptr ptr, ptr %args, i64 {i}')}")

        arena = arg(arena_slot)

        def pointer(v: Var) -> str:
            if id(v) not in ptrs:
                ptrs[id(v)] = (arg(slot[id(v)]) if id(v) in slot else
                               main.emit(f"getelementptr i8, ptr {arena}, "
                                         f"i64 {layout.temps[id(v)]}"))
            return ptrs[id(v)]

        def buffers(step):
            """The step's distinct buffers (an aliased output counts as its input) and
            the parameter name of each of its Vars."""
            vs = _step_reads(step) + _step_writes(step)
            uniq = list({id(canon.get(id(v), v)): canon.get(id(v), v) for v in vs}.values())
            params = {id(v): f"%p{i}" for i, v in enumerate(uniq)}
            params.update({id(v): params[id(canon[id(v)])] for v in vs if id(v) in canon})
            return uniq, params

        def kernel(step, split, keep_outer=False):
            sname = self.fresh(f"{fname}_s")
            uniq, params = buffers(step)
            text, b = kernel_function(step, sname, params, split, keep_outer)
            self.absorb(text, b)
            return sname, [f"ptr {pointer(v)}" for v in uniq], b.outer

        def big(steps):
            return max(int(np.prod(s.shape, dtype=np.int64)) for s in steps)

        for n, step in enumerate(prog.steps):
            if n in group_of:  # a row group: its kernels run interleaved, row blocks
                steps = [prog.steps[m] for m in group_of[n]]
                rows = steps[0].shape[0]
                parts = [kernel(s, True, True) for s in steps]
                assert all(outer == rows for _, _, outer in parts)
                width = max(int(np.prod(s.shape[1:], dtype=np.int64)) * 8 for s in steps)
                share = big(steps) if top and big(steps) >= PARALLEL_ELEMENTS else 0
                self.group_call(main, self.fresh(f"{fname}_g"), [p[:2] for p in parts],
                                rows, share, max(1, GROUP_BLOCK_BYTES // width))
                continue
            if n in grouped:
                continue
            if isinstance(step, Kernel) and top and big([step]) >= PARALLEL_ELEMENTS:
                name, args, outer = kernel(step, True)
                if outer:  # one large kernel: threads share its outer loop
                    self.group_call(main, f"{name}_task", [(name, args)], outer, big([step]),
                                    max(1, outer))
                else:
                    main.do(f"call void @{name}({', '.join(args)})")
                continue
            sname = self.fresh(f"{fname}_s")
            uniq, params = buffers(step)
            args = [f"ptr {pointer(v)}" for v in uniq]
            if isinstance(step, Kernel):
                text, b = kernel_function(step, sname, params)
            elif step.eqn.prim in CONTROL:
                text, b = CONTROL[step.eqn.prim].lower(self, step, sname, params, subs[n])
                sc = main.emit(f"getelementptr i8, ptr {arena}, i64 {layout.scratch.get(n, 0)}")
                args += [f"ptr {sc}", "ptr %hidden"]
            else:
                rule = OPAQUE.get(step.eqn.prim)
                if rule is None:
                    raise NotImplementedError(
                        f"llvm backend: no lowering for primitive '{step.eqn.prim.name}' "
                        "yet; use backend='numpy' for this program")
                text, b = rule(step, sname, params)
                if scratch.get(n):  # the rule's function then takes it
                    sc = main.emit(f"getelementptr i8, ptr {arena}, i64 {layout.scratch[n]}")
                    args.append(f"ptr {sc}")
                # and then, if it can share its work (``b.parallel``: among at most that
                # many threads, through ``fl_parallel``), how many threads may: those of
                # the top program, one in a nested one (inside a loop or branch)
                share = getattr(b, "parallel", 0)
                if share:
                    args.append(f"i64 {self.threads(main, share) if top else 1}")
                    self.use_parallel()  # the function calls it, whatever the count
            self.absorb(text, b)
            main.do(f"call void @{sname}({', '.join(args)})")
        self.funcs.append(f"define internal void @{fname}(ptr %args, ptr %hidden) #1 {{\n"
                          f"{main.body()}\n  ret void\n}}\n")
        return layout


def _entry_from_objects(n_bufs: int, n_statics: int) -> str:
    """``fl_call(ptr objs, ptr statics, i64 offset)``: builds ``fl_main``'s pointer array
    from the array *objects* ``objs[i]`` (each buffer's data pointer is read ``offset``
    bytes into its object) followed by ``statics`` (arena, hidden constants, the number
    of threads large kernels may use), so the
    caller passes ``id(array)`` instead of asking numpy for each address (see runtime)."""
    b = Builder("e")
    args = b.alloca(f"[{n_bufs + n_statics} x ptr]")
    for src, first, n, deref in (("%objs", 0, n_bufs, True), ("%statics", n_bufs, n_statics,
                                                               False)):
        if not n:
            continue
        loops = Loops(b, "c" if deref else "s")
        i = loops.open(n)
        p = b.emit(f"load ptr, ptr {b.emit(f'getelementptr ptr, ptr {src}, i64 {i}')}")
        if deref:
            p = b.emit(f"load ptr, ptr {b.emit(f'getelementptr i8, ptr {p}, i64 %offset')}")
        slot = b.emit(f"add i64 {i}, {first}")
        b.do(f"store ptr {p}, ptr {b.emit(f'getelementptr ptr, ptr {args}, i64 {slot}')}")
        loops.close()
    b.do(f"call void @fl_main(ptr {args})")
    return (f"define void @fl_call(ptr %objs, ptr %statics, i64 %offset) #1 {{\n{b.body()}\n"
            "  ret void\n}")


def generate(prog: FusedProgram, name: str = "main", donated=()) -> Module:
    """The whole program as one module with the entry points ``fl_main(ptr args)`` and
    ``fl_call(ptr objs, ptr statics, i64 offset)`` (the same, fed array objects).
    ``donated`` lists input slots whose buffers outputs may take (``donation_aliases``)."""
    mod = _Module()
    layout = mod.program(prog, "prog", top=True, donated=donated)
    aliases = mod.aliases
    n_bufs = len(layout.inputs) + len(layout.outputs)
    hidden_slot = n_bufs + 1
    for nm_, dt in sorted(mod.math):
        mod.funcs.append(mathlib.define(nm_, np.dtype(dt)))
    text = "\n".join([
        f"; functorch_lite llvm backend: program `{name}`",
        *sorted(mod.decls),
        *mod.funcs,
        "define void @fl_main(ptr %args) #1 {\nentry:",
        f"  %hidden = getelementptr ptr, ptr %args, i64 {hidden_slot}",
        "  call void @prog(ptr %args, ptr %hidden)",
        "  ret void\n}",
        _entry_from_objects(n_bufs, 2 + len(mod.hidden)),
        'attributes #0 = { nounwind "no-trapping-math"="true" }',
        'attributes #1 = { nounwind }',
        *mod.metadata,
    ])
    return Module(text + "\n", layout, mod.externals, prog.outvars, mod.hidden, mod.libraries,
                  aliases)
