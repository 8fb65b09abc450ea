"""jit(backend="cupy") against the numpy reference on a real GPU: W1, W2, reductions,
dot_general, gather, scatter, control flow. Skips where CuPy is missing or no CUDA
device answers."""

from __future__ import annotations

import numpy as np
import pytest

import backends
import functorch_lite as fl
import functorch_lite.numpy as fnp

pytestmark = pytest.mark.skipif(backends.cuda_device_count() == 0,
                                reason="needs CuPy and a CUDA device")


def host(x):
    return x.get() if hasattr(x, "get") else np.asarray(x)


PROGRAMS = {
    "w1": (lambda x: fnp.tanh(x) * fl.nn.sigmoid(x) + 0.5 * x * x - fnp.exp(-fnp.abs(x)),
           [np.random.RandomState(0).randn(1 << 20).astype(np.float32)], 1e-6),
    "w2": (lambda x: fl.nn.log_softmax(x, axis=1),
           [np.random.RandomState(1).randn(512, 1024).astype(np.float32)], 1e-5),
    "sums": (lambda x: (fnp.sum(x), fnp.max(x, axis=0), fnp.min(x[::-1], axis=1),
                        fnp.prod(x[:3, :4] * 0.5, axis=1)),
             [np.random.RandomState(2).randn(300, 200)], 1e-10),
    "dot": (lambda a, b: fnp.tanh(a @ b.T),
            [np.random.RandomState(3).randn(64, 48).astype(np.float32),
             np.random.RandomState(4).randn(32, 48).astype(np.float32)], 1e-5),
    "gather": (lambda x, i: x[i] * 2.0 + fnp.take(x, i[::-1], axis=0),
               [np.arange(40.0).reshape(10, 4), np.array([3, 1, 4, 1, 5])], 0),
    "scatter": (lambda x, i: x.at[i].add(1.0),
                [np.zeros(6), np.array([0, 2, 2, 5])], 0),
    "while": (lambda x: fl.lax.while_loop(lambda c: fnp.sum(c) < 100.0,
                                          lambda c: c * 2.0 + 1.0, x),
              [np.ones(3)], 0),
    "scan": (lambda x: fl.lax.scan(lambda c, y: (c + y, c * y), 0.0, x),
             [np.arange(6.0)], 0),
    "cond": (lambda x: fl.lax.cond(fnp.sum(x) > 0, lambda v: v + 1.0, lambda v: v - 1.0, x),
             [np.array([1.0, -0.5])], 0),
    "ints": (lambda x, y: (x // y, x % y, x >> 3, x << y),
             [np.arange(-20, 20, dtype=np.int32), np.full(40, 3, np.int32)], 0),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_cupy_matches_numpy(name):
    f, args, rtol = PROGRAMS[name]
    got = fl.tree.leaves(fl.jit(f, backend="cupy")(*args))
    want = fl.tree.leaves(fl.jit(f, backend="numpy")(*args))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(host(g), np.asarray(w), rtol=rtol, atol=rtol)
