"""backends/llvm/mathlib.py against numpy, through the code LLVM actually vectorizes.

All functions of one dtype are compiled into ONE module, each behind a loop
``void @apply_<name>(ptr %in, ptr %out, i64 %n)`` (``@apply2_<name>(ptr %a, ptr %b,
ptr %out, i64 %n)`` for atan2 and pow), optimized at -O3 for the host CPU and
JIT-compiled once per dtype (module-scoped fixtures), then run on numpy arrays.

Error = ulp distance from the bit patterns (the count of representable numbers
between result and reference). References: float32 -> numpy's float64 result rounded
to float32; float64 -> numpy's long double (x86 80-bit) result rounded to float64
(erf: math.erf, itself within 1 ulp, so the bound gets +1 there; erfc: math.erfc, +2).
erfc, lgamma, digamma and polygamma are checked against the primitives' own numpy
implementations (``functorch_lite.primitives.elementwise``), the answers eager code
gives; where those cancel (lgamma near 1, 2 and for x < 0, digamma near its zeros)
the bound is on the absolute error (``allowance``). Special values are compared bit
for bit (any nan matches any nan).
"""

from __future__ import annotations

import ctypes
import math
import re

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from backends.llvm import compiler, mathlib
from functorch_lite.primitives import elementwise as E

llvm = pytest.importorskip("llvmlite.binding")

_TY = {"f32": "float", "f64": "double"}
_NP = {"f32": np.float32, "f64": np.float64}
_INT = {"f32": (np.int32, np.uint32), "f64": (np.int64, np.uint64)}


# ---------------------------------------------------------------------------------
# compile and run

def _target_machine():
    # one per use: an execution engine takes ownership of the one it is given
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=3)


def _loop_ir(name, key):
    ty, sym = _TY[key], mathlib.symbol(name, key)
    if mathlib.arity(name) == 1:
        params, loads, args = "ptr noalias %a, ", [("a", "va")], f"{ty} %va"
    else:
        params = "ptr noalias %a, ptr noalias %b, "
        loads, args = [("a", "va"), ("b", "vb")], f"{ty} %va, {ty} %vb"
    body = "".join(
        f"  %p{p} = getelementptr inbounds {ty}, ptr %{p}, i64 %i\n"
        f"  %{v} = load {ty}, ptr %p{p}\n" for p, v in loads)
    fn = "apply" if mathlib.arity(name) == 1 else "apply2"
    return f"""
define void @{fn}_{name}({params}ptr noalias %out, i64 %n) {{
entry:
  %nonempty = icmp sgt i64 %n, 0
  br i1 %nonempty, label %loop, label %exit
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
{body}  %r = call {ty} @{sym}({args})
  %po = getelementptr inbounds {ty}, ptr %out, i64 %i
  store {ty} %r, ptr %po
  %next = add nuw nsw i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}}
"""


def _optimized_module(names, key):
    text = mathlib.definitions((n, key) for n in names)
    text += "".join(_loop_ir(n, key) for n in names)
    mod = llvm.parse_assembly(text)
    mod.verify()
    tm = _target_machine()
    mod.triple = llvm.get_process_triple()
    mod.data_layout = str(tm.target_data)
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod, tm


class Kernels:
    """The compiled loops of one dtype; ``k(name, *arrays)`` returns the results."""

    def __init__(self, key, names=None):
        names = tuple(sorted(mathlib.FUNCTIONS)) if names is None else names
        self.key, self.dtype = key, _NP[key]
        mod, _ = _optimized_module(names, key)
        self.engine = llvm.create_mcjit_compiler(mod, _target_machine())
        self.engine.finalize_object()
        ptr = ctypes.c_void_p
        self.fns = {}
        for name in names:
            nin = mathlib.arity(name)
            fn = "apply" if nin == 1 else "apply2"
            proto = ctypes.CFUNCTYPE(None, *([ptr] * (nin + 1)), ctypes.c_int64)
            self.fns[name] = proto(self.engine.get_function_address(f"{fn}_{name}"))

    def __call__(self, name, *args):
        args = [np.ascontiguousarray(a, dtype=self.dtype) for a in args]
        args = np.broadcast_arrays(*args)
        args = [np.ascontiguousarray(a) for a in args]
        out = np.empty_like(args[0])
        self.fns[name](*[a.ctypes.data for a in args], out.ctypes.data, out.size)
        return out


@pytest.fixture(scope="module")
def f32():
    return Kernels("f32")


@pytest.fixture(scope="module")
def f64():
    return Kernels("f64")


# ---------------------------------------------------------------------------------
# references

def _logistic_ld(x):
    x = np.asarray(x, np.longdouble)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


_ERF = np.frompyfunc(math.erf, 1, 1)

_NUMPY = {
    "exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "tanh": np.tanh,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "atan2": np.arctan2, "sinh": np.sinh, "cosh": np.cosh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "pow": np.power,
    "logistic": _logistic_ld,
}


# functions whose reference is the primitive's numpy implementation (what eager gives)
_PRIMITIVE = {"erfc": E.erfc_p.impl, "lgamma": E.lgamma_p.impl,
              "digamma": lambda x: E.polygamma_p.impl(x, m=0)}


def reference(name, key, *args):
    """numpy's answer in the result dtype (see the module docstring)."""
    with np.errstate(all="ignore"):
        if name in _PRIMITIVE:
            return np.asarray(_PRIMITIVE[name](np.asarray(args[0], _NP[key])), _NP[key])
        if name.startswith("polygamma"):
            m = int(name[len("polygamma"):])
            return np.asarray(E.polygamma_p.impl(np.asarray(args[0], _NP[key]), m=m), _NP[key])
        if name == "erf":
            x = np.asarray(args[0], np.float64)
            r = np.nan_to_num(_ERF(x).astype(np.float64), nan=np.nan)
            return np.where(np.isnan(x), np.nan, r).astype(_NP[key])
        wide = np.float64 if key == "f32" else np.longdouble
        r = _NUMPY[name](*[np.asarray(a, wide) for a in args])
        return np.asarray(r).astype(_NP[key])


def ulp_distance(a, b, key):
    """Representable numbers between a and b (0 for two nans, inf for nan vs number)."""
    sint = _INT[key][0]
    a = np.ascontiguousarray(a, _NP[key])
    b = np.ascontiguousarray(b, _NP[key])
    d = np.zeros(a.shape, np.float64)
    # only the (few) differing bit patterns need the arithmetic
    idx = np.flatnonzero(a.view(sint) != b.view(sint))
    ai, bi = a.view(sint)[idx].astype(np.int64), b.view(sint)[idx].astype(np.int64)
    mask = np.int64(np.iinfo(sint).max)
    ma, mb = ai & mask, bi & mask            # magnitudes: monotone in |value|
    same = (ai < 0) == (bi < 0)
    # same sign: exact integer difference; opposite signs: the distance through zero
    dd = np.where(same, np.abs(ma - mb).astype(np.float64),
                  ma.astype(np.float64) + mb.astype(np.float64))
    an, bn = np.isnan(a[idx]), np.isnan(b[idx])
    dd = np.where(an & bn, 0.0, dd)
    d[idx] = np.where(an ^ bn, np.inf, dd)
    return d


# ---------------------------------------------------------------------------------
# grids

def _bits_between(lo, hi, n, key):
    """n numbers evenly spaced in bit pattern over [lo, hi] (0 <= lo < hi): logarithmic
    above the normal range, linear through the subnormals."""
    sint = _INT[key][0]
    a, b = (np.array([v], _NP[key]).view(sint)[0] for v in (lo, hi))
    return np.unique(np.linspace(a, b, n).astype(sint)).view(_NP[key])


def _sym(v):
    return np.concatenate([v, -v])


def _lin(lo, hi, n, key):
    return np.linspace(lo, hi, n).astype(_NP[key])


def grid(name, key, n):
    """Dense grids over the function's domain (n points per part)."""
    fi = np.finfo(_NP[key])
    tiny, big = float(fi.smallest_subnormal), float(fi.max)
    bits = lambda lo, hi: _bits_between(lo, hi, n, key)     # noqa: E731
    lin = lambda lo, hi: _lin(lo, hi, n, key)               # noqa: E731
    ovf = math.log(big)
    # the floats nearest to k*pi/2: the reduction's cancellation at its worst
    ks = np.unique(np.round(np.exp(np.linspace(0, math.log(mathlib.TRIG_RANGE / 2), n))))
    pio2 = np.longdouble("1.57079632679489661923132169163975144")
    near_pio2 = _sym((ks.astype(np.longdouble) * pio2).astype(_NP[key]))
    whole = _sym(bits(tiny, big))
    parts = {
        "exp": [lin(-ovf * 1.05, ovf * 1.01), _sym(bits(tiny, ovf * 1.05))],
        "expm1": [lin(-ovf * 1.05, ovf * 1.01), _sym(bits(tiny, ovf * 1.05)), lin(-1, 1)],
        "log": [bits(tiny, big), lin(0.5, 2), lin(0, 100)],
        "log1p": [lin(-1, 1), _sym(bits(tiny, 1)), bits(1, big), -1 + bits(tiny, 1)],
        "tanh": [whole, lin(-20, 20), lin(-1, 1)],
        "logistic": [whole, lin(-120, 120), lin(-ovf * 1.2, 40)],
        "sinh": [whole, lin(-ovf * 1.03, ovf * 1.03), lin(-2, 2)],
        "cosh": [whole, lin(-ovf * 1.03, ovf * 1.03), lin(-2, 2)],
        "asinh": [whole, lin(-10, 10), lin(-1e5, 1e5)],
        "acosh": [bits(1, big), lin(1, 3), 1 + bits(tiny, 1)],
        "atanh": [lin(-1, 1), _sym(bits(tiny, 1)), _sym(1 - bits(tiny, 0.5))],
        "erf": [whole, lin(-7, 7), lin(-1.5, 1.5)],
        "asin": [lin(-1, 1), _sym(bits(tiny, 1)), _sym(1 - bits(tiny, 0.5))],
        "acos": [lin(-1, 1), _sym(bits(tiny, 1)), _sym(1 - bits(tiny, 0.5))],
        "atan": [whole, lin(-10, 10), lin(-1, 1)],
        "sin": [lin(-10, 10), _sym(bits(tiny, mathlib.TRIG_RANGE)), lin(-1e4, 1e4),
                near_pio2],
        "erfc": [whole, lin(-7, 28 if key == "f64" else 11), lin(-1.5, 1.5)],
        "lgamma": [_sym(bits(tiny, big)), lin(-20, 20), lin(1e-3, 12), 1 + lin(-0.01, 0.01),
                   2 + lin(-0.01, 0.01)],
        "digamma": [_sym(bits(tiny, 2.0 ** 34)), bits(tiny, big), lin(-20, 40),
                    lin(1e-3, 3)],
    }
    parts["cos"] = parts["tan"] = parts["sin"]
    if name in parts:
        return (np.concatenate(parts[name]),)
    rng = np.random.default_rng(1)
    if name == "atan2":
        r = np.exp(rng.uniform(-30, 30, n))
        th = np.linspace(-np.pi, np.pi, n)
        y1, x1 = r * np.sin(th), r * np.cos(th)
        y2, x2 = rng.permutation(whole)[:n], rng.permutation(whole)[:n]
        y3, x3 = _lin(-1, 1, n, key), rng.uniform(-2, 2, n)
        return (np.concatenate([y1, y2, y3]).astype(_NP[key]),
                np.concatenate([x1, x2, x3]).astype(_NP[key]))
    assert name == "pow"
    x1 = rng.permutation(bits(tiny, big))[:n]
    lx = np.abs(np.log2(x1.astype(np.float64)))
    lim = 140.0 if key == "f32" else 1100.0
    y1 = rng.uniform(-1, 1, n) * lim / np.maximum(lx, 1e-3)
    x2 = _lin(0.5, 2, n, key)
    y2 = rng.uniform(-1, 1, n) * 2000
    x3 = -rng.permutation(bits(tiny, big))[:n]
    y3 = rng.integers(-40, 41, n)
    x4 = rng.uniform(0, 10, n)
    y4 = rng.uniform(-30, 30, n)
    return (np.concatenate([x1, x2, x3, x4]).astype(_NP[key]),
            np.concatenate([y1, y2, y3, y4]).astype(_NP[key]))


# ---------------------------------------------------------------------------------
# the checks

KEYS = ("f32", "f64")
CASES = [(n, k) for n in sorted(mathlib.FUNCTIONS) for k in KEYS]


def bound(name, key):
    if name.startswith("polygamma"):
        return 4
    b = mathlib.ULP_BOUNDS[name][KEYS.index(key)]
    # math.erf and math.erfc, the float64 references, are themselves within 1 and 2 ulp
    return b + {("erf", "f64"): 1, ("erfc", "f64"): 2}.get((name, key), 0)


def _psi_terms(x, m):
    """The sum of the magnitudes of the terms the reference adds up for psi^(m)(x)
    (its rounding errors are relative to this, not to the result)."""
    z = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        acc = np.zeros_like(z)
        if m == 0:
            refl = z < 0.5
            acc = np.where(refl, np.abs(np.pi / np.tan(np.pi * z)), 0.0)
            z = np.where(refl, 1.0 - z, z)
        for _ in range(12):
            small = z < 12
            acc = acc + np.where(small, math.factorial(m) / np.abs(z) ** (m + 1), 0.0)
            z = np.where(small, z + 1, z)
        return acc + (np.abs(np.log(z)) if m == 0 else math.factorial(m) / z ** m)


def allowance(name, key, args, ref):
    """Absolute errors accepted beside the ulp bound: where the float64 reference
    cancels (see the module docstring), 16 eps times the size of what cancels."""
    if name not in ("lgamma", "digamma") and not name.startswith("polygamma"):
        return None
    eps = np.finfo(np.float64).eps
    with np.errstate(all="ignore"):
        x = np.asarray(args[0], np.float64)  # (random bits include signalling nans)
        if name == "lgamma":
            # numpy's reference (math.lgamma) adds Lanczos' terms, of size ~(x + 1/2) *
            # log(x + 6) + 2, which cancel below 20; x < 0 reflects: lgamma(1 - x) cancels
            scale = np.where(x < 0, 1 + np.abs(E.lgamma_p.impl(1 - x)),
                             np.where(x < 20, 2 + (x + 0.5) * np.log(x + 6), 0.0))
        elif name == "digamma":
            scale = _psi_terms(x, 0)
        else:
            # below 0 the reference adds m!/(x + k)^(m+1), k = 0, 1, ... (of both signs
            # for even m), at most 2 m! (d^-(m+1) + zeta(m+1)) in all, d the distance to
            # the nearest integer; below -20 psi^(m) reflects instead
            m = int(name[len("polygamma"):])
            d = np.abs(x - np.round(x))
            scale = np.where(x < 0, 2 * math.factorial(m) * (d ** -(m + 1) + 2), 0.0)
    return 16 * eps * np.nan_to_num(scale, nan=0.0, posinf=0.0)


def _kernels(request, key):
    return request.getfixturevalue(key)


def check(k, name, key, args, where=None):
    got = k(name, *args)
    ref = reference(name, key, *args)
    d = ulp_distance(got, ref, key)
    slack = allowance(name, key, args, ref)
    if slack is not None:
        with np.errstate(invalid="ignore"):
            d = np.where(np.abs(got.astype(np.float64) - ref) <= slack, 0, d)
    if where is not None:
        d = np.where(where, d, 0)
    i = int(np.argmax(d))
    assert d[i] <= bound(name, key), (
        f"{name} {key}: {d[i]:g} ulp at {[a[i] for a in args]}: got {got[i]!r}, "
        f"numpy {ref[i]!r}")
    return got, ref


@pytest.mark.parametrize("name,key", CASES)
def test_dense_grids(request, name, key):
    k = _kernels(request, key)
    args = grid(name, key, 100_000 if key == "f32" else 20_000)
    assert args[0].size >= (100_000 if key == "f32" else 20_000)
    check(k, name, key, args)


def _edge_values(name, key):
    """Special inputs plus the function's thresholds and each side of them."""
    dt = _NP[key]
    fi = np.finfo(dt)
    sub, maxsub = float(fi.smallest_subnormal), float(fi.smallest_normal) * (1 - fi.eps)
    base = [0.0, sub, maxsub, float(fi.smallest_normal), 1e-30, 1e-7, 0.25, 0.5, 1.0,
            1.5, 2.0, 3.0, 10.0, 100.0, 1e10, 1e30, float(fi.max), math.inf]
    big = float(fi.max)
    thresholds = {
        # overflow to inf, underflow through the subnormals to 0
        "exp": [math.log(big), math.log(sub), math.log(sub) - math.log(2),
                math.log(fi.smallest_normal), 88.72283, 89.0, 709.78, 710.0, 745.13, 104.0],
        "expm1": [math.log(big), 17.33, 36.7, 40.0, 88.72283, 709.78],
        "log": [1.0, 2.0, math.sqrt(0.5), math.sqrt(2)],
        "log1p": [1.0, 2.0, 1e-8, 1e-17, 0.41421356, 0.70710678],
        # the polynomial's end (f64; f32's 1 and saturation 10 are in base), where
        # tanh rounds to 1 (f32, f64), f64's saturation
        "tanh": [0.75, 9.01, 9.1, 19.06, 20.0, 1e-4],
        "logistic": [16.6, 17.0, 36.7, 37.0, 88.7, 103.97, 104.0, 745.0, 746.0],
        "sinh": [1.0, math.log(big) + math.log(2), 89.4, 710.47, 1e-4],
        "cosh": [1.0, math.log(big) + math.log(2), 89.4, 710.47, 1e-4],
        "asinh": [2.0, 2.0 ** 13, 2.0 ** 28, 1e-4],
        "acosh": [1.0, 2.0, 2.0 ** 13, 2.0 ** 28],
        "atanh": [0.5, 1.0, 1e-4],
        "erf": [1.0, 3.83, 3.92, 4.0, 5.86, 5.93, 6.0],
        "asin": [0.5, 1.0], "acos": [0.5, 1.0],
        "atan": [7 / 16, 11 / 16, 19 / 16, 39 / 16],
        "sin": [math.pi / 4, math.pi / 2, math.pi, 1e5, 2.0 ** 24, mathlib.TRIG_RANGE / 2],
        "erfc": [0.5, 1.0, 4.0, 10.0, 10.05, 26.5, 27.2, 27.25, 27.5, 28.0],
        "lgamma": [0.5, 1.5, 2.5, 8.0, 2.0 ** -60, 2.5e305, 2.55e305, 2.0 ** 52],
        "digamma": [0.5, 1.4616321449683623, 12.0, 2.5, 2.0 ** 34],
    }
    thresholds["cos"] = thresholds["tan"] = thresholds["sin"]
    vals = np.array([v for v in base + thresholds.get(name, []) if v <= big], dt)
    with np.errstate(over="ignore"):
        up, down = np.nextafter(vals, dt(math.inf)), np.nextafter(vals, dt(-math.inf))
    vals = np.concatenate([vals, up, down])
    vals = vals[np.isfinite(vals) | np.isinf(vals)]
    return np.concatenate([vals, -vals, np.array([math.nan], dt)])


SPECIAL = (0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0)


def _exact_where(got, ref, args):
    """Where results must equal numpy's bit for bit: special results (0, +-0, inf,
    nan) and special arguments."""
    special_in = np.zeros(got.shape, bool)
    for a in args:
        special_in |= np.isin(a, SPECIAL[:4]) | np.isnan(a) | (np.signbit(a) & (a == 0))
    return (special_in | ~np.isfinite(ref) | (ref == 0) | ~np.isfinite(got) | (got == 0))


TRIG = ("sin", "cos", "tan")


def _accurate(name, args):
    """Where the bound is asserted: everywhere but sin/cos/tan beyond their range (and
    digamma far below 0, where the reference's tan(pi x) is as meaningless)."""
    if name == "digamma":
        return ~(args[0] < -(2.0 ** 34))
    if name not in TRIG:
        return None
    return ~(np.abs(args[0]) >= mathlib.TRIG_RANGE)


def _check_edges(k, name, key, args):
    where = _accurate(name, args)
    got, ref = check(k, name, key, args, where)
    exact = _exact_where(got, ref, args)
    if where is not None:
        exact &= where | ~np.isfinite(args[0])
    if where is not None and name in TRIG:
        outside = np.isfinite(args[0]) & ~where
        assert np.isfinite(got[outside]).all()
        if name != "tan":
            assert (np.abs(got[outside]) <= 1).all()
    same = (got.view(_INT[key][0]) == ref.view(_INT[key][0])) | (np.isnan(got) & np.isnan(ref))
    slack = allowance(name, key, args, ref)
    if slack is not None:  # a zero of the reference that is its own rounding error
        with np.errstate(invalid="ignore"):
            same |= np.isfinite(ref) & (np.abs(got.astype(np.float64) - ref) <= slack)
    bad = exact & ~same
    assert not bad.any(), (
        f"{name} {key}: special values differ from numpy at "
        f"{[a[bad][:5] for a in args]}: got {got[bad][:5]}, numpy {ref[bad][:5]}")


UNARY = [(n, k) for n, k in CASES if mathlib.arity(n) == 1]


@pytest.mark.parametrize("name,key", UNARY)
def test_edge_cases(request, name, key):
    k = _kernels(request, key)
    _check_edges(k, name, key, (_edge_values(name, key),))


@pytest.mark.parametrize("name,key", UNARY)
def test_special_values_match_numpy_in_dtype(request, name, key):
    """At 0, -0, +-inf, nan: numpy's own answer in this dtype, bit for bit."""
    if name not in _NUMPY or name == "logistic":
        pytest.skip("numpy has no such function")
    k = _kernels(request, key)
    x = np.array(SPECIAL[:5], _NP[key])
    got = k(name, x)
    with np.errstate(all="ignore"):
        ref = _NUMPY[name](x)
    same = (got.view(_INT[key][0]) == ref.view(_INT[key][0])) | (np.isnan(got) & np.isnan(ref))
    assert same.all(), f"{name} {key} at {x[~same]}: got {got[~same]}, numpy {ref[~same]}"


def _pairs(xs, ys, dt):
    x, y = np.meshgrid(np.array(xs, dt), np.array(ys, dt))
    return x.ravel(), y.ravel()


@pytest.mark.parametrize("key", KEYS)
def test_atan2_edge_cases(request, key):
    k = _kernels(request, key)
    fi = np.finfo(_NP[key])
    v = [0.0, float(fi.smallest_subnormal), float(fi.smallest_normal), 0.5, 1.0, 2.0, 7.0,
         1e30, float(fi.max), math.inf]
    v = v + [-a for a in v] + [math.nan]
    y, x = _pairs(v, v, _NP[key])
    _check_edges(k, "atan2", key, (y, x))


@pytest.mark.parametrize("key", KEYS)
def test_pow_edge_cases(request, key):
    k = _kernels(request, key)
    dt = _NP[key]
    fi = np.finfo(dt)
    odd = 16777215.0 if key == "f32" else 9007199254740991.0     # largest odd integers
    xs = [0.0, float(fi.smallest_subnormal), 0.5, 1.0, 2.0, 3.0, 10.0, float(fi.max),
          math.inf, 1 - float(fi.epsneg), 1 + float(fi.eps)]
    xs = xs + [-a for a in xs] + [math.nan]
    ys = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 127.0, 128.0, 149.0, 150.0, 1023.0, 1024.0,
          1074.0, 1075.0, odd, odd + 1, 1e10, float(fi.max), math.inf, 1e-30]
    ys = ys + [-a for a in ys] + [math.nan]
    x, y = _pairs(xs, ys, dt)
    # and the thresholds: 2**y through overflow and the subnormals
    e = np.arange(-1100, 1100, 0.25)
    x2 = np.full(e.shape, 2.0)
    _check_edges(k, "pow", key, (np.concatenate([x, x2]).astype(dt),
                                 np.concatenate([y, e]).astype(dt)))


def _random_bits(key, n, seed):
    rng = np.random.default_rng(seed)
    uint = _INT[key][1]
    return rng.integers(0, np.iinfo(uint).max, n, dtype=uint, endpoint=True).view(_NP[key])


@pytest.mark.parametrize("name", sorted(mathlib.FUNCTIONS))
def test_random_bit_patterns_f32(f32, name):
    """Random float32 bit patterns (all exponents, nan, inf, subnormals)."""
    args = tuple(_random_bits("f32", 200_000, seed) for seed in range(mathlib.arity(name)))
    where = _accurate(name, args)
    if where is not None and name in TRIG:
        x = args[0]
        got = f32(name, x)
        outside = np.isfinite(x) & ~where
        # beyond the range: finite, and within [-1, 1] for sin and cos
        assert np.isfinite(got[outside]).all()
        if name != "tan":
            assert (np.abs(got[outside]) <= 1).all()
    check(f32, name, "f32", args, where)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("m", [1, 2, 3])
def test_polygamma(key, m):
    name = mathlib.polygamma_name(m)
    k = Kernels(key, (name,))
    fi = np.finfo(_NP[key])
    # (the reference recurs as far as its most negative element needs: kept to -40 here,
    # the far negative side checked on its own)
    x = np.concatenate([_lin(-40, 40, 20_000, key), _bits_between(
        float(fi.smallest_subnormal), float(fi.max), 5_000, key), _edge_values("digamma", key),
        np.array([-20.5, -19.5, -20.0, -39.25], _NP[key])])
    _check_edges(k, name, key, (x[~(x < -40)],))
    far = np.array([-9987.5, -9988.5, -2345.25, -1e6 - 0.5, -1e30, -np.inf], _NP[key])
    _check_edges(k, name, key, (far,))


def test_random_bit_patterns_f64(f64):
    for name in sorted(mathlib.FUNCTIONS):
        args = tuple(_random_bits("f64", 20_000, seed) for seed in range(mathlib.arity(name)))
        check(f64, name, "f64", args, _accurate(name, args))


# ---------------------------------------------------------------------------------
# vectorization and the text interface

def test_exp_loop_vectorizes():
    features = llvm.get_host_cpu_features()
    if not features.get("avx2", False):
        pytest.skip("the host has no AVX2")
    mod, tm = _optimized_module(("exp",), "f32")
    asm = tm.emit_assembly(mod)
    body = asm[asm.index("apply_exp:"):]
    body = body[:body.index(".Lfunc_end")]
    assert re.search(r"\b[yz]mm\d+", body), body
    assert "call" not in body


def _exponentials_per_element(f):
    """Exp range reductions (``llvm.roundeven`` lanes) per stored float32 lane in the
    optimised module of ``jit(f)`` on float32, per function that has any: the vector
    body, whatever its width and interleave, its epilogue and the scalar loop each
    store one result per element."""
    x = fl.ShapeDtypeStruct((4096,), np.float32)
    mod, _ = compiler.optimise(fl.jit(f, backend="llvm").lower(x).as_text())

    def lanes(pattern, text):
        return sum(int(m.group(1) or 1) for m in re.finditer(pattern, text))
    ratios = set()
    for fn in mod.functions:
        text = str(fn)
        rounds = lanes(r"call (?:<(\d+) x float>|float) @llvm\.roundeven", text)
        if rounds:
            ratios.add(rounds / max(lanes(r"store (?:<(\d+) x float>|float) ", text), 1))
    return ratios


def test_w1_kernel_evaluates_one_exponential_per_element():
    """tanh and logistic compute exp(-|x|) exactly as exp(-abs(x)) does, so W1's fused
    kernel (benchmarks/run.py) evaluates one exponential per element, not three."""
    def w1(x):
        return (fnp.tanh(x) * fl.nn.sigmoid(x) + 0.5 * x * x
                - fnp.exp(-fnp.abs(x)))
    assert _exponentials_per_element(w1) == {1.0}
    # the count sees separate exponentials: exp(x) is not exp(-|x|)
    assert _exponentials_per_element(lambda x: fnp.tanh(x) + fnp.exp(x)) == {2.0}


def test_every_definition_is_self_contained():
    for key in KEYS:
        for name in sorted(mathlib.FUNCTIONS):
            text = mathlib.define(name, key)
            assert text.startswith(f"define internal {_TY[key]} @{mathlib.symbol(name, key)}(")
            assert "alwaysinline" in text and "memory(none)" in text
            # calls only to intrinsics; no global, no declaration, no branch
            callees = set(re.findall(r"@([\w.]+)", text)) - {mathlib.symbol(name, key)}
            assert all(c.startswith("llvm.") for c in callees), callees
            assert "declare" not in text and " br " not in text and "global" not in text
            mod = llvm.parse_assembly(text)
            mod.verify()


def test_interface():
    assert mathlib.symbol("exp", np.float32) == "fl_exp_f32"
    assert mathlib.symbol("exp", np.dtype("float64")) == "fl_exp_f64"
    assert mathlib.arity("atan2") == mathlib.arity("pow") == 2
    assert mathlib.arity("sin") == 1
    with pytest.raises(ValueError):
        mathlib.define("gamma", "float32")
    with pytest.raises(ValueError):
        mathlib.symbol("exp", "int32")
    text = mathlib.definitions([("exp", "f32"), ("exp", "float32"), ("exp", "f64")])
    assert text.count("define ") == 2
    llvm.parse_assembly(text).verify()
    assert set(mathlib.ULP_BOUNDS) == mathlib.FUNCTIONS
    assert mathlib.polygamma_name(0) == "digamma"
    assert mathlib.symbol(mathlib.polygamma_name(3), "f64") == "fl_polygamma3_f64"
    for bad in ("polygamma0", "polygamma", "polygamma01", "polygammax"):
        with pytest.raises(ValueError):
            mathlib.define(bad, "float64")


def test_docstring_table_states_the_asserted_bounds():
    table = {}
    for line in mathlib.__doc__.splitlines():
        m = re.match(r"\s{4}([a-z0-9, ]+?)\s{2,}(\d+)\s+(\d+)", line)
        if m:
            for name in m.group(1).split(","):
                table[name.strip()] = (int(m.group(2)), int(m.group(3)))
    assert table == mathlib.ULP_BOUNDS
