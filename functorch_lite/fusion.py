"""Fusion: group a flat program into kernels whose intermediates never reach memory.

The grouped program (``FusedProgram``) is what compiling backends lower; it is
backend-independent (the LLVM backend today, the CuPy backend later) and printable.

* A ``Kernel`` is one loop nest over an iteration shape: a chain of elementwise
  equations, optionally ending in one reduction. Its operands are memory reads
  through ``View``s; every value it computes that is used outside it is written out.
* Layout equations (``broadcast_in_dim``, ``transpose``, ``reshape``, ``slice``, ``rev``,
  and a ``gather`` without index arrays, i.e. basic indexing) on materialised values cost
  nothing: they become ``View``s (shape, strides, offset over a buffer), i.e. index
  arithmetic in the loads. A layout change of a value still inside an open kernel ends
  that kernel first (the value is written out, then read through the view); one that
  strides cannot express (a reshape of a transposed view) becomes a copy kernel.
* Every other equation is an ``Opaque`` step lowered on its own (dot_general, gather,
  control flow...).
* A value computed inside a closed kernel (one that ended in a reduction) and needed
  again at the same shape is recomputed by the later kernel when its chain is short
  (``RECOMPUTE`` equations) and reads at most one full-size buffer: a memory round
  trip costs more than a few operations.

>>> prog = fuse(fl.make_ir(lambda x: fnp.sum(fnp.exp(x) * 2.0))(np.ones(4, np.float32)))
>>> [type(s).__name__ for s in prog.steps]
['Kernel']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .core import Primitive
from .ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var
from .primitives import elementwise, index, reduce, shape

# a primitive is elementwise when the elementwise family defines it
ELEMENTWISE: frozenset[Primitive] = frozenset(
    v for v in vars(elementwise).values() if isinstance(v, Primitive))
REDUCTIONS: frozenset[Primitive] = frozenset(
    {shape.reduce_sum_p, reduce.reduce_max_p, reduce.reduce_min_p, reduce.reduce_prod_p,
     reduce.reduce_and_p, reduce.reduce_or_p})
RECOMPUTE = 4  # at most this many equations are recomputed instead of written out
LAYOUT: frozenset[Primitive] = frozenset(
    {shape.broadcast_in_dim_p, shape.transpose_p, shape.reshape_p, shape.slice_p, shape.rev_p})


def contiguous_strides(shp) -> tuple[int, ...]:
    """Row-major strides, in elements."""
    out, acc = [], 1
    for n in reversed(shp):
        out.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(out))


def collapse(shape, accessors, keep_outer: bool = False):
    """A kernel's loop nest made shallower, for any backend: drop size-1 dims and merge
    dim d into d+1 when every accessor (a list of element strides, one per dim) walks them
    contiguously (``stride[d] == stride[d+1] * shape[d+1]``); returns (shape, accessors).
    ``keep_outer``: dim 0 stays a dim of its own (threads or row blocks split it).

    >>> collapse([2, 1, 3], [[3, 0, 1], [0, 0, 0]])
    ([6], [[1], [0]])
    """
    keep = [d for d, n in enumerate(shape) if n != 1]
    shape = [int(shape[d]) for d in keep]
    accs = [[int(a[d]) for d in keep] for a in accessors]
    for d in reversed(range(int(keep_outer), len(shape) - 1)):
        if all(a[d] == a[d + 1] * shape[d + 1] for a in accs):
            shape[d] *= shape[d + 1]
            del shape[d + 1]
            for a in accs:
                a[d] = a[d + 1]
                del a[d + 1]
    return shape, accs


@dataclass(frozen=True)
class View:
    """Elements of ``base`` (a materialised buffer) at ``offset + sum(i_d * strides[d])``."""

    base: Var
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int = 0

    @staticmethod
    def of(v: Var) -> View:
        return View(v, v.aval.shape, contiguous_strides(v.aval.shape), 0)

    @property
    def is_dense(self) -> bool:
        """Row-major without gaps from ``offset`` on: one pointer addresses it as a buffer."""
        return self.strides == contiguous_strides(self.shape)

    @property
    def is_contiguous(self) -> bool:
        return self.offset == 0 and self.strides == contiguous_strides(self.shape) and \
            self.shape == self.base.aval.shape

    def transpose(self, perm) -> View:
        return View(self.base, tuple(self.shape[p] for p in perm),
                    tuple(self.strides[p] for p in perm), self.offset)

    def broadcast(self, shp, bdims) -> View:
        strides = [0] * len(shp)
        for i, d in enumerate(bdims):
            strides[d] = self.strides[i] if self.shape[i] == shp[d] else 0
        return View(self.base, tuple(shp), tuple(strides), self.offset)

    def slice(self, start, limit, step) -> View:
        offset = self.offset + sum(s * st for s, st in zip(start, self.strides))
        shp = tuple(max(0, -(-(hi - lo) // k)) for lo, hi, k in zip(start, limit, step))
        return View(self.base, shp, tuple(st * k for st, k in zip(self.strides, step)), offset)

    def index(self, spec) -> View:
        """Basic indexing with a static gather spec (slices, integers, new axes)."""
        shp, strides, offset, d = [], [], self.offset, 0
        for e in spec:
            if e[0] == "n":
                shp.append(1)
                strides.append(0)
                continue
            if e[0] == "c":
                offset += e[1] * self.strides[d]
            else:
                start, stop, step = e[1:]
                shp.append(len(range(start, stop, step)))
                strides.append(self.strides[d] * step)
                offset += start * self.strides[d] if shp[-1] else 0
            d += 1
        return View(self.base, tuple(shp), tuple(strides), offset)

    def rev(self, dims) -> View:
        offset = self.offset + sum((self.shape[d] - 1) * self.strides[d] for d in dims
                                   if self.shape[d] > 0)
        strides = tuple(-st if d in dims else st for d, st in enumerate(self.strides))
        return View(self.base, self.shape, strides, offset)

    def reshape(self, shp) -> View | None:
        """The same elements in row-major order with a new shape, if strides can say so
        (None otherwise: then the elements must be copied out first)."""
        shp = tuple(int(n) for n in shp)
        if self.is_contiguous or int(np.prod(shp, dtype=np.int64)) == 0:
            return View(self.base, shp, contiguous_strides(shp), self.offset)
        # ignoring size-1 dims, each run of old dims with the same element count as a run
        # of new dims maps onto it when the old run is contiguous within itself
        old = [(n, s) for n, s in zip(self.shape, self.strides) if n != 1]
        new_dims = [i for i, n in enumerate(shp) if n != 1]
        strides = [0] * len(shp)
        oi = ni = 0
        while ni < len(new_dims) and oi < len(old):
            nj, oj = ni + 1, oi + 1
            nsz, osz = shp[new_dims[ni]], old[oi][0]
            while nsz != osz:
                if nsz < osz:
                    if nj == len(new_dims):
                        return None
                    nsz *= shp[new_dims[nj]]
                    nj += 1
                else:
                    if oj == len(old):
                        return None
                    osz *= old[oj][0]
                    oj += 1
            if any(old[k][1] != old[k + 1][1] * old[k + 1][0] for k in range(oi, oj - 1)):
                return None
            stride = old[oj - 1][1]
            for k in reversed(range(ni, nj)):
                strides[new_dims[k]] = stride
                stride *= shp[new_dims[k]]
            ni, oi = nj, oj
        if ni != len(new_dims) or oi != len(old):
            return None
        return View(self.base, shp, tuple(strides), self.offset)

    def __str__(self):
        return f"view({self.shape}, strides={self.strides}, offset={self.offset})"


@dataclass
class Kernel:
    """One loop nest over ``shape``: ``eqns`` (elementwise, in order), then optionally the
    reduction ``reduce``. ``inputs`` maps each operand Var read from memory to its View;
    ``literals`` maps operand Vars that are a broadcast literal to it; ``outputs`` are
    the Vars written to memory (contiguous, in program order). An output that is also an
    input or a literal is a copy or a fill."""

    shape: tuple[int, ...]
    eqns: list[Eqn] = field(default_factory=list)
    reduce: Eqn | None = None
    inputs: dict[int, tuple[Var, View]] = field(default_factory=dict)
    outputs: list[Var] = field(default_factory=list)
    literals: dict[int, Literal] = field(default_factory=dict)  # Vars that are a literal

    def produced(self) -> list[Var]:
        outs = [v for e in self.eqns for v in e.outvars]
        return outs + (list(self.reduce.outvars) if self.reduce is not None else [])


@dataclass
class Opaque:
    """One equation lowered on its own; its operands are read through views."""

    eqn: Eqn
    inputs: list[View | Literal]


@dataclass
class FusedProgram:
    """``steps`` run in order over the buffers of ``jaxpr``'s inputs, outputs and temps.
    ``views`` gives, for a Var that is only a view of another buffer (a layout equation
    folded away), that view; program outputs that are views are copied out. ``outvars``
    are the program's results (``jaxpr.outvars``, or fresh Vars when each result must
    own its buffer)."""

    jaxpr: Jaxpr
    steps: list[Kernel | Opaque]
    views: dict[int, View]
    outvars: list

    def __str__(self):
        names: dict[int, str] = {}

        def nm(v):
            if isinstance(v, Literal):
                return repr(np.asarray(v.val).item())
            return names.setdefault(id(v), f"%{len(names)}")

        for v in self.jaxpr.constvars + self.jaxpr.invars:
            nm(v)
        lines = [f"fused program ({', '.join(nm(v) for v in self.jaxpr.invars)}):"]
        for s in self.steps:
            if isinstance(s, Kernel):
                ins = ", ".join(f"{nm(v)}=" + str(view).replace("view(", f"view({nm(view.base)}, ")
                                for v, view in s.inputs.values())
                body = "; ".join(f"{' '.join(nm(o) for o in e.outvars)} = {e.prim.name} "
                                 f"{' '.join(nm(i) for i in e.invars)}"
                                 for e in s.eqns + ([s.reduce] if s.reduce else []))
                lines.append(f"  kernel{list(s.shape)}[{ins}] {{ {body} }} -> "
                             f"{', '.join(nm(o) for o in s.outputs)}")
            else:
                lines.append(f"  {' '.join(nm(o) for o in s.eqn.outvars)} = "
                             f"{s.eqn.prim.name} {' '.join(nm(i) for i in s.eqn.invars)}")
        lines.append(f"  return {', '.join(nm(v) for v in self.outvars)}")
        return "\n".join(lines)


def _calls_program(e: Eqn) -> bool:
    return any(isinstance(p, ClosedJaxpr) or (isinstance(p, tuple) and p
                                               and isinstance(p[0], ClosedJaxpr))
               for p in e.params.values())


def fuse(closed: ClosedJaxpr | Jaxpr, own_outputs: bool = False) -> FusedProgram:
    """Group a flat program into kernels and opaque steps (see the module docstring).

    Operands of an equation that calls a program (cond, while, scan) are dense buffers
    (a strided view or a literal is first copied or filled). With ``own_outputs`` every
    result gets a buffer of its own (a result that is an input, a literal or a repeat
    of another result is copied), as a program called by another program needs."""
    jaxpr = closed.jaxpr if isinstance(closed, ClosedJaxpr) else closed
    views: dict[int, View] = {}   # materialised or layout-folded Var -> how to read it
    home: dict[int, Kernel] = {}  # Var computed inside a kernel -> that kernel
    literal: dict[int, Literal] = {}  # Var that is a layout change of a literal -> it
    steps: list[Kernel | Opaque] = []
    state = {"open": None}        # the kernel that later elementwise equations may join

    def push(step):
        # a new step runs after every earlier one, so nothing may join an earlier kernel
        state["open"] = step if isinstance(step, Kernel) and step.reduce is None else None
        steps.append(step)
        return step

    def materialise(v: Var) -> View:
        """The view through which later steps read ``v`` (written out if kernel-internal)."""
        if id(v) in literal:  # a broadcast literal that memory needs: fill a buffer
            fill(v, literal.pop(id(v)))
        if id(v) not in views:
            k = home[id(v)]
            if v not in k.outputs:
                k.outputs.append(v)
            if k is state["open"]:
                state["open"] = None  # a later reader cannot run inside the writing loop
            views[id(v)] = View.of(v)
        return views[id(v)]

    recomputed: dict[int, set[int]] = {}  # kernel id -> Vars it recomputes

    def recompute(k: Kernel, x: Var) -> bool:
        """Put the short elementwise chain computing ``x`` inside an earlier kernel into
        ``k`` too, when that reads no more full-size memory than ``x``'s own buffer would
        (``RECOMPUTE``): then ``x`` is never written out (W2: ``x - max`` is recomputed by
        the last kernel from ``x`` and the row maxima instead of making a round trip
        through memory)."""
        k0 = home.get(id(x))
        if k0 is None or id(x) in views or k0.shape != k.shape or k0.reduce is not None \
                and any(v is x for v in k0.reduce.outvars):
            return False
        local = recomputed.setdefault(id(k), set())
        by_out = {id(o): e for e in k0.eqns for o in e.outvars}
        chain, leaves, todo = {}, {}, [x]
        while todo:
            v = todo.pop()
            if id(v) in chain or id(v) in local:
                continue
            if id(v) in views or id(v) not in by_out:  # memory k0 reads, or a literal
                if id(v) in k0.inputs:
                    leaves[id(v)] = k0.inputs[id(v)]
                elif id(v) not in k0.literals and id(v) not in local:
                    return False
                continue
            e = by_out[id(v)]
            chain[id(v)] = e
            todo += [y for y in e.invars if not isinstance(y, Literal)]
        full = [view for _, view in leaves.values() if 0 not in (
            st for st, n in zip(view.strides, view.shape) if n != 1)]
        if len(chain) > RECOMPUTE or len(full) > 1:
            return False
        for vid, (v, view) in leaves.items():
            k.inputs.setdefault(vid, (v, view))
        for vid in chain:
            local.add(vid)
        for e in k0.eqns:  # in k0's order, so operands come first
            if any(id(o) in chain for o in e.outvars):
                k.eqns.append(e)
                for y in e.invars:
                    if id(y) in k0.literals:
                        k.literals[id(y)] = k0.literals[id(y)]
        return True

    def read_into(k: Kernel, x):
        if id(x) in literal:
            k.literals[id(x)] = literal[id(x)]
        elif not isinstance(x, Literal) and home.get(id(x)) is not k and \
                id(x) not in recomputed.get(id(k), ()) and not recompute(k, x):
            k.inputs.setdefault(id(x), (x, materialise(x)))

    def copy(out: Var, src: View) -> None:
        # iterating over src's shape in row-major order writes out's elements in order
        k = Kernel(src.shape)
        k.inputs[id(out)] = (out, src)  # an output that is also an input is a copy
        k.outputs.append(out)
        push(k)
        state["open"] = None
        views[id(out)] = View.of(out)

    def fill(v: Var, lit: Literal) -> None:
        k = Kernel(tuple(v.aval.shape), literals={id(v): lit})
        k.outputs.append(v)
        push(k)
        state["open"] = None
        views[id(v)] = View.of(v)

    def dense(x) -> View:
        """``x`` as a view one pointer can address (copied or filled when it is not)."""
        if isinstance(x, Literal):
            v = Var(x.aval)
            fill(v, x)
            return views[id(v)]
        view = materialise(x)
        if view.is_dense:
            return view
        v = Var(x.aval)
        copy(v, view)
        return views[id(v)]

    for v in jaxpr.constvars + jaxpr.invars:
        views[id(v)] = View.of(v)
    for e in jaxpr.eqns:
        out = e.outvars[0]
        is_layout = e.prim in LAYOUT or (e.prim is index.gather_p and len(e.invars) == 1)
        if is_layout and (isinstance(e.invars[0], Literal)
                                 or id(e.invars[0]) in literal):
            x = e.invars[0]
            literal[id(out)] = x if isinstance(x, Literal) else literal[id(x)]
        elif is_layout:
            src = materialise(e.invars[0])
            if e.prim is shape.transpose_p:
                new = src.transpose(e.params["permutation"])
            elif e.prim is shape.slice_p:
                new = src.slice(e.params["start_indices"], e.params["limit_indices"],
                                e.params["strides"])
            elif e.prim is shape.rev_p:
                new = src.rev(e.params["dimensions"])
            elif e.prim is index.gather_p:
                new = src.index(e.params["spec"])
            elif e.prim is shape.broadcast_in_dim_p:
                new = src.broadcast(e.params["shape"], e.params["broadcast_dimensions"])
            else:
                new = src.reshape(e.params["new_sizes"])
            if new is None:
                copy(out, src)
            else:
                views[id(out)] = new
        elif e.prim in ELEMENTWISE:
            k = state["open"]
            if k is None or k.shape != tuple(out.aval.shape):
                k = push(Kernel(tuple(out.aval.shape)))
            for x in e.invars:
                read_into(k, x)
            k.eqns.append(e)
            for o in e.outvars:
                home[id(o)] = k
        elif e.prim in REDUCTIONS:
            (x,) = e.invars
            k = state["open"]
            if k is None or home.get(id(x)) is not k:
                k = Kernel(tuple(x.aval.shape))
                read_into(k, x)
                push(k)
            k.reduce = e
            home[id(out)] = k
            state["open"] = None  # at most one reduction per kernel
        else:
            # program-calling equations read dense buffers; every other one reads views
            # (a literal operand is filled into a buffer first)
            ins = [dense(x) if _calls_program(e) or isinstance(x, Literal) else materialise(x)
                   for x in e.invars]
            push(Opaque(e, ins))
            for o in e.outvars:
                views[id(o)] = View.of(o)
    outvars = list(jaxpr.outvars)
    inputs = {id(v) for v in jaxpr.constvars + jaxpr.invars}
    seen: set[int] = set()
    for n, v in enumerate(outvars):
        if isinstance(v, Var):
            view = materialise(v)
            if view.base is not v or not view.is_contiguous:
                copy(v, view)  # returned values own contiguous buffers
        if own_outputs and (isinstance(v, Literal) or id(v) in inputs or id(v) in seen):
            fresh = Var(v.aval)
            if isinstance(v, Literal):
                fill(fresh, v)
            else:
                copy(fresh, views[id(v)])
            outvars[n] = fresh
        seen.add(id(outvars[n]))
    return FusedProgram(jaxpr, steps, views, outvars)
