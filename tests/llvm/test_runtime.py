"""The LLVM backend's runtime (``backends/llvm/runtime.py``): array objects passed to the
native entry point, recycled large outputs that are never handed out while anyone still
holds them, argument checks and copies, concurrent calls. Behaviour only; speed is
measured in benchmarks/run.py."""

from __future__ import annotations

import ctypes
import threading

import numpy as np
import pytest

import backends
import functorch_lite as fl
import functorch_lite.numpy as fnp
from backends.llvm import runtime
from backends.llvm.codegen import GROUP_ELEMENTS, PARALLEL_ELEMENTS

BIG = runtime.RECYCLE_BYTES // 4 + 3  # float32 elements: a recycled output (odd size)


def _jit(f):
    return fl.jit(f, backend="llvm")


def test_data_offset_finds_the_pointer_numpy_reports():
    for a in (np.ones(3), np.zeros((2, 5), np.int8)[:, 1:], fnp.ones(4)):
        got = ctypes.c_void_p.from_address(id(a) + runtime.DATA_OFFSET).value
        assert got == a.__array_interface__["data"][0]


def test_held_results_are_never_overwritten():
    f = _jit(lambda x: x * 2.0)
    xs = [np.full(BIG, k, np.float32) for k in range(5)]
    held = [f(x) for x in xs]  # every result still referenced: no reuse may happen
    for k, r in enumerate(held):
        assert np.all(np.asarray(r) == 2.0 * k)


def test_views_and_exports_keep_a_result_alive():
    f = _jit(lambda x: x + 1.0)
    x = np.zeros(BIG, np.float32)
    view = np.asarray(f(x))[5:]           # only a view of the result survives
    mem = memoryview(np.asarray(f(x + 1.0)))  # only a buffer export survives
    for k in range(4):
        f(np.full(BIG, 10.0 + k, np.float32))
    assert np.all(view == 1.0)
    assert np.all(np.frombuffer(mem, np.float32) == 2.0)


def test_dropped_results_are_recycled():
    f = _jit(lambda x: x - 1.0)
    x = np.ones(BIG, np.float32)
    addrs = set()
    for _ in range(6):
        r = f(x)
        addrs.add(np.asarray(r).__array_interface__["data"][0])
        assert np.all(np.asarray(r) == 0.0)
        del r
    assert len(addrs) <= runtime.RECYCLE_DEPTH


def test_a_step_fed_its_own_outputs():
    # params = step(params): the input is the previous output, alive during the call
    step = _jit(lambda p: (p * 0.5 + 1.0, fnp.sum(p)))
    p = np.full(BIG, 8.0, np.float32)
    ref = p.astype(np.float64)
    for _ in range(5):
        p, s = step(p)
        assert float(s) == pytest.approx(ref.sum(), rel=1e-6)
        ref = ref * 0.5 + 1.0
        np.testing.assert_allclose(np.asarray(p), ref, rtol=1e-6)


def test_layouts_are_copied_and_types_checked():
    f = _jit(lambda x: x * 3.0)
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    for x in (base[::-1, :3], np.asfortranarray(base[:, :3]), base[1:, 1:4], base[:, ::2]):
        np.testing.assert_array_equal(f(x), x * 3.0)
    one = np.ones(3, np.float32)
    prog = backends.get("llvm").compile(fl.make_ir(lambda x: x * 3.0)(one))
    np.testing.assert_array_equal(prog(one)[0], one * 3.0)
    np.testing.assert_array_equal(prog([np.float32(v) for v in (1, 2, 3)])[0], [3.0, 6.0, 9.0])
    with pytest.raises(TypeError, match="float32"):
        prog(np.ones(3, np.float64))
    with pytest.raises(TypeError, match="float32"):
        prog(np.ones(4, np.float32))
    with pytest.raises(TypeError, match="expected 1 arguments"):
        prog(one, one)


def test_size_zero_and_one():
    f = _jit(lambda x, y: (x + y, fnp.sum(x)))
    for shape in ((0,), (1,), (0, 3), (1, 1), ()):
        x = np.ones(shape, np.float32)
        a, s = f(x, x)
        np.testing.assert_array_equal(a, x + x)
        assert float(s) == x.sum()


def test_concurrent_calls_share_nothing_mutable():
    f = _jit(lambda x: fnp.tanh(x) * 2.0 + fnp.sum(x))
    xs = [np.linspace(-k, k, BIG).astype(np.float32) for k in range(1, 9)]
    want = [np.asarray(f(x)).copy() for x in xs]
    got = [None] * len(xs)

    def work(k):
        for _ in range(5):
            got[k] = np.asarray(f(xs[k])).copy()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_kernels_shared_among_threads_give_the_same_results(monkeypatch):
    # large kernels split their outer loop among FUNCTORCH_LITE_THREADS threads (read
    # when a program is loaded): any count, even more than the rows, computes the same
    def f(x, y):
        return (fnp.tanh(x) * 2.0 + y, fnp.sum(x * y, axis=1),  # rows: split
                fnp.max(x, axis=0), fnp.sum(x))                    # columns, all: not

    rng = np.random.default_rng(0)
    rows = 3  # fewer rows than threads may run (up to one per PARALLEL_ELEMENTS // 2)
    cols = 4 * PARALLEL_ELEMENTS // rows + 5
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    y = rng.standard_normal((rows, cols)).astype(np.float32)
    assert "call void @fl_parallel" in backends.get("llvm").lower_text(fl.make_ir(f)(x, y))
    results = {}
    for n in ("1", "3", "16"):
        monkeypatch.setenv("FUNCTORCH_LITE_THREADS", n)
        prog = backends.get("llvm").compile(fl.make_ir(f)(x, y))
        assert prog.threads == int(n)
        results[n] = [np.asarray(r) for r in prog(x, y)]
    for n in ("3", "16"):
        for a, b in zip(results["1"], results[n]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(results["1"][0], np.tanh(x) * 2 + y, rtol=1e-6, atol=1e-6)


def test_row_groups_run_kernels_row_block_by_row_block():
    # large kernels over the same rows, each reading earlier results only in its own row,
    # run interleaved a block of rows at a time; a reader of another row ends the group
    def softmax_then_flip(x):
        m = fnp.max(x, axis=1, keepdims=True)
        e = fnp.exp(x - m)
        p = e / fnp.sum(e, axis=1, keepdims=True)
        return p, p[::-1] * 2.0 + p  # the flip reads row n-1-i while row i is written

    rows = 37
    x = np.random.default_rng(1).standard_normal(
        (rows, GROUP_ELEMENTS // rows + 3)).astype(np.float32)
    text = backends.get("llvm").lower_text(fl.make_ir(softmax_then_flip)(x))
    group = [ln for ln in text.splitlines() if ln.startswith("define internal void @prog_g")]
    assert len(group) == 1
    body = text[text.index(group[0]):].split("\n}\n", 1)[0]
    assert body.count("call void @prog_s") == 3  # max, sum of exp, divide; not the flip
    got = fl.jit(softmax_then_flip, backend="llvm")(x)
    want = fl.jit(softmax_then_flip, backend="numpy")(x)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-9)
