"""jit(backend="cupy") against the numpy reference on a real GPU, for every case of
gpu_programs.py (W1, W2, a training step, reductions, dot_general, gather/scatter, sort
and scan, windows, control flow, edge sizes, strided inputs, integer and bool programs).
Skips where CuPy is missing or no CUDA device answers; test_cupy_emulated.py runs the
same cases on the emulated CuPy."""

from __future__ import annotations

import pytest
from gpu_programs import CASES, assert_matches, device_args

import backends
import functorch_lite as fl

pytestmark = pytest.mark.skipif(backends.cuda_device_count() == 0,
                                reason="needs CuPy and a CUDA device")


@pytest.mark.parametrize("name", sorted(CASES))
def test_cupy_matches_numpy(name):
    import cupy  # lazy: only where a GPU answers (the skip above)

    case = CASES[name]
    got = fl.jit(case.f, backend="cupy")(*device_args(case, cupy.asarray))
    assert_matches(case, got, lambda g: isinstance(g, cupy.ndarray), cupy.asnumpy)
