"""The LLVM backend's data-movement lowerings (``backends/llvm/movement.py``) against the
numpy backend, on hypothesis-drawn shapes (size 0 and 1 dims included), dtypes and
operand layouts (contiguous, transposed, reversed and broadcast views).

Data movement, integers, bools, sequential float sums (cumsum, scatter-add, overlap-add)
and orderings must agree bit for bit; only convolutions (a GEMM either side) get a
tolerance. Every program is plain arithmetic, so the comparison does not depend on the
math library's ulp error.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import lax as L
from functorch_lite import tree

ROOT = pathlib.Path(__file__).resolve().parents[2]
DTYPES = (np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, np.uint64, np.bool_)
INDEX_DTYPES = (np.int8, np.int32, np.int64, np.uint8, np.uint64)
# the numpy reference warns when its sums meet inf - inf (the values include infinities)
NUMPY_INF_MINUS_INF = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory):
    # compiled objects go to a scratch cache, never the user's
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUNCTORCH_LITE_CACHE_DIR", str(tmp_path_factory.mktemp("llvm_cache")))
        yield


# --------------------------------------------------------------------------- helpers


def values(rng, dtype, shape):
    """Values with many ties and the awkward ones: NaN, +-0, +-inf, integer extremes."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind == "f":
        x = (rng.integers(-4, 5, shape) * 0.5 + rng.standard_normal(shape) *
             (rng.random(shape) < 0.5)).astype(dt)
        special = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf], dt)
        pick = rng.random(shape) < 0.2
        return np.where(pick, special[rng.integers(0, 5, shape)], x).astype(dt)
    info = np.iinfo(dt)
    pool = np.array([info.min, info.max, 0, 1, 2, 3, info.max // 2] + ([-1] if info.min else []),
                    dt)
    return pool[rng.integers(0, len(pool), shape)]


def operand(data, rng, shape, dtype=None):
    """(argument, prep, dtype) with a drawn dtype and layout: ``prep(argument)`` inside the
    program is a view of ``shape`` that is contiguous, transposed, reversed or broadcast
    along dim 0."""
    shape = tuple(shape)
    dtype = dtype or data.draw(st.sampled_from(DTYPES))
    how = data.draw(st.integers(0, 3))
    if how == 1 and len(shape) >= 2:
        return values(rng, dtype, shape[::-1]), fnp.transpose, dtype
    if how == 2 and shape:
        return values(rng, dtype, shape), lambda x: x[::-1], dtype
    if how == 3 and shape:
        return (values(rng, dtype, (1,) + shape[1:]), lambda x: fnp.broadcast_to(x, shape),
                dtype)
    return values(rng, dtype, shape), lambda x: x, dtype


def along_axis(data, seed, shape_strategy):
    """(argument, prep, axis) for the primitives that work along one axis."""
    shape = data.draw(shape_strategy)
    x, prep, _ = operand(data, np.random.default_rng(seed), shape)
    return x, prep, data.draw(st.integers(0, len(shape) - 1))


def same(got, want, tol=None):
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype,
                                                                 got.shape, want.shape)
    if got.dtype.kind == "f" and tol is not None:
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    elif got.dtype.kind == "f":  # bit for bit, signed zeros included (any NaN is a NaN)
        nan = np.isnan(want)
        np.testing.assert_array_equal(np.isnan(got), nan)
        bits = np.dtype(f"u{got.dtype.itemsize}")
        np.testing.assert_array_equal(got[~nan].view(bits), want[~nan].view(bits))
    else:
        np.testing.assert_array_equal(got, want)


def check(f, *args, tol=None):
    """``jit(f)`` on the llvm backend gives the numpy backend's answers."""
    got = fl.jit(f, backend="llvm")(*args)
    want = fl.jit(f, backend="numpy")(*args)
    g, gt = tree.flatten(got)
    w, wt = tree.flatten(want)
    assert gt == wt
    for a, e in zip(g, w):
        same(a, e, tol)


def shapes(min_rank=0, max_rank=3, max_dim=4):
    return st.lists(st.integers(0, max_dim), min_size=min_rank, max_size=max_rank).map(tuple)


seeds = st.integers(0, 2 ** 32 - 1)


# --------------------------------------------------------------------------- pad, concatenate


@given(st.data(), seeds)
def test_pad_interior_negative_value(data, seed):
    shape = data.draw(shapes())
    x, prep, dtype = operand(data, np.random.default_rng(seed), shape)
    cfg = []
    for n in shape:
        lo, hi, interior = (data.draw(st.integers(-3, 3)), data.draw(st.integers(-3, 3)),
                            data.draw(st.integers(0, 2)))
        size = lo + hi + n + max(n - 1, 0) * interior
        cfg.append((lo, hi - min(size, 0), interior))
    value = data.draw(st.sampled_from([0, 1, 5, 2.5] + ([np.nan, -0.0] if np.dtype(dtype).kind
                                                         == "f" else [])))
    check(lambda x: L.pad(prep(x), cfg, value), x)


@given(st.data(), seeds)
def test_pad_modes(data, seed):
    rng = np.random.default_rng(seed)
    mode = data.draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
    shape = data.draw(shapes(1, 3).filter(lambda s: min(s) > 0))
    widths = [(data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in shape]
    x = values(rng, data.draw(st.sampled_from(DTYPES)), shape)
    kw = {"constant_values": [(1, 2)] * len(shape)} if mode == "constant" else {}
    check(lambda x: fnp.pad(x, widths, mode=mode, **kw), x)


@given(st.data(), seeds)
def test_concatenate(data, seed):
    rng = np.random.default_rng(seed)
    dtype = data.draw(st.sampled_from(DTYPES))
    shape = data.draw(shapes(1, 3))
    axis = data.draw(st.integers(0, len(shape) - 1))
    args, preps = [], []
    for _ in range(data.draw(st.integers(1, 3))):
        s = list(shape)
        s[axis] = data.draw(st.integers(0, 3))
        x, prep, _ = operand(data, rng, s, dtype)
        args.append(x)
        preps.append(prep)
    check(lambda *xs: fnp.concatenate([p(x) for p, x in zip(preps, xs)], axis), *args)


# --------------------------------------------------------------------------- gather, scatter


def indexing(data, rng):
    """(operand, prep, dtype, items, arrays): a drawn operand (as ``operand``), an index
    tuple mixing slices, integers, None and integer arrays (``("arr", k)`` stands for the
    k-th array argument), and those arrays: broadcastable, of several integer dtypes, with
    negative and out-of-range values (wrapped once and clamped, as the primitive says)."""
    shape = data.draw(shapes(1, 3))
    x, prep, dtype = operand(data, rng, shape)
    bshape = data.draw(shapes(0, 2, 3))
    items, arrays = [], []
    for n in shape:
        kinds = ["slice"] + (["int", "array", "array"] if n > 0 else [])
        kind = data.draw(st.sampled_from(kinds))
        if kind == "slice":
            a, b = data.draw(st.integers(-5, 5)), data.draw(st.integers(-5, 5))
            items.append(slice(a, b, data.draw(st.sampled_from([1, 2, -1, -2]))))
        elif kind == "int":
            items.append(data.draw(st.integers(-n, n - 1)))
        else:
            dt = np.dtype(data.draw(st.sampled_from(INDEX_DTYPES)))
            ishape = tuple(m if data.draw(st.booleans()) else 1 for m in bshape)
            ishape = ishape[data.draw(st.integers(0, len(ishape))):]
            lo = -2 * n - 1 if dt.kind == "i" else 0
            arr = rng.integers(lo, 2 * n + 2, ishape).astype(dt)
            if dt == np.uint64 and arr.size:
                arr.flat[0] = np.iinfo(np.uint64).max
            items.append(("arr", len(arrays)))
            arrays.append(arr)
        if data.draw(st.integers(0, 3)) == 0:
            items.append(None)
    return x, prep, dtype, items, arrays


def build(items, arrays):
    return tuple(arrays[i[1]] if isinstance(i, tuple) else i for i in items)


@given(st.data(), seeds)
def test_gather_index_arrays(data, seed):
    x, prep, _, items, arrays = indexing(data, np.random.default_rng(seed))
    check(lambda x, *ix: prep(x)[build(items, ix)], x, *arrays)


@pytest.mark.parametrize("case", range(4))
def test_gather_boolean_masks(case):
    rng = np.random.default_rng(case)
    x = values(rng, np.float32, (4, 3, 2))
    m2 = rng.random((4, 3)) < 0.5
    m1 = rng.random(3) < 0.5
    exprs = [lambda x: x[m2], lambda x: x[:, m1, ::-1], lambda x: x[None, m2, 1],
             lambda x: x[np.array([3, 0, 3]), m1.nonzero()[0][:1]]]
    check(exprs[case], x)


@NUMPY_INF_MINUS_INF
@given(st.data(), seeds)
def test_scatter_modes_duplicates(data, seed):
    rng = np.random.default_rng(seed)
    x, prep, dtype, items, arrays = indexing(data, rng)
    # the indexed shape (it does not depend on the index values)
    zeros = [np.zeros(a.shape, int) for a in arrays]
    upd_shape = np.zeros(np.shape(prep(x)))[build(items, zeros)].shape
    upd = values(rng, dtype, upd_shape) if data.draw(st.booleans()) else values(rng, dtype, ())
    mode = data.draw(st.sampled_from(["set", "add", "multiply", "min", "max"]))
    check(lambda x, u, *ix: getattr(prep(x).at[build(items, ix)], mode)(u), x, upd, *arrays)


# --------------------------------------------------------------------------- scans and orderings


@NUMPY_INF_MINUS_INF
@given(st.data(), seeds)
def test_cumsum(data, seed):
    x, prep, axis = along_axis(data, seed, shapes(1, 3, 5))
    check(lambda x: (L.cumsum(prep(x), axis), L.cumsum(prep(x), axis, reverse=True),
                     fnp.cumsum(prep(x))), x)


@given(st.data(), seeds)
def test_argmax_argmin_nan_ties(data, seed):
    x, prep, axis = along_axis(data, seed, shapes(1, 3, 5).filter(lambda s: min(s) > 0))
    ity = data.draw(st.sampled_from([np.int32, np.int64]))
    check(lambda x: (L.argmax(prep(x), axis, ity), L.argmin(prep(x), axis, ity),
                     fnp.argmax(prep(x))), x)


def test_argmax_empty_axis_raises_like_numpy():
    for backend in ("llvm", "numpy"):
        with pytest.raises(ValueError, match="empty sequence"):
            fl.jit(lambda x: L.argmax(x, 0, np.int64), backend=backend)(np.zeros((0, 3)))


@given(st.data(), seeds)
def test_argsort_sort(data, seed):
    x, prep, axis = along_axis(data, seed, shapes(1, 3, 6))
    check(lambda x: (L.argsort(prep(x), axis), L.argsort(prep(x), axis, descending=True),
                     fnp.sort(prep(x), axis=axis)), x)


@pytest.mark.parametrize("n", [1, 2, 3, 17, 1000, 4099])
def test_argsort_long_rows(n):
    rng = np.random.default_rng(n)
    x = values(rng, np.float32, (n, 3))
    check(lambda x: (L.argsort(x, 0), L.argsort(x, 1, descending=True),
                     L.argsort(fnp.transpose(x), 1, descending=True)), x)


def test_argsort_100k_row_is_n_log_n():
    x = np.random.default_rng(0).integers(0, 1000, 100_003).astype(np.float64)
    check(lambda x: L.argsort(x, 0), x)


# --------------------------------------------------------------------------- sliding windows


def window_params(data, nd):
    k = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    s = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    d = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    pad = [(data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in range(nd)]
    # the smallest spatial size that still fits the window, plus a little
    size = [max(di * (ki - 1) + 1 - lo - hi, 0) + data.draw(st.integers(0, 3))
            for ki, di, (lo, hi) in zip(k, d, pad)]
    return k, s, d, pad, size


@NUMPY_INF_MINUS_INF
@given(st.data(), seeds)
def test_window_patches_and_overlap_add(data, seed):
    rng = np.random.default_rng(seed)
    nd = data.draw(st.integers(1, 2))
    k, s, d, pad, size = window_params(data, nd)
    lead = data.draw(shapes(0, 2, 2))
    x, prep, dtype = operand(data, rng, lead + tuple(size))
    pv = data.draw(st.sampled_from([0, 1, -np.inf] if np.dtype(dtype).kind == "f" else [0, 1]))
    patches = L.window_patches(np.zeros(lead + tuple(size), dtype), k, s, pad, d)
    ct = values(rng, dtype, patches.shape)
    check(lambda x, ct: (L.window_patches(prep(x), k, s, pad, d, pad_value=pv),
                         L.window_overlap_add(ct, size, k, s, pad, d)), x, ct)


@settings(max_examples=8)
@given(st.data(), seeds)
def test_conv_pool_forward_and_gradients(data, seed):
    rng = np.random.default_rng(seed)
    nd = data.draw(st.integers(1, 2))
    k, s, d, pad, size = window_params(data, nd)
    size = [max(n, 1) for n in size]
    n, c, o = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)), 2
    x = rng.standard_normal((n, c) + tuple(size))
    w = rng.standard_normal((o, c) + tuple(k))
    wt = rng.standard_normal((c, o) + tuple(k))

    def f(x, w, wt):
        y = fl.nn.conv(x, w, stride=s, padding=pad, dilation=d)
        m = fl.nn.max_pool(x, k, stride=s, padding=pad, dilation=d)
        a = fl.nn.avg_pool(x, k, stride=s, padding=pad, count_include_pad=False)
        t = fl.nn.conv_transpose(x, wt, stride=s, dilation=d)
        return y, m, a, t

    def loss(x, w, wt):
        return sum(fnp.sum(v * v) for v in f(x, w, wt))

    check(lambda x, w, wt: (f(x, w, wt), fl.grad(loss, argnums=(0, 1, 2))(x, w, wt)), x, w,
          wt, tol=1e-9)


def test_windows_of_ints_and_max_pool_ties():
    x = np.array([[[3, 1, 3, 3, 0, 2]]], np.int32)
    check(lambda x: fl.nn.max_pool(x, 3, stride=1, padding=1), x)
    xf = np.array([[[1.0, 1.0, -0.0, 0.0, 2.0, 2.0]]])
    check(lambda x: fl.grad(lambda x: fnp.sum(fl.nn.max_pool(x, 2, stride=1)))(x), xf)


# --------------------------------------------------------------------------- no stray accesses

SCRIPT = """
import numpy as np, functorch_lite as fl, functorch_lite.numpy as fnp
from functorch_lite import lax as L
rng = np.random.default_rng(7)
for trial in range(12):
    shape = tuple(int(v) for v in rng.integers(0, 5, rng.integers(1, 4)))
    x = rng.standard_normal(shape)
    i = rng.integers(-9, 9, tuple(int(v) for v in rng.integers(0, 4, rng.integers(0, 3))))
    k = tuple(int(v) for v in rng.integers(1, 3, min(len(shape), 2)))
    pad = [(int(a), int(b)) for a, b in rng.integers(0, 3, (len(k), 2))]
    def f(x, i):
        outs = [L.window_patches(x, k, None, pad), L.argsort(x, 0), L.cumsum(x, 0)]
        if shape[0]:
            outs += [x[i], x.at[i].add(1.0), x.at[i].set(2.0)]
        return outs
    sp = [n + lo + hi for n, (lo, hi) in zip(shape[len(shape) - len(k):], pad)]
    if min(s - w for s, w in zip(sp, k)) < 0:
        continue
    got, want = fl.jit(f, backend="llvm")(x, i), fl.jit(f, backend="numpy")(x, i)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
print("done")
"""


def test_random_shapes_in_a_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), FUNCTORCH_LITE_CACHE_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "done" in r.stdout
