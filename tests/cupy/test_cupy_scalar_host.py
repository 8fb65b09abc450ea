"""The CuPy backend's scalar code (``backends/cupy/lowering.py`` over ``prelude.py``),
compiled as host C++ and run over edge-case grids, against the reference interpreter's
numpy implementation of each primitive: exact for integer, bitwise, comparison, cast,
selection and IEEE-exact float operations (+ - * / fmod sqrt floor ceil round min max
sign abs), within ``ULPS`` for the math-library ones (host libm here, CUDA's libdevice
on the GPU: its documented bounds are 1-4 ulp for these functions).

Every (primitive, dtype) the reference accepts is checked, for every dtype the backend
supports. Skips where no host C++ compiler is installed."""

from __future__ import annotations

import cuda_host
import numpy as np
import pytest
from cupy_cases import CASES, reference

from backends.cupy import lowering
from backends.cupy.prelude import PRELUDE
from functorch_lite.primitives import elementwise as E

pytestmark = pytest.mark.skipif(cuda_host.host_compiler() is None,
                                reason="no host C++ compiler (g++/c++/clang++) installed")

# libm results: host libm (glibc) against numpy, in ulps of the result's dtype; float32
# erf/erfc/lgamma/polygamma compute in double and round once, as the reference does
ULPS = {"exp": 2, "log": 2, "log1p": 2, "expm1": 2, "tanh": 2, "sin": 2, "cos": 2,
        "tan": 2, "asin": 2, "acos": 2, "atan": 2, "atan2": 2, "sinh": 2, "cosh": 2,
        "asinh": 2, "acosh": 2, "atanh": 2, "pow": 2, "logistic": 2, "erf": 1, "erfc": 2,
        "lgamma": 4, "polygamma": 4}
# where both cancel (lgamma near its zeros at 1, 2 and on the negative axis; psi near
# its zeros), the bound is on the absolute error, scaled by the result's magnitude + 1
ABS = {"lgamma": 1e-13, "polygamma": 1e-12}


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
