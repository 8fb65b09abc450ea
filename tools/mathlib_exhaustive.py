"""Every float32 input of the unary mathlib functions against numpy (development check).

    python tools/mathlib_exhaustive.py [--stride S] [names...]

Runs all 2**32 bit patterns through the compiled loops of tests/llvm/test_mathlib.py in
chunks and prints, per function, the max ulp error against the float64 reference rounded
to float32 (erf: scipy.special.erf when scipy is installed) and how many inputs exceed
1 and 2 ulp. sin/cos/tan are checked for |x| < mathlib.TRIG_RANGE. Takes minutes per
function; ``--stride S`` checks every S-th bit pattern only.
"""

from __future__ import annotations

import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "llvm"))
sys.path.insert(0, str(ROOT))
import test_mathlib as harness  # noqa: E402  (the compile/run harness lives with the tests)

from backends.llvm import mathlib  # noqa: E402


def _reference(name, x):
    if name == "erf":
        from scipy.special import erf  # noqa: PLC0415  (optional, only for this check)
        return erf(x.astype(np.float64)).astype(np.float32)
    if name == "logistic":
        x = x.astype(np.float64)
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32)
    return harness.reference(name, "f32", x)


def main(names, stride=1):
    names = names or sorted(n for n in mathlib.FUNCTIONS if mathlib.arity(n) == 1)
    k = harness.Kernels("f32", tuple(names))
    chunk = 2 ** 24
    for name in names:
        t = time.time()
        worst, worst_x, over1, over2 = 0.0, None, 0, 0
        for start in range(0, 2 ** 32, chunk):
            x = np.arange(start, start + chunk, stride, dtype=np.uint64).astype(np.uint32)
            x = x.view(np.float32)
            with np.errstate(all="ignore"):
                d = harness.ulp_distance(k(name, x), _reference(name, x), "f32")
            if name in ("sin", "cos", "tan"):
                d = np.where(np.abs(x) >= mathlib.TRIG_RANGE, 0, d)
            over1 += int(np.count_nonzero(d > 1))
            over2 += int(np.count_nonzero(d > 2))
            i = int(np.argmax(d))
            if d[i] > worst:
                worst, worst_x = float(d[i]), float(x[i])
        print(f"{name:9s} max {worst:g} ulp at {worst_x!r}; >1 ulp: {over1}, >2 ulp: {over2}"
              f"  ({time.time() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    argv = sys.argv[1:]
    stride = 1
    if argv[:1] == ["--stride"]:
        stride, argv = int(argv[1]), argv[2:]
    main(argv, stride)
