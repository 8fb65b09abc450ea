"""Time backends/llvm/mathlib.py loops against numpy over 2**24 elements.

    python benchmarks/mathlib_speed.py [exp tanh log ...] [--dtype float32|float64]

Each function is compiled into a ``for i: out[i] = fl_<name>(in[i])`` loop at -O3 for
the host CPU (the harness of tests/llvm/test_mathlib.py) and timed, single-threaded,
against the numpy expression computing the same thing; best of 15 runs.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "llvm"))
import test_mathlib as harness  # noqa: E402  (the compile/run harness lives with the tests)

NUMPY = {
    "exp": np.exp, "tanh": np.tanh, "log": np.log, "expm1": np.expm1, "log1p": np.log1p,
    "sin": np.sin, "cos": np.cos, "logistic": lambda x: 1 / (1 + np.exp(-x)),
    "erf": None, "sinh": np.sinh, "atan": np.arctan, "asinh": np.arcsinh,
}
DOMAIN = {"log": (1e-3, 1e3), "log1p": (-0.9, 1e3)}


def best(f, reps=15):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", default=["exp", "tanh", "log"])
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args()
    key = "f32" if args.dtype == "float32" else "f64"
    k = harness.Kernels(key, tuple(args.names))
    n = 2 ** 24
    rng = np.random.default_rng(0)
    for name in args.names:
        lo, hi = DOMAIN.get(name, (-10, 10))
        x = rng.uniform(lo, hi, n).astype(args.dtype)
        out = np.empty_like(x)
        fn = k.fns[name]
        ours = best(lambda fn=fn, x=x, out=out: fn(x.ctypes.data, out.ctypes.data, n))
        ref = NUMPY.get(name)
        theirs = best(lambda ref=ref, x=x: ref(x)) if ref else float("nan")
        copy = best(lambda x=x, out=out: np.copyto(out, x))
        print(f"{name:9s} {args.dtype}: ours {ours * 1e3:7.2f} ms   numpy {theirs * 1e3:7.2f} ms"
              f"   ({theirs / ours:5.2f}x)   copy {copy * 1e3:6.2f} ms")


if __name__ == "__main__":
    main()
