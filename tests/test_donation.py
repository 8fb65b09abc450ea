"""``jit(..., donate_argnums=...)``: donated arrays are deleted after the call on every
backend; on llvm an output is written into a donated input's buffer when the program's
plan allows it and nothing else can see that memory. Results never change."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.numpy as fnp
from backends.llvm.backend import BACKEND


def addr(x) -> int:
    return x.__array_interface__["data"][0]


def sgd(p, g):
    return p - 0.1 * g


def test_donated_array_is_deleted_and_use_raises():
    step = fl.jit(sgd, donate_argnums=0)
    p, g = fnp.ones(4), fnp.full(4, 2.0)
    out = step(p, g)
    np.testing.assert_allclose(out, np.full(4, 0.8, np.float32), rtol=1e-6)
    assert p.is_deleted() and not g.is_deleted() and not out.is_deleted()
    assert p.shape == (4,) and p.dtype == np.float32  # the type stays readable
    for use in (lambda: p + 1, lambda: p[0], lambda: repr(p), lambda: float(p.sum()),
                lambda: np.sin(p), lambda: step(p, g), lambda: fnp.sum(p)):
        with pytest.raises(RuntimeError, match="deleted.*donate"):
            use()


def test_numpy_inputs_are_neither_deleted_nor_written():
    # as in JAX, a numpy argument is the caller's memory: donating it does nothing
    step = fl.jit(sgd, donate_argnums=0)
    p = np.ones(1 << 16, np.float32)
    out = step(p, np.ones_like(p))
    assert np.all(p == 1.0) and np.allclose(out, 0.9)


def test_donated_pytree_leaves_and_kwargs_rules():
    step = fl.jit(lambda params, g: fl.tree_util.tree_map(lambda a: a - g, params),
                  donate_argnums=(0,))
    params = {"w": fnp.ones((3, 2)), "b": fnp.zeros(2)}
    out = step(params, 1.0)
    np.testing.assert_array_equal(out["w"], np.zeros((3, 2), np.float32))
    np.testing.assert_array_equal(out["b"], -np.ones(2, np.float32))
    assert params["w"].is_deleted() and params["b"].is_deleted()


@pytest.mark.parametrize("n", [1, 7, 1 << 16, (1 << 20) + 3])
def test_llvm_writes_the_result_into_the_donated_buffer(n):
    step = fl.jit(sgd, donate_argnums=0, backend="llvm")
    p, g = fnp.ones(n), fnp.ones(n)
    before = addr(p)
    for k in range(1, 4):
        p = step(p, g)  # the old array is dropped by the rebinding: its memory is free
        assert addr(p) == before
        np.testing.assert_allclose(p, np.full(n, 1 - 0.1 * k, np.float32), rtol=1e-5)


def test_llvm_keeps_a_buffer_someone_else_can_see():
    step = fl.jit(sgd, donate_argnums=0, backend="llvm")
    p, g = fnp.ones(1 << 12), fnp.ones(1 << 12)
    view = np.asarray(p).view(np.ndarray)  # a numpy view of p's memory, taken before
    out = step(p, g)
    assert addr(out) != addr(view) and np.all(view == 1.0)
    # the same array passed twice is read twice: its buffer is not reused
    q = fnp.ones(1 << 12)
    out2 = fl.jit(lambda a, b: a * 2.0 + b, donate_argnums=0, backend="llvm")(q, q)
    np.testing.assert_array_equal(out2, np.full(1 << 12, 3.0, np.float32))


def test_llvm_never_aliases_when_the_input_is_read_after_the_output_is_written():
    # out1 (same shape as x) is written by the first kernel; x is read again, transposed
    # and through a reduction, afterwards: the plan must not hand x's buffer to out1
    def f(x):
        out1 = fnp.exp(x)
        return out1, x.T @ out1 + fnp.sum(x, axis=0)

    x0 = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    want = fl.jit(f, backend="numpy")(x0)
    got = fl.jit(f, donate_argnums=0, backend="llvm")(fnp.asarray(x0.copy()))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", [4, 1 << 16])
def test_a_kernel_reading_and_writing_one_donated_buffer(n):
    # one kernel reads a and b and writes a1 into b's buffer and b * 2 elsewhere: with
    # two noalias pointers to that memory LLVM loaded b after storing a1
    def f(a, b):
        a1 = a - fnp.sum(b)
        return a1 - fnp.sum(b), a1, b * 2.0

    rng = np.random.default_rng(1)
    a0, b0 = (rng.standard_normal(n).astype(np.float32) for _ in range(2))
    want = fl.jit(f, backend="numpy")(a0, b0)
    b = fnp.asarray(b0.copy())
    before = addr(b)
    got = fl.jit(f, donate_argnums=(0, 1), backend="llvm")(fnp.asarray(a0.copy()), b)
    del b
    assert addr(got[1]) == before  # a1 took b's buffer
    for x, y in zip(got, want):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-4)


def test_donation_plan_rules():
    def plan_of(f, *shapes):
        closed = fl.make_ir(f)(*[fl.ShapeDtypeStruct(s, np.float32) for s in shapes])
        return BACKEND.compile(closed, donate=tuple(range(len(shapes)))).aliases

    assert plan_of(lambda p, g: p - g, (8,), (8,)) == {0: 0}
    # a transposed read of p in the kernel writing the result: no alias to p
    assert plan_of(lambda p: p.T + 1.0, (4, 4)) == {}
    # the input returned as it is keeps its buffer; a different shape never aliases
    assert plan_of(lambda p: (p, p + 1.0), (8,)) == {}
    assert plan_of(lambda p: fnp.sum(p), (8,)) == {}


OPS = [lambda a, b: a + b, lambda a, b: a * b - 1.0, lambda a, b: fnp.tanh(a) + b.T,
       lambda a, b: fnp.maximum(a, b[::-1]), lambda a, b: a @ b, lambda a, b: a - fnp.sum(b)]


@given(st.lists(st.integers(0, len(OPS) - 1), min_size=1, max_size=4),
       st.integers(1, 9), st.integers(0, 2**31 - 1))
@example(chain=[5, 5], n=2, seed=0)  # found by the thorough profile: see the test above
def test_donation_never_changes_results(chain, n, seed):
    def f(a, b):
        outs = []
        for k in chain:
            a = OPS[k](a, b)
            outs.append(a)
        return outs[-1], outs[0], b * 2.0

    rng = np.random.default_rng(seed)
    a0, b0 = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    want = fl.jit(f)(a0, b0)
    got = fl.jit(f, donate_argnums=(0, 1), backend="llvm")(fnp.asarray(a0.copy()),
                                                          fnp.asarray(b0.copy()))
    gc.collect()
    for x, y in zip(got, want):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5)
