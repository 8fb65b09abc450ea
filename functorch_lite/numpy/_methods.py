"""Operators and ndarray-style methods (``x + y``, ``x.sum()``, ``x.at[i]``...) on tracers and
on the library's concrete ``Array``: the same fnp functions either way, so a function gives
the same dtypes and values eagerly and under a transform.

Method signatures accept numpy's keyword arguments (``out=None``...), because numpy's own
functions call them (``np.sum(x)`` calls ``x.sum(axis=..., dtype=..., out=...)``)."""

from __future__ import annotations

import numpy as np

from ..array import UFUNC_FUNCTIONS, Array, immutable_error, wrap
from ..core import Tracer, concretization_error
from ._creation import astype
from ._indexing import AtIndexer, argsort, diagonal, getitem, repeat, sort, take
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

_BINARY = {"add": add, "sub": subtract, "mul": multiply, "truediv": divide,
           "floordiv": floor_divide, "mod": remainder, "pow": power, "matmul": matmul,
           "and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor, "lshift": left_shift,
           "rshift": right_shift}
_COMPARE = {"eq": equal, "ne": not_equal, "lt": less, "le": less_equal, "gt": greater,
            "ge": greater_equal}


def _no_out(out, name):
    if out is not None:
        raise immutable_error(f"x.{name}(..., out=...)")


def _shape_args(shape):
    return shape[0] if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) \
        else shape


def _any_tracer(items):
    for i in items:
        if isinstance(i, Tracer):
            return True
    return False


def _array_getitem(self, idx):
    """numpy's indexing on concrete indices (a read-only result; 0-d Arrays, not numpy
    scalars); a traced index (inside a transform) goes through fnp's gather."""
    if isinstance(idx, Tracer) or (isinstance(idx, (tuple, list)) and _any_tracer(idx)):
        return getitem(self, idx)
    out = np.ndarray.__getitem__(self, idx)
    if type(out) is Array:
        if out.flags.writeable and not self.flags.writeable:
            out.setflags(write=False)  # advanced indexing copies
        return out
    return wrap(out)


def _returns_arrays(fn):
    """``fn`` whose concrete results are Arrays: a function that hands back an argument
    unchanged (``squeeze`` without unit axes, ``clip(x)``...) or builds its result with
    numpy (``nonzero``) would otherwise return a caller's plain numpy array."""

    def guarded(*args, **kwargs):
        out = fn(*args, **kwargs)
        t = type(out)
        if t is Array or t is Tracer or not isinstance(out, (np.ndarray, np.generic, tuple,
                                                             list)):
            return out
        if t is tuple or t is list:
            return t(wrap(o) if isinstance(o, np.ndarray) else o for o in out)
        return wrap(out)

    guarded.__name__ = fn.__name__
    guarded.__qualname__ = getattr(fn, "__qualname__", fn.__name__)
    guarded.__doc__ = fn.__doc__
    guarded.__wrapped__ = fn
    return guarded


def install(namespace):
    """Give ``Tracer`` and ``Array`` their operators and methods, and make every public
    function of ``namespace`` (fnp's) return Arrays for concrete results. A numpy ufunc on a
    tracer that fnp has a function for gets a hint naming it, and a plain numpy ufunc call
    on an ``Array`` runs that function."""
    for name, fn in list(namespace.items()):
        if not name.startswith("_") and callable(fn) and not getattr(fn, "returns_arrays",
                                                                     False) \
                and getattr(fn, "__module__", "").startswith("functorch_lite.numpy."):
            namespace[name] = _returns_arrays(fn)

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
    # numpy's namespace as loaded (``dir(np)`` + getattr would import its lazy submodules,
    # f2py and testing among them: ~0.1 s of every import without a bytecode cache)
    for uf in list(vars(np).values()):
        if isinstance(uf, np.ufunc) and callable(namespace.get(uf.__name__)):
            UFUNC_FUNCTIONS[uf.__name__] = namespace[uf.__name__]

    def binop(fn):
        return lambda self, other: fn(self, other)

    def rbinop(fn):
        return lambda self, other: fn(other, self)

    for cls in (Tracer, Array):
        for name, fn in _BINARY.items():
            setattr(cls, f"__{name}__", binop(fn))
            setattr(cls, f"__r{name}__", rbinop(fn))
            # augmented assignment rebinds the name to a new array (as in JAX): an array
            # another name refers to never changes
            setattr(cls, f"__i{name}__", binop(fn))
        for name, fn in _COMPARE.items():
            setattr(cls, f"__{name}__", binop(fn))
        cls.__neg__ = lambda self: negative(self)
        cls.__pos__ = lambda self: self
        cls.__abs__ = lambda self: abs(self)
        cls.__invert__ = lambda self: invert(self)
        cls.__divmod__ = lambda self, o: (floor_divide(self, o), remainder(self, o))
        cls.__rdivmod__ = lambda self, o: (floor_divide(o, self), remainder(o, self))
        cls.at = property(lambda self: AtIndexer(self))
        _install_methods(cls)

    Tracer.__getitem__ = getitem
    Array.__getitem__ = _array_getitem

    def setitem(self, idx, value):
        raise TypeError("traced arrays are immutable: use x = x.at[idx].set(value) (or "
                        ".add/.multiply/.max/.min) instead of x[idx] = value")

    Tracer.__setitem__ = setitem
    Tracer.T = property(lambda self: transpose(self))
    Tracer.mT = property(lambda self: swapaxes(self, -1, -2))
    Tracer.copy = lambda self, order="K": self
    Tracer.conj = Tracer.conjugate = lambda self: self


def _install_methods(cls):
    """ndarray methods as fnp functions, with numpy's signatures."""

    def reshape_method(self, *shape, order="C", copy=None):
        return reshape(self, _shape_args(shape), order)

    def transpose_method(self, *axes):
        return transpose(self, _shape_args(axes) or None)

    def astype_method(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        return astype(self, dtype)

    def reduction(f, with_dtype):
        if with_dtype:
            def method(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
                _no_out(out, f.__name__)
                return f(self, axis=axis, dtype=dtype, keepdims=keepdims, **kw)
        else:
            def method(self, axis=None, out=None, keepdims=False, **kw):
                _no_out(out, f.__name__)
                return f(self, axis=axis, keepdims=keepdims, **kw)
        method.__name__ = f.__name__
        return method

    def moment(f):
        def method(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
            _no_out(out, f.__name__)
            return f(self, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
        return method

    def arg(f):
        def method(self, axis=None, out=None, keepdims=False):
            _no_out(out, f.__name__)
            return f(self, axis, keepdims)
        return method

    def clip_method(self, min=None, max=None, out=None, **kw):
        _no_out(out, "clip")
        return clip(self, min, max)

    def take_method(self, indices, axis=None, out=None, mode=None):
        _no_out(out, "take")
        return take(self, indices, axis, mode=mode)

    def cumsum_method(self, axis=None, dtype=None, out=None):
        _no_out(out, "cumsum")
        return cumsum(self, axis, dtype)

    def trace_method(self, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        _no_out(out, "trace")
        return trace(self, offset, axis1, axis2)

    def argsort_method(self, axis=-1, kind=None, order=None, *, stable=True, descending=False):
        return argsort(self, axis, descending=descending)

    def sort_method(self, axis=-1, kind=None, order=None, *, stable=True, descending=False):
        return sort(self, axis, descending=descending)

    cls.reshape = reshape_method
    cls.transpose = transpose_method
    cls.astype = astype_method
    cls.ravel = lambda self, order="C": ravel(self)
    cls.flatten = lambda self, order="C": ravel(self)
    cls.squeeze = lambda self, axis=None: squeeze(self, axis)
    cls.swapaxes = lambda self, axis1, axis2: swapaxes(self, axis1, axis2)
    cls.dot = lambda self, b, out=None: _no_out(out, "dot") or dot(self, b)
    cls.clip = clip_method
    cls.take = take_method
    cls.repeat = lambda self, repeats, axis=None: repeat(self, repeats, axis)
    cls.argsort = argsort_method
    cls.sort = sort_method
    cls.cumsum = cumsum_method
    cls.diagonal = lambda self, offset=0, axis1=0, axis2=1: diagonal(self, offset, axis1, axis2)
    cls.trace = trace_method
    for name, fn in {"sum": sum, "prod": prod, "mean": mean}.items():
        setattr(cls, name, reduction(fn, True))
    for name, fn in {"max": max, "min": min, "all": all, "any": any}.items():
        setattr(cls, name, reduction(fn, False))
    cls.var = moment(var)
    cls.std = moment(std)
    cls.argmax = arg(argmax)
    cls.argmin = arg(argmin)

