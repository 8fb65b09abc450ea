"""Elementwise operations: arithmetic (with ``out=``), math functions, comparisons, logical
and bitwise ops, ``where``, ``clamp``, ``lerp``, ``addcmul``/``addcdiv``, dtype conversion
and ``clone``.

Each is an ``Op`` over a ``functorch_lite.numpy`` function, so values and gradients are the
core's. Promotion follows PyTorch: Python scalars do not widen a tensor's dtype, integer
tensors never widen float ones, and a 0-d tensor does not widen a dimensioned tensor of the
same kind (``float32 vector + float64 scalar tensor -> float32``).

>>> x = compat.tensor([1.0, 4.0])
>>> compat.sqrt(x), x.pow(2), x > 2
(tensor([1., 2.]), tensor([ 1., 16.]), tensor([False,  True]))
"""

from __future__ import annotations

import math

import numpy as np
from numpy import ndarray

import functorch_lite as fl
import functorch_lite.numpy as fnp

from .. import dtypes
from ..grad_mode import STATE
from ..tensor import Tensor, own, wrap
from .dispatch import Op
from .inplace import write_out

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}

# PyTorch's constants (torch.pi...)
pi, e, inf, nan = math.pi, math.e, math.inf, math.nan


def scalar_or(x):
    """A numpy scalar as the Python scalar PyTorch takes it for (weakly typed)."""
    return x.item() if isinstance(x, np.generic) else x


def to_operand(x):
    """Tensors pass; numpy scalars become Python scalars; numpy arrays become tensors."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return wrap(x)
    return x


def align_zero_dim(a, b):
    """PyTorch's rule that a 0-d tensor does not widen a dimensioned tensor whose kind is at
    least its own: the 0-d operand is converted to the other's dtype."""
    if type(a) is not Tensor and not isinstance(a, Tensor) or not isinstance(b, Tensor):
        return a, b
    da, db = a.array.dtype, b.array.dtype
    if da == db:
        return a, b
    za, zb = a.array.ndim == 0, b.array.ndim == 0
    if za and not zb and _KIND_RANK[da.kind] <= _KIND_RANK[db.kind]:
        return to_dtype(a, db), b
    if zb and not za and _KIND_RANK[db.kind] <= _KIND_RANK[da.kind]:
        return a, to_dtype(b, da)
    return a, b


def binary(op: Op, name: str, doc: str, prim=None):
    """A PyTorch binary function ``f(input, other, *, out=None)`` running ``op``.

    Two plain tensors over same-dtype numpy arrays take a short path (W6, the cost of one
    small eager op): ``op.fn`` is called on the arrays directly, or -- for same shapes --
    its primitive ``prim`` (what ``op.fn`` itself calls when there is nothing to promote or
    broadcast), and a node is recorded only when needed; everything else goes through
    ``Op``. Gradients always come from ``op.fn``."""
    fn = op.fn

    def f(input, other, *, out: Tensor | None = None):
        if type(input) is Tensor and type(other) is Tensor and out is None:
            a, b = input.array, other.array
            if type(a) is ndarray and type(b) is ndarray and (a.dtype is b.dtype
                                                               or a.dtype == b.dtype):
                try:
                    r = prim(a, b) if prim is not None and a.shape == b.shape else fn(a, b)
                except ValueError:
                    return op(input, other)  # raises PyTorch's RuntimeError
                if type(r) is not ndarray:  # the core's read-only Array: its kernel output
                    rb = r.base
                    r = rb if type(rb) is ndarray and rb.flags.writeable else own(r)
                t = wrap(r)
                if STATE.enabled and (input.grad_fn is not None or input.leaf_requires_grad
                                      or other.grad_fn is not None
                                      or other.leaf_requires_grad) and r.dtype.kind in "fc":
                    t.grad_fn = op.record_binary(input, other, a, b)
                return t
        a, b = align_zero_dim(to_operand(input), to_operand(other))
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            a = wrap(np.asarray(fnp.asarray(a)))
        res = op(a, b)
        return res if out is None else write_out(out, res, name)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


def unary(op: Op, name: str, doc: str):
    """A PyTorch unary function ``f(input, *, out=None)`` running ``op``."""

    def f(input, *, out: Tensor | None = None):
        res = op(input if isinstance(input, Tensor) else wrap(np.asarray(fnp.asarray(input))))
        return res if out is None else write_out(out, res, name)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


def as_float(x):
    """``x`` converted to the default float dtype unless it is already floating."""
    return x if fnp.asarray(x).dtype.kind in "fc" else fnp.astype(x, dtypes.default_float_numpy())


# --------------------------------------------------------------------------- arithmetic

add_op = Op(fnp.add, "Add")
sub_op = Op(fnp.subtract, "Sub")
mul_op = Op(fnp.multiply, "Mul")
div_op = Op(fnp.divide, "Div")

add_tensors = binary(add_op, "add", """``input + other`` (the ``+`` operator).

    >>> compat.add(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([3.0000, 2.5000])
    """)
sub_tensors = binary(sub_op, "sub", """``input - other`` (the ``-`` operator).

    >>> compat.sub(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([-1.0000,  1.5000])
    """)


def scaled_add_fn(x, y, alpha):
    return fnp.add(x, fnp.multiply(y, alpha))


def scaled_sub_fn(x, y, alpha):
    return fnp.subtract(x, fnp.multiply(y, alpha))


scaled_add_op = Op(scaled_add_fn, "Add")
scaled_sub_op = Op(scaled_sub_fn, "Sub")


def add(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """``input + alpha * other``, broadcasting.

    .. math:: \\text{out}_i = \\text{input}_i + \\text{alpha} \\times \\text{other}_i

    Args:
        input: a tensor (or number).
        other: a tensor or number.
        alpha: multiplier for ``other``.
        out: tensor to write the result to.

    >>> compat.add(compat.tensor([1.0, 2.0]), 10, alpha=2)
    tensor([21., 22.])
    """
    if alpha == 1:
        return add_tensors(input, other, out=out)
    a, b = align_zero_dim(to_operand(input), to_operand(other))
    res = scaled_add_op(a, b, alpha=scalar_or(alpha))
    return res if out is None else write_out(out, res, "add")


def sub(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """``input - alpha * other``, broadcasting.

    >>> compat.sub(compat.tensor([5, 6]), 1)
    tensor([4, 5])
    """
    if alpha == 1:
        return sub_tensors(input, other, out=out)
    a, b = align_zero_dim(to_operand(input), to_operand(other))
    res = scaled_sub_op(a, b, alpha=scalar_or(alpha))
    return res if out is None else write_out(out, res, "sub")


subtract = sub

mul = multiply = binary(mul_op, "mul", """``input * other``, broadcasting.

    >>> compat.mul(compat.tensor([1, 2]), 3)
    tensor([3, 6])
    """, fl.lax.mul)

_true_div = binary(div_op, "div", """

    >>> compat.div(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([0.5000, 4.0000])
    """)


def trunc_div_fn(x, y):
    if fnp.asarray(x).dtype.kind in "fc" or fnp.asarray(y).dtype.kind in "fc":
        return fnp.trunc(fnp.divide(x, y))
    # integers: floor division, moved one toward zero where inexact with mixed signs
    q = fnp.floor_divide(x, y)
    fix = fnp.logical_and(fnp.not_equal(fnp.remainder(x, y), 0),
                          fnp.not_equal(fnp.less(x, 0), fnp.less(y, 0)))
    return fnp.where(fix, fnp.add(q, 1), q)


trunc_div_op = Op(trunc_div_fn, "Div")
floor_div_op = Op(fnp.floor_divide, "Div")


def div(input, other, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """``input / other``: true division (integers give floats), or rounded with
    ``rounding_mode="trunc"`` (toward zero) or ``"floor"``.

    >>> compat.div(compat.tensor([7, -7]), 2), compat.div(compat.tensor([7, -7]), 2,
    ...                                                     rounding_mode="floor")
    (tensor([ 3.5000, -3.5000]), tensor([ 3, -4]))
    """
    if rounding_mode is None:
        return _true_div(input, other, out=out)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                           f"'floor' but found '{rounding_mode}'")
    a, b = align_zero_dim(to_operand(input), to_operand(other))
    res = (trunc_div_op if rounding_mode == "trunc" else floor_div_op)(a, b)
    return res if out is None else write_out(out, res, "div")


divide = true_divide = div
floor_divide = binary(floor_div_op, "floor_divide", """``floor(input / other)``.

    >>> compat.floor_divide(compat.tensor([7, -7]), 2)
    tensor([ 3, -4])
    """)
remainder = binary(Op(fnp.remainder, "Remainder"), "remainder",
                   """Python's modulo (the result has the sign of ``other``).

    >>> compat.remainder(compat.tensor([-3, 3]), 2)
    tensor([1, 1])
    """)
fmod = binary(Op(fnp.fmod, "Fmod"), "fmod", """C's ``fmod`` (the sign of ``input``).

    >>> compat.fmod(compat.tensor([-3, 3]), 2)
    tensor([-1,  1])
    """)


def pow_fn(x, y):
    return fnp.power(x, y)


def pow_scalar_fn(x, exponent):
    return fnp.power(x, exponent)


pow_op = Op(pow_fn, "Pow")
pow_tensors = binary(pow_op, "pow", "``input ** exponent`` for tensor exponents.")
# a number exponent is a static parameter: ``x ** 2`` stages as a product in both passes
# (the core's integer-power rule) instead of a general power of a traced exponent
pow_scalar_op = Op(pow_scalar_fn, "Pow")


def pow(input, exponent, *, out: Tensor | None = None) -> Tensor:  # noqa: A001
    """``input ** exponent`` elementwise (either may be a number).

    .. math:: \\text{out}_i = x_i ^ {\\text{exponent}_i}

    >>> compat.pow(compat.tensor([2.0, 3.0]), 2)
    tensor([4., 9.])
    """
    exponent = scalar_or(exponent)
    if isinstance(input, Tensor) and isinstance(exponent, (int, float)) and \
            not isinstance(exponent, bool):
        res = pow_scalar_op(input, exponent=exponent)
        return res if out is None else write_out(out, res, "pow")
    return pow_tensors(input, exponent, out=out)


def float_power_fn(x, y):
    return fnp.power(fnp.astype(x, np.float64), fnp.astype(y, np.float64))


float_power = binary(Op(float_power_fn, "FloatPower"), "float_power",
                     """``input ** exponent`` computed in float64.

    >>> compat.float_power(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([1.0000, 1.4142], dtype=torch.float64)
    """)
atan2 = arctan2 = binary(Op(fnp.arctan2, "Atan2"), "atan2",
                         """The angle of the point ``(other, input)``, in ``[-pi, pi]``.

    >>> compat.atan2(compat.tensor([1.0]), compat.tensor([1.0]))
    tensor([0.7854])
    """)
maximum = binary(Op(fnp.maximum, "Maximum"), "maximum", """Elementwise maximum.

    >>> compat.maximum(compat.tensor([1, 5]), compat.tensor([3, 2]))
    tensor([3, 5])
    """)
minimum = binary(Op(fnp.minimum, "Minimum"), "minimum", """Elementwise minimum.

    >>> compat.minimum(compat.tensor([1, 5]), compat.tensor([3, 2]))
    tensor([1, 2])
    """)


def fmax_fn(x, y):
    return fnp.where(fnp.isnan(y), x, fnp.where(fnp.isnan(x), y, fnp.maximum(x, y)))


def fmin_fn(x, y):
    return fnp.where(fnp.isnan(y), x, fnp.where(fnp.isnan(x), y, fnp.minimum(x, y)))


fmax = binary(Op(fmax_fn, "Fmax"), "fmax", """Elementwise maximum ignoring NaN.

    >>> compat.fmax(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([2., 2.])
    """)
fmin = binary(Op(fmin_fn, "Fmin"), "fmin", """Elementwise minimum ignoring NaN.

    >>> compat.fmin(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([1.0000, 0.5000])
    """)
hypot = binary(Op(fnp.hypot, "Hypot"), "hypot", """``sqrt(input**2 + other**2)``.

    >>> compat.hypot(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([2.2361, 2.0616])
    """)
logaddexp = binary(Op(fnp.logaddexp, "Logaddexp"), "logaddexp",
                   """``log(exp(input) + exp(other))``, computed stably.

    >>> compat.logaddexp(compat.tensor([0.0]), compat.tensor([0.0]))
    tensor([0.6931])
    """)


def xlogy_fn(x, y):
    x, y = fnp.broadcast_arrays(as_float(x), as_float(y))
    safe = fnp.where(fnp.equal(x, 0), fnp.ones_like(y), y)
    return fnp.where(fnp.equal(x, 0), fnp.zeros_like(x), fnp.multiply(x, fnp.log(safe)))


xlogy = binary(Op(xlogy_fn, "Xlogy"), "xlogy", """``input * log(other)``, 0 where ``input``
    is 0.

    >>> compat.xlogy(compat.tensor([0.0, 2.0]), compat.tensor([0.0, 1.0]))
    tensor([0., 0.])
    """)


def copysign_fn(x, y):
    x = as_float(x)
    neg = fnp.logical_or(fnp.less(y, 0), fnp.logical_and(fnp.equal(y, 0),
                                                         fnp.less(fnp.divide(1.0, y), 0)))
    return fnp.where(neg, fnp.negative(fnp.abs(x)), fnp.abs(x))


copysign = binary(Op(copysign_fn, "Copysign"), "copysign",
                  """``|input|`` with the sign of ``other``.

    >>> compat.copysign(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([1., 2.])
    """)

# --------------------------------------------------------------------------- comparisons

eq = binary(Op(fnp.equal, "Eq"), "eq", """``input == other`` elementwise (bool tensor).

    >>> compat.eq(compat.tensor([1, 2]), 2)
    tensor([False,  True])
    """)
ne = not_equal = binary(Op(fnp.not_equal, "Ne"), "ne", """``input != other`` elementwise.

    >>> compat.ne(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([True, True])
    """)
lt = less = binary(Op(fnp.less, "Lt"), "lt", """``input < other`` elementwise.

    >>> compat.lt(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([ True, False])
    """)
le = less_equal = binary(Op(fnp.less_equal, "Le"), "le", """``input <= other`` elementwise.

    >>> compat.le(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([ True, False])
    """)
gt = greater = binary(Op(fnp.greater, "Gt"), "gt", """``input > other`` elementwise.

    >>> compat.gt(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([False,  True])
    """)
ge = greater_equal = binary(Op(fnp.greater_equal, "Ge"), "ge", """``input >= other`` elementwise.

    >>> compat.ge(compat.tensor([1.0, 2.0]), compat.tensor([2.0, 0.5]))
    tensor([False,  True])
    """)
logical_and = binary(Op(fnp.logical_and, "LogicalAnd"), "logical_and",
                     """Elementwise logical and (nonzero is true).

    >>> compat.logical_and(compat.tensor([True, False]), compat.tensor([True, True]))
    tensor([ True, False])
    """)
logical_or = binary(Op(fnp.logical_or, "LogicalOr"), "logical_or",
                    """Elementwise logical or (nonzero is true).

    >>> compat.logical_or(compat.tensor([True, False]), compat.tensor([True, True]))
    tensor([True, True])
    """)
logical_xor = binary(Op(fnp.logical_xor, "LogicalXor"), "logical_xor",
                     """Elementwise logical exclusive or (nonzero is true).

    >>> compat.logical_xor(compat.tensor([True, False]), compat.tensor([True, True]))
    tensor([False,  True])
    """)
bitwise_and = binary(Op(fnp.bitwise_and, "BitwiseAnd"), "bitwise_and",
                     """Elementwise bitwise (logical for bool) and.

    >>> compat.bitwise_and(compat.tensor([True, False]), compat.tensor([True, True]))
    tensor([ True, False])
    """)
bitwise_or = binary(Op(fnp.bitwise_or, "BitwiseOr"), "bitwise_or",
                    """Elementwise bitwise (logical for bool) or.

    >>> compat.bitwise_or(compat.tensor([True, False]), compat.tensor([True, True]))
    tensor([True, True])
    """)
bitwise_xor = binary(Op(fnp.bitwise_xor, "BitwiseXor"), "bitwise_xor",
                     """Elementwise bitwise (logical for bool) exclusive or.

    >>> compat.bitwise_xor(compat.tensor([True, False]), compat.tensor([True, True]))
    tensor([False,  True])
    """)
bitwise_left_shift = binary(Op(fnp.left_shift, "LeftShift"), "bitwise_left_shift",
                            """``input << other``.

    >>> compat.bitwise_left_shift(compat.tensor([4, -4]), 1)
    tensor([ 8, -8])
    """)
bitwise_right_shift = binary(Op(fnp.right_shift, "RightShift"), "bitwise_right_shift",
                             """``input >> other`` (arithmetic).

    >>> compat.bitwise_right_shift(compat.tensor([4, -4]), 1)
    tensor([ 2, -2])
    """)


def isclose_fn(x, y, rtol, atol, equal_nan):
    x, y = fnp.broadcast_arrays(x, y)
    close = fnp.less_equal(fnp.abs(fnp.subtract(x, y)),
                           fnp.add(atol, fnp.multiply(rtol, fnp.abs(y))))
    close = fnp.logical_or(close, fnp.equal(x, y))  # infinities of the same sign
    if equal_nan:
        close = fnp.logical_or(close, fnp.logical_and(fnp.isnan(x), fnp.isnan(y)))
    return close


isclose_op = Op(isclose_fn, "Isclose")


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise.

    >>> compat.isclose(compat.tensor([1.0, 2.0]), compat.tensor([1.0, 2.1]))
    tensor([ True, False])
    """
    return isclose_op(to_operand(input), to_operand(other), rtol=float(rtol), atol=float(atol),
                      equal_nan=bool(equal_nan))


def allclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True if ``isclose`` holds everywhere.

    >>> compat.allclose(compat.tensor([1.0]), compat.tensor([1.0 + 1e-7]))
    True
    """
    return bool(np.all(np.asarray(isclose(input, other, rtol, atol, equal_nan).array)))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements.

    >>> compat.equal(compat.tensor([1, 2]), compat.tensor([1, 2]))
    True
    """
    a, b = np.asarray(input.array), np.asarray(other.array)
    return a.shape == b.shape and bool(np.all(a == b))


# --------------------------------------------------------------------------- unary math


def _unary(fn, node, name, doc):
    return unary(Op(fn, node), name, doc)


def erf_fn(x):
    return fl.lax.erf(as_float(x))


def erfc_fn(x):
    return fnp.subtract(1.0, fl.lax.erf(as_float(x)))


def rsqrt_fn(x):
    return fl.lax.rsqrt(as_float(x))


def sigmoid_fn(x):
    return fl.nn.sigmoid(as_float(x))


def logit_fn(x, eps):
    x = as_float(x)
    if eps is not None:
        x = fnp.clip(x, eps, 1 - eps)
    return fnp.log(fnp.divide(x, fnp.subtract(1.0, x)))


def frac_fn(x):
    return fnp.subtract(x, fnp.trunc(x))


def relu_fn(x):
    return fl.nn.relu(x)


def sinc_fn(x):
    x = as_float(x)
    px = fnp.multiply(x, np.pi)
    safe = fnp.where(fnp.equal(x, 0), fnp.ones_like(px), px)
    return fnp.where(fnp.equal(x, 0), fnp.ones_like(px), fnp.divide(fnp.sin(safe), safe))


def sgn_fn(x):
    return fnp.sign(x)


abs = absolute = _unary(fnp.abs, "Abs", "abs", """``|input|`` elementwise.

    >>> compat.abs(compat.tensor([-1, 2]))
    tensor([1, 2])
    """)  # noqa: A001 - PyTorch's name
neg = negative = _unary(fnp.negative, "Neg", "neg", """``-input`` elementwise.

    >>> compat.neg(compat.tensor([1.0]))
    tensor([-1.])
    """)
positive = _unary(fnp.positive, "Positive", "positive", """``+input`` (the input itself).

    >>> compat.positive(compat.tensor([0.5, 2.0]))
    tensor([0.5000, 2.0000])
    """)
sign = _unary(fnp.sign, "Sign", "sign", """-1, 0 or 1 by the sign of each element.

    >>> compat.sign(compat.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """)
sgn = _unary(sgn_fn, "Sgn", "sgn", """The sign (``sign`` for real tensors).

    >>> compat.sgn(compat.tensor([0.5, 2.0]))
    tensor([1., 1.])
    """)
exp = _unary(fnp.exp, "Exp", "exp", """``e ** input`` elementwise.

    >>> compat.exp(compat.tensor([0.0, 1.0]))
    tensor([1.0000, 2.7183])
    """)
exp2 = _unary(fnp.exp2, "Exp2", "exp2", """``2 ** input`` elementwise.

    >>> compat.exp2(compat.tensor([0.5, 2.0]))
    tensor([1.4142, 4.0000])
    """)
expm1 = _unary(fnp.expm1, "Expm1", "expm1", """``exp(input) - 1``, accurate near 0.

    >>> compat.expm1(compat.tensor([0.5, 2.0]))
    tensor([0.6487, 6.3891])
    """)
log = _unary(fnp.log, "Log", "log", """Natural logarithm elementwise.

    >>> compat.log(compat.tensor([1.0]))
    tensor([0.])
    """)
log2 = _unary(fnp.log2, "Log2", "log2", """Base-2 logarithm elementwise.

    >>> compat.log2(compat.tensor([0.5, 2.0]))
    tensor([-1.,  1.])
    """)
log10 = _unary(fnp.log10, "Log10", "log10", """Base-10 logarithm elementwise.

    >>> compat.log10(compat.tensor([0.5, 2.0]))
    tensor([-0.3010,  0.3010])
    """)
log1p = _unary(fnp.log1p, "Log1p", "log1p", """``log(1 + input)``, accurate near 0.

    >>> compat.log1p(compat.tensor([0.5, 2.0]))
    tensor([0.4055, 1.0986])
    """)
sqrt = _unary(fnp.sqrt, "Sqrt", "sqrt", """Square root elementwise.

    >>> compat.sqrt(compat.tensor([4.0]))
    tensor([2.])
    """)
rsqrt = _unary(rsqrt_fn, "Rsqrt", "rsqrt", """``1 / sqrt(input)`` elementwise.

    >>> compat.rsqrt(compat.tensor([0.5, 2.0]))
    tensor([1.4142, 0.7071])
    """)
square = _unary(fnp.square, "Square", "square", """``input * input`` elementwise.

    >>> compat.square(compat.tensor([0.5, 2.0]))
    tensor([0.2500, 4.0000])
    """)
sin = _unary(fnp.sin, "Sin", "sin", """Sine elementwise (radians).

    >>> compat.sin(compat.tensor([0.5, 2.0]))
    tensor([0.4794, 0.9093])
    """)
cos = _unary(fnp.cos, "Cos", "cos", """Cosine elementwise (radians).

    >>> compat.cos(compat.tensor([0.5, 2.0]))
    tensor([ 0.8776, -0.4161])
    """)
tan = _unary(fnp.tan, "Tan", "tan", """Tangent elementwise (radians).

    >>> compat.tan(compat.tensor([0.5, 2.0]))
    tensor([ 0.5463, -2.1850])
    """)
asin = arcsin = _unary(fnp.arcsin, "Asin", "asin", """Inverse sine elementwise.

    >>> compat.asin(compat.tensor([0.5, 2.0]))
    tensor([0.5236,    nan])
    """)
acos = arccos = _unary(fnp.arccos, "Acos", "acos", """Inverse cosine elementwise.

    >>> compat.acos(compat.tensor([0.5, 2.0]))
    tensor([1.0472,    nan])
    """)
atan = arctan = _unary(fnp.arctan, "Atan", "atan", """Inverse tangent elementwise.

    >>> compat.atan(compat.tensor([0.5, 2.0]))
    tensor([0.4636, 1.1071])
    """)
sinh = _unary(fnp.sinh, "Sinh", "sinh", """Hyperbolic sine elementwise.

    >>> compat.sinh(compat.tensor([0.5, 2.0]))
    tensor([0.5211, 3.6269])
    """)
cosh = _unary(fnp.cosh, "Cosh", "cosh", """Hyperbolic cosine elementwise.

    >>> compat.cosh(compat.tensor([0.5, 2.0]))
    tensor([1.1276, 3.7622])
    """)
tanh = _unary(fnp.tanh, "Tanh", "tanh", """Hyperbolic tangent elementwise.

    >>> compat.tanh(compat.tensor([0.0]))
    tensor([0.])
    """)
asinh = arcsinh = _unary(fnp.arcsinh, "Asinh", "asinh", """Inverse hyperbolic sine.

    >>> compat.asinh(compat.tensor([0.5, 2.0]))
    tensor([0.4812, 1.4436])
    """)
acosh = arccosh = _unary(fnp.arccosh, "Acosh", "acosh", """Inverse hyperbolic cosine.

    >>> compat.acosh(compat.tensor([0.5, 2.0]))
    tensor([   nan, 1.3170])
    """)
atanh = arctanh = _unary(fnp.arctanh, "Atanh", "atanh", """Inverse hyperbolic tangent.

    >>> compat.atanh(compat.tensor([0.5, 2.0]))
    tensor([0.5493,    nan])
    """)
sigmoid = _unary(sigmoid_fn, "Sigmoid", "sigmoid", """``1 / (1 + exp(-input))``.

    >>> compat.sigmoid(compat.tensor([0.0]))
    tensor([0.5000])
    """)
relu = _unary(relu_fn, "Relu", "relu", """``max(input, 0)`` elementwise.

    >>> compat.relu(compat.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """)
erf = _unary(erf_fn, "Erf", "erf", """The error function elementwise.

    >>> compat.erf(compat.tensor([0.0]))
    tensor([0.])
    """)
erfc = _unary(erfc_fn, "Erfc", "erfc", """``1 - erf(input)``.

    >>> compat.erfc(compat.tensor([0.5, 2.0]))
    tensor([0.4795, 0.0047])
    """)
floor = _unary(fnp.floor, "Floor", "floor", """Largest integer not above each element.

    >>> compat.floor(compat.tensor([0.5, 2.0]))
    tensor([0., 2.])
    """)
ceil = _unary(fnp.ceil, "Ceil", "ceil", """Smallest integer not below each element.

    >>> compat.ceil(compat.tensor([0.5, 2.0]))
    tensor([1., 2.])
    """)
trunc = fix = _unary(fnp.trunc, "Trunc", "trunc", """Each element rounded toward zero.

    >>> compat.trunc(compat.tensor([0.5, 2.0]))
    tensor([0., 2.])
    """)
frac = _unary(frac_fn, "Frac", "frac", """``input - trunc(input)``.

    >>> compat.frac(compat.tensor([0.5, 2.0]))
    tensor([0.5000, 0.0000])
    """)
reciprocal = _unary(fnp.reciprocal, "Reciprocal", "reciprocal", """``1 / input``.

    >>> compat.reciprocal(compat.tensor([0.5, 2.0]))
    tensor([2.0000, 0.5000])
    """)
sinc = _unary(sinc_fn, "Sinc", "sinc", """``sin(pi x) / (pi x)`` (1 at 0).

    >>> compat.sinc(compat.tensor([0.5, 2.0]))
    tensor([6.3662e-01, 2.7828e-08])
    """)
deg2rad = _unary(fnp.deg2rad, "Deg2rad", "deg2rad", """Degrees to radians.

    >>> compat.deg2rad(compat.tensor([0.5, 2.0]))
    tensor([0.0087, 0.0349])
    """)
rad2deg = _unary(fnp.rad2deg, "Rad2deg", "rad2deg", """Radians to degrees.

    >>> compat.rad2deg(compat.tensor([0.5, 2.0]))
    tensor([ 28.6479, 114.5916])
    """)
isnan = _unary(fnp.isnan, "Isnan", "isnan", """True where the element is NaN.

    >>> compat.isnan(compat.tensor([0.5, 2.0]))
    tensor([False, False])
    """)
isinf = _unary(fnp.isinf, "Isinf", "isinf", """True where the element is infinite.

    >>> compat.isinf(compat.tensor([0.5, 2.0]))
    tensor([False, False])
    """)
isfinite = _unary(fnp.isfinite, "Isfinite", "isfinite", """True where the element is finite.

    >>> compat.isfinite(compat.tensor([0.5, 2.0]))
    tensor([True, True])
    """)
logical_not = _unary(fnp.logical_not, "LogicalNot", "logical_not", """Elementwise not.

    >>> compat.logical_not(compat.tensor([True, False]))
    tensor([False,  True])
    """)
bitwise_not = _unary(fnp.bitwise_not, "BitwiseNot", "bitwise_not",
                     """Elementwise bitwise (logical for bool) not.

    >>> compat.bitwise_not(compat.tensor([True, False]))
    tensor([False,  True])
    """)


def isposinf(input: Tensor) -> Tensor:
    """True where the element is +inf.

    >>> compat.isposinf(compat.tensor([float('inf'), 1.0]))
    tensor([ True, False])
    """
    return eq(input, float("inf"))


def isneginf(input: Tensor) -> Tensor:
    """True where the element is -inf.

    >>> compat.isneginf(compat.tensor([float('-inf'), 1.0]))
    tensor([ True, False])
    """
    return eq(input, float("-inf"))


def round_fn(x, decimals):
    return fnp.round(x, decimals)


round_op = Op(round_fn, "Round")


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:  # noqa: A001
    """Round to ``decimals`` decimal places, half to even (as PyTorch).

    >>> compat.round(compat.tensor([0.5, 1.5, 1.26]), decimals=0)
    tensor([0., 2., 1.])
    """
    res = round_op(input, decimals=int(decimals))
    return res if out is None else write_out(out, res, "round")


logit_op = Op(logit_fn, "Logit")


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given.

    >>> compat.logit(compat.tensor([0.5]))
    tensor([0.])
    """
    return logit_op(input, eps=None if eps is None else float(eps))


def nan_to_num_fn(x, nan, posinf, neginf):
    return fnp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


nan_to_num_op = Op(nan_to_num_fn, "NanToNum")


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN replaced by ``nan``, infinities by ``posinf``/``neginf`` (default: the dtype's
    largest/smallest finite values).

    >>> compat.nan_to_num(compat.tensor([float("nan"), 1.0]))
    tensor([0., 1.])
    """
    return nan_to_num_op(input, nan=float(nan), posinf=posinf, neginf=neginf)


# --------------------------------------------------------------------------- selection


def where_fn(cond, x, y):
    return fnp.where(cond, x, y)


where_op = Op(where_fn, "Where")


def where(condition: Tensor, input=None, other=None) -> Tensor | tuple:
    """``input`` where ``condition`` holds, else ``other`` (broadcasting); with only
    ``condition``, the indices of its nonzero elements (``nonzero(as_tuple=True)``).

    >>> compat.where(compat.tensor([True, False]), compat.tensor([1, 2]), 0)
    tensor([1, 0])
    """
    if input is None and other is None:
        return tuple(wrap(np.ascontiguousarray(i)) for i in
                     np.nonzero(np.asarray(condition.array)))
    a, b = align_zero_dim(to_operand(input), to_operand(other))
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = wrap(np.asarray(fnp.asarray(a)))
    return where_op(condition, a, b)


def clamp_fn(x, lo, hi):
    if lo is not None:
        x = fnp.maximum(x, lo)
    if hi is not None:
        x = fnp.minimum(x, hi)
    return x


clamp_op = Op(clamp_fn, "Clamp")


def clamp(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """Each element limited to ``[min, max]`` (numbers or tensors; either may be None).

    .. math:: y_i = \\min(\\max(x_i, \\text{min}_i), \\text{max}_i)

    >>> compat.clamp(compat.tensor([-2.0, 0.5, 3.0]), min=-1, max=1)
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    res = clamp_op(input, to_operand(min), to_operand(max))
    return res if out is None else write_out(out, res, "clamp")


clip = clamp


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    """``clamp(input, min=min)``.

    >>> compat.clamp_min(compat.tensor([1.0, 5.0]), 2)
    tensor([2., 5.])
    """
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """``clamp(input, max=max)``.

    >>> compat.clamp_max(compat.tensor([1.0, 5.0]), 2)
    tensor([1., 2.])
    """
    return clamp(input, max=max)


def lerp_fn(start, end, weight):
    return fnp.add(start, fnp.multiply(weight, fnp.subtract(end, start)))


lerp_op = Op(lerp_fn, "Lerp")


def lerp(input: Tensor, end, weight) -> Tensor:
    """``input + weight * (end - input)``.

    >>> compat.lerp(compat.tensor([0.0]), compat.tensor([10.0]), 0.3)
    tensor([3.])
    """
    return lerp_op(input, to_operand(end), to_operand(weight))


def addcmul_fn(x, t1, t2, value):
    return fnp.add(x, fnp.multiply(value, fnp.multiply(t1, t2)))


def addcdiv_fn(x, t1, t2, value):
    return fnp.add(x, fnp.multiply(value, fnp.divide(t1, t2)))


addcmul_op = Op(addcmul_fn, "Addcmul")
addcdiv_op = Op(addcdiv_fn, "Addcdiv")


def addcmul(input: Tensor, tensor1, tensor2, *, value=1, out: Tensor | None = None) -> Tensor:
    """``input + value * tensor1 * tensor2``.

    >>> compat.addcmul(compat.ones(1), compat.tensor([2.0]), compat.tensor([3.0]), value=0.5)
    tensor([4.])
    """
    res = addcmul_op(input, to_operand(tensor1), to_operand(tensor2), value=scalar_or(value))
    return res if out is None else write_out(out, res, "addcmul")


def addcdiv(input: Tensor, tensor1, tensor2, *, value=1, out: Tensor | None = None) -> Tensor:
    """``input + value * tensor1 / tensor2``.

    >>> compat.addcdiv(compat.ones(1), compat.tensor([3.0]), compat.tensor([2.0]))
    tensor([2.5000])
    """
    res = addcdiv_op(input, to_operand(tensor1), to_operand(tensor2), value=scalar_or(value))
    return res if out is None else write_out(out, res, "addcdiv")


# --------------------------------------------------------------------------- conversion


def astype_fn(x, dtype):
    return fnp.astype(x, dtype)


to_copy_op = Op(astype_fn, "ToCopy")


def to_dtype(input: Tensor, dtype) -> Tensor:
    """``input`` converted to ``dtype`` (``input`` itself when it already has it)."""
    np_dtype = dtypes.to_numpy(dtype)
    if input.array.dtype == np_dtype:
        return input
    return to_copy_op(input, dtype=np_dtype)


def clone_fn(x):
    return fnp.positive(x)


clone_op = Op(clone_fn, "Clone")


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` with its own memory; gradients flow back to ``input``.

    >>> x = compat.zeros(1); y = x.clone(); y[0] = 1; x
    tensor([0.])
    """
    return clone_op(input)


__all__ = [
    "e",
    "inf",
    "nan",
    "pi",
    "abs",
    "absolute",
    "acos",
    "acosh",
    "add",
    "addcdiv",
    "addcmul",
    "allclose",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "clone",
    "copysign",
    "cos",
    "cosh",
    "deg2rad",
    "div",
    "divide",
    "eq",
    "equal",
    "erf",
    "erfc",
    "exp",
    "exp2",
    "expm1",
    "fix",
    "float_power",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "frac",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "hypot",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "le",
    "lerp",
    "less",
    "less_equal",
    "log",
    "log10",
    "log1p",
    "log2",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logit",
    "lt",
    "maximum",
    "minimum",
    "mul",
    "multiply",
    "nan_to_num",
    "ne",
    "neg",
    "negative",
    "not_equal",
    "positive",
    "pow",
    "rad2deg",
    "reciprocal",
    "relu",
    "remainder",
    "round",
    "rsqrt",
    "sgn",
    "sigmoid",
    "sign",
    "sin",
    "sinc",
    "sinh",
    "sqrt",
    "square",
    "sub",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "where",
    "xlogy",
]
