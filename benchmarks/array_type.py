"""The measurement behind ``fl.Array``'s design: a read-only ``numpy.ndarray`` subclass
against a wrapper object holding a numpy array, on what the choice changes.

    python benchmarks/array_type.py          # pinned to one core, best of several rounds

Rows: making a result (``wrap``), an eager binary op through the same fast path (unwrap,
numpy kernel, wrap), handing the value to numpy (``np.asarray``), a numpy reduction on it,
a scalar index, and whether it *is* an ``ndarray`` for other libraries. The wrapper is a
minimal prototype (what such a type needs at least), so its times are a lower bound.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from functorch_lite.array import Array, wrap  # noqa: E402
from functorch_lite.primitives.elementwise import add_p  # noqa: E402


class Wrapped:
    """The alternative: an immutable wrapper that is not an ndarray."""

    __slots__ = ("_v",)
    __array_priority__ = 100

    def __init__(self, v):
        v.flags.writeable = False
        self._v = v

    def __array__(self, dtype=None, copy=None):
        return self._v if dtype is None else self._v.astype(dtype)

    @property
    def shape(self):
        return self._v.shape

    @property
    def dtype(self):
        return self._v.dtype

    def __getitem__(self, idx):
        return Wrapped(np.asarray(self._v[idx]))


def add_subclass(x, y):
    tx, ty = type(x), type(y)
    if (tx is Array or tx is np.ndarray) and (ty is Array or ty is np.ndarray) \
            and x.dtype == y.dtype and x.shape == y.shape:
        return wrap(add_p.impl(x.view(np.ndarray) if tx is Array else x,
                               y.view(np.ndarray) if ty is Array else y))


def add_wrapper(x, y):
    tx, ty = type(x), type(y)
    if (tx is Wrapped or tx is np.ndarray) and (ty is Wrapped or ty is np.ndarray) \
            and x.dtype == y.dtype and x.shape == y.shape:
        return Wrapped(add_p.impl(x._v if tx is Wrapped else x, y._v if ty is Wrapped else y))


def best(fn, n=50_000, rounds=9):
    fn()
    out = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out = min(out, (time.perf_counter() - t0) / n)
    return out * 1e9


def main():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    raw = np.ones(16, np.float32)
    sub, wrp = wrap(np.ones(16, np.float32)), Wrapped(np.ones(16, np.float32))
    rows = [
        ("make a result from a numpy array", lambda: wrap(raw.copy()),
         lambda: Wrapped(raw.copy()), lambda: raw.copy()),
        ("eager add, 16 float32 (fast path)", lambda: add_subclass(sub, sub),
         lambda: add_wrapper(wrp, wrp), lambda: np.add(raw, raw)),
        ("np.asarray(x)", lambda: np.asarray(sub), lambda: np.asarray(wrp),
         lambda: np.asarray(raw)),
        ("np.sum(x)", lambda: np.sum(sub), lambda: np.sum(wrp), lambda: np.sum(raw)),
        ("x[3]", lambda: sub[3], lambda: wrp[3], lambda: raw[3]),
    ]
    print(f"numpy {np.__version__}; ns per call, best of 9 rounds, one core")
    print(f"{'operation':40s} {'subclass':>10s} {'wrapper':>10s} {'numpy':>10s}")
    for name, f_sub, f_wrp, f_np in rows:
        print(f"{name:40s} {best(f_sub):10.0f} {best(f_wrp):10.0f} {best(f_np):10.0f}")
    print(f"{'isinstance(x, np.ndarray)':40s} {str(isinstance(sub, np.ndarray)):>10s} "
          f"{str(isinstance(wrp, np.ndarray)):>10s}")


if __name__ == "__main__":
    main()
