"""Operators and ndarray-style methods on tracers (``x + y``, ``x.sum()``, ``x.at[i]``...)."""

from __future__ import annotations

from ..core import Tracer, concretization_error

# numpy ufuncs that are Python operators: ``ndarray + tracer`` reaches the tracer through
# __array_ufunc__ and runs the fnp function of the same name
_OPERATOR_UFUNCS = frozenset({
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder",
    "power", "matmul", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal"})


def install():
    from .. import numpy as fnp
    from ._indexing import _AtIndexer, getitem

    def array_ufunc(self, ufunc, method, *inputs, **kwargs):
        """``ndarray + tracer`` and friends run the fnp operator; any other numpy ufunc on a
        traced value (``np.sin(x)``, in-place ``a += x``) is a clear concretization error."""
        name = ufunc.__name__
        if method == "__call__" and not kwargs and name in _OPERATOR_UFUNCS:
            return getattr(fnp, name)(*inputs)
        call = f"np.{name}" + ("" if method == "__call__" else f".{method}")
        what = f"numpy's `{call}`" + (" with out=" if "out" in kwargs else "")
        hint = f" (use fnp.{name} instead)" if callable(getattr(fnp, name, None)) else ""
        raise concretization_error(self, what + hint, "array")

    Tracer.__array_ufunc__ = array_ufunc

    def binop(fn):
        return lambda self, other: fn(self, other)

    def rbinop(fn):
        return lambda self, other: fn(other, self)

    ops = {"add": fnp.add, "sub": fnp.subtract, "mul": fnp.multiply, "truediv": fnp.divide,
           "floordiv": fnp.floor_divide, "mod": fnp.remainder, "pow": fnp.power,
           "matmul": fnp.matmul, "and": fnp.bitwise_and, "or": fnp.bitwise_or,
           "xor": fnp.bitwise_xor, "lshift": fnp.left_shift, "rshift": fnp.right_shift}
    for name, fn in ops.items():
        setattr(Tracer, f"__{name}__", binop(fn))
        setattr(Tracer, f"__r{name}__", rbinop(fn))
    for name, fn in {"eq": fnp.equal, "ne": fnp.not_equal, "lt": fnp.less, "le": fnp.less_equal,
                     "gt": fnp.greater, "ge": fnp.greater_equal}.items():
        setattr(Tracer, f"__{name}__", binop(fn))
    Tracer.__neg__ = lambda self: fnp.negative(self)
    Tracer.__pos__ = lambda self: self
    Tracer.__abs__ = lambda self: fnp.abs(self)
    Tracer.__invert__ = lambda self: fnp.invert(self)
    Tracer.__getitem__ = getitem
    Tracer.__divmod__ = lambda self, o: (fnp.floor_divide(self, o), fnp.remainder(self, o))

    def setitem(self, idx, value):
        raise TypeError("traced arrays are immutable: use x = x.at[idx].set(value) (or "
                        ".add/.multiply/.max/.min) instead of x[idx] = value")

    Tracer.__setitem__ = setitem
    Tracer.at = property(lambda self: _AtIndexer(self))
    Tracer.T = property(lambda self: fnp.transpose(self))
    Tracer.mT = property(lambda self: fnp.swapaxes(self, -1, -2))

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return fnp.reshape(self, shape, order)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return fnp.transpose(self, axes or None)

    Tracer.reshape = reshape
    Tracer.transpose = transpose
    Tracer.astype = lambda self, dtype: fnp.astype(self, dtype)
    Tracer.ravel = lambda self: fnp.ravel(self)
    Tracer.flatten = lambda self: fnp.ravel(self)
    Tracer.squeeze = lambda self, axis=None: fnp.squeeze(self, axis)
    Tracer.swapaxes = lambda self, a, b: fnp.swapaxes(self, a, b)
    Tracer.dot = lambda self, other: fnp.dot(self, other)
    Tracer.clip = lambda self, min=None, max=None: fnp.clip(self, min, max)
    Tracer.conj = Tracer.conjugate = lambda self: self
    Tracer.copy = lambda self: self
    Tracer.take = lambda self, indices, axis=None: fnp.take(self, indices, axis)
    Tracer.repeat = lambda self, repeats, axis=None: fnp.repeat(self, repeats, axis)
    Tracer.argsort = lambda self, axis=-1: fnp.argsort(self, axis)
    Tracer.cumsum = lambda self, axis=None: fnp.cumsum(self, axis)
    Tracer.diagonal = lambda self, offset=0, axis1=0, axis2=1: fnp.diagonal(self, offset, axis1,
                                                                            axis2)
    Tracer.trace = lambda self, offset=0, axis1=0, axis2=1: fnp.trace(self, offset, axis1, axis2)
    for name in ("sum", "mean", "prod", "max", "min", "all", "any"):
        fn = getattr(fnp, name)
        setattr(Tracer, name, (lambda f: lambda self, axis=None, keepdims=False, **kw:
                               f(self, axis=axis, keepdims=keepdims, **kw))(fn))
    for name in ("var", "std"):
        fn = getattr(fnp, name)
        setattr(Tracer, name, (lambda f: lambda self, axis=None, ddof=0, keepdims=False:
                               f(self, axis=axis, ddof=ddof, keepdims=keepdims))(fn))
    Tracer.argmax = lambda self, axis=None, keepdims=False: fnp.argmax(self, axis, keepdims)
    Tracer.argmin = lambda self, axis=None, keepdims=False: fnp.argmin(self, axis, keepdims)
