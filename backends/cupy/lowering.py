"""The CuPy backend's lowering table: each elementwise primitive's scalar code as a CUDA
C++ expression, keyed by primitive, with numpy's semantics (the reference interpreter's
answers): NaN propagation and signed zeros, C-style truncating integer division and
remainder with 0 for a zero divisor, shifts past the width, x86's float-to-int casts.
The helpers the expressions call are in ``prelude.PRELUDE`` (which says why each exists).

``ELEMENTWISE[prim](operand ctypes, out ctype, operand expressions, params)`` returns the
expression of one equation's result in the out type's register type; ``reduction``
gives a reduction's identity and combining expression. ``ctype(dtype)`` says how a
numpy dtype lives in registers and in memory.

>>> ELEMENTWISE[E.add_p]([F32, F32], F32, ["x", "y"], {})
'(x + y)'
>>> ELEMENTWISE[E.div_p]([ctype("int32")] * 2, ctype("int32"), ["x", "y"], {})
'fl_idiv<int>(x, y)'
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from functorch_lite.primitives import elementwise as E


@dataclass(frozen=True)
class CType:
    """How a numpy dtype lives in CUDA C++: ``reg`` in registers, ``mem`` in memory."""

    dtype: np.dtype
    reg: str
    mem: str
    kind: str  # "f" float, "h" float16, "i" signed, "u" unsigned, "b" bool

    @property
    def bits(self) -> int:
        return self.dtype.itemsize * 8


_INTS = {("i", 1): "signed char", ("i", 2): "short", ("i", 4): "int", ("i", 8): "long long",
         ("u", 1): "unsigned char", ("u", 2): "unsigned short", ("u", 4): "unsigned int",
         ("u", 8): "unsigned long long"}


def ctype(dtype) -> CType:
    """The C types of ``dtype`` (float16: a ``float`` register, its bits in memory).

    >>> ctype("float16").mem
    'unsigned short'
    """
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return CType(dt, "bool", "bool", "b")
    if dt.kind == "f" and dt.itemsize == 2:
        return CType(dt, "float", "unsigned short", "h")
    if dt.kind == "f" and dt.itemsize in (4, 8):
        name = "float" if dt.itemsize == 4 else "double"
        return CType(dt, name, name, "f")
    if (dt.kind, dt.itemsize) in _INTS:
        name = _INTS[dt.kind, dt.itemsize]
        return CType(dt, name, name, dt.kind)
    raise TypeError(f"cupy backend: {dt.name} arrays are not supported; cast to float32, "
                    "float64, an integer type or bool")


F32, F64, I64, BOOL = ctype(np.float32), ctype(np.float64), ctype(np.int64), ctype(np.bool_)


def const(value, t: CType) -> str:
    """An exact constant of type ``t`` as a C++ expression of its register type."""
    if t.kind in "fh":
        v = float(np.asarray(value, t.dtype))
        if math.isfinite(v):
            # repr round-trips: the shortest decimal that parses back to this value
            r = repr(v) if t.reg == "double" else repr(float(np.float32(v)))
            return f"{r}f" if t.reg == "float" else r
        if t.reg == "float":
            bits = struct.unpack("<I", struct.pack("<f", v))[0]
            return f"fl_f32_of_bits(0x{bits:08x}u)"
        return f"fl_f64_of_bits(0x{struct.unpack('<Q', struct.pack('<d', v))[0]:016x}ULL)"
    if t.kind == "b":
        return "true" if bool(value) else "false"
    v = int(np.asarray(value).astype(t.dtype))
    if t.kind == "u":
        return f"(({t.reg}){v}ULL)"
    if v == -(1 << 63):
        return "((long long)(-9223372036854775807LL - 1))"
    return f"(({t.reg}){v}LL)"


def load(t: CType, ptr: str, index: str) -> str:
    """The register value of element ``index`` of ``ptr`` (a pointer to ``t.mem``)."""
    return f"fl_h2f({ptr}[{index}])" if t.kind == "h" else f"{ptr}[{index}]"


def store_value(t: CType, value: str) -> str:
    """What is written to memory for the register value ``value`` of type ``t``."""
    return f"fl_f2h({value})" if t.kind == "h" else value


def _rounded(out: CType, expr: str) -> str:
    # float16 results are rounded to half precision after every operation
    return f"fl_rh({expr})" if out.kind == "h" else expr


# --------------------------------------------------------------------------- unary


def _math(name):
    def rule(ts, out, args, params):
        if name == "polygamma":
            m = int(params["m"])
            return _rounded(out, f"({out.reg})fl_polygamma((double){args[0]}, {m})")
        return _rounded(out, f"fl_{name}({', '.join(args)})")

    return rule


def _neg(ts, out, args, params):
    t = ts[0]
    return f"(-{args[0]})" if t.kind in "fh" else f"fl_neg<{t.reg}>({args[0]})"


def _sign(ts, out, args, params):
    t = ts[0]
    if t.kind in "fh":
        return f"fl_fsign({args[0]})"
    return args[0] if t.kind == "b" else f"fl_isign<{t.reg}>({args[0]})"


def _abs(ts, out, args, params):
    t = ts[0]
    if t.kind in "fh":
        return f"fl_fabs({args[0]})"
    return args[0] if t.kind in "ub" else f"fl_iabs<{t.reg}>({args[0]})"


def _is_finite(ts, out, args, params):
    return f"fl_isfinite({args[0]})" if ts[0].kind in "fh" else "true"


def _float_only(fn):
    # floor/ceil/round of an integer (the reference refuses them at trace time) is itself
    def rule(ts, out, args, params):
        return _rounded(out, f"fl_{fn}({args[0]})") if ts[0].kind in "fh" else args[0]

    return rule


def _rsqrt(ts, out, args, params):
    if out.kind == "h":  # the reference's 1 / sqrt(x) rounds the root to half first
        return f"fl_rh(1.0f / fl_rh(fl_sqrt({args[0]})))"
    return f"fl_rsqrt({args[0]})"


def _not(ts, out, args, params):
    t = ts[0]
    return f"(!{args[0]})" if t.kind == "b" else f"(({t.reg})~{args[0]})"


def _logistic(ts, out, args, params):
    # float16: each step of the reference's formula rounds to half
    return f"fl_logistic_h({args[0]})" if out.kind == "h" else f"fl_logistic({args[0]})"


# --------------------------------------------------------------------------- binary


def _arith(op, helper, bool_op=None):
    def rule(ts, out, args, params):
        t = ts[0]
        x, y = args
        if t.kind in "fh":
            return _rounded(out, f"({x} {op} {y})")
        if t.kind == "b":
            if bool_op is None:
                raise TypeError(f"cupy backend: '{op}' is not defined on booleans")
            return f"({x} {bool_op} {y})"
        return f"{helper}<{t.reg}>({x}, {y})"

    return rule


def _div(ts, out, args, params):
    t = ts[0]
    if t.kind in "fh":
        return _rounded(out, f"({args[0]} / {args[1]})")
    return f"fl_idiv<{t.reg}>({args[0]}, {args[1]})"


def _rem(ts, out, args, params):
    t = ts[0]
    if t.kind in "fh":
        return _rounded(out, f"fl_fmod({args[0]}, {args[1]})")
    return f"fl_irem<{t.reg}>({args[0]}, {args[1]})"


def _pow(ts, out, args, params):
    t = ts[0]
    if t.kind in "fh":
        return _rounded(out, f"fl_pow({args[0]}, {args[1]})")
    return f"fl_ipow<{t.reg}>({args[0]}, {args[1]})"


def _minmax(fhelper, op):
    def rule(ts, out, args, params):
        t = ts[0]
        x, y = args
        if t.kind == "f":
            return f"{fhelper}({x}, {y})"
        if t.kind == "h":  # numpy's float16 loop keeps x on ties too: max(-0, +0) is -0
            return f"fl_h{fhelper[4:]}({x}, {y})"
        # integers and bools: no NaN, no signed zero; ties give either (equal) operand
        return f"({x} {op} {y} ? {x} : {y})"

    return rule


def _bitwise(op, logical):
    def rule(ts, out, args, params):
        t = ts[0]
        x, y = args
        if t.kind == "b":
            return f"({x} {logical} {y})"
        return f"(({t.reg})({x} {op} {y}))"

    return rule


def _shift(helper):
    def rule(ts, out, args, params):
        return f"{helper}<{ts[0].reg}>({args[0]}, {args[1]})"

    return rule


def _compare(op):
    def rule(ts, out, args, params):
        # C's comparisons are IEEE's: any NaN makes all false but !=, as numpy's
        return f"({args[0]} {op} {args[1]})"

    return rule


def _select_n(ts, out, args, params):
    pred, *cases = args
    if ts[0].kind == "b":
        return f"({pred} ? {cases[1]} : {cases[0]})" if len(cases) == 2 else cases[0]
    acc = cases[0]
    for i, c in enumerate(cases[1:], start=1):
        acc = f"({pred} == {i} ? {c} : {acc})"
    return acc


def convert(src: CType, dst: CType, x: str) -> str:
    """numpy's ``astype`` from ``src`` to ``dst`` as an expression (x86's answers for
    out-of-range floats to integers)."""
    if src.dtype == dst.dtype:
        return x
    if dst.kind == "b":
        return f"({x} != 0)"
    if src.kind == "b":
        return f"({x} ? ({dst.reg})1 : ({dst.reg})0)"
    if dst.kind == "h":
        return f"fl_rh((double){x})"
    if dst.kind == "f":
        return f"(({dst.reg}){x})"
    if src.kind in "fh":
        return f"fl_f2i<{dst.reg}>({x})"
    return f"fl_wrap<{dst.reg}>({x})"


def _convert(ts, out, args, params):
    return convert(ts[0], out, args[0])


def bitcast(src: CType, dst: CType, x: str) -> str:
    """The bits of ``x`` read as ``dst`` (same width)."""
    if src.kind == "h":
        x, src = f"fl_f2h({x})", ctype(np.uint16)
    unsigned = {8: "unsigned char", 16: "unsigned short", 32: "unsigned int",
                64: "unsigned long long"}[src.bits]
    if src.kind == "f":
        bits = f"fl_bits_of_f{src.bits}({x})"
    else:
        bits = f"(({unsigned}){x})"
    if dst.kind == "h":
        return f"fl_h2f((unsigned short){bits})"
    if dst.kind == "f":
        return f"fl_f{dst.bits}_of_bits({bits})"
    if dst.kind == "b":
        return f"({bits} != 0)"
    return f"(({dst.reg}){bits})"


def _bitcast(ts, out, args, params):
    return bitcast(ts[0], out, args[0])


def _identity(ts, out, args, params):
    return args[0]


ELEMENTWISE = {
    E.neg_p: _neg, E.sign_p: _sign, E.abs_p: _abs, E.is_finite_p: _is_finite,
    E.floor_p: _float_only("floor"), E.ceil_p: _float_only("ceil"),
    E.round_p: _float_only("rint"), E.sqrt_p: _math("sqrt"), E.rsqrt_p: _rsqrt,
    E.not_p: _not, E.logistic_p: _logistic,
    E.add_p: _arith("+", "fl_add", "|"), E.sub_p: _arith("-", "fl_sub"),
    E.mul_p: _arith("*", "fl_mul", "&"), E.div_p: _div, E.rem_p: _rem, E.pow_p: _pow,
    E.max_p: _minmax("fl_fmax", ">"), E.min_p: _minmax("fl_fmin", "<"),
    E.and_p: _bitwise("&", "&&"), E.or_p: _bitwise("|", "||"), E.xor_p: _bitwise("^", "!="),
    E.shift_left_p: _shift("fl_shl"), E.shift_right_logical_p: _shift("fl_shr"),
    E.shift_right_arithmetic_p: _shift("fl_sar"),
    E.eq_p: _compare("=="), E.ne_p: _compare("!="), E.lt_p: _compare("<"),
    E.le_p: _compare("<="), E.gt_p: _compare(">"), E.ge_p: _compare(">="),
    E.select_n_p: _select_n, E.convert_p: _convert, E.bitcast_p: _bitcast,
    E.stop_gradient_p: _identity,
}
for _name in ("exp", "log", "log1p", "expm1", "tanh", "sin", "cos", "tan", "asin", "acos",
              "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "erfc",
              "lgamma", "polygamma"):
    ELEMENTWISE[getattr(E, _name + "_p")] = _math(_name)

# --------------------------------------------------------------------------- reductions


def reduction(prim_name: str, t: CType):
    """(identity, combine(acc, x) -> expression) of a reduction over values of ``t``.

    Float sums start at -0.0 (the additive identity that keeps a sum of -0.0s -0.0) and
    accumulate in the register type (float16 in float, rounded once at the end); max/min
    propagate NaN and order -0 below +0, so any tree order gives one answer.

    >>> reduction("reduce_max", F32)[1]("a", "x")
    'fl_rmax(a, x)'
    """
    fl = t.kind in "fh"
    if prim_name == "reduce_sum":
        if t.kind == "b":
            return "false", lambda a, x: f"({a} || {x})"
        if fl:
            return const(-0.0, t), lambda a, x: f"({a} + {x})"
        return const(0, t), lambda a, x: f"fl_add<{t.reg}>({a}, {x})"
    if prim_name == "reduce_prod":
        if t.kind == "b":
            return "true", lambda a, x: f"({a} && {x})"
        if fl:
            return const(1, t), lambda a, x: f"({a} * {x})"
        return const(1, t), lambda a, x: f"fl_mul<{t.reg}>({a}, {x})"
    if prim_name in ("reduce_max", "reduce_min"):
        big = prim_name == "reduce_max"
        if fl:
            return (const(-np.inf if big else np.inf, t),
                    lambda a, x: f"fl_r{'max' if big else 'min'}({a}, {x})")
        if t.kind == "b":
            return ("false" if big else "true",
                    lambda a, x: f"({a} {'||' if big else '&&'} {x})")
        info = np.iinfo(t.dtype)
        op = ">" if big else "<"
        return (const(info.min if big else info.max, t),
                lambda a, x: f"({a} {op} {x} ? {a} : {x})")
    if prim_name == "reduce_and":
        if t.kind == "b":
            return "true", lambda a, x: f"({a} && {x})"
        return const(-1, t), lambda a, x: f"(({t.reg})({a} & {x}))"
    if prim_name == "reduce_or":
        if t.kind == "b":
            return "false", lambda a, x: f"({a} || {x})"
        return const(0, t), lambda a, x: f"(({t.reg})({a} | {x}))"
    raise ValueError(f"cupy backend: {prim_name} is not a reduction")
