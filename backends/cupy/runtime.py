"""Running a generated module on the GPU: kernels compiled once per source text
(``cupy.RawModule``, cached in this process by the text), launched in order over
device buffers allocated with CuPy; opaque steps call CuPy routines, control flow runs
its loop here around nested compiled programs. A call runs on the GPU holding its
array arguments (inputs on two GPUs raise); the program's constants are moved to each
device once, on first use there. Results never share memory with the arguments, the
constants or each other (CuPy arrays are mutable: writing one result must not change
another value). ``cupy`` is imported on first use.

The grid of an elementwise kernel is ``ceil(elements / BLOCK)`` blocks, at most
``BLOCKS_PER_SM`` per multiprocessor (the kernels stride over the rest); a reduction
gets one block per output (or per chunk of one), at most ``MAX_BLOCKS``; a kernel with
nothing to do is not launched.
"""

from __future__ import annotations

import numpy as np

from functorch_lite.fusion import FusedProgram, View
from functorch_lite.ir import Literal
from functorch_lite.placement import device_id, same_device

from .codegen import BLOCK, Launch, Module
from .control import CONTROL
from .opaque import OPAQUE

BLOCKS_PER_SM = 32
MAX_BLOCKS = 1 << 20
# caches keyed by the cupy module too: a test may stand a fake CuPy in for the real one
_modules: dict[tuple[int, str], object] = {}  # (id(cupy), source text) -> cupy.RawModule
_sms: dict[tuple[int, int], int] = {}  # (id(cupy), device id) -> multiprocessors


def cupy_module():
    """The ``cupy`` module (imported on first use; later calls find it in
    ``sys.modules``)."""
    import cupy  # lazy: the optional gpu extra

    return cupy


def raw_module(source: str):
    """The compiled ``cupy.RawModule`` of ``source`` (one compilation per text)."""
    cp = cupy_module()
    mod = _modules.get((id(cp), source))
    if mod is None:
        mod = _modules[id(cp), source] = cp.RawModule(code=source, options=("-std=c++17",))
    return mod


def _sm_count(cp) -> int:
    """Multiprocessors of the current device (asked once per device)."""
    dev = cp.cuda.Device()
    key = (id(cp), int(dev.id))
    if key not in _sms:
        _sms[key] = int(dev.attributes["MultiProcessorCount"])
    return _sms[key]


def dense(cp, a):
    """``a`` as a C-contiguous array of module ``cp`` (``cupy``) of the same shape,
    ``a`` itself when it is one. (``cupy.ascontiguousarray`` alone would turn a 0-d array
    into a 1-d one, as numpy's does.)

    >>> dense(np, np.float64(2.0)).shape, dense(np, np.ones((2, 4))[:, ::2]).flags.c_contiguous
    ((), True)
    """
    a = cp.asarray(a)
    return a if a.flags.c_contiguous else cp.ascontiguousarray(a).reshape(a.shape)


def strided(cp, base, view: View):
    """``view`` of the dense device buffer ``base`` as a CuPy array (no copy)."""
    dt = base.dtype
    if 0 in view.shape:
        return cp.empty(view.shape, dt)
    return cp.ndarray(view.shape, dt, memptr=base.data + view.offset * dt.itemsize,
                      strides=tuple(s * dt.itemsize for s in view.strides))


def _span(a) -> tuple[int, int]:
    """The device addresses ``[start, end)`` of the dense array ``a``."""
    start = a.data.ptr
    return start, start + a.nbytes


def _overlap(s, t) -> bool:
    return s[0] < t[1] and t[0] < s[1]


class Program:
    """A compiled program: call it with arrays (numpy or CuPy) for a list of CuPy arrays."""

    def __init__(self, mod: Module, prog: FusedProgram, consts, name: str, compile_nested,
                 nested: bool = False):
        cupy_module()  # where CuPy is missing, fail when compiling rather than when called
        self.mod, self.prog, self.name = mod, prog, name
        # a control-flow body may hand its arguments back (its caller never writes them,
        # and the outermost program copies what it returns), never its own constants
        self.nested = nested
        self.kernels = {}
        if any(isinstance(s, Launch) for s in mod.steps):
            raw = raw_module(mod.source)
            self.kernels = {s.name: raw.get_function(s.name) for s in mod.steps
                            if isinstance(s, Launch)}
        self.host_consts = [c.get() if hasattr(c, "get") else np.asarray(c) for c in consts]
        self.consts: dict[int, list] = {}  # device id -> the constants there
        self.runs = {}
        for n, s in enumerate(mod.steps):
            if not isinstance(s, Launch):
                e = s.step.eqn
                if e.prim in CONTROL:
                    self.runs[n] = CONTROL[e.prim][1](e, compile_nested)
                elif e.prim in OPAQUE:
                    fn = OPAQUE[e.prim][1]
                    self.runs[n] = lambda xp, arrays, fn=fn, params=e.params: fn(xp, arrays,
                                                                                  params)
                else:
                    raise NotImplementedError(
                        f"cupy backend: no lowering for primitive '{e.prim.name}'; use "
                        "backend='numpy' for this program")
        self.dead = self._last_uses()

    def _last_uses(self) -> dict[int, list[int]]:
        """For each step, the buffers no later step (nor the result) reads."""
        keep = {id(v) for v in self.prog.outvars if not isinstance(v, Literal)}
        last: dict[int, int] = {}
        for n, s in enumerate(self.mod.steps):
            reads = s.reads if isinstance(s, Launch) else [
                x.base for x in s.step.inputs if isinstance(x, View)]
            for v in reads:
                last[id(v)] = n
        out: dict[int, list[int]] = {}
        for vid, n in last.items():
            if vid not in keep:
                out.setdefault(n, []).append(vid)
        return out

    def __call__(self, *args):
        cp = cupy_module()
        args = same_device(f"cupy backend: program `{self.name}`", list(args))
        dev = next((i for i in map(device_id, args) if i is not None), None)
        with cp.cuda.Device(dev):
            return self._run(cp, int(cp.cuda.Device().id), args)

    def _run(self, cp, dev: int, args):
        if dev not in self.consts:
            self.consts[dev] = [dense(cp, c) for c in self.host_consts]
        j = self.prog.jaxpr
        env = {}
        for v, a in zip(list(j.constvars) + list(j.invars), self.consts[dev] + list(args)):
            env[id(v)] = dense(cp, a)
        given = [_span(a) for a in (self.consts[dev] if self.nested else env.values())]
        for n, s in enumerate(self.mod.steps):
            if isinstance(s, Launch):
                self._launch(cp, s, env)
            else:
                self._opaque(cp, n, s.step, env)
            for vid in self.dead.get(n, ()):
                env.pop(vid, None)
        outs = [cp.asarray(np.asarray(v.val, v.aval.dtype)) if isinstance(v, Literal)
                else env[id(v)] for v in self.prog.outvars]
        for k, o in enumerate(outs):
            # an argument, a constant or another result returned as is (or a view of one)
            if o.size and any(_overlap(_span(o), t) for t in given):
                outs[k] = o = o.copy()
            given.append(_span(o))
        return outs

    def _launch(self, cp, s: Launch, env):
        for v in s.writes:
            if id(v) not in env:
                env[id(v)] = cp.empty(v.aval.shape, v.aval.dtype)
        if s.elements:
            grid = min(-(-s.elements // BLOCK), BLOCKS_PER_SM * _sm_count(cp))
        elif s.blocks:
            grid = min(s.blocks, MAX_BLOCKS)
        else:
            return  # nothing to compute
        args = [env[id(v)] for v in s.reads + s.writes]
        self.kernels[s.name]((grid,), (BLOCK,), tuple(args))

    def _opaque(self, cp, n, step, env):
        arrays = [cp.asarray(np.asarray(x.val, x.aval.dtype)) if isinstance(x, Literal)
                  else strided(cp, env[id(x.base)], x) for x in step.inputs]
        outs = self.runs[n](cp, arrays)
        for v, r in zip(step.eqn.outvars, outs):
            r = cp.asarray(r)
            if r.dtype != v.aval.dtype:
                r = r.astype(v.aval.dtype)
            env[id(v)] = dense(cp, r.reshape(v.aval.shape))
