"""The C++ helpers every generated CUDA module starts with (``PRELUDE``): the scalar
functions behind the lowering table (``lowering.py``), written once so that the same text
compiles as CUDA device code (``FL_FN`` is ``__device__ __forceinline__`` under
``__CUDACC__``, which NVRTC and nvcc define) and as host C++ (``static inline``, with
``<math.h>``), where tests check their numbers against numpy.

Why each helper exists (numpy's answers where C has none or differs):

* integer ``+ - * neg abs`` go through the unsigned type: numpy wraps, signed overflow is
  undefined in C++ and optimizers exploit it;
* integer division truncates (``lax.div``), gives 0 for a zero divisor, and ``MIN / -1``
  wraps to ``MIN`` (C traps or is undefined); ``MIN % -1`` is 0;
* shifts by a count at or past the width (or negative) give 0 (``>>`` of a negative
  signed value: -1), where C is undefined;
* float to integer casts follow x86 (what numpy does on the machines it is tested on):
  through a 32-bit (or 64-bit) signed integer, NaN and out-of-range values give that
  integer's minimum, then the bits are truncated. CUDA's ``cvt`` saturates instead;
* float16 values live in ``float`` registers and are rounded to half precision after
  every operation (``fl_rh``; a float32 ``+ - * / sqrt`` rounded again to half is the
  correctly rounded half result, as numpy computes it); in memory they are their bits
  (``unsigned short``), converted here with round-half-even, so no header is needed;
* ``maximum``/``minimum`` return x when x wins or is NaN, else y (numpy's loop); the
  reductions' max/min propagate NaN and order -0 below +0 (any reduction order gives one
  answer);
* erf, erfc, lgamma and polygamma of float32 compute in float64 and round once, as the
  reference does (``math.erf`` etc. on doubles); ``fl_polygamma`` follows the reference
  (``functorch_lite.primitives.elementwise._polygamma``) step for step: reflection of
  digamma below 1/2, the recurrence up to 12 (at most 10000 steps, else NaN), then the
  asymptotic series with B2..B20.

>>> "FL_FN" in PRELUDE and "fl_idiv" in PRELUDE
True
"""

from __future__ import annotations

# the libm functions with one float and one double overload each (float16 uses float)
MATH1 = ("exp", "log", "log1p", "expm1", "tanh", "sin", "cos", "tan", "asin", "acos",
         "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "sqrt", "floor", "ceil", "rint",
         "fabs")
# computed in double for float32 (the reference does), rounded once
MATH1_WIDE = ("erf", "erfc", "lgamma")

_MATH = "\n".join(
    [f"FL_FN float fl_{f}(float x) {{ return {f}f(x); }}\n"
     f"FL_FN double fl_{f}(double x) {{ return {f}(x); }}" for f in MATH1]
    + [f"FL_FN float fl_{f}(float x) {{ return (float){f}((double)x); }}\n"
       f"FL_FN double fl_{f}(double x) {{ return {f}(x); }}" for f in MATH1_WIDE]
    + ["FL_FN float fl_atan2(float y, float x) { return atan2f(y, x); }",
       "FL_FN double fl_atan2(double y, double x) { return atan2(y, x); }",
       "FL_FN float fl_pow(float x, float y) { return powf(x, y); }",
       "FL_FN double fl_pow(double x, double y) { return pow(x, y); }",
       "FL_FN float fl_fmod(float x, float y) { return fmodf(x, y); }",
       "FL_FN double fl_fmod(double x, double y) { return fmod(x, y); }"])

PRELUDE = r"""// functorch_lite cupy backend: scalar helpers (backends/cupy/prelude.py)
#ifdef __CUDACC__
#define FL_FN __device__ __forceinline__
#define FL_GLOBAL extern "C" __global__
FL_FN float fl_f32_of_bits(unsigned int u) { return __uint_as_float(u); }
FL_FN double fl_f64_of_bits(unsigned long long u) { return __longlong_as_double((long long)u); }
FL_FN unsigned long long fl_bits_of_f64(double x) {
  return (unsigned long long)__double_as_longlong(x); }
FL_FN unsigned int fl_bits_of_f32(float x) { return __float_as_uint(x); }
#else
#include <math.h>
#include <string.h>
#define FL_FN static inline
#define FL_GLOBAL extern "C"
FL_FN float fl_f32_of_bits(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }
FL_FN double fl_f64_of_bits(unsigned long long u) { double f; memcpy(&f, &u, 8); return f; }
FL_FN unsigned long long fl_bits_of_f64(double x) {
  unsigned long long u; memcpy(&u, &x, 8); return u; }
FL_FN unsigned int fl_bits_of_f32(float x) { unsigned int u; memcpy(&u, &x, 4); return u; }
#endif

// ---- integer traits: the unsigned type of the same width, the width, signedness
template <typename T> struct fl_int;
#define FL_INT(T, U, BITS, SIGNED) template <> struct fl_int<T> { \
  typedef U u; static const int bits = BITS; static const bool is_signed = SIGNED; };
FL_INT(bool, unsigned char, 8, false)
FL_INT(signed char, unsigned char, 8, true)
FL_INT(short, unsigned short, 16, true)
FL_INT(int, unsigned int, 32, true)
FL_INT(long long, unsigned long long, 64, true)
FL_INT(unsigned char, unsigned char, 8, false)
FL_INT(unsigned short, unsigned short, 16, false)
FL_INT(unsigned int, unsigned int, 32, false)
FL_INT(unsigned long long, unsigned long long, 64, false)

// any integer to integer type T modulo 2**bits (numpy's astype between integers)
template <typename T, typename S> FL_FN T fl_wrap(S x) {
  return (T)(typename fl_int<T>::u)(unsigned long long)x; }
template <typename T> FL_FN T fl_add(T x, T y) {
  return fl_wrap<T>((unsigned long long)x + (unsigned long long)y); }
template <typename T> FL_FN T fl_sub(T x, T y) {
  return fl_wrap<T>((unsigned long long)x - (unsigned long long)y); }
template <typename T> FL_FN T fl_mul(T x, T y) {
  return fl_wrap<T>((unsigned long long)x * (unsigned long long)y); }
template <typename T> FL_FN T fl_neg(T x) { return fl_wrap<T>(0ULL - (unsigned long long)x); }
template <typename T> FL_FN T fl_iabs(T x) { return x < (T)0 ? fl_neg(x) : x; }
template <typename T> FL_FN T fl_isign(T x) {
  return fl_int<T>::is_signed ? (T)((x > (T)0) - (x < (T)0)) : (T)(x != (T)0); }
template <typename T> FL_FN T fl_idiv(T x, T y) {
  if (y == (T)0) return (T)0;
  if (fl_int<T>::is_signed && y == (T)-1) return fl_neg(x);  // MIN / -1 wraps to MIN
  return (T)(x / y);
}
template <typename T> FL_FN T fl_irem(T x, T y) {
  if (y == (T)0 || (fl_int<T>::is_signed && y == (T)-1)) return (T)0;
  return (T)(x % y);
}
template <typename T> FL_FN bool fl_in_width(T y) {
  return (unsigned long long)(typename fl_int<T>::u)y < (unsigned long long)fl_int<T>::bits; }
template <typename T> FL_FN T fl_shl(T x, T y) {
  return fl_in_width(y) ? fl_wrap<T>((unsigned long long)(typename fl_int<T>::u)x
                                     << (int)(typename fl_int<T>::u)y) : (T)0; }
template <typename T> FL_FN T fl_shr(T x, T y) {  // logical: the bits as unsigned
  return fl_in_width(y) ? fl_wrap<T>((unsigned long long)(typename fl_int<T>::u)x
                                     >> (int)(typename fl_int<T>::u)y) : (T)0; }
template <typename T> FL_FN T fl_sar(T x, T y) {  // arithmetic: signed types keep the sign
  if (!fl_int<T>::is_signed) return fl_shr(x, y);
  long long v = (long long)x;
  return (T)(fl_in_width(y) ? v >> (int)(typename fl_int<T>::u)y : (v < 0 ? -1 : 0));
}
template <typename T> FL_FN T fl_ipow(T x, T e) {
  if (fl_int<T>::is_signed && e < (T)0) {
    // numpy refuses negative integer powers; compiled code cannot raise: the truncated
    // value (1 for x = 1, +-1 for x = -1, else 0), as the llvm backend gives
    if (x == (T)1) return (T)1;
    if (x == (T)-1) return ((long long)e & 1) ? (T)-1 : (T)1;
    return (T)0;
  }
  unsigned long long acc = 1, base = (unsigned long long)x;
  unsigned long long k = (unsigned long long)(typename fl_int<T>::u)e;
  while (k) { if (k & 1) acc *= base; base *= base; k >>= 1; }
  return fl_wrap<T>(acc);
}

// ---- floats
template <typename T> FL_FN T fl_fmax(T x, T y) { return (x > y || x != x) ? x : y; }
template <typename T> FL_FN T fl_fmin(T x, T y) { return (x < y || x != x) ? x : y; }
FL_FN float fl_hmax(float x, float y) { return (x >= y || x != x) ? x : y; }
FL_FN float fl_hmin(float x, float y) { return (x <= y || x != x) ? x : y; }
// reductions: NaN wins, -0 < +0, so the result does not depend on the order
template <typename T> FL_FN T fl_rmax(T a, T x) {
  if (a != a || x != x) return a + x;
  if (a == x) return (a == (T)0 && fl_bits_of_f64((double)a) >> 63) ? x : a;
  return a > x ? a : x;
}
template <typename T> FL_FN T fl_rmin(T a, T x) {
  if (a != a || x != x) return a + x;
  if (a == x) return (a == (T)0 && fl_bits_of_f64((double)a) >> 63) ? a : x;
  return a < x ? a : x;
}
template <typename T> FL_FN T fl_fsign(T x) {  // sign(-0) is +0, sign(nan) is nan
  return x > (T)0 ? (T)1 : (x < (T)0 ? (T)-1 : (x != x ? x : (T)0)); }
template <typename T> FL_FN bool fl_isfinite(T x) { return x - x == (T)0; }
""" + _MATH + r"""
template <typename T> FL_FN T fl_rsqrt(T x) { return (T)1 / fl_sqrt(x); }
// one exp of -|x| (never overflows): full relative precision in both tails
template <typename T> FL_FN T fl_logistic(T x) {
  T e = fl_exp(-fl_fabs(x)); T d = (T)1 + e; return x >= (T)0 ? (T)1 / d : e / d; }

// float (or double) to integer type D, as numpy's C casts on x86: through a 32-bit
// signed integer (64-bit for 64-bit and uint32 targets); NaN and out-of-range values
// give that integer's minimum, then the bits are truncated; uint64 takes [2**63, 2**64)
template <typename D, typename S> FL_FN D fl_f2i(S x) {
  if (fl_int<D>::bits == 64 || (fl_int<D>::bits == 32 && !fl_int<D>::is_signed)) {
    if (!fl_int<D>::is_signed && x >= (S)9223372036854775808.0 &&
        x < (S)18446744073709551616.0)
      return (D)(unsigned long long)x;
    long long v = (x >= (S)-9223372036854775808.0 && x < (S)9223372036854775808.0)
        ? (long long)x : (long long)(1ULL << 63);
    return fl_wrap<D>(v);
  }
  int v = (x >= (S)-2147483648.0 && x < (S)2147483648.0) ? (int)x : (int)(1U << 31);
  return fl_wrap<D>(v);
}

// ---- float16: bits <-> value, round half to even
FL_FN float fl_h2f(unsigned short h) {
  unsigned int e = (h >> 10) & 31u, m = h & 1023u;
  float v;
  if (e == 0) v = (float)m * 5.9604644775390625e-8f;  // m * 2**-24, exact
  else if (e == 31) v = fl_f32_of_bits(m ? 0x7fc00000u : 0x7f800000u);
  else v = fl_f32_of_bits(((e + 112u) << 23) | (m << 13));
  return (h & 0x8000u) ? -v : v;
}
FL_FN unsigned short fl_f2h(double x) {
  unsigned long long b = fl_bits_of_f64(x);
  unsigned int sign = (unsigned int)(b >> 48) & 0x8000u;
  unsigned long long a = b & 0x7fffffffffffffffULL;
  if (a > 0x7ff0000000000000ULL) return (unsigned short)(sign | 0x7e00u);
  int e = (int)(a >> 52) - 1023;
  if (e >= 16) return (unsigned short)(sign | 0x7c00u);
  if (e < -25) return (unsigned short)sign;
  unsigned long long m = (a & 0xfffffffffffffULL) | (1ULL << 52);
  int shift = e >= -14 ? 42 : 42 + (-14 - e);
  unsigned long long q = m >> shift, r = m & ((1ULL << shift) - 1), half = 1ULL << (shift - 1);
  if (r > half || (r == half && (q & 1))) q++;
  // a carry out of the mantissa (q = 2048) steps the exponent, up to inf: still right
  if (e >= -14)
    return (unsigned short)(sign | (((unsigned int)(e + 15) << 10) + (unsigned int)q - 1024u));
  return (unsigned short)(sign | (unsigned int)q);
}
FL_FN float fl_rh(double x) { return fl_h2f(fl_f2h(x)); }
FL_FN float fl_logistic_h(float x) {
  float e = fl_rh(expf(-fabsf(x))), d = fl_rh(1.0f + e);
  return fl_rh(x >= 0.0f ? 1.0f / d : e / d);
}

// ---- psi^(m)(x) in double, as the reference computes it
FL_FN double fl_polygamma(double x, int m) {
  const double B[10] = {1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730,
                        7.0 / 6, -3617.0 / 510, 43867.0 / 798, -174611.0 / 330};
  const double pi = 3.141592653589793;
  if (x != x || (x <= 0.0 && floor(x) == x)) return fl_f64_of_bits(0x7ff8000000000000ULL);
  double acc = 0.0, z = x, sign = (m & 1) ? 1.0 : -1.0, fact = 1.0;
  for (int i = 2; i <= m; ++i) fact *= i;
  if (m == 0 && z < 0.5) { acc = -pi / tan(pi * z); z = 1.0 - z; }
  for (int s = 0; s < 10000 && z < 12.0; ++s) {
    acc = acc + sign * fact / pow(z, (double)(m + 1));
    z = z + 1.0;
  }
  if (!(z >= 12.0)) return fl_f64_of_bits(0x7ff8000000000000ULL);
  double zi = 1.0 / z, zi2 = zi * zi, series, zp;
  if (m == 0) {
    series = log(z) - 0.5 * zi;
    zp = zi2;
    for (int k = 1; k <= 10; ++k) { series = series - B[k - 1] / (2 * k) * zp; zp = zp * zi2; }
  } else {
    double fm1 = fact / m;  // (m - 1)!
    series = fm1 * pow(zi, (double)m) + 0.5 * fact * pow(zi, (double)(m + 1));
    zp = pow(zi, (double)(m + 2));
    for (int k = 1; k <= 10; ++k) {
      double num = 1.0, den = 1.0;
      for (int i = 2; i <= 2 * k + m - 1; ++i) num *= i;
      for (int i = 2; i <= 2 * k; ++i) den *= i;
      series = series + B[k - 1] * num / den * zp;
      zp = zp * zi2;
    }
    series = sign * series;
  }
  return acc + series;
}
"""
