"""Vectorizable elementary functions as LLVM IR text (float32 and float64).

libm calls and the ``llvm.exp``/``llvm.tanh`` intrinsics stay scalar calls inside a
vectorized loop, so the LLVM backend calls these instead: each function is plain
straight-line IR (range reduction, minimax polynomials evaluated with ``llvm.fma``,
exponent arithmetic on the bit pattern, ``select`` for special cases: no branch, no
call but to intrinsics that vectorize, no table, no global), marked ``alwaysinline``
so that after inlining the loop vectorizer turns a loop that calls it into AVX-512
(or AVX2, NEON...) code.

Interface (text only; this module imports nothing beyond the standard library)::

    >>> from backends.llvm import mathlib
    >>> "exp" in mathlib.FUNCTIONS
    True
    >>> mathlib.symbol("exp", "float32")
    'fl_exp_f32'
    >>> text = mathlib.define("exp", "float32")   # 'define internal float @fl_exp_f32(...'

``define(name, dtype)`` returns one self-contained ``define internal`` (no helper
function, no global constant, no ``declare``: LLVM >= 20 declares the intrinsics it
meets in textual IR), so any set of distinct (name, dtype) pairs can share a module;
``definitions(pairs)`` joins several, skipping repeats. ``dtype`` may be a numpy dtype,
a numpy scalar type or one of the strings "float32"/"float64"/"f32"/"f64".
``atan2(y, x)`` and ``pow(x, y)`` take two arguments, the others one.

Accuracy (ulp = spacing of the result's format; measured by tests/llvm/test_mathlib.py
against numpy's float64 results rounded to float32 for float32, against long double
or an exact reference for float64; max over dense grids, edge cases and random bits).
Special values (0, -0 where numpy keeps the sign, subnormals, +-inf, nan, overflow and
underflow thresholds) give numpy's answers exactly::

    function        float32   float64   notes
    exp             2         2         subnormal results rounded once
    expm1           2         2
    log             2         2
    log1p           2         2
    tanh            2         2         1 - 2t/(1+t), t = exp(-|x|)**2 from |x| >= 1
                                        (f64: 0.75); shares exp(-|x|) with exp and
                                        logistic in one kernel
    logistic        2         2         1/(1+exp(-x)); exp(-|x|) only: no overflow
    sinh, cosh      2         2
    asinh, acosh    2         2
    atanh           2         2
    erf             2         2
    sin, cos, tan   2         2         for |x| < TRIG_RANGE = 2**36 (Cody-Waite,
                                        3-part pi/2); beyond: finite, |sin|, |cos|
                                        <= 1, but meaningless; +-inf, nan -> nan
    asin, acos      2         2
    atan, atan2     2         2
    pow             2         2         also near overflow and in the subnormals
    erfc            2         3         float64 reference math.erfc: itself 2 ulp
    lgamma          2         5         x > 0 (no cancellation near 1 and 2);
                                        x < 0: see below
    digamma         2         8         see below

The measured maxima over the test grids are 1 or 2 ulp (float64 erfc 3 and lgamma 5,
near its minimum at 1.46, against an exact reference); the bounds are what the tests
assert. ``ULP_BOUNDS[name] = (float32, float64)`` holds the same
numbers.

lgamma, digamma and ``polygamma<m>`` (psi^(m), m >= 1: ``polygamma_name(m)``) compute in
float64 for both dtypes. Where their float64 results cancel, the bound is on the
absolute error instead, as for numpy's reference: lgamma of x < 0 (reflection, near its
negative zeros) within 16 eps (1 + |lgamma(1 - x)|); digamma follows the reference
(``functorch_lite.primitives.elementwise``) step for step, so both cancel alike near its
zeros, and agrees with it within 16 eps times the sum of the magnitudes of the terms
(beyond |x| = 2**34 on the negative side both are meaningless: tan(pi x) is). psi^(m)
for m >= 1 recurs exactly where the reference does (x >= -20; reflection below) and
agrees with it within 4 ulp; below -9988 both give nan.

The functions rely on IEEE semantics: call them from code without fast-math flags
(nnan/ninf/nsz/reassoc/contract on their instructions, or "unsafe-fp-math"-style
function attributes would let LLVM drop the special-case selects and reorder the
compensated sums), with the default round-to-nearest and no flush-to-zero. The exact
reduction steps need a fused multiply-add: a CPU without one (x86-64 before Haswell)
gets ``llvm.fma`` as libm calls, correct (checked with cpu="x86-64") but slow.

float32 sin/cos/tan and pow compute in float64 internally (half the vector width,
but the reduction and log(x)*y products need the extra bits); everything else runs in
the argument's own precision.
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal
from fractions import Fraction

FUNCTIONS = frozenset({
    "exp", "expm1", "log", "log1p", "tanh", "logistic", "sin", "cos", "tan",
    "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh",
    "erf", "pow", "erfc", "lgamma", "digamma",
})
_BINARY = frozenset({"atan2", "pow"})

# max error in ulp, (float32, float64), as in the table above; asserted by the tests
ULP_BOUNDS = {name: (2, 2) for name in FUNCTIONS}
ULP_BOUNDS.update({"erfc": (2, 3), "lgamma": (2, 5), "digamma": (2, 8)})
# sin, cos and tan meet their bound for |x| below this (both dtypes)
TRIG_RANGE = 2.0 ** 36


# ---------------------------------------------------------------------------------
# public interface

def symbol(name: str, dtype) -> str:
    """The LLVM function name that ``define(name, dtype)`` defines.

    >>> symbol("tanh", "float64")
    'fl_tanh_f64'
    """
    _check(name)
    return f"fl_{name}_{_key(dtype)}"


def arity(name: str) -> int:
    """How many arguments the function takes (2 for atan2 and pow, else 1).

    >>> arity("pow")
    2
    """
    _check(name)
    return 2 if name in _BINARY else 1


def define(name: str, dtype) -> str:
    """LLVM IR text defining ``@fl_<name>_<f32|f64>`` (see the module docstring).

    >>> print(define("exp", "float32").splitlines()[0])
    define internal float @fl_exp_f32(float %x) alwaysinline nounwind willreturn nosync \
nofree memory(none) {
    """
    _check(name)
    prec = _F32 if _key(dtype) == "f32" else _F64
    b = _Builder()
    args = [_V("%x", prec.ty)] + ([_V("%y", prec.ty)] if name in _BINARY else [])
    m = _order(name)
    result = (_GENERATORS[name](b, *args, prec) if m is None
              else _polygamma(b, *args, prec, m))
    params = ", ".join(f"{prec.ty} {a}" for a in args)
    head = (f"define internal {prec.ty} @{symbol(name, dtype)}({params}) "
            "alwaysinline nounwind willreturn nosync nofree memory(none) {")
    return "\n".join([head, *b.lines, f"  ret {prec.ty} {result}", "}", ""])


def definitions(pairs) -> str:
    """The definitions of several (name, dtype) pairs, each once, as one text.

    >>> text = definitions([("exp", "float32"), ("exp", "float32"), ("log", "float64")])
    >>> text.count("define ")
    2
    """
    seen, out = set(), []
    for name, dtype in pairs:
        sym = symbol(name, dtype)
        if sym not in seen:
            seen.add(sym)
            out.append(define(name, dtype))
    return "\n".join(out)


def polygamma_name(m: int) -> str:
    """The name of psi^(m), the m-th derivative of digamma, in this library's namespace.

    >>> polygamma_name(0), polygamma_name(2)
    ('digamma', 'polygamma2')
    """
    if isinstance(m, bool) or not isinstance(m, int) or m < 0:
        raise ValueError(f"polygamma order must be a non-negative int, got {m!r}")
    return "digamma" if m == 0 else f"polygamma{m}"


def _order(name) -> int | None:
    """m for "polygamma<m>" (m >= 1), else None."""
    digits = name[len("polygamma"):] if isinstance(name, str) and \
        name.startswith("polygamma") else ""
    if digits.isdigit() and digits[0] != "0":
        return int(digits)
    return None


def _check(name):
    if name not in FUNCTIONS and _order(name) is None:
        raise ValueError(f"mathlib has no function {name!r}; it has {sorted(FUNCTIONS)} "
                         "and polygamma<m> for m >= 1")


def _key(dtype) -> str:
    text = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    key = {"float32": "f32", "f32": "f32", "float": "f32",
           "float64": "f64", "f64": "f64", "double": "f64"}.get(str(text))
    if key is None:
        raise ValueError(f"mathlib supports float32 and float64, not {dtype!r}")
    return key


# ---------------------------------------------------------------------------------
# exact constants and their splits into sums of floats

_DIGITS = {
    "ln2": "0.6931471805599453094172321214581765680755001343602552541206800095",
    "log2e": "1.442695040888963407359924681001892137426645954152985934135449407",
    "pi": "3.141592653589793238462643383279502884197169399375105820974944592",
    "two_over_pi": "0.6366197723675813430755350534900574481378385829618257949906693762",
    "atan_half": "0.4636476090008061162142562314612144020285370542861202638109330887",
    "atan_3half": "0.9827937232473290679857106110146660144968774536316285567614250883",
}


def _exact(key, scale=1):
    return Fraction(Decimal(_DIGITS[key])) * Fraction(scale)


def _round(x: Fraction, bits: int) -> float:
    """x rounded to nearest-even with a ``bits``-bit significand (normal range)."""
    if x == 0:
        return 0.0
    e = abs(x.numerator).bit_length() - x.denominator.bit_length()
    if abs(x) < Fraction(2) ** e:
        e -= 1
    ulp = Fraction(2) ** (e - bits + 1)
    return float(round(x / ulp) * ulp)


def _split(x: Fraction, bits: int, parts: int):
    out = []
    for _ in range(parts):
        v = _round(x, bits)
        out.append(v)
        x -= Fraction(v)
    return tuple(out)


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _literal(x: float, ty: str) -> str:
    if ty == "float":
        if not (x != x or _f32(x) == x or abs(x) == float("inf")):
            raise ValueError(f"{x!r} is not a float32 value")
    # LLVM spells float and double constants alike: the double's bits in hex
    return f"0x{struct.unpack('<Q', struct.pack('<d', x))[0]:016X}"


# ---------------------------------------------------------------------------------
# polynomial coefficients (lowest order first), from tools/fit_mathlib.py: weighted
# minimax fits in 200-digit arithmetic, rounded one coefficient at a time with the
# higher ones refitted. The comment on each says what it approximates.

_COEF = {
    # expm1(r) = r + r*r*P(r), |r| <= ln2/2
    "expm1_f32": (
        0.5, 0.16666635870933533, 0.041666511446237564, 0.008341510780155659,
        0.001393054728396237, 0.00015045289183035493,
    ),
    "expm1_f64": (
        0.5, 0.16666666666666677, 0.041666666666666685, 0.008333333333321837,
        0.0013888888888896123, 0.00019841269885115164, 2.4801587263847904e-05,
        2.755724547937438e-06, 2.755735585965979e-07, 2.510855947625533e-08,
        2.0880990242911206e-09,
    ),
    "expm1_f64lite": (
        0.500000004426827, 0.16666658976088228, 0.04166634692320478, 0.008333993497294113,
        0.0013942997449082747, 0.00019977927248411941,
    ),
    # log1p(f) = 2s + s*z*P(z), s = f/(2+f), z = s*s, f in [sqrt(1/2)-1, sqrt(2)-1]
    "log_f32": (
        0.6666677594184875, 0.39977577328681946, 0.29871073365211487,
    ),
    "log_f64": (
        0.6666666666666735, 0.3999999999940935, 0.285714287436867, 0.22222198428939063,
        0.18183572357817526, 0.15313832066595054, 0.14798260040631375,
    ),
    "log_f64lite": (
        0.6666666564337688, 0.40000335704715956, 0.2853727344735987, 0.23582859986318827,
    ),
    # pow's double-word log: P(z) = 2/3 + z*Q(z) (this is Q)
    "logpow_f64": (
        0.3999999999999998, 0.2857142857144385, 0.22222222217785165, 0.18181818844721984,
        0.15384558370096885, 0.13336267010693106, 0.11675725407780449, 0.11982243725694841,
    ),
    # tanh(a) = a + a*z*P(z), z = a*a, a < tanh_split (1 for f32, 0.75 for f64)
    "tanh_f32": (
        -0.33333295583724976, 0.13332346081733704, -0.05387984588742256, 0.021486671641469002,
        -0.007945992052555084, 0.002301195403560996, -0.0003583814832381904,
    ),
    "tanh_f64": (
        -0.3333333333333327, 0.13333333333324343, -0.05396825396377877, 0.02186948842393493,
        -0.008863233866943524, 0.0035921121501493875, -0.0014557313735409064,
        0.0005895600138518641, -0.00023762139905498023, 9.344511127960964e-05,
        -3.3619352072959184e-05, 9.493851665969824e-06, -1.4860693219843493e-06,
    ),
    # sinh(a) = a + a*z*P(z), a < 1
    "sinh_f32": (
        0.1666666716337204, 0.00833331048488617, 0.00019842895562760532, 2.7822131869470468e-06,
    ),
    "sinh_f64": (
        0.16666666666666666, 0.008333333333333637, 0.00019841269840930483,
        2.7557319407170104e-06, 2.5052053760873463e-08, 1.606852487951386e-10,
        6.693491608261377e-13, 5.4346342249839953e-14, -1.1564419415035081e-14,
    ),
    # asin(s) = s + s*z*P(z), z = s*s <= 1/4
    "asin_f32": (
        0.16666659712791443, 0.07500521838665009, 0.04451335221529007, 0.0318395234644413,
        0.014312171377241611, 0.037702132016420364,
    ),
    "asin_f64": (
        0.1666666666666676, 0.07499999999970865, 0.044642857174562955, 0.030381942709749803,
        0.02237221493949612, 0.017351612784426054, 0.013980812166792743, 0.011398975214440523,
        0.01077992536151729, 0.0037075645174734634, 0.021704802251423797, -0.020995523065858945,
        0.03262652079329467,
    ),
    # atan(u) = u + u*z*P(z), |u| <= 7/16
    "atan_f32": (
        -0.3333333134651184, 0.19999803602695465, -0.1427922248840332, 0.11011345684528351,
        -0.08296656608581543, 0.04386579990386963,
    ),
    "atan_f64": (
        -0.33333333333333315, 0.19999999999993187, -0.1428571428484965, 0.11111111056273971,
        -0.09090907053299414, 0.07692259397360647, -0.06665900250938188, 0.05873995214606415,
        -0.05199952768240026, 0.04432443438152619, -0.03190431145933338, 0.013681293397148136,
    ),
    # sin(r) = r + r*z*S(z), cos(r) = 1 - z/2 + z*z*C(z), |r| <= pi/4
    "sin_f64": (
        -0.16666666666666666, 0.008333333333333042, -0.00019841269840962473,
        2.7557319073985328e-06, -2.505207092373639e-08, 1.6054311713639366e-10,
        -7.389472722153782e-13,
    ),
    "cos_f64": (
        0.041666666666666664, -0.0013888888888888389, 2.4801587301180814e-05,
        -2.755731906067914e-07, 2.0876722008293854e-09, -1.146686180476229e-11,
        4.592690700586844e-14,
    ),
    # tan(r) = r + r*z*T(z), |r| <= pi/4
    "tan_f64": (
        0.3333333333333338, 0.13333333333325342, 0.05396825397290305, 0.021869488399326356,
        0.008863237922070758, 0.0035921008862235446, 0.0014560455022216696,
        0.0005888647850200698, 0.00024375074011912063, 8.355838737976131e-05,
        6.722566499522486e-05, -2.5642185977313573e-05, 4.864602336325956e-05,
        -2.428045923821316e-05, 9.80083962968515e-06,
    ),
    "sin_f64lite": (
        -0.16666666666630167, 0.008333333325044446, -0.0001984126371016067,
        2.7555335676157464e-06, -2.4760162184288826e-08,
    ),
    "cos_f64lite": (
        0.04166666666659618, -0.0013888888877565653, 2.480158068713589e-05,
        -2.7555519454166587e-07, 2.0644883917793034e-09,
    ),
    # erf(a) = a + a*P(z), z = a*a, a < 1
    "erf_f32": (
        0.12837916612625122, -0.3761262595653534, 0.11283578723669052, -0.026853347197175026,
        0.005187162198126316, -0.0007997853099368513, 7.806903886375949e-05,
    ),
    "erf_f64": (
        0.1283791670955126, -0.376126389031841, 0.11283791670971101, -0.02686617064803223,
        0.005223977652708591, -0.0008548328537021217, 0.00012055386248434877,
        -1.4926883026435381e-05, 1.6481087591252758e-06, -1.655747110197527e-07,
        1.6015763978662076e-08, -1.6475425454592707e-09, 1.4363056209994278e-10,
    ),
    # erf(a) = 1 - exp(-a*a)*Q(a - 1), 1 <= a <= 4 (f32) / 6 (f64)
    "erfc_f32": (
        0.42758357524871826, -0.27321183681488037, 0.15436674654483795, -0.07917942851781845,
        0.03734323009848595, -0.016043078154325485, 0.005957148037850857,
        -0.0017133807996287942, 0.0003206863475497812, -2.801099071803037e-05,
    ),
    "erfc_f64": (
        0.427583576155807, -0.2732120147838961, 0.1543715613717233, -0.079226968935872,
        0.03757229613164294, -0.016661868317261345, 0.0069701376700411054,
        -0.002769044791850515, 0.0010502076740151272, -0.00038181166710841286,
        0.0001334095837479564, -4.4793497044920206e-05, 1.4370176935584673e-05,
        -4.340992333131573e-06, 1.203934445490931e-06, -2.9609090566083107e-07,
        6.196803176212722e-08, -1.0535933746777091e-08, 1.3775475988350906e-09,
        -1.2858592185505775e-10, 7.569516542839616e-12, -2.099965558439716e-13,
    ),
    # erfc(x) = exp(-x*x)*P(t)/x, t = (x - 4)/(x + 4), 1/2 <= x <= 27.5 (relative error)
    "erfcx_f64": (
        0.5479978305002455, 0.059723465959804566, -0.10167001340782243, 0.11617743547600037,
        -0.10500112171761412, 0.07842032531906575, -0.048814711165196964, 0.025005730784005288,
        -0.01012899884446514, 0.0029155483996109945, -0.0003680057536299584,
        -0.0001391199559507873, 8.658869997895503e-05, -1.1247964712123709e-05,
        -7.08277645925349e-06, 3.0592414059567885e-06, 2.8788897219865913e-07,
        -4.610211583436998e-07, 2.599777687019537e-08, 6.310267220682323e-08,
        -8.769073900870084e-09, -8.419229886224726e-09, 1.1231407932480849e-09,
        8.541457903913077e-10,
    ),
    # lgamma(2 + t) = t*P(t), |t| <= 1/2 (relative error)
    "lgamma_f64": (
        0.42278433509846713, 0.3224670334241133, -0.06735230105319576, 0.020580808427765964,
        -0.007385551028925204, 0.002890510331841521, -0.0011927539013289598,
        0.000509669495115874, -0.00022315497227003508, 9.945794415459663e-05,
        -4.4923771855831864e-05, 2.0503544148022946e-05, -9.456079219759676e-06,
        4.393520239950955e-06, -1.9748257030509667e-06, 8.999029514606395e-07,
        -5.806129140968971e-07, 2.9770482711485726e-07,
    ),
}


# ---------------------------------------------------------------------------------
# precisions

class _Prec:
    """A working precision: its LLVM types, layout and constants."""

    def __init__(self, ty, ity, mant, bias, key):
        self.ty, self.ity, self.mant, self.bias, self.key = ty, ity, mant, bias, key
        bits = mant + 1
        self.bits = bits
        self.mant_mask = (1 << mant) - 1
        self.min_normal = 2.0 ** (1 - bias)
        self.max = (2 - 2.0 ** -mant) * 2.0 ** bias
        self.sqrt_half_bits = 0x3F3504F3 if ty == "float" else 0x3FE6A09E667F3BCD
        self.ln2 = _split(_exact("ln2"), bits, 2)
        self.log2e = _round(_exact("log2e"), bits)
        self.pi = _split(_exact("pi"), bits, 2)
        self.pio2 = _split(_exact("pi", Fraction(1, 2)), bits, 3)
        self.pio4 = _split(_exact("pi", Fraction(1, 4)), bits, 2)
        self.two_over_pi = _round(_exact("two_over_pi"), bits)
        self.atan_half = _split(_exact("atan_half"), bits, 2)
        self.atan_3half = _split(_exact("atan_3half"), bits, 2)
        self.three_pio4 = _round(_exact("pi", Fraction(3, 4)), bits)
        self.two_thirds = _split(Fraction(2, 3), bits, 2)
        if ty == "float":
            # exp clamps (the results are inf or 0 beyond; the exponent stays an i32 that
            # two normal powers of two can hold), subnormal-scaling for log, tanh's split
            # between its polynomial and exp(-|x|) (see _tanh), saturation
            self.exp_lo, self.exp_hi = -104.0, 90.0
            self.expm1_lo, self.expm1_hi = -30.0, 89.0
            self.den_shift = 24
            self.tanh_split, self.tanh_sat, self.erf_sat = 1.0, 10.0, 4.0
            self.big_sqrt = 2.0 ** 13     # a*a + 1 == a*a beyond
        else:
            self.exp_lo, self.exp_hi = -746.0, 712.0
            self.expm1_lo, self.expm1_hi = -40.0, 710.0
            self.den_shift = 54
            self.tanh_split, self.tanh_sat, self.erf_sat = 0.75, 20.0, 6.0
            self.big_sqrt = 2.0 ** 28

    def coef(self, name):
        return _COEF[f"{name}_{self.key}"]

    def tiny(self, order):
        """Below this |x|, f(x) = x + O(x**(order+1)) rounds to x."""
        return 2.0 ** (-(self.bits + 1) // order)


_F32 = _Prec("float", "i32", 23, 127, "f32")
_F64 = _Prec("double", "i64", 52, 1023, "f64")
_F64L = _Prec("double", "i64", 52, 1023, "f64lite")   # float64 math for float32 results

_SFX = {"float": "f32", "double": "f64"}


# ---------------------------------------------------------------------------------
# a tiny SSA text builder

class _V:
    """An SSA value or literal with its LLVM type."""

    __slots__ = ("text", "ty")

    def __init__(self, text, ty):
        self.text, self.ty = text, ty

    def __str__(self):
        return self.text


class _Builder:
    """Appends instructions to ``lines``; Python numbers become literals of the type of
    the other operands."""

    def __init__(self):
        self.lines = []
        self.count = 0

    def emit(self, ty, rhs):
        name = f"%v{self.count}"
        self.count += 1
        self.lines.append(f"  {name} = {rhs}")
        return _V(name, ty)

    @staticmethod
    def val(x, ty):
        if isinstance(x, _V):
            return x
        if ty in ("float", "double"):
            return _V(_literal(float(x), ty), ty)
        if ty == "i1":
            return _V("true" if x else "false", ty)
        return _V(str(int(x)), ty)

    @staticmethod
    def _ty(*xs):
        return next(x.ty for x in xs if isinstance(x, _V))

    def _op(self, op, a, b):
        ty = self._ty(a, b)
        return self.emit(ty, f"{op} {ty} {self.val(a, ty)}, {self.val(b, ty)}")

    # float arithmetic
    def add(self, a, b):
        return self._op("fadd", a, b)

    def sub(self, a, b):
        return self._op("fsub", a, b)

    def mul(self, a, b):
        return self._op("fmul", a, b)

    def div(self, a, b):
        return self._op("fdiv", a, b)

    def neg(self, a):
        return self.emit(a.ty, f"fneg {a.ty} {a}")

    def call(self, fn, *args):
        ty = self._ty(*args)
        vals = ", ".join(f"{ty} {self.val(a, ty)}" for a in args)
        return self.emit(ty, f"call {ty} @llvm.{fn}.{_SFX[ty]}({vals})")

    def fma(self, a, b, c):
        return self.call("fma", a, b, c)

    def abs(self, a):
        return self.call("fabs", a)

    def copysign(self, a, s):
        return self.call("copysign", a, s)

    def sqrt(self, a):
        return self.call("sqrt", a)

    def roundeven(self, a):
        return self.call("roundeven", a)

    def trunc(self, a):
        return self.call("trunc", a)

    def poly(self, x, coefs):
        """Horner with fma: sum coefs[i] * x**i."""
        acc = self.val(coefs[-1], x.ty)
        for c in reversed(coefs[:-1]):
            acc = self.fma(acc, x, c)
        return acc

    # comparisons and selection
    def cmp(self, pred, a, b):
        ty = self._ty(a, b)
        return self.emit("i1", f"fcmp {pred} {ty} {self.val(a, ty)}, {self.val(b, ty)}")

    def isnan(self, a):
        return self.cmp("uno", a, a)

    def sel(self, c, a, b, ty=None):
        ty = ty or self._ty(a, b)
        return self.emit(ty, f"select i1 {c}, {ty} {self.val(a, ty)}, {ty} {self.val(b, ty)}")

    def and1(self, a, b):
        return self.emit("i1", f"and i1 {a}, {b}")

    def or1(self, a, b):
        return self.emit("i1", f"or i1 {a}, {b}")

    def not1(self, a):
        return self.emit("i1", f"xor i1 {a}, true")

    # integers and conversions
    def iop(self, op, a, b):
        ty = self._ty(a, b)
        return self.emit(ty, f"{op} {ty} {self.val(a, ty)}, {self.val(b, ty)}")

    def icmp(self, pred, a, b):
        ty = self._ty(a, b)
        return self.emit("i1", f"icmp {pred} {ty} {self.val(a, ty)}, {self.val(b, ty)}")

    def conv(self, op, a, ty):
        return self.emit(ty, f"{op} {a.ty} {a} to {ty}")


# ---------------------------------------------------------------------------------
# shared pieces

def _clamp(b, x, lo, hi):
    """min(max(x, lo), hi) with nan -> lo (the compare-select form x86 maps to max/min,
    and a non-nan result keeps later float->int conversions free of poison)."""
    x = b.sel(b.cmp("ogt", x, lo), x, lo)
    return b.sel(b.cmp("olt", x, hi), x, hi)


def _pow2(b, ni, P, add=0):
    """2**(ni + add) from an i32 exponent in the normal range."""
    e = b.iop("add", ni, P.bias + add)
    if P.ity == "i64":
        e = b.conv("sext", e, "i64")
    return b.conv("bitcast", b.iop("shl", e, P.mant), P.ty)


def _scale(b, v, ni, P):
    """v * 2**ni for |ni| up to about 2*bias, as two factors: no spurious overflow, and a
    subnormal result is rounded once (v * 2**(ni/2) is exact)."""
    half = b.iop("ashr", ni, 1)
    return b.mul(b.mul(v, _pow2(b, half, P)), _pow2(b, b.iop("sub", ni, half), P))


def _exp_reduce(b, x, P):
    """n = nearest integer to x/ln2 (float and i32), r = x - n*ln2 with |r| <~ ln2/2.
    fma makes x - n*ln2_hi exact (the result is a multiple of ulp(ln2_hi) below 1/2)."""
    n = b.roundeven(b.mul(x, P.log2e))
    nn = b.neg(n)
    r = b.fma(nn, P.ln2[0], x)
    r = b.fma(nn, P.ln2[1], r)
    return n, b.conv("fptosi", n, "i32"), r


def _expm1_poly(b, r, P):
    return b.fma(b.mul(r, r), b.poly(r, P.coef("expm1")), r)


def _exp_parts(b, x, P):
    """(p, ni) with exp(x) = p * 2**ni, p in [0.7, 1.42], for x already clamped to
    [exp_lo, exp_hi]: the instructions exp(x) begins with, so that a function using
    them beside exp(x) in one kernel gets them merged with exp's."""
    _, ni, r = _exp_reduce(b, x, P)
    return b.add(_expm1_poly(b, r, P), 1.0), ni


def _exp_core(b, x, P, shift=0):
    """exp(x) * 2**shift for x already clamped to [exp_lo, exp_hi]."""
    p, ni = _exp_parts(b, x, P)
    if shift:
        ni = b.iop("add", ni, shift)
    return _scale(b, p, ni, P)


def _expm1_core(b, x, P):
    """expm1(x) for x clamped to [expm1_lo, expm1_hi], |x| not tiny:
    2**n*(1+e) - 1 = 2*(s*e + (s - 1/2)) with s = 2**(n-1): one rounding in the fma, and
    s - 1/2 is exact for the n where it matters."""
    _, ni, r = _exp_reduce(b, x, P)
    e = _expm1_poly(b, r, P)
    s = _pow2(b, ni, P, -1)
    t = b.fma(s, e, b.sub(s, 0.5))
    return b.add(t, t)


def _log_core(b, u, P, kadd=None, corr=None, split=False):
    """log(u) + kadd*ln2 + corr for finite u > 0 (subnormals too); other u give garbage
    that the callers replace. u = 2**k * m with m in [sqrt(1/2), sqrt(2)), f = m - 1
    (exact), log1p(f) = f - (f*f/2 - s*(f*f/2 + R)) with s = f/(2+f) (fdlibm's form).
    ``split``: return (k, log1p(f)) instead."""
    den = b.cmp("olt", u, P.min_normal)
    us = b.sel(den, b.mul(u, 2.0 ** P.den_shift), u)
    t = b.iop("sub", b.conv("bitcast", us, P.ity), P.sqrt_half_bits)
    k = b.iop("ashr", t, P.mant)
    if P.ity == "i64":
        k = b.conv("trunc", k, "i32")
    m = b.conv("bitcast", b.iop("add", b.iop("and", t, P.mant_mask), P.sqrt_half_bits), P.ty)
    kf = b.add(b.conv("sitofp", k, P.ty), b.sel(den, -float(P.den_shift), 0.0, P.ty))
    if kadd is not None:
        kf = b.add(kf, kadd)
    f = b.sub(m, 1.0)
    s = b.div(f, b.add(f, 2.0))
    z = b.mul(s, s)
    R = b.mul(z, b.poly(z, P.coef("log")))
    hfsq = b.mul(b.mul(f, f), 0.5)
    if split:
        return kf, b.sub(f, b.sub(hfsq, b.mul(s, b.add(hfsq, R))))
    lo = b.fma(kf, P.ln2[1], corr) if corr is not None else b.mul(kf, P.ln2[1])
    inner = b.fma(s, b.add(hfsq, R), lo)
    return b.fma(kf, P.ln2[0], b.sub(f, b.sub(hfsq, inner)))


def _log1p_parts(b, t):
    """u = 1 + t rounded and the correction log1p(t) - log(u) ~= (t - (u - 1))/u, with the
    rounding error of 1 + t recovered exactly (fdlibm's split at u = 2)."""
    u = b.add(t, 1.0)
    c = b.sel(b.cmp("oge", u, 2.0), b.sub(1.0, b.sub(u, t)), b.sub(t, b.sub(u, 1.0)))
    return u, b.div(c, u)


def _nan_if(b, cond, v):
    return b.sel(cond, float("nan"), v)


def _keep_nan(b, x, v):
    return b.sel(b.isnan(x), x, v)


def _signbit(b, x, P):
    return b.icmp("slt", b.conv("bitcast", x, P.ity), 0)


# ---------------------------------------------------------------------------------
# the functions

def _exp(b, x, P):
    return _keep_nan(b, x, _exp_core(b, _clamp(b, x, P.exp_lo, P.exp_hi), P))


def _expm1(b, x, P):
    v = _expm1_core(b, _clamp(b, x, P.expm1_lo, P.expm1_hi), P)
    v = b.sel(b.cmp("olt", b.abs(x), P.tiny(1)), x, v)
    return _keep_nan(b, x, v)


def _log(b, x, P):
    v = _log_core(b, x, P)
    v = b.sel(b.cmp("oeq", x, 0.0), float("-inf"), v)
    v = _nan_if(b, b.cmp("olt", x, 0.0), v)
    v = b.sel(b.cmp("oeq", x, float("inf")), x, v)
    return _keep_nan(b, x, v)


def _log1p(b, x, P):
    u, c = _log1p_parts(b, x)
    v = _log_core(b, u, P, corr=c)
    v = b.sel(b.cmp("olt", b.abs(x), P.tiny(1)), x, v)
    v = b.sel(b.cmp("oeq", x, -1.0), float("-inf"), v)
    v = _nan_if(b, b.cmp("olt", x, -1.0), v)
    v = b.sel(b.cmp("oeq", x, float("inf")), x, v)
    return _keep_nan(b, x, v)


def _tanh(b, x, P):
    a = b.abs(x)
    z = b.mul(a, a)
    small = b.fma(b.mul(a, z), b.poly(z, P.coef("tanh")), a)
    # a >= tanh_split: tanh(a) = 1 - c, c = 2t/(1 + t), t = exp(-2a) = (p*2**n)**2 from
    # the instructions exp(-abs(x)) and logistic compute exp(-|x|) with, so a kernel
    # using two or three of them evaluates one exponential (LLVM merges the identical
    # inlined instructions). Errors in u = ulp of the result (>= 1/2): exp's relative
    # error, <= 1.6u, costs 2c/(1 + t) times it; the roundings of t, 1 + t and c cost
    # <= c/(1 + t), c/(1 + t) and 1/2 ulp(c). At the split (c = 0.24 f32, 0.36 f64) that
    # is 1.7u and 2.3u with the final rounding, so the result stays within 2 ulp of the
    # rounded exact one without compensated steps (f32: max 1 ulp over all inputs).
    # 2**(2n) is a normal number while a < tanh_sat; beyond, tanh rounds to 1.
    p, ni = _exp_parts(b, _clamp(b, b.neg(a), P.exp_lo, P.exp_hi), P)
    t = b.mul(b.mul(p, p), _pow2(b, b.iop("add", ni, ni), P))
    big = b.sub(1.0, b.div(b.add(t, t), b.add(t, 1.0)))
    big = b.sel(b.cmp("olt", a, P.tanh_sat), big, 1.0)
    v = b.copysign(b.sel(b.cmp("olt", a, P.tanh_split), small, big), x)
    return _keep_nan(b, x, v)


def _div_corrected(b, num, one, t):
    """num / (one + t) with the rounding of the sum and of the quotient put back
    (|one| >= |t|, both >= 0): the error is about half an ulp beyond that of t.
    One division: the correction, a few ulp of q, only needs 1/d to a few bits."""
    d = b.add(one, t)
    dlo = b.add(b.sub(one, d), t)               # exact: one + t = d + dlo
    r = b.div(1.0, d)
    q = b.mul(num, r)
    rem = b.fma(b.neg(q), d, num)               # exact: num - q*d
    return b.fma(b.fma(b.neg(q), dlo, rem), r, q)


def _logistic(b, x, P):
    # e = exp(-|x|) <= 1: x >= 0 -> 1/(1+e), x < 0 -> e/(1+e); neither overflows
    # computed exactly as exp(-abs(x)) is, so a program using both (softplus, swish,
    # ...) computes it once: LLVM merges the identical inlined instructions
    e = _exp(b, b.neg(b.abs(x)), P)
    v = _div_corrected(b, b.sel(b.cmp("olt", x, 0.0), e, 1.0), 1.0, e)
    return _keep_nan(b, x, v)


def _exp_half(b, a, P):
    """exp(a)/2 for a >= 0 (no overflow before the true result overflows)."""
    return _exp_core(b, b.sel(b.cmp("olt", a, P.exp_hi), a, P.exp_hi), P, shift=-1)


def _sinh(b, x, P):
    a = b.abs(x)
    z = b.mul(a, a)
    small = b.fma(b.mul(a, z), b.poly(z, P.coef("sinh")), a)
    E = _exp_half(b, a, P)
    big = b.sub(E, b.div(0.25, E))
    v = b.copysign(b.sel(b.cmp("olt", a, 1.0), small, big), x)
    return _keep_nan(b, x, v)


def _cosh(b, x, P):
    E = _exp_half(b, b.abs(x), P)
    return _keep_nan(b, x, b.add(E, b.div(0.25, E)))


def _asinh(b, x, P):
    a = b.abs(x)
    a2 = b.mul(a, a)
    # a < 2: log1p(a + a*a/(1 + sqrt(1 + a*a)))
    t = b.add(a, b.div(a2, b.add(b.sqrt(b.add(a2, 1.0)), 1.0)))
    u1, c = _log1p_parts(b, t)
    # 2 <= a <= big: log(2a + 1/(a + sqrt(a*a + 1))); beyond: log(a) + ln2
    u2 = b.fma(2.0, a, b.div(1.0, b.add(a, b.sqrt(b.add(a2, 1.0)))))
    lt2 = b.cmp("olt", a, 2.0)
    big = b.cmp("ogt", a, P.big_sqrt)
    u = b.sel(lt2, u1, b.sel(big, a, u2))
    v = _log_core(b, u, P, kadd=b.sel(big, 1.0, 0.0, P.ty), corr=b.sel(lt2, c, 0.0))
    v = b.sel(b.cmp("olt", a, P.tiny(2)), a, v)
    v = b.sel(b.cmp("oeq", a, float("inf")), a, v)
    return _keep_nan(b, x, b.copysign(v, x))


def _acosh(b, x, P):
    d = b.sub(x, 1.0)
    # x < 2: log1p(d + sqrt(d*d + 2d)), d = x - 1 exact
    t = b.add(d, b.sqrt(b.fma(d, d, b.add(d, d))))
    u1, c = _log1p_parts(b, t)
    # 2 <= x <= big: log(2x - 1/(x + sqrt(x*x - 1))); beyond: log(x) + ln2
    u2 = b.fma(2.0, x, b.neg(b.div(1.0, b.add(x, b.sqrt(b.fma(x, x, -1.0))))))
    lt2 = b.cmp("olt", x, 2.0)
    big = b.cmp("ogt", x, P.big_sqrt)
    u = b.sel(lt2, u1, b.sel(big, x, u2))
    v = _log_core(b, u, P, kadd=b.sel(big, 1.0, 0.0, P.ty), corr=b.sel(lt2, c, 0.0))
    v = _nan_if(b, b.cmp("olt", x, 1.0), v)
    v = b.sel(b.cmp("oeq", x, float("inf")), x, v)
    return _keep_nan(b, x, v)


def _atanh(b, x, P):
    a = b.abs(x)
    q = b.div(a, b.sub(1.0, a))                 # 1 - a exact for a >= 1/2
    a2 = b.add(a, a)
    # atanh(a) = log1p(t)/2, t = 2a + 2a*a/(1-a) (a < 1/2) or 2a/(1-a)
    t = b.sel(b.cmp("olt", a, 0.5), b.fma(a2, q, a2), b.add(q, q))
    u, c = _log1p_parts(b, t)
    v = b.mul(_log_core(b, u, P, corr=c), 0.5)
    v = b.sel(b.cmp("olt", a, P.tiny(2)), a, v)
    v = b.sel(b.cmp("oeq", a, 1.0), float("inf"), v)
    v = _nan_if(b, b.cmp("ogt", a, 1.0), v)
    return _keep_nan(b, x, b.copysign(v, x))


def _erf(b, x, P):
    a = b.abs(x)
    small = b.fma(a, b.poly(b.mul(a, a), P.coef("erf")), a)
    ac = b.sel(b.cmp("olt", a, P.erf_sat), a, P.erf_sat)
    z = b.mul(ac, ac)
    e = _exp_core(b, b.neg(z), P)
    if P.ty == "double":
        # exp(-(z + zlo)) = e*(1 - zlo): the rounding of a*a would cost ~a*a/2 ulp of erfc
        e = b.fma(b.neg(e), b.fma(ac, ac, b.neg(z)), e)
    big = b.fma(b.neg(e), b.poly(b.sub(ac, 1.0), P.coef("erfc")), 1.0)
    v = b.copysign(b.sel(b.cmp("olt", a, 1.0), small, big), x)
    return _keep_nan(b, x, v)


# -- trigonometric ----------------------------------------------------------------

def _trig(b, x, P, which):
    """sin/cos/tan: n = nearest integer to x*2/pi, r = x - n*pi/2 with a 3-part pi/2
    (the first step exact by fma), sin and cos of r by polynomials, quadrant n mod 4 by
    selects. float32 arguments are reduced and evaluated in float64."""
    W = _F64L if P.ty == "float" else _F64
    X = b.conv("fpext", x, "double") if P.ty == "float" else x
    n = b.roundeven(b.mul(X, W.two_over_pi))
    nn = b.neg(n)
    r = b.fma(nn, W.pio2[0], X)         # exact: a multiple of ulp(pio2[0]) below 1
    if P.ty == "float":
        r = b.fma(nn, W.pio2[1], r)
        r = b.fma(nn, W.pio2[2], r)
        rlo = None
    else:
        # float64 keeps r as r + rlo: n*pio2[1] exactly as wh + wl, r - wh by TwoSum
        # (tan's relative error is up to 2x that of r, sin's and cos's up to 1x)
        wh = b.mul(n, W.pio2[1])
        wl = b.fma(n, W.pio2[1], b.neg(wh))
        r2 = b.sub(r, wh)
        bb = b.sub(r2, r)
        err = b.add(b.sub(r, b.sub(r2, bb)), b.sub(b.neg(wh), bb))
        lo = b.sub(err, b.fma(n, W.pio2[2], wl))
        r = b.add(r2, lo)
        rlo = b.sub(lo, b.sub(r, r2))
    # beyond the accurate range r is garbage: keeping it in [-pi/4, pi/4] (a no-op
    # inside the range) keeps sin and cos within [-1, 1] there
    rmax = 0.78575             # pi/4 + 3.5e-4: still inside the fitted interval
    if rlo is not None:
        rlo = b.sel(b.cmp("ole", b.abs(r), rmax), rlo, 0.0)
    r = b.sel(b.cmp("ogt", r, rmax), rmax, r)
    r = b.sel(b.cmp("olt", r, -rmax), -rmax, r)
    # n mod 4 (as n - 4*trunc(n/4), exact while n is) without converting a large n;
    # inf/nan become 0 so that fptosi stays defined (the result is nan anyway)
    nm = b.sub(n, b.mul(b.trunc(b.mul(n, 0.25)), 4.0))
    ni = b.conv("fptosi", b.sel(b.cmp("olt", b.abs(nm), 4.0), nm, 0.0), "i32")
    z = b.mul(r, r)
    odd = b.icmp("ne", b.iop("and", ni, 1), 0)
    if which == "tan" and rlo is not None:
        # float64 tan by its own polynomial (sin/cos would add both their errors):
        # t = tan(r + rlo), odd quadrants -1/t
        t = b.fma(b.mul(r, z), b.poly(z, W.coef("tan")), r)
        t = b.fma(rlo, b.fma(t, t, 1.0), t)
        v = b.sel(odd, b.div(-1.0, t), t)
        return b.sel(b.cmp("oeq", x, 0.0), x, v)
    s = b.fma(b.mul(r, z), b.poly(z, W.coef("sin")), r)
    hz = b.mul(z, 0.5)
    w = b.sub(1.0, hz)
    # cos = w + ((1 - w) - hz) + z*z*C: the rounding of 1 - z/2 is put back
    c = b.add(w, b.fma(b.mul(z, z), b.poly(z, W.coef("cos")), b.sub(b.sub(1.0, w), hz)))
    if rlo is not None:
        # sin(r + rlo) = s + rlo*c, cos(r + rlo) = c - rlo*s to first order
        s, c = b.fma(rlo, c, s), b.fma(b.neg(rlo), s, c)
    if which == "tan":
        v = b.div(b.sel(odd, c, s), b.sel(odd, s, c))
        v = b.sel(odd, b.neg(v), v)
    else:
        quad = ni if which == "sin" else b.iop("add", ni, 1)
        v = b.sel(odd, c, s) if which == "sin" else b.sel(odd, s, c)
        v = b.sel(b.icmp("ne", b.iop("and", quad, 2), 0), b.neg(v), v)
    if P.ty == "float":
        v = b.conv("fptrunc", v, "float")
    if which != "cos":
        v = b.sel(b.cmp("oeq", x, 0.0), x, v)        # sin(-0) = tan(-0) = -0
    return v


def _sin(b, x, P):
    return _trig(b, x, P, "sin")


def _cos(b, x, P):
    return _trig(b, x, P, "cos")


def _tan(b, x, P):
    return _trig(b, x, P, "tan")


# -- inverse trigonometric --------------------------------------------------------

def _asin_parts(b, a, P):
    """For a = |x|: small = a < 1/2, p = asin(s) with s = a (small) or sqrt((1-a)/2), and
    slo = the rounding error of that sqrt (0 when small)."""
    small = b.cmp("olt", a, 0.5)
    z = b.sel(small, b.mul(a, a), b.mul(b.sub(1.0, a), 0.5))
    s = b.sel(small, a, b.sqrt(z))
    p = b.fma(b.mul(s, z), b.poly(z, P.coef("asin")), s)
    slo = b.div(b.fma(b.neg(s), s, z), b.add(s, s))
    slo = b.sel(b.and1(b.not1(small), b.cmp("ogt", z, 0.0)), slo, 0.0)
    return small, p, slo


def _asin(b, x, P):
    a = b.abs(x)
    small, p, slo = _asin_parts(b, a, P)
    # a >= 1/2: asin(a) = pi/2 - 2 asin(sqrt((1-a)/2))
    big = b.add(b.sub(P.pio2[0], b.add(p, p)), b.sub(P.pio2[1], b.add(slo, slo)))
    v = b.sel(small, p, big)
    return _keep_nan(b, x, b.copysign(v, x))


def _acos(b, x, P):
    a = b.abs(x)
    small, p, slo = _asin_parts(b, a, P)
    vsmall = b.sub(P.pio2[0], b.sub(b.copysign(p, x), P.pio2[1]))
    vpos = b.add(b.add(p, p), b.add(slo, slo))
    vneg = b.add(b.sub(P.pi[0], b.add(p, p)), b.sub(P.pi[1], b.add(slo, slo)))
    v = b.sel(small, vsmall, b.sel(b.cmp("olt", x, 0.0), vneg, vpos))
    return _keep_nan(b, x, v)


def _atan_core(b, ay, ax, P, scale):
    """atan(ay/ax) in [0, pi/2] for ay, ax >= 0, as (base_hi, rest) with the angle =
    base_hi + rest. The ratio picks one of five intervals (fdlibm's 7/16, 11/16, 19/16,
    39/16) where atan(ay/ax) = atan(c) + atan((ay - c*ax)/(ax + c*ay)), so the reduced
    argument comes from one fma each for numerator and denominator and one division."""
    q = b.div(ay, ax)
    i1 = b.cmp("olt", q, 7 / 16)
    i2 = b.cmp("olt", q, 11 / 16)
    i3 = b.cmp("olt", q, 19 / 16)
    i4 = b.cmp("olt", q, 39 / 16)
    if scale:
        # the middle intervals have ay ~ ax: scale both by a power of two so that
        # ax + 1.5*ay cannot overflow and subnormal differences do not lose bits
        sc = b.sel(b.cmp("ogt", ax, P.max / 16), 1 / 16,
                   b.sel(b.cmp("olt", ax, P.min_normal * 2.0 ** (P.mant + 2)),
                         2.0 ** (P.mant + 2), 1.0, P.ty))
        sy, sx = b.mul(ay, sc), b.mul(ax, sc)
    else:
        sy, sx = ay, ax
    c = b.sel(i2, 0.5, b.sel(i3, 1.0, 1.5, P.ty))
    num = b.sel(i1, ay, b.sel(i4, b.fma(b.neg(c), sx, sy), b.neg(ax)))
    den = b.sel(i1, ax, b.sel(i4, b.fma(c, sy, sx), ay))
    u = b.div(num, den)
    z = b.mul(u, u)
    at = b.fma(b.mul(u, z), b.poly(z, P.coef("atan")), u)

    def pick(k):
        return b.sel(i1, 0.0, b.sel(i2, P.atan_half[k], b.sel(
            i3, P.pio4[k], b.sel(i4, P.atan_3half[k], P.pio2[k], P.ty))))
    return pick(0), b.add(at, pick(1))


def _atan(b, x, P):
    hi, rest = _atan_core(b, b.abs(x), b.val(1.0, P.ty), P, scale=False)
    return _keep_nan(b, x, b.copysign(b.add(hi, rest), x))


def _atan2(b, y, x, P):
    ay, ax = b.abs(y), b.abs(x)
    hi, rest = _atan_core(b, ay, ax, P, scale=True)
    xneg = _signbit(b, x, P)
    # x < 0 (or -0): pi - angle, with the low parts kept apart
    v = b.sel(xneg, b.add(b.sub(P.pi[0], hi), b.sub(P.pi[1], rest)), b.add(hi, rest))
    inf = float("inf")
    both_inf = b.and1(b.cmp("oeq", ay, inf), b.cmp("oeq", ax, inf))
    v = b.sel(both_inf, b.sel(xneg, P.three_pio4, P.pio4[0], P.ty), v)
    v = b.sel(b.cmp("oeq", ay, 0.0), b.sel(xneg, P.pi[0], 0.0, P.ty), v)
    v = b.copysign(v, y)
    return _nan_if(b, b.or1(b.isnan(x), b.isnan(y)), v)


# -- pow --------------------------------------------------------------------------

def _log_dd(b, x):
    """log(x) as a double-word (hi, lo) with ~2**-64 relative error, x > 0 finite."""
    P = _F64
    den = b.cmp("olt", x, P.min_normal)
    xs = b.sel(den, b.mul(x, 2.0 ** P.den_shift), x)
    t = b.iop("sub", b.conv("bitcast", xs, "i64"), P.sqrt_half_bits)
    k = b.conv("trunc", b.iop("ashr", t, P.mant), "i32")
    m = b.conv("bitcast", b.iop("add", b.iop("and", t, P.mant_mask), P.sqrt_half_bits),
               "double")
    kf = b.add(b.conv("sitofp", k, "double"), b.sel(den, -float(P.den_shift), 0.0, "double"))
    f = b.sub(m, 1.0)
    # s = f/(2+f) as s_hi + s_lo: d = 2 + f exactly as d + dlo, then one Newton correction
    d = b.add(f, 2.0)
    dlo = b.sub(f, b.sub(d, 2.0))
    s = b.div(f, d)
    e = b.fma(b.neg(s), dlo, b.fma(b.neg(s), d, f))
    slo = b.div(e, d)
    z = b.mul(s, s)
    zlo = b.fma(b.add(s, s), slo, b.fma(s, s, b.neg(z)))
    # P(z) = 2/3 + z*Q(z) as ph + plo
    w = b.mul(z, b.poly(z, _COEF["logpow_f64"]))
    ph = b.add(P.two_thirds[0], w)
    plo = b.add(b.add(b.sub(P.two_thirds[0], ph), w), P.two_thirds[1])
    # T = s*z*P as th + tlo
    uh = b.mul(s, z)
    ul = b.add(b.fma(s, z, b.neg(uh)), b.fma(slo, z, b.mul(s, zlo)))
    th = b.mul(uh, ph)
    tl = b.add(b.fma(uh, ph, b.neg(th)), b.fma(ul, ph, b.mul(uh, plo)))
    # log1p(f) = 2s + T
    s2 = b.add(s, s)
    ah = b.add(s2, th)
    al = b.add(b.add(b.sub(s2, ah), th), b.fma(slo, 2.0, tl))
    # + k*ln2
    kh = b.mul(kf, P.ln2[0])
    kl = b.fma(kf, P.ln2[1], b.fma(kf, P.ln2[0], b.neg(kh)))
    hi = b.add(kh, ah)
    lo = b.add(b.add(b.sub(kh, hi), ah), b.add(kl, al))
    return hi, lo


def _pow_special(b, x, y, mag, P):
    """Apply C99/numpy pow's rules for signs, zeros, infinities and nans to |x|**y."""
    inf = float("inf")
    ax = b.abs(x)
    yint = b.cmp("oeq", b.trunc(y), y)
    yh = b.mul(y, 0.5)
    yodd = b.and1(yint, b.cmp("une", b.trunc(yh), yh))
    ypos = b.cmp("ogt", y, 0.0)
    xinf = b.cmp("oeq", ax, inf)
    mag = b.sel(b.cmp("oeq", ax, 0.0), b.sel(ypos, 0.0, inf, P.ty), mag)
    mag = b.sel(xinf, b.sel(ypos, inf, 0.0, P.ty), mag)
    v = b.sel(b.and1(_signbit(b, x, P), yodd), b.neg(mag), mag)
    # negative finite x to a non-integer finite power
    v = _nan_if(b, b.and1(b.cmp("olt", x, 0.0), b.and1(b.not1(yint), b.not1(xinf))), v)
    v = b.sel(b.and1(b.cmp("oeq", ax, 1.0), b.cmp("oeq", b.abs(y), inf)), 1.0, v)
    v = _nan_if(b, b.or1(b.isnan(x), b.isnan(y)), v)
    return b.sel(b.or1(b.cmp("oeq", y, 0.0), b.cmp("oeq", x, 1.0)), 1.0, v)


def _pow(b, x, y, P):
    if P.ty == "float":
        # |x|**y = 2**(y*log2|x|) in float64: its error, ~2**-40 relative, is far below
        # float32's half ulp; log2 keeps powers of two exact (k + 0), so that exact
        # ties such as 2**-150 round to even like numpy's
        W = _F64L
        k, l1p = _log_core(b, b.abs(b.conv("fpext", x, "double")), W, split=True)
        t = b.mul(b.conv("fpext", y, "double"), b.fma(l1p, W.log2e, k))
        t = _clamp(b, t, -1100.0, 1100.0)
        n = b.roundeven(t)
        r = b.mul(b.sub(t, n), W.ln2[0])
        p = b.add(_expm1_poly(b, r, W), 1.0)
        mag = _scale(b, p, b.conv("fptosi", n, "i32"), W)
        return _pow_special(b, x, y, b.conv("fptrunc", mag, "float"), P)
    hi, lo = _log_dd(b, b.abs(x))
    th = b.mul(y, hi)
    tl = b.fma(y, lo, b.fma(y, hi, b.neg(th)))
    inrange = b.cmp("olt", b.abs(th), 800.0)
    th = _clamp(b, th, P.exp_lo, P.exp_hi)
    tl = b.sel(inrange, tl, 0.0)
    # exp(th + tl): th - n*ln2_hi is exact, the low parts join in r's second step
    n, ni, _ = _exp_reduce(b, th, P)
    nn = b.neg(n)
    r = b.add(b.fma(nn, P.ln2[0], th), b.fma(nn, P.ln2[1], tl))
    p = b.add(_expm1_poly(b, r, P), 1.0)
    return _pow_special(b, x, y, _scale(b, p, ni, P), P)


# -- erfc, lgamma, digamma and polygamma -------------------------------------------
# computed in float64 for both dtypes (float32 results are rounded once at the end)

def _widen(b, x, P):
    return b.conv("fpext", x, "double") if P.ty == "float" else x


def _narrow(b, v, P):
    return b.conv("fptrunc", v, "float") if P.ty == "float" else v


_ERFCX_K = 4.0          # erfc(a) = exp(-a*a) * P((a - K)/(a + K)) / a for a >= 1/2


def _erfc(b, x, P):
    W = _F64
    X = _widen(b, x, P)
    a = b.abs(X)
    # |x| < 1: 1 - erf(x) = (1 - x) - x*E(x*x) with erf's polynomial, rounded once
    low = b.fma(b.neg(X), b.poly(b.mul(X, X), W.coef("erf")), b.sub(1.0, X))
    # |x| >= 1: the tail, a clamped to [1/2, 27.5] (beyond, exp(-a*a) is 0 in float64)
    ac = _clamp(b, a, 0.5, 27.5)
    t = b.div(b.sub(ac, _ERFCX_K), b.add(ac, _ERFCX_K))
    q = b.poly(t, W.coef("erfcx"))
    z = b.mul(ac, ac)
    e = _exp_core(b, _clamp(b, b.neg(z), W.exp_lo, W.exp_hi), W)
    # exp(-(z + zlo)) = e*(1 - zlo): the rounding of a*a would cost up to a*a/2 ulp
    e = b.fma(b.neg(e), b.fma(ac, ac, b.neg(z)), e)
    tail = b.div(b.mul(e, q), ac)
    tail = b.sel(b.cmp("olt", X, 0.0), b.sub(2.0, tail), tail)   # erfc(-a) = 2 - erfc(a)
    v = b.sel(b.cmp("olt", a, 1.0), low, tail)
    return _narrow(b, _keep_nan(b, X, v), P)


def _log_pos(b, u):
    """log(u) in float64 for finite u > 0 (subnormals too)."""
    return _log_core(b, u, _F64)


def _sinpi_abs(b, r):
    """|sin(pi*r)| for |r| <= 1/2 (r exact: the argument's distance to an integer)."""
    return b.abs(_trig(b, b.mul(r, _F64.pi[0]), _F64, "sin"))


# B2, B4, ..., B20 exactly; _BERNOULLI as the numpy reference spells them (its floats)
_B2K = (Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30),
        Fraction(5, 66), Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510),
        Fraction(43867, 798), Fraction(-174611, 330))
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330)
# Stirling's series for lgamma: sum B_2k / (2k (2k - 1)) s^(2k - 1), as S(s*s)*s
_STIRLING = tuple(float(bk / ((2 * k + 2) * (2 * k + 1))) for k, bk in enumerate(_B2K))
_HALF_LOG_2PI_M_HALF = 0.4189385332046727   # (log(2 pi) - 1)/2, the nearest double


def _lgamma(b, x, P):
    """log|Gamma(x)|. a = |x| < 8: a = m + t with m = floor(a + 1/2), |t| <= 1/2, and
    lgamma(2 + t) = t*Q(t), so lgamma(a) = t*Q(t) + log((a-1)(a-2)...(a-m+2)) (m >= 2),
    - log1p(t) (m = 1), - log1p(t) - log(a) (m = 0): no cancellation near the zeros at
    1 and 2. a >= 8: Stirling's series. x < 0: log(pi/|x sin(pi x)|) - lgamma(|x|);
    |x| < 2**-60: -log|x|. Poles (0, -1, -2, ...) and +-inf give +inf."""
    W = _F64
    X = _widen(b, x, P)
    a = b.abs(X)
    m = b.call("floor", b.add(b.sel(b.cmp("olt", a, 8.0), a, 0.0), 0.5))
    t = b.sub(a, m)
    small = b.mul(t, b.poly(t, W.coef("lgamma")))
    prod = b.val(1.0, "double")
    for i in range(1, 7):
        prod = b.mul(prod, b.sel(b.cmp("oge", m, i + 2.0), b.sub(a, float(i)), 1.0))
    m0 = b.cmp("oeq", m, 0.0)
    lp = _log1p(b, b.sel(b.cmp("ole", m, 1.0), t, 0.0), W)
    lg = _log_pos(b, b.sel(m0, a, prod))
    small = b.add(b.sub(small, lp), b.sel(m0, b.neg(lg), lg))
    # Stirling: (a - 1/2)(log a - 1) + (log(2 pi) - 1)/2 + S(1/a^2)/a
    ac = b.sel(b.cmp("oge", a, 8.0), a, 8.0)
    s = b.div(1.0, ac)
    series = b.mul(s, b.poly(b.mul(s, s), _STIRLING))
    big = b.fma(b.sub(ac, 0.5), b.sub(_log_pos(b, ac), 1.0),
                b.add(_HALF_LOG_2PI_M_HALF, series))
    v = b.sel(b.cmp("olt", a, 8.0), small, big)
    # x < 0 by reflection; r = x - nearest integer is exact
    r = b.sub(X, b.roundeven(X))
    refl = b.sub(_log_pos(b, b.div(W.pi[0], b.mul(a, _sinpi_abs(b, r)))), v)
    v = b.sel(b.cmp("olt", X, 0.0), refl, v)
    v = b.sel(b.cmp("olt", a, 2.0 ** -60), b.neg(_log_pos(b, a)), v)
    pole = b.and1(b.cmp("ole", X, 0.0), b.cmp("oeq", r, 0.0))
    v = b.sel(b.or1(pole, b.cmp("oeq", a, float("inf"))), float("inf"), v)
    return _narrow(b, _keep_nan(b, X, v), P)


_POLYGAMMA_STEPS = 32   # recurrence steps of psi^(m), m >= 1: exact recurrence from -20 up


def _polygamma(b, x, P, m):
    """psi^(m)(x), as the numpy reference computes it (its order of operations, so the
    two agree to a few ulp even where both cancel): psi^(m)(z) = psi^(m)(z + 1)
    + (-1)^(m+1) m!/z^(m+1) until z >= 12 (unrolled steps), then the asymptotic series.
    digamma first reflects x < 1/2 as the reference does, psi(x) = psi(1 - x) -
    pi/tan(pi x); m >= 1 recurs from x >= -20 (the reference's own path) and reflects
    below, psi^(m)(x) = (-1)^m psi^(m)(1 - x) - pi^(m+1) cot^(m)(pi x). Poles give nan;
    so does x < -9988 for m >= 1, where the reference's recurrence gives up."""
    W = _F64
    X = _widen(b, x, P)
    refl = b.cmp("olt", X, 0.5 if m == 0 else -_POLYGAMMA_STEPS + 12.0)
    z = b.sel(refl, b.sub(1.0, X), X)
    if m == 0:
        acc = b.sel(refl, b.div(-W.pi[0], _trig(b, b.mul(X, W.pi[0]), W, "tan")), 0.0)
    else:
        # cot(pi x) from the exact distance to the nearest integer (accurate near poles)
        r = b.sub(X, b.roundeven(X))
        c = b.div(1.0, _trig(b, b.mul(r, W.pi[0]), W, "tan"))
        d = b.poly(c, _cot_derivative(m))
        acc = b.val(0.0, "double")
        refl_term = b.sel(refl, b.mul(d, -(W.pi[0] ** (m + 1))), 0.0)
    sign = 1.0 if m % 2 else -1.0
    fact = float(math.factorial(m))
    for _ in range(12 if m == 0 else _POLYGAMMA_STEPS):
        lt = b.cmp("olt", z, 12.0)
        zp = z
        for _ in range(m):
            zp = b.mul(zp, z)
        acc = b.add(acc, b.sel(lt, b.div(sign * fact, zp), 0.0))
        z = b.sel(lt, b.add(z, 1.0), z)
    zi = b.div(1.0, z)
    zi2 = b.mul(zi, zi)
    if m == 0:
        series = b.sub(_log(b, z, W), b.mul(zi, 0.5))     # z may be +inf
        zp = zi2
        for k, bk in enumerate(_BERNOULLI, 1):
            series = b.sub(series, b.mul(zp, bk / (2 * k)))
            zp = b.mul(zp, zi2)
    else:
        zim = zi
        for _ in range(m - 1):
            zim = b.mul(zim, zi)
        series = b.add(b.mul(zim, float(math.factorial(m - 1))),
                       b.mul(b.mul(zim, zi), 0.5 * fact))
        zp = b.mul(b.mul(zim, zi), zi)
        for k, bk in enumerate(_BERNOULLI, 1):
            coef = bk * math.factorial(2 * k + m - 1) / math.factorial(2 * k)
            series = b.add(series, b.mul(zp, coef))
            zp = b.mul(zp, zi2)
        series = b.mul(series, sign)
    v = b.add(acc, series)
    if m:
        v = b.add(b.sel(refl, v if m % 2 == 0 else b.neg(v), v), refl_term)
        v = _nan_if(b, b.cmp("olt", X, -9988.0), v)
    v = b.sel(b.cmp("oge", z, 12.0), v, float("nan"))
    pole = b.and1(b.cmp("ole", X, 0.0), b.cmp("oeq", b.call("floor", X), X))
    return _narrow(b, _nan_if(b, b.or1(pole, b.isnan(X)), v), P)


def _cot_derivative(m):
    """Coefficients (lowest first) of D_m with cot^(m)(y) = D_m(cot y): D_0 = c,
    D_(k+1) = -(1 + c^2) D_k'(c) (integers)."""
    d = [0, 1]
    for _ in range(m):
        deriv = [j * d[j] for j in range(1, len(d))] or [0]
        out = [0] * (len(deriv) + 2)
        for j, cj in enumerate(deriv):
            out[j] -= cj
            out[j + 2] -= cj
        d = out
    while len(d) > 1 and d[-1] == 0:
        d.pop()
    return tuple(float(v) for v in d)


_GENERATORS = {
    "exp": _exp, "expm1": _expm1, "log": _log, "log1p": _log1p, "tanh": _tanh,
    "logistic": _logistic, "sin": _sin, "cos": _cos, "tan": _tan, "asin": _asin,
    "acos": _acos, "atan": _atan, "atan2": _atan2, "sinh": _sinh, "cosh": _cosh,
    "asinh": _asinh, "acosh": _acosh, "atanh": _atanh, "erf": _erf, "pow": _pow,
    "erfc": _erfc, "lgamma": _lgamma, "digamma": lambda b, x, P: _polygamma(b, x, P, 0),
}
