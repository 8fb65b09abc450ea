"""The CuPy backend's scalar code (``backends/cupy/lowering.py`` over ``prelude.py``),
compiled as host C++ and run over edge-case grids, against the reference interpreter's
numpy implementation of each primitive: exact for integer, bitwise, comparison, cast,
selection and IEEE-exact float operations (+ - * / fmod sqrt floor ceil round min max
sign abs), within ``ULPS`` for the math-library ones (host libm here, CUDA's libdevice
on the GPU: its documented bounds are 1-4 ulp for these functions).

Every (primitive, dtype) the reference accepts is checked, for every dtype the backend
supports. Skips where no host C++ compiler is installed."""

from __future__ import annotations

import warnings

import cuda_host
import numpy as np
import pytest

from backends.cupy import lowering
from backends.cupy.prelude import PRELUDE
from functorch_lite.core import ShapedArray
from functorch_lite.primitives import elementwise as E

pytestmark = pytest.mark.skipif(cuda_host.host_compiler() is None,
                                reason="no host C++ compiler (g++/c++/clang++) installed")

DTYPES = [np.dtype(d) for d in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                "uint32", "uint64", "float16", "float32", "float64")]
BINARY = {"add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "and", "or",
          "xor", "shift_left", "shift_right_logical", "shift_right_arithmetic", "eq", "ne",
          "lt", "le", "gt", "ge"}
# libm results: host libm (glibc) against numpy, in ulps of the result's dtype; float32
# erf/erfc/lgamma/polygamma compute in double and round once, as the reference does
ULPS = {"exp": 2, "log": 2, "log1p": 2, "expm1": 2, "tanh": 2, "sin": 2, "cos": 2,
        "tan": 2, "asin": 2, "acos": 2, "atan": 2, "atan2": 2, "sinh": 2, "cosh": 2,
        "asinh": 2, "acosh": 2, "atanh": 2, "pow": 2, "logistic": 2, "erf": 1, "erfc": 2,
        "lgamma": 4, "polygamma": 4}
# where both cancel (lgamma near its zeros at 1, 2 and on the negative axis; psi near
# its zeros), the bound is on the absolute error, scaled by the result's magnitude + 1
ABS = {"lgamma": 1e-13, "polygamma": 1e-12}


def float_grid(dt: np.dtype) -> np.ndarray:
    fi = np.finfo(dt)
    special = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, 0.1, -0.1, 2.0, 10.0,
               -10.0, 12.0, 100.0, -7.25, 1e-3, 88.7, 89.0, 709.7, 710.0, -103.0, -746.0,
               65504.0, 65520.0, 2.0 ** 31, -2.0 ** 31, 2.0 ** 31 - 128, 3e9, -3e9,
               2.0 ** 63, -2.0 ** 63, 2.0 ** 64, 1e20, -1e20, 1e300, np.pi, -np.pi / 2,
               float(fi.eps), float(fi.tiny), -float(fi.tiny), float(fi.smallest_subnormal),
               -float(fi.smallest_subnormal), float(fi.tiny) / 3, float(fi.max),
               -float(fi.max), np.inf, -np.inf, np.nan]
    rng = np.random.default_rng(0)
    rand = np.concatenate([rng.normal(0, 3, 24), np.exp(rng.uniform(-30, 30, 12))
                           * rng.choice([-1, 1], 12)])
    with np.errstate(over="ignore"):
        return np.concatenate([np.array(special), rand]).astype(dt)


def int_grid(dt: np.dtype) -> np.ndarray:
    if dt.kind == "b":
        return np.array([False, True])
    ii = np.iinfo(dt)
    vals = {0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 100, ii.max, ii.max - 1, ii.min,
            ii.min + 1, ii.max // 2, -1, -2, -3, -7, -8, -64}
    return np.array(sorted(v for v in vals if ii.min <= v <= ii.max), dtype=dt)


def grid(dt):
    return float_grid(dt) if dt.kind == "f" else int_grid(dt)


def pairs(dt):
    g = grid(dt)
    a, b = np.meshgrid(g, g, indexing="ij")
    return [a.ravel(), b.ravel()]


def reference(prim, args, params):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(prim.impl(*args, **params))


def accepted(prim, dts, params):
    try:
        out = prim.abstract_eval(*[ShapedArray((1,), d) for d in dts], **params)
        reference(prim, [np.zeros(1, d) for d in dts], params)
    except (TypeError, ValueError):
        return None
    return out.dtype


def cases():
    """(id, prim, params, input arrays) for every accepted combination."""
    out = []
    for prim in lowering.ELEMENTWISE:
        name = prim.name
        for dt in DTYPES:
            if prim is E.select_n_p:
                continue
            if prim is E.convert_p or prim is E.bitcast_p:
                for dst in DTYPES:
                    if prim is E.bitcast_p and (dst.itemsize != dt.itemsize or "b" in
                                                dst.kind + dt.kind):
                        continue
                    key = "new_dtype"
                    params = {key: dst} if prim is E.bitcast_p else {key: dst, "weak_type": False}
                    if accepted(prim, [dt], params) is None:
                        params = {key: dst}
                        if accepted(prim, [dt], params) is None:
                            continue
                    g = grid(dt)
                    if prim is E.convert_p and dt.kind == "f" and dst.kind == "u":
                        # out of range is undefined in C and machine-dependent in numpy
                        # (its SIMD loops); both compiling backends use x86's scalar rule
                        # (test_out_of_range_casts_follow_the_llvm_backend)
                        with np.errstate(invalid="ignore", over="ignore"):
                            g = g[(g >= 0) & (g < 2.0 ** (8 * dst.itemsize))]
                    out.append((f"{name}-{dt.name}-{dst.name}", prim, params, [g]))
                continue
            ms = (0, 1, 2, 3) if prim is E.polygamma_p else (None,)
            for m in ms:
                params = {} if m is None else {"m": m}
                n_in = 2 if name in BINARY else 1
                if accepted(prim, [dt] * n_in, params) is None:
                    continue
                args = pairs(dt) if n_in == 2 else [grid(dt)]
                if name == "pow" and dt.kind in "iu":
                    # numpy refuses negative integer powers (an error, not a value)
                    keep = args[1] >= 0 if dt.kind == "i" else slice(None)
                    args = [a[keep] for a in args]
                tag = f"{name}{'' if m is None else m}-{dt.name}"
                out.append((tag, prim, params, args))
    for pdt in ("bool", "int32"):
        for dt in DTYPES:
            g = grid(dt)
            n = len(g)
            if pdt == "bool":
                pred = np.arange(n) % 2 == 1
                args = [pred, g, g[::-1].copy()]
            else:
                pred = (np.arange(n) % 3).astype(np.int32)
                args = [pred, g, g[::-1].copy(), np.roll(g, 1)]
            out.append((f"select_n-{pdt}-{dt.name}", E.select_n_p, {}, args))
    return out


CASES = cases()


def source(cases_) -> str:
    fns = [PRELUDE]
    for n, (_, prim, params, args) in enumerate(cases_):
        ts = [lowering.ctype(a.dtype) for a in args]
        want = reference(prim, args, params)
        out = lowering.ctype(want.dtype)
        ptrs = ", ".join(f"const void* a{i}" for i in range(len(args)))
        body = [f'extern "C" void case{n}({ptrs}, void* o, long long n) {{',
                "  for (long long i = 0; i < n; ++i) {"]
        for i, t in enumerate(ts):
            body.append(f"    {t.reg} x{i} = {lowering.load(t, f'(({t.mem}*)a{i})', 'i')};")
        expr = lowering.ELEMENTWISE[prim](ts, out, [f"x{i}" for i in range(len(args))], params)
        body.append(f"    (({out.mem}*)o)[i] = {lowering.store_value(out, expr)};")
        body += ["  }", "}"]
        fns.append("\n".join(body))
    return "\n".join(fns)


@pytest.fixture(scope="module")
def library():
    return cuda_host.build(source(CASES))


def run_case(lib, n, args, out_dtype):
    args = [np.ascontiguousarray(a) for a in args]
    out = np.empty(args[0].shape, out_dtype)
    fn = getattr(lib, f"case{n}")
    fn(*[cuda_host.POINTER(cuda_host.address(a)) for a in args],
       cuda_host.POINTER(cuda_host.address(out)), np.int64(out.size).item())
    return out


def check(name, got, want, args):
    if want.dtype.kind != "f":
        bad = got != want
    else:
        g, w = got.astype(np.float64), want.astype(np.float64)
        nan_ok = np.isnan(g) == np.isnan(w)
        ulps = ULPS.get(name, 0)
        with np.errstate(all="ignore"):
            spacing = np.abs(np.spacing(want)).astype(np.float64)
            err = np.abs(g - w)
            if ulps == 0:  # bit-exact: the sign of zero counts
                close = (g == w) & (np.signbit(g) == np.signbit(w))
            else:
                tol = ulps * spacing + ABS.get(name, 0.0) * (1 + np.abs(w))
                close = (g == w) | (err <= tol)
        bad = ~(nan_ok & (close | np.isnan(w)))
    if bad.any():
        i = np.flatnonzero(bad)[:8]
        ins = " | ".join(", ".join(repr(a[j]) for a in args) for j in i)
        pytest.fail(f"{name}: {int(bad.sum())} of {bad.size} differ; inputs: {ins}; "
                    f"got {got[i]!r}, want {want[i]!r}")


@pytest.mark.parametrize("n", range(len(CASES)), ids=[c[0] for c in CASES])
def test_scalar_code_matches_numpy(library, n):
    tag, prim, params, args = CASES[n]
    want = reference(prim, args, params)
    got = run_case(library, n, args, want.dtype)
    check(prim.name, got, want, args)


def test_every_elementwise_primitive_is_checked():
    checked = {c[1] for c in CASES}
    assert set(lowering.ELEMENTWISE) - {E.stop_gradient_p} <= checked | {E.stop_gradient_p}
    assert {E.exp_p, E.div_p, E.convert_p, E.bitcast_p, E.select_n_p} <= checked


def test_integer_edges_by_hand(library):
    # the answers C leaves undefined, spelled out: numpy wraps and gives 0 past the width
    idx = {c[0]: n for n, c in enumerate(CASES)}
    i32 = np.int32
    a = np.array([np.iinfo(i32).min, 7, -7, 5], i32)
    b = np.array([-1, 0, 2, -2], i32)
    assert run_case(library, idx["div-int32"], [a, b], i32).tolist() == \
        [np.iinfo(i32).min, 0, -3, -2]
    assert run_case(library, idx["rem-int32"], [a, b], i32).tolist() == [0, 0, -1, 1]
    s = np.array([1, 1, -8, -8], i32)
    c = np.array([31, 32, 40, -1], i32)
    assert run_case(library, idx["shift_left-int32"], [s, c], i32).tolist() == \
        [np.iinfo(i32).min, 0, 0, 0]
    assert run_case(library, idx["shift_right_arithmetic-int32"], [s, c], i32).tolist() == \
        [0, 0, -1, -1]


def test_out_of_range_casts_follow_the_llvm_backend(library):
    # numpy's answer depends on its SIMD loop; the llvm backend's (and this one's) is
    # x86's scalar cvttsd2si through int64: NaN and out-of-range give INT64_MIN's bits
    n = next(n for n, c in enumerate(CASES) if c[0] == "convert_element_type-float32-uint32")
    lib_out = run_case(library, n, [np.array([-3e9, np.nan, 9.039239e12], np.float32)],
                       np.uint32)
    assert lib_out.tolist() == [1294967296, 0, 2627731456]
