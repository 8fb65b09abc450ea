"""Running a compiled program: one native call per program run.

Inputs are checked against the program's types and made C-contiguous (strided,
negative-stride or Fortran-ordered arrays are copied), outputs are allocated through
numpy, intermediates live in one arena reused across calls.

Per-call cost is what small programs (a jitted hessian, a training step) pay, so the
call does as little as it can in Python. The entry point ``fl_call(objs, statics,
offset)`` takes the array *objects* (``id(a)``, their CPython addresses) and reads
each one's data pointer itself, ``DATA_OFFSET`` bytes into the object, where numpy's
``PyArrayObject`` keeps it (what the ``PyArray_DATA`` macro of every compiled numpy
extension reads): ``id`` costs ~50 ns per buffer where ``__array_interface__`` or
``.ctypes.data`` cost ~0.8 us. The offset is found by probing an array at import,
not assumed.

Large outputs are recycled (``Recycler``): a new multi-megabyte numpy array costs
page faults on first touch (~2 us per 4 KiB page, ~30 ms for 64 MiB), more than many
kernels that fill it, so each large output slot keeps the buffers it handed out and
reuses one once the caller has dropped every reference to it (its reference count
says so; views and exports hold a reference to the buffer).

>>> prog = BACKEND.compile(closed)  # doctest: +SKIP
>>> prog(np.ones(3, np.float32))    # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import weakref

import numpy as np

from functorch_lite.fusion import contiguous_strides
from functorch_lite.ir import Literal

from .codegen import Layout


def threads() -> int:
    """Threads a program's large kernels share their loops among: the CPUs this process
    may run on (``FUNCTORCH_LITE_THREADS`` overrides), read when a program is loaded.

    >>> threads() >= 1
    True
    """
    env = os.environ.get("FUNCTORCH_LITE_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this OS
        return os.cpu_count() or 1


RECYCLE_BYTES = 1 << 18  # outputs this large are recycled; smaller ones come from malloc
RECYCLE_DEPTH = 2        # buffers kept per output slot: a step's inputs are often the
#                          previous step's outputs, still alive while it runs


def _ptr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _data_offset() -> int:
    """Where an ndarray object holds its data pointer (bytes from the object's start)."""
    probe = np.arange(3.0)
    want = _ptr(probe)
    for off in range(8, 64, 8):
        if ctypes.c_void_p.from_address(id(probe) + off).value == want:
            return off
    raise ImportError("llvm backend: cannot find the data pointer inside a numpy array "
                      "object on this Python")


DATA_OFFSET = _data_offset()


def _refs_at(bufs: list, k: int) -> int:
    return sys.getrefcount(bufs[k])


# what _refs_at counts for a buffer only a list holds, measured on this interpreter
FREE_REFS = _refs_at([np.empty(1)], 0)


class Recycler:
    """Buffers for one large output slot, handed out again once no one else holds them.

    >>> r = Recycler((1 << 20,), np.dtype(np.float32))
    >>> a = r.take(); b = r.take()
    >>> a is not b
    True
    >>> del a
    >>> r.take() is not b
    True
    """

    __slots__ = ("shape", "dtype", "bufs", "__weakref__")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype
        self.bufs: list[np.ndarray] = []

    @staticmethod
    def holds(buf: np.ndarray) -> bool:
        """Whether some recycler keeps ``buf`` (one reference to it that is no user's)."""
        r = _POOLED.get(id(buf))
        return r is not None and any(b is buf for b in r.bufs)

    def take(self) -> np.ndarray:
        bufs = self.bufs
        for k in range(len(bufs)):
            # only the list's reference (FREE_REFS); anything more is a caller's array,
            # view, memoryview or export still using the memory
            if _refs_at(bufs, k) == FREE_REFS:
                return bufs[k]
        buf = np.empty(self.shape, self.dtype)
        _POOLED[id(buf)] = self
        if len(bufs) < RECYCLE_DEPTH:
            bufs.append(buf)
        else:  # every kept buffer is in use: forget the oldest (its holder keeps it)
            del bufs[0]
            bufs.append(buf)
        return buf


# buffer id -> the recycler that made it (a buffer donated back to a program may be one)
_POOLED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _base_refs(v: np.ndarray) -> int:
    return sys.getrefcount(v.base)


def _sole_refs() -> int:
    """What ``_base_refs`` gives for a buffer held only by two views (the Array's and
    jit's plain one), counted on this interpreter rather than assumed: how many references
    its own temporaries add differs between Python versions."""
    owner = np.empty(1)
    array_view = owner.view()
    plain_view = array_view.view()
    del owner
    return _base_refs(plain_view)


SOLE_REFS = _sole_refs()


def sole_view(v: np.ndarray) -> bool:
    """Whether ``v`` (a view jit made of a donated Array) reaches memory nothing else
    does: its base is referenced only by the Array, by ``v`` and, maybe, by the recycler
    that made it. A user's other view, or the same Array passed twice, adds a reference."""
    base = v.base
    if type(base) is not np.ndarray or base.base is not None:
        return False
    held = Recycler.holds(base)
    del base
    return _base_refs(v) == SOLE_REFS + held


class Program:
    """A callable running one compiled program on flat numpy arrays.

    A program compiled with donations writes some outputs into donated arguments'
    buffers (``codegen.donation_aliases``). Called with ``donated=`` (indices of arguments
    the caller gives up), such an argument's own buffer is used when nothing else can see
    that memory (``sole_view``) or it had to be copied anyway; otherwise it is copied
    first, so the caller's memory is never written."""

    takes_donations = True

    def __init__(self, compiled, layout: Layout, outvars, consts, hidden, name: str,
                 aliases=None):
        self.compiled = compiled  # keeps the engine (and so the code) alive
        self.fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
            compiled.address("fl_call"))
        self.layout = layout
        self.name = name
        self.consts = [np.ascontiguousarray(c) for c in consts]
        self.n_consts = len(consts)
        self.in_types = [(tuple(v.aval.shape), v.aval.dtype) for v in layout.inputs]
        self.out_types = [(tuple(v.aval.shape), v.aval.dtype) for v in layout.outputs]
        n_in, n_out = len(layout.inputs), len(layout.outputs)
        self.n_in = n_in
        # what a conforming argument looks like: dtype, shape, C-contiguous strides
        self._specs = [(np.dtype(d), s, tuple(st * np.dtype(d).itemsize
                                               for st in contiguous_strides(s)))
                       for s, d in self.in_types[self.n_consts:]]
        self._outs = [Recycler(s, d) if int(np.prod(s, dtype=np.int64)) * d.itemsize
                      >= RECYCLE_BYTES else (s, d) for s, d in self.out_types]
        slot = {id(v): i for i, v in enumerate(layout.inputs)}
        slot.update({id(v): n_in + j for j, v in enumerate(layout.outputs)})
        # each result: a literal, an input (returned as it came) or an output buffer
        self.results = [("lit", np.asarray(v.val)) if isinstance(v, Literal)
                        else ("in", slot[id(v)]) if slot[id(v)] < n_in
                        else ("out", slot[id(v)] - n_in) for v in outvars]
        # the constants of nested programs ride after the arena pointer
        self.hidden = list(hidden)
        self._objs_t = ctypes.c_void_p * (n_in + n_out)
        self._arena = np.empty(max(layout.arena_bytes, 1), np.uint8)
        self._statics_t = ctypes.c_void_p * (2 + len(self.hidden))
        self.threads = threads()
        self._statics = self._statics_t(_ptr(self._arena), *map(_ptr, self.hidden),
                                        self.threads)
        # the call array, reused under the lock (consts' objects are filled in for good)
        self._objs = self._objs_t(*map(id, self.consts))
        self._lock = threading.Lock()
        # output -> the argument (not counting constants) whose buffer it may take
        self.aliases = {j: i - self.n_consts for j, i in (aliases or {}).items()}

    def _argument(self, i, x):
        """``x`` as a C-contiguous array of the program's type for argument ``i`` (a
        TypeError when its shape or dtype differ; no silent casts)."""
        dtype, shape, _ = self._specs[i]
        a = np.asarray(x)
        if a.shape != shape or a.dtype != dtype:
            raise TypeError(f"llvm backend, program `{self.name}`: argument {i} "
                            f"should be {dtype.name}{list(shape)}, got {a.dtype.name}"
                            f"{list(a.shape)}")
        return a if a.flags.c_contiguous else np.ascontiguousarray(a)

    def __call__(self, *args, donated=()):
        if len(args) + self.n_consts != self.n_in:
            raise TypeError(f"llvm backend, program `{self.name}`: expected "
                            f"{self.n_in - self.n_consts} arguments, got {len(args)}")
        if self._lock.acquire(blocking=False):
            try:
                return self._run(args, self._objs, self._statics, True, donated)
            finally:
                self._lock.release()
        # another thread runs this program: this call gets its own arena and outputs
        arena = np.empty_like(self._arena)
        statics = self._statics_t(_ptr(arena), *map(_ptr, self.hidden), self.threads)
        return self._run(args, self._objs_t(*map(id, self.consts)), statics, False, donated,
                         arena)

    def _run(self, args, objs, statics, recycle, donated, *keep):
        # ``keep`` and ``bufs`` hold every object whose id goes into ``objs`` until the
        # native call has returned
        bufs = list(args)
        copied = set()
        k = self.n_consts
        for i, a in enumerate(args):
            dtype, shape, strides = self._specs[i]
            if not (isinstance(a, np.ndarray) and a.dtype is dtype and a.shape == shape
                    and a.strides == strides):
                a = bufs[i] = self._argument(i, a)
                copied.add(i)
            objs[k + i] = id(a)
        taken = {}
        for j, i in self.aliases.items():
            # the code writes output j into argument i's buffer: the donated buffer when
            # nothing else can see it, else a copy of the argument made here
            if not (i in copied or (i in donated and sole_view(bufs[i]))):
                bufs[i] = np.array(bufs[i], order="C")
                objs[self.n_consts + i] = id(bufs[i])
            taken[j] = bufs[i]
        outs = []
        k = self.n_in
        for j, o in enumerate(self._outs):
            if taken and j in taken:
                buf = taken[j]
            elif type(o) is Recycler:  # recyclers are only touched under the lock
                buf = o.take() if recycle else np.empty(o.shape, o.dtype)
            else:
                buf = np.empty(*o)
            outs.append(buf)
            objs[k + j] = id(buf)
        self.fn(objs, statics, DATA_OFFSET)
        return [outs[v] if kind == "out" else v.copy() if kind == "lit"
                else self.consts[v] if v < self.n_consts else bufs[v - self.n_consts]
                for kind, v in self.results]
