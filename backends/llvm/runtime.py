"""Running a compiled program: one native call per program run.

Inputs are checked against the program's types and made C-contiguous (strided,
negative-stride or Fortran-ordered arrays are copied), outputs are allocated through
numpy, intermediates live in one arena reused across calls, and the pointer array is
handed to ``fl_main`` through a ctypes function built once.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from functorch_lite.ir import Literal

from .codegen import Layout


def _ptr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


class Program:
    """A callable running one compiled program on flat numpy arrays."""

    def __init__(self, compiled, layout: Layout, outvars, consts, hidden, name: str):
        self.compiled = compiled  # keeps the engine (and so the code) alive
        self.fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(compiled.address("fl_main"))
        self.layout = layout
        self.name = name
        self.consts = [np.ascontiguousarray(c) for c in consts]
        self.n_consts = len(consts)
        self.in_types = [(tuple(v.aval.shape), v.aval.dtype) for v in layout.inputs]
        self.out_types = [(tuple(v.aval.shape), v.aval.dtype) for v in layout.outputs]
        n_in, n_out = len(layout.inputs), len(layout.outputs)
        slot = {id(v): i for i, v in enumerate(layout.inputs)}
        slot.update({id(v): n_in + j for j, v in enumerate(layout.outputs)})
        self.results = [("lit", np.asarray(v.val)) if isinstance(v, Literal)
                        else ("buf", slot[id(v)]) for v in outvars]
        # the constants of nested programs ride after the arena pointer
        self.hidden = list(hidden)
        self.n_ptrs = n_in + n_out + 1 + len(self.hidden)
        self._arena = np.empty(max(layout.arena_bytes, 1), np.uint8)
        self._arena_lock = threading.Lock()

    def _check(self, i, x):
        shape, dtype = self.in_types[i]
        a = np.asarray(x)
        if a.shape != shape or a.dtype != dtype:
            raise TypeError(f"llvm backend, program `{self.name}`: argument {i - self.n_consts} "
                            f"should be {dtype.name}{list(shape)}, got {a.dtype.name}"
                            f"{list(a.shape)}")
        return a if a.flags.c_contiguous else np.ascontiguousarray(a)

    def __call__(self, *args):
        if len(args) + self.n_consts != len(self.in_types):
            raise TypeError(f"llvm backend, program `{self.name}`: expected "
                            f"{len(self.in_types) - self.n_consts} arguments, got {len(args)}")
        bufs = self.consts + [self._check(i + self.n_consts, x) for i, x in enumerate(args)]
        bufs += [np.empty(s, d) for s, d in self.out_types]
        ptrs = (ctypes.c_void_p * self.n_ptrs)(*[_ptr(a) for a in bufs], 0,
                                               *[_ptr(h) for h in self.hidden])
        if self._arena_lock.acquire(blocking=False):
            try:
                ptrs[len(bufs)] = _ptr(self._arena)
                self.fn(ptrs)
            finally:
                self._arena_lock.release()
        else:  # another thread runs this program: give this call its own arena
            arena = np.empty_like(self._arena)
            ptrs[len(bufs)] = _ptr(arena)
            self.fn(ptrs)
        return [v.copy() if kind == "lit" else bufs[v] for kind, v in self.results]

