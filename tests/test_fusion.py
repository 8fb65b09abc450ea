"""Fusion (functorch_lite/fusion.py): which values reach memory. A short elementwise
chain needed again after a reduction is recomputed by the later kernel rather than
written out, unless recomputing would read more memory than the write it saves."""

from __future__ import annotations

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite.fusion import Kernel, fuse
from functorch_lite.rewrite import optimize


def _fused(f, *args):
    jaxpr, _ = optimize(fl.make_ir(f)(*args)).hoist_consts()
    return fuse(jaxpr)


def _written(prog, shape):
    """Values of ``shape`` that some kernel writes to memory."""
    return [v for s in prog.steps if isinstance(s, Kernel) for v in s.outputs
            if tuple(v.aval.shape) == shape]


def log_softmax(x):
    m = fnp.max(x, axis=1, keepdims=True)
    s = x - m
    return s - fnp.log(fnp.sum(fnp.exp(s), axis=1, keepdims=True))


def test_a_cheap_chain_is_recomputed_not_written():
    x = np.random.default_rng(0).standard_normal((6, 7)).astype(np.float32)
    prog = _fused(log_softmax, x)
    # only the result is written at full size: x - max is recomputed from x and the maxima
    assert len(_written(prog, (6, 7))) == 1
    got = fl.jit(log_softmax, backend="llvm")(x)
    np.testing.assert_allclose(got, fl.jit(log_softmax, backend="numpy")(x), rtol=1e-6,
                               atol=1e-6)


def test_a_chain_reading_two_big_arrays_is_written_once():
    # recomputing a + b would read two full-size arrays to save one: it is written out
    def f(a, b):
        s = a * b + 1.0
        return s / fnp.sum(s, axis=1, keepdims=True)

    a, b = np.ones((5, 4), np.float32), np.full((5, 4), 2.0, np.float32)
    prog = _fused(f, a, b)
    assert len(_written(prog, (5, 4))) == 2  # the chain's value, then the result
    np.testing.assert_allclose(fl.jit(f, backend="llvm")(a, b), np.full((5, 4), 0.25))
