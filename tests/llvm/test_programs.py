"""jit(llvm) against the numpy reference backend on whole programs.

* hypothesis-drawn programs: chains of elementwise ops, casts, broadcasts against a
  second operand, layout changes (transpose, reshape, slices with negative steps, flips,
  broadcasts), reductions over random axes and ``dot_general``, over 0-D..4-D shapes
  with size-0, size-1 and odd dims, in float32/float64/int32/int64/bool, with
  arguments passed contiguous, Fortran-ordered, negative-strided or with gaps;
* a subprocess that pushes many random shapes through compiled programs and must exit
  cleanly (an out-of-bounds access would crash it);
* the object cache: a second process compiles nothing, a corrupted entry is rebuilt and
  never loaded, ``FUNCTORCH_LITE_CACHE_DIR=`` writes nothing;
* ``lower(...).as_text()`` is LLVM IR; grad, vmap and control flow under ``jit(llvm)``.

Integers, bools and data movement must agree bit for bit. Floats are compared with a
tolerance: the math library is within a few ulp of numpy (``mathlib.ULP_BOUNDS``) and
float reductions are reassociated, so a result may differ by a few ulp of the largest
value that went into it.
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
DTYPES = (np.float32, np.float64, np.int32, np.int64, np.bool_)
# relative tolerance per float dtype: a few ulp, times the chain's condition (bounded ops)
RTOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12}


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory):
    # compiled objects go to a scratch cache, never the user's
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUNCTORCH_LITE_CACHE_DIR", str(tmp_path_factory.mktemp("llvm_cache")))
        yield


def assert_same(got, want, scale=None, rtol=None):
    """llvm result ``got`` equals numpy's ``want``: exactly for integers and bools, within
    ``rtol`` (RTOL of the dtype) times the magnitude of the values for floats (NaN where
    numpy has NaN)."""
    g_leaves, w_leaves = tree.leaves(got), tree.leaves(want)
    assert len(g_leaves) == len(w_leaves)
    for g, w in zip(g_leaves, w_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert (g.dtype, g.shape) == (w.dtype, w.shape)
        if w.dtype.kind != "f":
            np.testing.assert_array_equal(g, w)
            continue
        finite = w[np.isfinite(w)]
        s = scale if scale is not None else max(1.0, float(np.abs(finite).max(initial=0)))
        r = RTOL[w.dtype] if rtol is None else rtol
        np.testing.assert_allclose(g, w, rtol=r, atol=r * s, equal_nan=True)


def both(f, *args):
    """(llvm result, numpy result) of ``jit(f)``."""
    return fl.jit(f, backend="llvm")(*args), fl.jit(f, backend="numpy")(*args)


# --------------------------------------------------------------------------- inputs


def values(rng, dtype, shape):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind == "f":
        return rng.uniform(-3, 3, shape).astype(dt)
    return rng.integers(-50, 50, shape).astype(dt)


def strided(a: np.ndarray, how: str) -> np.ndarray:
    """The same values as ``a`` in another memory layout."""
    if a.ndim == 0 or how == "C":
        return a
    if how == "F":
        return np.asfortranarray(a)
    if how == "T":
        return np.ascontiguousarray(a.T).T
    if how == "neg":
        ax = a.ndim - 1
        return np.flip(np.flip(a, ax).copy(), ax)
    assert how == "gap"
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


LAYOUTS = ("C", "F", "T", "neg", "gap")
dims = st.sampled_from([0, 1, 1, 2, 3, 5, 7])
shapes = st.lists(dims, min_size=0, max_size=4).map(tuple)


# --------------------------------------------------------------------------- programs

# elementwise steps by operand kind; every float op is bounded and well conditioned
# (so a few ulp in the inputs stay a few ulp in the outputs)
FLOAT_UNARY = {
    "sin": fnp.sin, "tanh": fnp.tanh, "logistic": fl.nn.sigmoid, "erf": fl.lax.erf,
    "log1p|x|": lambda x: fnp.log1p(fnp.abs(x)), "sqrt|x|": lambda x: fnp.sqrt(fnp.abs(x)),
    "exp(-x^2)": lambda x: fnp.exp(-x * x), "atan": fnp.arctan, "neg": fnp.negative,
    "floor": fnp.floor, "abs": fnp.abs, "sign": fnp.sign, "square": fnp.square,
}
FLOAT_BINARY = {
    "add": fnp.add, "sub": fnp.subtract, "mul": fnp.multiply, "max": fnp.maximum,
    "min": fnp.minimum, "div": lambda x, y: x / (1.0 + fnp.abs(y)),
    "where": lambda x, y: fnp.where(x > y, x, y), "atan2": fnp.arctan2,
}
INT_UNARY = {"neg": fnp.negative, "abs": fnp.abs, "not": fnp.invert, "sign": fnp.sign}
INT_BINARY = {
    "add": fnp.add, "sub": fnp.subtract, "mul": fnp.multiply, "max": fnp.maximum,
    "min": fnp.minimum, "and": fnp.bitwise_and, "xor": fnp.bitwise_xor,
    "floordiv": lambda x, y: x // (y | 1), "rem": lambda x, y: x % (y | 1),
    "shl": lambda x, y: fnp.left_shift(x, y & 7), "shr": lambda x, y: x >> (y & 7),
    "where": lambda x, y: fnp.where(x < y, x, y),
}
BOOL_UNARY = {"not": fnp.logical_not}
BOOL_BINARY = {"and": fnp.logical_and, "or": fnp.logical_or, "xor": fnp.logical_xor,
               "ne": fnp.not_equal}


def _kind(x):
    k = np.dtype(x.dtype).kind
    return "f" if k == "f" else "b" if k == "b" else "i"


# float steps whose result may differ by a few ulp between the backends (the math
# library, reassociated sums), and steps that jump (a comparison, floor, a cast to an
# integer): once a chain is inexact, no jump is drawn, so integers stay exact
INEXACT_UNARY = {"sin", "tanh", "logistic", "erf", "log1p|x|", "exp(-x^2)", "atan"}
JUMP_UNARY = {"floor", "sign"}


def _draw_step(data, shape, vkind, inexact):
    """One step for a value of ``shape`` and dtype kind ``vkind``: (name for the
    report, ``fn(x, y) -> x'``, whether the chain is inexact after it)."""
    ndim = len(shape)
    kinds = ["unary", "binary", "cast"] + ([] if inexact else ["compare"])
    if ndim:
        kinds += ["transpose", "flip", "slice", "reduce", "reshape", "cumsum", "concat"]
    if ndim >= 1:
        kinds += ["dot", "take", "scatter", "pad", "sort", "scan"]
        kinds += [] if inexact else ["argmax"]
    kind = data.draw(st.sampled_from(kinds), label="step")
    name, fn, becomes = _step(data, shape, vkind, inexact, kind)
    return name, fn, inexact or (vkind == "f" and becomes)


def _step(data, shape, vkind, inexact, kind):
    ndim = len(shape)
    if kind in ("take", "scatter"):
        # integer index arrays (negative ones wrap, as numpy's do) into axis 0
        n = shape[0]
        idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=5)) if n else [],
                       np.int32)
        if kind == "take":
            return f"take{idx.tolist()}", lambda x, y: x[idx], False
        return f"scatter{idx.tolist()}", lambda x, y: (
            x.at[idx].add(x[idx]) if _kind(x) != "b" else x.at[idx].set(~x[idx])), False
    if kind == "pad":
        widths = [(data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape]
        return f"pad{widths}", lambda x, y: fnp.pad(x, widths), False
    if kind == "sort":
        ax = data.draw(st.integers(0, ndim - 1))
        return f"sort{ax}", lambda x, y: fnp.sort(x, axis=ax) if _kind(x) != "b" else x, False
    if kind == "argmax":
        ax = data.draw(st.integers(0, ndim - 1))
        return f"argmax{ax}", lambda x, y: (
            fnp.argmax(x, axis=ax) if x.shape[ax] else fnp.sum(x, axis=ax)), False
    if kind == "scan":
        # a running combination over axis 0, as a native loop
        return "scan", lambda x, y: L.scan(
            lambda c, v: ((c + v, c + v) if _kind(x) != "b" else (c ^ v, c & v)),
            fnp.zeros(x.shape[1:], x.dtype), x)[1], False
    if kind == "unary":
        table = {"f": FLOAT_UNARY, "i": INT_UNARY, "b": BOOL_UNARY}[vkind]
        names = [n for n in table if not (inexact and n in JUMP_UNARY)]
        op = data.draw(st.sampled_from(names))
        return op, lambda x, y: table[op](x), op in INEXACT_UNARY
    if kind == "binary":
        table = {"f": FLOAT_BINARY, "i": INT_BINARY, "b": BOOL_BINARY}[vkind]
        op = data.draw(st.sampled_from([n for n in table if not (inexact and n == "where")]))
        # the other operand: x flipped, x summed over some axes (kept: it broadcasts), or
        # a Python scalar
        other = data.draw(st.sampled_from(["flip", "reduced", "scalar"]))
        axes = tuple(sorted(data.draw(st.sets(st.integers(0, ndim - 1))))) if ndim else ()

        def binary(x, y):
            if other == "flip" and x.ndim:
                o = fnp.flip(x, 0)
            elif other == "reduced":
                o = fnp.sum(x, axis=axes, keepdims=True).astype(x.dtype)
            else:
                o = {"f": 1.5, "i": 3, "b": True}[_kind(x)]
            return table[op](x, o)
        return f"{op}({other}{axes})", binary, op == "atan2" or other == "reduced"
    if kind == "cast":
        dt = data.draw(st.sampled_from([d for d in DTYPES if not inexact
                                        or np.dtype(d).kind == "f"]))
        # float -> int casts of out-of-range values are platform-defined: clip first
        return f"cast{np.dtype(dt).name}", lambda x, y: (
            fnp.clip(x, -1e6, 1e6) if _kind(x) == "f" else x).astype(dt), False
    if kind == "compare":
        return "compare", lambda x, y: fnp.where(x > x.astype(np.float32).mean().astype(
            x.dtype) if x.size else x, x, fnp.zeros_like(x)), False
    if kind == "transpose":
        perm = data.draw(st.permutations(range(ndim)))
        return f"transpose{perm}", lambda x, y: fnp.transpose(x, perm), False
    if kind == "flip":
        ax = data.draw(st.integers(0, ndim - 1))
        return f"flip{ax}", lambda x, y: fnp.flip(x, ax), False
    if kind == "slice":
        idx = []
        for n in shape:
            lo = data.draw(st.integers(-n - 1, n + 1)) if n else 0
            hi = data.draw(st.integers(-n - 1, n + 1)) if n else 0
            step = data.draw(st.sampled_from([1, 1, 2, 3, -1, -2]))
            idx.append(slice(lo, hi, step))
        return f"slice{idx}", lambda x, y: x[tuple(idx)], False
    if kind == "reshape":
        size = int(np.prod(shape))
        new = _factor(size, data) if size else tuple(reversed(shape)) + (1,)
        return f"reshape{new}", lambda x, y: x.reshape(new), False
    if kind == "reduce":
        axes = tuple(sorted(data.draw(st.sets(st.integers(0, ndim - 1)))))
        ops = ["sum", "max", "min", "prod", "mean"] + ([] if inexact else ["any", "all"])
        op = data.draw(st.sampled_from(ops))
        keep = data.draw(st.booleans())
        return f"{op}{axes}", lambda x, y: _reduce(x, op, axes, keep), op not in ("max", "min")
    if kind == "cumsum":
        ax = data.draw(st.integers(0, ndim - 1))
        return f"cumsum{ax}", lambda x, y: fnp.cumsum(x, ax), False
    if kind == "concat":
        ax = data.draw(st.integers(0, ndim - 1))
        return f"concat{ax}", lambda x, y: fnp.concatenate([x, fnp.flip(x, ax)], ax), False
    assert kind == "dot"
    k = shape[-1]
    n = data.draw(st.sampled_from([0, 1, 3, 4]))
    transposed = data.draw(st.booleans())

    def dot(x, y):
        w = fnp.arange(k * n).reshape(n, k).astype(x.dtype) if transposed else \
            fnp.arange(k * n).reshape(k, n).astype(x.dtype)
        w = (w % 5) - 2
        if _kind(x) == "b":
            return fnp.matmul(x, w.T if transposed else w)
        return fnp.matmul(x, w.T if transposed else w) * (0.25 if _kind(x) == "f" else 1)
    return f"dot{n}{'T' if transposed else ''}", dot, True


def _factor(size, data):
    """A random shape of ``size`` elements (up to 4 dims)."""
    out, rest = [], size
    for _ in range(data.draw(st.integers(0, 3))):
        divs = [d for d in range(1, rest + 1) if rest % d == 0]
        d = data.draw(st.sampled_from(divs))
        out.append(d)
        rest //= d
    return tuple(out) + (rest,)


def _reduce(x, op, axes, keep):
    if op in ("max", "min") and any(x.shape[a] == 0 for a in axes):
        op = "sum"  # numpy refuses max of an empty axis
    if op == "mean" and _kind(x) != "f":
        op = "sum"
    if op == "prod" and _kind(x) == "f":
        x = fnp.tanh(x)  # bounded factors: no overflow to compare
    if op in ("any", "all"):
        return getattr(fnp, op)(x, axis=axes, keepdims=keep)
    return getattr(fnp, op)(x, axis=axes, keepdims=keep)


@settings(max_examples=100)  # programs compile in milliseconds: draw more of them
@given(st.data())
def test_random_programs_match_numpy(data):
    shape = data.draw(shapes, label="shape")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16), label="seed"))
    x = strided(values(rng, dtype, shape), data.draw(st.sampled_from(LAYOUTS)))
    # y broadcasts against x: a suffix of x's shape with some dims 1
    keep = data.draw(st.integers(0, len(shape)))
    yshape = tuple(1 if data.draw(st.booleans()) else n for n in shape[len(shape) - keep:])
    y = strided(values(rng, dtype, yshape), data.draw(st.sampled_from(LAYOUTS)))
    table = {"f": FLOAT_BINARY, "i": INT_BINARY, "b": BOOL_BINARY}[_kind(x)]
    op = data.draw(st.sampled_from(sorted(table)))
    steps, cur, inexact = [(f"{op} y", table[op])], (shape, _kind(x)), op == "atan2"
    for _ in range(data.draw(st.integers(1, 8), label="length")):
        name, fn, inexact = _draw_step(data, *cur, inexact)
        steps.append((name, fn))
        # the next step is drawn for the value this one makes
        cur = _value_after(steps, x, y)

    def program(x, y):
        outs = []
        for _, fn in steps:
            x = fn(x, y)
            outs.append(x)
        return outs

    got, want = both(program, x, y)
    # a float32 value anywhere upstream bounds the precision of what follows
    low = x.dtype == np.float32
    for g, w in zip(got, want):
        low = low or g.dtype == np.float32
        assert_same(g, w, rtol=RTOL[np.dtype(np.float32 if low else np.float64)])


def _value_after(steps, x, y):
    """(shape, dtype kind) of the last step's result."""
    aval = fl.make_ir(lambda x, y: _run(steps, x, y))(x, y).out_avals[0]
    return tuple(aval.shape), "f" if aval.dtype.kind == "f" else (
        "b" if aval.dtype.kind == "b" else "i")


def _run(steps, x, y):
    for _, fn in steps:
        x = fn(x, y)
    return x


# --------------------------------------------------------------------------- strided inputs


@pytest.mark.parametrize("how", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_arguments(how, dtype):
    rng = np.random.default_rng(3)
    x = strided(values(rng, dtype, (3, 1, 5)), how)
    y = strided(values(rng, dtype, (1, 4, 5)), how)

    def f(x, y):
        z = x + y if np.dtype(dtype).kind != "b" else x ^ y
        return z, fnp.transpose(z, (2, 0, 1)), z[:, ::-1, 1:4:2], fnp.sum(z, axis=(0, 2))

    assert_same(*both(f, x, y))


# --------------------------------------------------------------------------- no stray accesses

SCRIPT = """
import numpy as np, functorch_lite as fl, functorch_lite.numpy as fnp
rng = np.random.default_rng(11)

def f(x, y, w):
    z = fnp.tanh(x * 2.0 + y)
    return (z, fnp.sum(z, axis=0), fnp.max(z[::-1], axis=-1), z.T @ w, fnp.cumsum(x, 0),
            fl.lax.fori_loop(0, 3, lambda i, c: c * 0.5 + fnp.mean(y), x))

for trial in range(60):
    shape = tuple(int(v) for v in rng.integers(0, 6, 2))
    x = rng.standard_normal(shape)
    y = rng.standard_normal(shape[1:])
    w = rng.standard_normal((shape[0], int(rng.integers(0, 4))))
    if shape[1] == 0:
        continue  # max over an empty axis is an error in numpy too
    args = [np.asfortranarray(x) if trial % 3 == 0 else x[::-1].copy()[::-1], y, w]
    got, want = fl.jit(f, backend="llvm")(*args), fl.jit(f, backend="numpy")(*args)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
print("done")
"""


def _run_script(script, tmp_path, **env):
    full = dict(os.environ, PYTHONPATH=str(ROOT), FUNCTORCH_LITE_CACHE_DIR=str(tmp_path))
    full.update(env)
    return subprocess.run([sys.executable, "-c", script], env=full, capture_output=True,
                          text=True, timeout=120)


def test_random_shapes_in_a_subprocess(tmp_path):
    r = _run_script(SCRIPT, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "done" in r.stdout


THREADS = """
import threading
import numpy as np, functorch_lite as fl, functorch_lite.numpy as fnp
def f(x, w):
    return fnp.tanh(x @ w).sum(0) + fnp.cumsum(x, 0)[-1], x.T @ x
rng = np.random.default_rng(0)
args = [(rng.standard_normal((64, 32)), rng.standard_normal((32, 32))) for _ in range(8)]
want = [fl.jit(f, backend="numpy")(*a) for a in args]
g = fl.jit(f, backend="llvm")   # first compiled by whichever thread calls it first
bad = []
def run(t):
    for it in range(100):
        i = (it + t) % 8
        for a, b in zip(g(*args[i]), want[i]):
            if not np.allclose(a, b, rtol=1e-12, atol=1e-12):
                bad.append((t, it))
threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not bad, bad
print("done")
"""


def test_threads_share_compiled_programs(tmp_path):
    # concurrent first calls compile together; later calls run while others compile
    r = _run_script(THREADS, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "done" in r.stdout


# --------------------------------------------------------------------------- the cache

CACHED = """
import numpy as np, functorch_lite as fl, functorch_lite.numpy as fnp
f = fl.jit(lambda x: fnp.sum(fnp.exp(x) * 2.0, axis=0), backend="llvm")
print(f(np.arange(6.0).reshape(2, 3)).tolist())
"""
EXPECTED = str((np.exp(np.arange(6.0).reshape(2, 3)) * 2.0).sum(axis=0).tolist())


def _objects(d):
    return sorted(p for p in pathlib.Path(d).rglob("*") if p.is_file())


def test_a_second_process_compiles_nothing(tmp_path):
    first = _run_script(CACHED, tmp_path, FUNCTORCH_LITE_LOG_COMPILES="1")
    assert first.returncode == 0, first.stderr
    assert "compiled in" in first.stderr and first.stdout.strip() == EXPECTED
    assert _objects(tmp_path)
    second = _run_script(CACHED, tmp_path, FUNCTORCH_LITE_LOG_COMPILES="1")
    assert second.returncode == 0, second.stderr
    assert "disk cache" in second.stderr and "compiled in" not in second.stderr
    assert second.stdout.strip() == EXPECTED


def test_a_corrupted_entry_is_rebuilt_never_loaded(tmp_path):
    assert _run_script(CACHED, tmp_path).returncode == 0
    (obj,) = [p for p in _objects(tmp_path) if p.suffix == ".o"]
    good = obj.read_bytes()
    bad = bytearray(good)
    for i in range(len(bad) // 2, len(bad) // 2 + 16):  # inside the machine code
        bad[i] ^= 0xFF
    obj.write_bytes(bytes(bad))
    r = _run_script(CACHED, tmp_path, FUNCTORCH_LITE_LOG_COMPILES="1")
    assert r.returncode == 0, r.stderr
    assert "compiled in" in r.stderr and "disk cache" not in r.stderr
    assert r.stdout.strip() == EXPECTED
    assert obj.read_bytes() == good  # rewritten with the rebuilt object


def test_an_empty_cache_dir_writes_nothing(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = _run_script(CACHED, tmp_path, FUNCTORCH_LITE_CACHE_DIR="", HOME=str(home),
                    XDG_CACHE_HOME=str(home / "cache"), FUNCTORCH_LITE_LOG_COMPILES="1")
    assert r.returncode == 0, r.stderr
    assert "compiled in" in r.stderr and r.stdout.strip() == EXPECTED
    assert _objects(tmp_path) == []


# --------------------------------------------------------------------------- surface


def test_lower_as_text_is_llvm_ir():
    text = fl.jit(lambda x: fnp.tanh(x) + 1.0, backend="llvm").lower(
        np.ones(4, np.float32)).as_text()
    assert "define void @fl_main(ptr %args)" in text
    assert "fl_tanh_f32" in text


# --------------------------------------------------------------------------- transforms


def _mlp_loss(params, x, t):
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    return fnp.mean((h @ params["w2"] - t) ** 2)


def test_grad_of_an_mlp_under_jit():
    rng = np.random.default_rng(0)
    params = {"w1": rng.standard_normal((5, 8)), "b1": np.zeros(8),
              "w2": rng.standard_normal((8, 2))}
    x, t = rng.standard_normal((7, 5)), rng.standard_normal((7, 2))
    assert_same(*both(fl.value_and_grad(_mlp_loss), params, x, t))
    assert_same(*both(fl.hessian(lambda x: fnp.sum(fnp.sin(x) ** 3)), x[0]))


def test_vmap_under_jit():
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((6, 4)).astype(np.float32)
    per_example = fl.vmap(fl.grad(lambda w, x: fnp.sum(fnp.tanh(x * w))), in_axes=(None, 0))
    assert_same(*both(per_example, xs[0], xs))
    assert_same(*both(fl.vmap(lambda x: fnp.outer(x, x).sum(0)), xs))


def test_control_flow_under_jit():
    x = np.linspace(-1.0, 1.0, 5)

    def f(x):
        c = L.cond(fnp.sum(x) > 0, lambda v: v * 2.0, lambda v: -v, x)
        w = L.while_loop(lambda s: s[0] < 5, lambda s: (s[0] + 1, s[1] * 0.9 + 0.1), (0, x))[1]
        s, ys = L.scan(lambda c, v: (c + v, c * v), 0.0, x)
        i = L.fori_loop(0, 4, lambda i, v: v + i * fnp.sin(v), x)
        sw = L.switch(2, [lambda v: v, lambda v: v + 1, lambda v: v * 3], x)
        return c, w, s, ys, i, sw

    def g(x):  # reverse mode: everything but while_loop
        c = L.cond(fnp.sum(x) > 0, lambda v: v * 2.0, lambda v: fnp.sin(v), x)
        s, ys = L.scan(lambda c, v: (c + v * c, c * v), 1.0, x)
        return fnp.sum(c * L.fori_loop(0, 4, lambda i, v: v + fnp.sin(v), ys)) + s

    assert_same(*both(f, x))
    assert_same(*both(fl.grad(g), x))
    assert_same(*both(fl.vmap(f), np.stack([x, -x])))
    assert_same(*both(fl.jacfwd(lambda x: f(x)[1]), x))


# --------------------------------------------------------------------------- regressions


@pytest.mark.parametrize("f, x", [
    (lambda x: -x, np.array([True])),                      # numpy: TypeError
    (lambda x: fnp.sign(x), np.array([True])),             # numpy: no loop for bool
    (lambda x: ~x, np.array([1.5], np.float32)),           # numpy: TypeError
    (lambda x: (x - 0, -x), np.array([False])),           # x - 0 would be rewritten away
])
def test_operand_types_numpy_refuses_raise_its_error(f, x):
    # they used to compile (bool negation to a subtraction) or fail inside LLVM
    with pytest.raises(Exception) as eager:
        f(x)
    with pytest.raises(eager.type, match=str(eager.value)[:20]):
        fl.jit(f, backend="llvm")(x)


def test_integer_power_with_a_negative_exponent():
    # numpy raises; compiled code gives the truncated value (it once gave e's bit pattern)
    x = np.array([-3, -2, -1, 0, 1, 2, 3] * 2, np.int64)
    e = np.repeat(np.array([-1, -2], np.int64), 7)
    got = fl.jit(lambda x, e: x ** e, backend="llvm")(x, e)
    np.testing.assert_array_equal(got, [0, 0, -1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0])
