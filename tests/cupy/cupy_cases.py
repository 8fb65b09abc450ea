"""The (primitive, dtype) combinations the CuPy backend's checks cover: every elementwise
primitive at every dtype the reference accepts, with edge-case input grids."""

from __future__ import annotations

import warnings

import numpy as np

from backends.cupy import lowering
from functorch_lite.core import ShapedArray
from functorch_lite.primitives import elementwise as E

DTYPES = [np.dtype(d) for d in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                "uint32", "uint64", "float16", "float32", "float64")]
BINARY = {"add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "and", "or",
          "xor", "shift_left", "shift_right_logical", "shift_right_arithmetic", "eq", "ne",
          "lt", "le", "gt", "ge"}
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
