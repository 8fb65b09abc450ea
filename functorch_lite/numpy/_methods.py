"""Operators and ndarray-style methods on tracers (``x + y``, ``x.sum()``, ``x.at[i]``...)."""

from __future__ import annotations

from ..core import Tracer, concretization_error
from ._creation import astype
from ._indexing import AtIndexer, argsort, diagonal, getitem, repeat, take
from ._linalg import dot, matmul, trace
from ._math import (
    abs,
    add,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    clip,
    divide,
    equal,
    floor_divide,
    greater,
    greater_equal,
    invert,
    left_shift,
    less,
    less_equal,
    multiply,
    negative,
    not_equal,
    power,
    remainder,
    right_shift,
    subtract,
    true_divide,
)
from ._reductions import all, any, argmax, argmin, cumsum, max, mean, min, prod, std, sum, var
from ._shape import ravel, reshape, squeeze, swapaxes, transpose

# numpy ufuncs that are Python operators: ``ndarray + tracer`` reaches the tracer through
# __array_ufunc__ and runs the fnp function of the same name
_OPERATOR_UFUNCS = {
    "add": add, "subtract": subtract, "multiply": multiply, "divide": divide,
    "true_divide": true_divide, "floor_divide": floor_divide, "remainder": remainder,
    "power": power, "matmul": matmul, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or,
    "bitwise_xor": bitwise_xor, "left_shift": left_shift, "right_shift": right_shift,
    "equal": equal, "not_equal": not_equal, "less": less, "less_equal": less_equal,
    "greater": greater, "greater_equal": greater_equal}


def install(namespace):
    """Give ``Tracer`` its operators and methods. ``namespace`` is fnp's: a numpy ufunc on a
    tracer that fnp has a function for gets a hint naming it."""

    def array_ufunc(self, ufunc, method, *inputs, **kwargs):
        """``ndarray + tracer`` and friends run the fnp operator; any other numpy ufunc on a
        traced value (``np.sin(x)``, in-place ``a += x``) is a clear concretization error."""
        name = ufunc.__name__
        if method == "__call__" and not kwargs and name in _OPERATOR_UFUNCS:
            return _OPERATOR_UFUNCS[name](*inputs)
        call = f"np.{name}" + ("" if method == "__call__" else f".{method}")
        what = f"numpy's `{call}`" + (" with out=" if "out" in kwargs else "")
        hint = f" (use fnp.{name} instead)" if callable(namespace.get(name)) else ""
        raise concretization_error(self, what + hint, "array")

    Tracer.__array_ufunc__ = array_ufunc

    def binop(fn):
        return lambda self, other: fn(self, other)

    def rbinop(fn):
        return lambda self, other: fn(other, self)

    ops = {"add": add, "sub": subtract, "mul": multiply, "truediv": divide,
           "floordiv": floor_divide, "mod": remainder, "pow": power, "matmul": matmul,
           "and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor, "lshift": left_shift,
           "rshift": right_shift}
    for name, fn in ops.items():
        setattr(Tracer, f"__{name}__", binop(fn))
        setattr(Tracer, f"__r{name}__", rbinop(fn))
    for name, fn in {"eq": equal, "ne": not_equal, "lt": less, "le": less_equal,
                     "gt": greater, "ge": greater_equal}.items():
        setattr(Tracer, f"__{name}__", binop(fn))
    Tracer.__neg__ = lambda self: negative(self)
    Tracer.__pos__ = lambda self: self
    Tracer.__abs__ = lambda self: abs(self)
    Tracer.__invert__ = lambda self: invert(self)
    Tracer.__getitem__ = getitem
    Tracer.__divmod__ = lambda self, o: (floor_divide(self, o), remainder(self, o))

    def setitem(self, idx, value):
        raise TypeError("traced arrays are immutable: use x = x.at[idx].set(value) (or "
                        ".add/.multiply/.max/.min) instead of x[idx] = value")

    Tracer.__setitem__ = setitem
    Tracer.at = property(lambda self: AtIndexer(self))
    Tracer.T = property(lambda self: transpose(self))
    Tracer.mT = property(lambda self: swapaxes(self, -1, -2))

    def reshape_method(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return reshape(self, shape, order)

    def transpose_method(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return transpose(self, axes or None)

    Tracer.reshape = reshape_method
    Tracer.transpose = transpose_method
    Tracer.astype = lambda self, dtype: astype(self, dtype)
    Tracer.ravel = lambda self: ravel(self)
    Tracer.flatten = lambda self: ravel(self)
    Tracer.squeeze = lambda self, axis=None: squeeze(self, axis)
    Tracer.swapaxes = lambda self, a, b: swapaxes(self, a, b)
    Tracer.dot = lambda self, other: dot(self, other)
    Tracer.clip = lambda self, min=None, max=None: clip(self, min, max)
    Tracer.conj = Tracer.conjugate = lambda self: self
    Tracer.copy = lambda self: self
    Tracer.take = lambda self, indices, axis=None: take(self, indices, axis)
    Tracer.repeat = lambda self, repeats, axis=None: repeat(self, repeats, axis)
    Tracer.argsort = lambda self, axis=-1: argsort(self, axis)
    Tracer.cumsum = lambda self, axis=None: cumsum(self, axis)
    Tracer.diagonal = lambda self, offset=0, axis1=0, axis2=1: diagonal(self, offset, axis1, axis2)
    Tracer.trace = lambda self, offset=0, axis1=0, axis2=1: trace(self, offset, axis1, axis2)
    for name, fn in {"sum": sum, "mean": mean, "prod": prod, "max": max, "min": min,
                     "all": all, "any": any}.items():
        setattr(Tracer, name, (lambda f: lambda self, axis=None, keepdims=False, **kw:
                               f(self, axis=axis, keepdims=keepdims, **kw))(fn))
    for name, fn in {"var": var, "std": std}.items():
        setattr(Tracer, name, (lambda f: lambda self, axis=None, ddof=0, keepdims=False:
                               f(self, axis=axis, ddof=ddof, keepdims=keepdims))(fn))
    Tracer.argmax = lambda self, axis=None, keepdims=False: argmax(self, axis, keepdims)
    Tracer.argmin = lambda self, axis=None, keepdims=False: argmin(self, axis, keepdims)
