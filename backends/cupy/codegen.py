"""Code generation: a fused program (``functorch_lite.fusion``) becomes one CUDA C++
module (``Module.source``: the prelude, then one ``extern "C" __global__`` function per
kernel) and a list of steps the runtime runs in order (``Launch``, ``OpaqueCall``).

A kernel's iteration space is first collapsed (size-1 dims dropped, adjacent dims that
every operand walks contiguously merged), then:

* without a reduction: a grid-stride loop over the collapsed elements; each operand is
  read at ``offset + sum(index_d * stride_d)`` of its buffer (a broadcast is stride 0,
  a reversal a negative stride), the chain of scalar code runs in registers, outputs are
  written contiguously;
* with a reduction over more than one element: a raw kernel, one block per output
  element (grid-stride over outputs): the block's threads stride over the reduced
  elements, then combine in shared memory (a tree). With few outputs and many reduced
  elements each output gets ``chunks`` blocks that write partial results, and a second
  kernel combines those. (A ``cupy.ReductionKernel`` could express a plain reduction,
  but not the kernel's other outputs written in the same pass, nor our index
  arithmetic over arbitrary strided views; one raw form covers every case.)

All index arithmetic is 64-bit (``long long``); loops are bounded by the element
counts, so no shape reads out of bounds, and a kernel of zero elements is not launched.
The same text compiles as host C++ (the prelude's macros make the grid one thread), so
tests run generated kernels on the CPU.

>>> from functorch_lite.fusion import fuse
>>> prog = fuse(fl.make_ir(lambda x: x * 2.0)(np.ones(4, np.float32)))
>>> "FL_GLOBAL void fl_main_k0(" in generate(prog).source
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from functorch_lite.core import ShapedArray
from functorch_lite.fusion import (
    FusedProgram,
    Kernel,
    Opaque,
    View,
    collapse,
    contiguous_strides,
)
from functorch_lite.ir import Literal, Var

from .lowering import ELEMENTWISE, CType, const, convert, ctype, load, reduction, store_value
from .prelude import PRELUDE

BLOCK = 256              # threads per block; reductions rely on it (a power of two)
CHUNK_OUTPUTS = 1024     # below this many outputs, a long reduction is split in chunks
CHUNK_MIN = 4 * BLOCK    # reduced elements per chunk, at least

LAUNCH_MACROS = f"""
#ifdef __CUDACC__
#define FL_BLOCK {BLOCK}
#define FL_TID ((long long)threadIdx.x)
#define FL_NTID ((long long)blockDim.x)
#define FL_BID ((long long)blockIdx.x)
#define FL_NBID ((long long)gridDim.x)
#define FL_SYNC() __syncthreads()
#define FL_SHARED __shared__
#else  // host C++: one thread runs the whole grid
#define FL_BLOCK 1
#define FL_TID 0LL
#define FL_NTID 1LL
#define FL_BID 0LL
#define FL_NBID 1LL
#define FL_SYNC()
#define FL_SHARED
#endif
"""


@dataclass
class Launch:
    """One kernel launch: ``name`` in the module, its buffers in parameter order
    (``reads`` then ``writes``), and the grid: ``elements`` threads' worth of work in a
    grid-stride loop, or ``blocks`` blocks of ``BLOCK`` threads for a reduction."""

    name: str
    reads: list[Var]
    writes: list[Var]
    elements: int = 0
    blocks: int = 0


@dataclass
class OpaqueCall:
    """An equation run by a CuPy routine or a nested program (control flow)."""

    step: Opaque


@dataclass
class Module:
    source: str
    steps: list = field(default_factory=list)
    scratch: list[Var] = field(default_factory=list)  # partial results of split reductions
    kernels: list[str] = field(default_factory=list)  # each kernel's own text


def _offset(idx: list[str], strides, base: int = 0) -> str:
    terms = [str(base)] if base else []
    for i, s in zip(idx, strides):
        if s == 1:
            terms.append(i)
        elif s:
            terms.append(f"{i} * {s}LL")
    return " + ".join(terms) or "0"


def _unravel(lines: list[str], var: str, names: list[str], sizes: list[int], pad: str):
    """Split the linear index ``var`` over ``sizes`` (row-major) into ``names``."""
    if not names:
        return
    if len(names) == 1:
        lines.append(f"{pad}const long long {names[0]} = {var};")
        return
    lines.append(f"{pad}long long {var}_r = {var};")
    for nm, n in zip(reversed(names[1:]), reversed(sizes[1:])):
        lines.append(f"{pad}const long long {nm} = {var}_r % {n}LL; {var}_r /= {n}LL;")
    lines.append(f"{pad}const long long {names[0]} = {var}_r;")


class _Names:
    def __init__(self):
        self.names: dict[int, str] = {}

    def __call__(self, v) -> str:
        return self.names.setdefault(id(v), f"v{len(self.names)}")


def _value(x, names, env) -> str:
    if isinstance(x, Literal):
        return const(np.asarray(x.val), ctype(x.aval.dtype))
    return env[id(x)]


def _body(k: Kernel, names: _Names, env: dict, pad: str, idx: list[str], accs,
          inputs, iota_strides, out_index: str, ptr) -> list[str]:
    """Loads, the scalar chain and the elementwise stores at one index of the space."""
    lines = []
    for (v, view), strides in zip(inputs, accs):
        t = ctype(v.aval.dtype)
        nm = names(v)
        at = _offset(idx, strides, view.offset)
        lines.append(f"{pad}const {t.reg} {nm} = {load(t, ptr(view.base), at)};")
        env[id(v)] = nm
    for e in k.eqns:
        out = e.outvars[0]
        t = ctype(out.aval.dtype)
        nm = names(out)
        if e.prim.name == "iota":
            expr = convert(ctype(np.int64), t, f"({_offset(idx, iota_strides[id(e)])})")
        else:
            ts = [ctype(x.aval.dtype) for x in e.invars]
            expr = ELEMENTWISE[e.prim](ts, t, [_value(x, names, env) for x in e.invars],
                                       e.params)
        lines.append(f"{pad}const {t.reg} {nm} = {expr};")
        env[id(out)] = nm
    red_out = k.reduce.outvars[0] if k.reduce is not None else None
    for v in k.outputs:
        if v is not red_out:
            t = ctype(v.aval.dtype)
            lines.append(f"{pad}{ptr(v)}[{out_index}] = "
                         f"{store_value(t, _value(v, names, env))};")
    return lines


def _params(reads: list[Var], writes: list[Var], pname) -> str:
    ps = [f"const {ctype(v.aval.dtype).mem}* __restrict__ {pname(v)}" for v in reads]
    ps += [f"{ctype(v.aval.dtype).mem}* __restrict__ {pname(v)}" for v in writes]
    return ", ".join(ps)


def kernel_source(k: Kernel, name: str, scratch: list[Var]) -> tuple[str, Launch, list]:
    """The CUDA text of kernel ``k`` as ``name`` and its launch (plus, for a split
    reduction, the second kernel's text and launch, and the partial buffer it adds to
    ``scratch``). Returns (text, launch, [(text, launch)...] of follow-up kernels)."""
    red = k.reduce
    axes = tuple(red.params["axes"]) if red is not None else ()
    rank = len(k.shape)
    inputs = list(k.inputs.values())
    iotas = [e for e in k.eqns if e.prim.name == "iota"]
    accessors = [list(view.strides) for _, view in inputs]
    accessors.append(list(contiguous_strides(k.shape)))        # elementwise outputs
    kept_shape = [n for d, n in enumerate(k.shape) if d not in axes]
    kept = iter(contiguous_strides(kept_shape))
    accessors.append([0 if d in axes else next(kept) for d in range(rank)])  # reduction
    accessors += [[int(d == e.params["dimension"]) for d in range(rank)] for e in iotas]
    shape, accs = collapse(list(k.shape), accessors)
    n_in = len(inputs)
    out_acc, red_acc = accs[n_in], accs[n_in + 1]
    iota_strides = dict(zip(map(id, iotas), accs[n_in + 2:]))

    reads = list({id(view.base): view.base for _, view in inputs}.values())
    writes = list(k.outputs)
    if red is not None and red.outvars[0] not in writes:
        writes.append(red.outvars[0])
    writes = list({id(v): v for v in writes}.values())
    pnames = {id(v): f"p{i}" for i, v in enumerate(reads + writes)}

    def ptr(v):
        return pnames[id(v)]

    names = _Names()
    env: dict[int, str] = {}
    head = []
    for vid, lit in k.literals.items():
        t = ctype(lit.aval.dtype)
        nm = f"c{len(head)}"
        head.append(f"  const {t.reg} {nm} = {const(np.asarray(lit.val), t)};")
        env[vid] = nm
    n_total = int(np.prod(k.shape, dtype=np.int64))
    reduced = [s == 0 for s in red_acc]
    n_red = int(np.prod([n for n, r in zip(shape, reduced) if r], dtype=np.int64))
    n_out = int(np.prod(kept_shape, dtype=np.int64))
    sig = f"FL_GLOBAL void {name}({_params(reads, writes, ptr)})"
    if red is None or n_red <= 1 and n_total > 0:
        # elementwise (a reduction over at most one element is its operand, as numpy
        # leaves it: no identity is combined in, so -0.0 stays -0.0)
        idx = [f"d{d}" for d in range(len(shape))]
        lines = [sig + " {", *head,
                 f"  for (long long i = FL_BID * FL_NTID + FL_TID; i < {n_total}LL;"
                 " i += FL_NBID * FL_NTID) {"]
        _unravel(lines, "i", idx, shape, "    ")
        lines += _body(k, names, env, "    ", idx, accs, inputs, iota_strides,
                       _offset(idx, out_acc), ptr)
        if red is not None:
            rt = ctype(red.outvars[0].aval.dtype)
            lines.append(f"    {ptr(red.outvars[0])}[{_offset(idx, red_acc)}] = "
                         f"{store_value(rt, _value(red.invars[0], names, env))};")
        lines += ["  }", "}"]
        return "\n".join(lines), Launch(name, reads, writes, elements=n_total), []

    # a reduction over n_red > 1 elements (or none: then each output is the identity)
    rt = ctype(red.outvars[0].aval.dtype)
    identity, combine = reduction(red.prim.name, rt)
    chunks = 1
    if n_out < CHUNK_OUTPUTS and n_red >= 2 * CHUNK_MIN:
        chunks = int(min(-(-CHUNK_OUTPUTS // max(n_out, 1)), n_red // CHUNK_MIN))
    kdims = [d for d, r in enumerate(reduced) if not r]
    rdims = [d for d, r in enumerate(reduced) if r]
    idx = [f"d{d}" for d in range(len(shape))]
    acc_t = rt.reg
    target = ptr(red.outvars[0])
    follow = []
    if chunks > 1:
        # partial results in the register type (float16 sums accumulate in float)
        part = Var(ShapedArray((n_out * chunks,), _reg_dtype(rt)))
        scratch.append(part)
        writes = [v for v in writes if v is not red.outvars[0]] + [part]
        pnames = {id(v): f"p{i}" for i, v in enumerate(reads + writes)}
        target = ptr(part)
        sig = f"FL_GLOBAL void {name}({_params(reads, writes, ptr)})"
        follow.append(_combine_partials(f"{name}_combine", part, red.outvars[0], n_out,
                                        chunks, rt, red.prim.name))
    lines = [sig + " {", f"  FL_SHARED {acc_t} fl_sh[FL_BLOCK];", *head,
             f"  for (long long b = FL_BID; b < {n_out * chunks}LL; b += FL_NBID) {{",
             f"    const long long o = b / {chunks}LL, c = b % {chunks}LL;"]
    _unravel(lines, "o", [idx[d] for d in kdims], [shape[d] for d in kdims], "    ")
    lines.append(f"    {acc_t} acc = {identity};")
    lines.append(f"    for (long long r = c * FL_NTID + FL_TID; r < {n_red}LL;"
                 f" r += {chunks}LL * FL_NTID) {{")
    _unravel(lines, "r", [idx[d] for d in rdims], [shape[d] for d in rdims], "      ")
    lines += _body(k, names, env, "      ", idx, accs, inputs, iota_strides,
                   _offset(idx, out_acc), ptr)
    lines.append(f"      acc = {combine('acc', _value(red.invars[0], names, env))};")
    lines.append("    }")
    lines += _tree(acc_t, combine, "    ")
    store = "fl_sh[0]" if chunks > 1 else store_value(rt, "fl_sh[0]")
    lines += [f"    if (FL_TID == 0) {target}[b] = {store};", "    FL_SYNC();", "  }", "}"]
    launch = Launch(name, reads, writes, blocks=n_out * chunks)
    return "\n".join(lines), launch, follow


def _reg_dtype(t: CType) -> np.dtype:
    return np.dtype(np.float32) if t.kind == "h" else t.dtype


def _tree(acc_t: str, combine, pad: str) -> list[str]:
    """Combine the block's accumulators in shared memory; fl_sh[0] holds the result."""
    return [f"{pad}fl_sh[FL_TID] = acc;", f"{pad}FL_SYNC();",
            f"{pad}for (int s = FL_BLOCK / 2; s > 0; s >>= 1) {{",
            f"{pad}  if (FL_TID < s) {{",
            f"{pad}    const {acc_t} a = fl_sh[FL_TID], x = fl_sh[FL_TID + s];",
            f"{pad}    fl_sh[FL_TID] = {combine('a', 'x')};",
            f"{pad}  }}", f"{pad}  FL_SYNC();", f"{pad}}}"]


def _combine_partials(name, part: Var, out: Var, n_out: int, chunks: int, rt: CType,
                      prim_name: str):
    identity, combine = reduction(prim_name, rt)
    pt = ctype(part.aval.dtype)
    lines = [f"FL_GLOBAL void {name}(const {pt.mem}* __restrict__ p0, "
             f"{rt.mem}* __restrict__ p1) {{",
             f"  FL_SHARED {rt.reg} fl_sh[FL_BLOCK];",
             f"  for (long long b = FL_BID; b < {n_out}LL; b += FL_NBID) {{",
             f"    {rt.reg} acc = {identity};",
             f"    for (long long r = FL_TID; r < {chunks}LL; r += FL_NTID)",
             f"      acc = {combine('acc', f'p0[b * {chunks}LL + r]')};",
             *_tree(rt.reg, combine, "    "),
             f"    if (FL_TID == 0) p1[b] = {store_value(rt, 'fl_sh[0]')};",
             "    FL_SYNC();", "  }", "}"]
    return "\n".join(lines), Launch(name, [part], [out], blocks=n_out)


def generate(prog: FusedProgram, name: str = "main") -> Module:
    """The CUDA module of ``prog`` and the steps that run it."""
    mod = Module("")
    texts = []
    for n, step in enumerate(prog.steps):
        if isinstance(step, Kernel):
            text, launch, follow = kernel_source(step, f"fl_{name}_k{n}", mod.scratch)
            texts.append(text)
            mod.steps.append(launch)
            for t, la in follow:
                texts.append(t)
                mod.steps.append(la)
        else:
            mod.steps.append(OpaqueCall(step))
    mod.kernels = texts
    mod.source = "\n".join([PRELUDE, LAUNCH_MACROS, *texts]) + "\n"
    return mod


def view_text(v: View) -> str:
    return f"view(shape={v.shape}, strides={v.strides}, offset={v.offset})"
