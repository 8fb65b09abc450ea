"""The LLVM backend's lowering table: each elementwise primitive's scalar code, keyed by
primitive, with numpy's semantics (the reference interpreter's answers, bit for bit):
NaN propagation and signed zeros of maximum/minimum, C-style integer division and
remainder with 0 for a zero divisor, shifts past the width, x86's float-to-int casts.

``ELEMENTWISE[prim](builder, operand types, out type, operand values, params)`` emits
the scalar code of one equation and returns its value; ``reduction`` gives a reduction's
identity and combining step. (What the reference refuses for operand types, ``-x`` of a
bool or ``~x`` of a float, is raised before this, by ``rewrite.refuse_like_reference``.)

>>> b = Builder()
>>> ELEMENTWISE[E.add_p](b, [F32, F32], F32, ["%x", "%y"], {})
'%v1'
>>> b.lines
['  %v1 = fadd float %x, %y']
"""

from __future__ import annotations

import numpy as np

from functorch_lite.primitives import elementwise as E

from . import mathlib
from .emit import F32, Builder, LType, const


def _suffix(t: LType) -> str:
    return {"half": "f16", "float": "f32", "double": "f64"}.get(t.reg, t.reg)


# --------------------------------------------------------------------------- unary


def _math(name):
    def rule(b, ts, out, args, params):
        t = ts[0]
        fn = name if name != "polygamma" else mathlib.polygamma_name(params["m"])
        if t.reg == "half":
            # numpy computes float16 functions in float32 and rounds the result
            args = [b.emit(f"fpext half {a} to float") for a in args]
            r = rule(b, [F32] * len(args), F32, args, params)
            return b.emit(f"fptrunc float {r} to half")
        b.math.add((fn, t.dtype.name))
        return b.call(t.reg, mathlib.symbol(fn, t.dtype), [(t.reg, a) for a in args])

    return rule


def _intrinsic_unary(name):
    def rule(b, ts, out, args, params):
        t = ts[0]
        return b.intrinsic(f"llvm.{name}.{_suffix(t)}", t.reg, [(t.reg, args[0])])

    return rule


def _neg(b, ts, out, args, params):
    t = ts[0]
    if t.kind == "f":
        return b.emit(f"fneg {t.reg} {args[0]}")
    return b.emit(f"sub {t.reg} 0, {args[0]}")


def _sign(b, ts, out, args, params):
    t, (x,) = ts[0], args
    if t.kind == "f":
        pos = b.emit(f"fcmp ogt {t.reg} {x}, {const(0, t)}")
        neg = b.emit(f"fcmp olt {t.reg} {x}, {const(0, t)}")
        nan = b.emit(f"fcmp uno {t.reg} {x}, {x}")
        # numpy: sign(-0.0) is +0.0 and sign(nan) is nan
        z = b.select(nan, t.reg, x, const(0, t))
        m = b.select(neg, t.reg, const(-1, t), z)
        return b.select(pos, t.reg, const(1, t), m)
    if t.kind in "ub":
        nz = b.emit(f"icmp ne {t.reg} {x}, {const(0, t)}")
        return b.emit(f"zext i1 {nz} to {t.reg}") if t.kind == "u" else x
    pos = b.emit(f"icmp sgt {t.reg} {x}, 0")
    neg = b.emit(f"icmp slt {t.reg} {x}, 0")
    m = b.select(neg, t.reg, "-1", "0")
    return b.select(pos, t.reg, "1", m)


def _abs(b, ts, out, args, params):
    t = ts[0]
    if t.kind == "f":
        return b.intrinsic(f"llvm.fabs.{_suffix(t)}", t.reg, [(t.reg, args[0])])
    if t.kind in "ub":
        return args[0]
    return b.intrinsic(f"llvm.abs.{t.reg}", t.reg, [(t.reg, args[0]), ("i1", "false")])


def _is_finite(b, ts, out, args, params):
    t = ts[0]
    if t.kind != "f":
        return "true"
    a = b.intrinsic(f"llvm.fabs.{_suffix(t)}", t.reg, [(t.reg, args[0])])
    return b.emit(f"fcmp olt {t.reg} {a}, {const(np.inf, t)}")


def _rsqrt(b, ts, out, args, params):
    t = ts[0]
    s = b.intrinsic(f"llvm.sqrt.{_suffix(t)}", t.reg, [(t.reg, args[0])])
    return b.emit(f"fdiv {t.reg} {const(1, t)}, {s}")


def _not(b, ts, out, args, params):
    t = ts[0]
    return b.emit(f"xor {t.reg} {args[0]}, {'true' if t.kind == 'b' else '-1'}")


# --------------------------------------------------------------------------- binary


def _arith(fop, iop, bop=None):
    def rule(b, ts, out, args, params):
        t = ts[0]
        x, y = args
        if t.kind == "f":
            return b.emit(f"{fop} {t.reg} {x}, {y}")
        if t.kind == "b":
            if bop is None:
                raise TypeError("llvm backend: this operation is not defined on booleans")
            return b.emit(f"{bop} i1 {x}, {y}")
        return b.emit(f"{iop} {t.reg} {x}, {y}")

    return rule


def _int_divrem(b, t, x, y, op):
    """C-style truncating ``sdiv``/``srem`` (``udiv``/``urem``) with numpy's answers where
    C has none: 0 for a zero divisor; MIN / -1 wraps to MIN and MIN % -1 is 0."""
    zero = b.emit(f"icmp eq {t.reg} {y}, 0")
    if t.kind == "u":
        safe = b.select(zero, t.reg, "1", y)
        q = b.emit(f"{'udiv' if op == 'div' else 'urem'} {t.reg} {x}, {safe}")
        return b.select(zero, t.reg, "0", q)
    imin = str(-(1 << (t.bits - 1)))
    xmin = b.emit(f"icmp eq {t.reg} {x}, {imin}")
    ym1 = b.emit(f"icmp eq {t.reg} {y}, -1")
    over = b.emit(f"and i1 {xmin}, {ym1}")
    bad = b.emit(f"or i1 {zero}, {over}")
    safe = b.select(bad, t.reg, "1", y)
    q = b.emit(f"{'sdiv' if op == 'div' else 'srem'} {t.reg} {x}, {safe}")
    special = b.select(over, t.reg, imin if op == "div" else "0", q)
    return b.select(zero, t.reg, "0", special)


def _div(b, ts, out, args, params):
    t = ts[0]
    if t.kind == "f":
        return b.emit(f"fdiv {t.reg} {args[0]}, {args[1]}")
    return _int_divrem(b, t, args[0], args[1], "div")


def _rem(b, ts, out, args, params):
    t = ts[0]
    if t.kind == "f":
        return b.emit(f"frem {t.reg} {args[0]}, {args[1]}")
    return _int_divrem(b, t, args[0], args[1], "rem")


def _pow(b, ts, out, args, params):
    t = ts[0]
    if t.kind == "f":
        return _math("pow")(b, ts, out, args, params)
    # exponentiation by squaring over every bit: branch-free, so loops vectorize
    x, e = args
    e0 = e
    acc = "1"
    base = x
    for _ in range(t.bits):
        bit = b.emit(f"and {t.reg} {e}, 1")
        odd = b.emit(f"icmp ne {t.reg} {bit}, 0")
        prod = b.emit(f"mul {t.reg} {acc}, {base}")
        acc = b.select(odd, t.reg, prod, acc)
        base = b.emit(f"mul {t.reg} {base}, {base}")
        e = b.emit(f"lshr {t.reg} {e}, 1")
    if t.kind != "i":
        return acc
    # a negative exponent, which numpy refuses with an error compiled code cannot raise:
    # the truncated value, 1 for x = 1, (-1)**e for x = -1, else 0 (not e's bit pattern)
    neg = b.emit(f"icmp slt {t.reg} {e0}, 0")
    odd = b.emit(f"icmp ne {t.reg} {b.emit(f'and {t.reg} {e0}, 1')}, 0")
    m1 = b.emit(f"icmp eq {t.reg} {x}, -1")
    p1 = b.emit(f"icmp eq {t.reg} {x}, 1")
    small = b.select(m1, t.reg, b.select(odd, t.reg, "-1", "1"), b.select(p1, t.reg, "1", "0"))
    return b.select(neg, t.reg, small, acc)


def _minmax(fcmp, sfn, ufn):
    def rule(b, ts, out, args, params):
        t = ts[0]
        x, y = args
        if t.kind == "f":
            # numpy: x if (x <op> y or x is nan) else y -- ties give y, any nan propagates
            c = b.emit(f"fcmp {fcmp} {t.reg} {x}, {y}")
            n = b.emit(f"fcmp uno {t.reg} {x}, {x}")
            pick = b.emit(f"or i1 {c}, {n}")
            return b.select(pick, t.reg, x, y)
        fn = ufn if t.kind in "ub" else sfn
        return b.intrinsic(f"llvm.{fn}.{t.reg}", t.reg, [(t.reg, x), (t.reg, y)])

    return rule


def _shift(kind):
    def rule(b, ts, out, args, params):
        t = ts[0]
        x, y = args
        inrange = b.emit(f"icmp ult {t.reg} {y}, {t.bits}")
        if kind == "shl" or kind == "lshr":
            safe = b.select(inrange, t.reg, y, "0")
            r = b.emit(f"{kind} {t.reg} {x}, {safe}")
            return b.select(inrange, t.reg, r, "0")
        # arithmetic: a shift past the width fills with the sign bit (numpy's answer)
        capped = b.select(inrange, t.reg, y, str(t.bits - 1))
        return b.emit(f"{'ashr' if t.kind == 'i' else 'lshr'} {t.reg} {x}, {capped}")

    return rule


def _compare(fpred, spred, upred):
    def rule(b, ts, out, args, params):
        t = ts[0]
        x, y = args
        if t.kind == "f":
            return b.emit(f"fcmp {fpred} {t.reg} {x}, {y}")
        return b.emit(f"icmp {spred if t.kind == 'i' else upred} {t.reg} {x}, {y}")

    return rule


def _select_n(b, ts, out, args, params):
    pred, *cases = args
    pt, ct = ts[0], ts[1]
    if pt.kind == "b":
        return b.select(pred, ct.reg, cases[1], cases[0]) if len(cases) == 2 else cases[0]
    acc = cases[0]
    for i, c in enumerate(cases[1:], start=1):
        hit = b.emit(f"icmp eq {pt.reg} {pred}, {i}")
        acc = b.select(hit, ct.reg, c, acc)
    return acc


def convert(b: Builder, src: LType, dst: LType, x: str) -> str:
    """numpy's ``astype`` from ``src`` to ``dst`` (x86's answers for out-of-range floats)."""
    if src == dst:
        return x
    if dst.kind == "b":
        if src.kind == "f":
            return b.emit(f"fcmp une {src.reg} {x}, {const(0, src)}")
        return b.emit(f"icmp ne {src.reg} {x}, 0")
    if src.kind == "b":
        if dst.kind == "f":
            return b.emit(f"uitofp i1 {x} to {dst.reg}")
        return b.emit(f"zext i1 {x} to {dst.reg}")
    if src.kind == "f" and dst.kind == "f":
        op = "fpext" if dst.bits > src.bits else "fptrunc"
        return b.emit(f"{op} {src.reg} {x} to {dst.reg}")
    if dst.kind == "f":
        return b.emit(f"{'sitofp' if src.kind == 'i' else 'uitofp'} {src.reg} {x} to {dst.reg}")
    if src.kind == "f":
        # through a 32- or 64-bit signed integer, as numpy's C casts do on x86: NaN and
        # out-of-range values give that integer's minimum, then the bits are truncated
        wide = 64 if dst.bits == 64 or (dst.kind == "u" and dst.bits == 32) else 32
        w = f"i{wide}"
        lo, hi = -(2.0 ** (wide - 1)), 2.0 ** (wide - 1)
        ok_lo = b.emit(f"fcmp oge {src.reg} {x}, {const(lo, src)}")
        ok_hi = b.emit(f"fcmp olt {src.reg} {x}, {const(hi, src)}")
        ok = b.emit(f"and i1 {ok_lo}, {ok_hi}")
        safe = b.select(ok, src.reg, x, const(0, src))
        v = b.emit(f"fptosi {src.reg} {safe} to {w}")
        v = b.select(ok, w, v, str(-(1 << (wide - 1))))
        if dst.kind == "u" and dst.bits == 64:
            # values in [2**63, 2**64) convert unsigned
            big_lo = b.emit(f"fcmp oge {src.reg} {x}, {const(2.0 ** 63, src)}")
            big_hi = b.emit(f"fcmp olt {src.reg} {x}, {const(2.0 ** 64, src)}")
            big = b.emit(f"and i1 {big_lo}, {big_hi}")
            sb = b.select(big, src.reg, x, const(0, src))
            u = b.emit(f"fptoui {src.reg} {sb} to i64")
            return b.select(big, "i64", u, v)
        return v if dst.bits == wide else b.emit(f"trunc {w} {v} to {dst.reg}")
    if dst.bits == src.bits:
        return x
    if dst.bits < src.bits:
        return b.emit(f"trunc {src.reg} {x} to {dst.reg}")
    return b.emit(f"{'sext' if src.kind == 'i' else 'zext'} {src.reg} {x} to {dst.reg}")


def _convert(b, ts, out, args, params):
    return convert(b, ts[0], out, args[0])


def _bitcast(b, ts, out, args, params):
    return b.emit(f"bitcast {ts[0].reg} {args[0]} to {out.reg}")


def _identity(b, ts, out, args, params):
    return args[0]


ELEMENTWISE = {
    E.neg_p: _neg, E.sign_p: _sign, E.abs_p: _abs, E.is_finite_p: _is_finite,
    E.floor_p: _intrinsic_unary("floor"), E.ceil_p: _intrinsic_unary("ceil"),
    E.round_p: _intrinsic_unary("roundeven"), E.sqrt_p: _intrinsic_unary("sqrt"),
    E.rsqrt_p: _rsqrt, E.not_p: _not,
    E.add_p: _arith("fadd", "add", "or"), E.sub_p: _arith("fsub", "sub"),
    E.mul_p: _arith("fmul", "mul", "and"), E.div_p: _div, E.rem_p: _rem, E.pow_p: _pow,
    E.max_p: _minmax("ogt", "smax", "umax"), E.min_p: _minmax("olt", "smin", "umin"),
    E.and_p: _arith(None, "and", "and"), E.or_p: _arith(None, "or", "or"),
    E.xor_p: _arith(None, "xor", "xor"),
    E.shift_left_p: _shift("shl"), E.shift_right_logical_p: _shift("lshr"),
    E.shift_right_arithmetic_p: _shift("ashr"),
    E.eq_p: _compare("oeq", "eq", "eq"), E.ne_p: _compare("une", "ne", "ne"),
    E.lt_p: _compare("olt", "slt", "ult"), E.le_p: _compare("ole", "sle", "ule"),
    E.gt_p: _compare("ogt", "sgt", "ugt"), E.ge_p: _compare("oge", "sge", "uge"),
    E.select_n_p: _select_n, E.convert_p: _convert, E.bitcast_p: _bitcast,
    E.stop_gradient_p: _identity,
}
for _name in ("exp", "log", "log1p", "expm1", "tanh", "logistic", "sin", "cos", "tan", "asin",
              "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "erf",
              "erfc", "lgamma", "polygamma"):
    ELEMENTWISE[getattr(E, _name + "_p")] = _math(_name)

# --------------------------------------------------------------------------- reductions


def reduction(prim_name: str, t: LType):
    """(identity constant, combine(builder, acc, x) -> value, reassociable?) of a reduction.

    Float sums and products are reassociated so the loop vectorizes (the result differs
    from a sequential sum by rounding only); max/min propagate NaN as numpy does."""
    if prim_name == "reduce_sum":
        if t.kind == "b":
            return "false", lambda b, a, x: b.emit(f"or i1 {a}, {x}")
        if t.kind == "f":
            return const(0, t), lambda b, a, x: b.emit(f"fadd reassoc {t.reg} {a}, {x}")
        return "0", lambda b, a, x: b.emit(f"add {t.reg} {a}, {x}")
    if prim_name == "reduce_prod":
        if t.kind == "b":
            return "true", lambda b, a, x: b.emit(f"and i1 {a}, {x}")
        if t.kind == "f":
            return const(1, t), lambda b, a, x: b.emit(f"fmul reassoc {t.reg} {a}, {x}")
        return "1", lambda b, a, x: b.emit(f"mul {t.reg} {a}, {x}")
    if prim_name in ("reduce_max", "reduce_min"):
        big = prim_name == "reduce_max"
        if t.kind == "f":
            fn = f"llvm.{'maximum' if big else 'minimum'}.{_suffix(t)}"
            return (const(-np.inf if big else np.inf, t),
                    lambda b, a, x: b.intrinsic(fn, t.reg, [(t.reg, a), (t.reg, x)]))
        if t.kind == "b":
            return ("false" if big else "true",
                    lambda b, a, x: b.emit(f"{'or' if big else 'and'} i1 {a}, {x}"))
        info = np.iinfo(t.dtype)
        fn = f"llvm.{('u' if t.kind == 'u' else 's') + ('max' if big else 'min')}.{t.reg}"
        return (str(int(info.min if big else info.max)),
                lambda b, a, x: b.intrinsic(fn, t.reg, [(t.reg, a), (t.reg, x)]))
    if prim_name == "reduce_and":
        return "true" if t.kind == "b" else "-1", lambda b, a, x: b.emit(f"and {t.reg} {a}, {x}")
    if prim_name == "reduce_or":
        return "false" if t.kind == "b" else "0", lambda b, a, x: b.emit(f"or {t.reg} {a}, {x}")
    raise NotImplementedError(prim_name)
