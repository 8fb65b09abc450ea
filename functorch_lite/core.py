"""The kernel of the library: abstract values, primitives, traces and tracers.

Transforms are interpreters. There is always one *current trace* (a thread-local);
``Primitive.bind`` hands the operation to it. Each transform's trace keeps its
parent and runs its rules with the parent as the current trace ("stackless"
design, as in JAX's newer core). A value belongs to a trace only if it is a
tracer of *that* trace object; anything else is a constant to it. A trace is
invalidated when its transform returns, so an escaped tracer is caught the
first time it is used.
"""

from __future__ import annotations

import linecache
import os
import sys
import threading
from contextlib import contextmanager

import numpy as np

from . import dtypes
from .array import Array, DeletedArray, WeakArray, wrap
from .placement import is_gpu, same_device

# --------------------------------------------------------------------------- avals


class ShapedArray:
    """Abstract value: shape, dtype and whether the dtype is weak (from a Python scalar)."""

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None) -> ShapedArray:
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
        )

    def strip_weak(self) -> ShapedArray:
        return ShapedArray(self.shape, self.dtype) if self.weak_type else self

    def __eq__(self, other):
        return (
            isinstance(other, ShapedArray)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak_type == other.weak_type
        )

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def str_short(self) -> str:
        return f"{dtype_short(self.dtype)}[{','.join(map(str, self.shape))}]"

    __str__ = str_short

    def __repr__(self):
        return f"ShapedArray({self.str_short()}{', weak' if self.weak_type else ''})"


_SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "int32": "i32", "int64": "i64",
          "int8": "i8", "int16": "i16", "uint8": "u8", "uint16": "u16", "uint32": "u32",
          "uint64": "u64", "bool": "bool", "complex64": "c64", "complex128": "c128"}


def dtype_short(dtype) -> str:
    name = np.dtype(dtype).name
    return _SHORT.get(name, name)


class ShapeDtypeStruct:
    """An abstract argument: ``make_ir`` and ``jit(f).lower`` need no data.

    >>> fl.make_ir(fnp.sin)(fl.ShapeDtypeStruct((3,), "float32"))  # doctest: +SKIP
    """

    def __init__(self, shape, dtype):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtypes.canonical(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def is_array_like(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic)) or (
        is_gpu(x) and hasattr(x, "dtype")
    )


def get_aval(x) -> ShapedArray:
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, x.dtype, type(x) is WeakArray)
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return ShapedArray((), dtypes.scalar_dtype(x), weak_type=True)
    if isinstance(x, ShapeDtypeStruct):
        return ShapedArray(x.shape, x.dtype)
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # cupy arrays and other array duck types
        return ShapedArray(x.shape, x.dtype)
    raise TypeError(
        f"functorch_lite cannot use a value of type {type(x).__name__} as an array; "
        "pass numpy arrays, Python scalars or compat Tensors"
    )


# --------------------------------------------------------------------------- errors

_HERE = os.path.dirname(os.path.abspath(__file__))
_SKIP_PREFIXES = (_HERE + os.sep,
                  os.path.abspath(os.path.join(_HERE, "..", "backends")) + os.sep,
                  os.path.abspath(os.path.join(_HERE, "..", "compat")) + os.sep,
                  os.path.dirname(os.path.abspath(np.__file__)) + os.sep,
                  os.path.dirname(os.path.abspath(contextmanager.__code__.co_filename)) + os.sep)


def user_frame():
    """(filename, lineno, function, source line) of the innermost frame in user code."""
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_SKIP_PREFIXES) and not fn.startswith("<frozen"):
            line = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
            return f.f_code.co_filename, f.f_lineno, f.f_code.co_name, line
        f = f.f_back
    return None


def user_stacklevel() -> int:
    """``stacklevel`` for a warning raised from our caller, pointing at the user's call."""
    f, n = sys._getframe(2), 2
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_HERE + os.sep):
        f, n = f.f_back, n + 1
    return n


def where_str(frame) -> str:
    if frame is None:
        return "<unknown location>"
    file, line, fn, src = frame
    return f"{os.path.basename(file)}:{line} in {fn}" + (f": `{src}`" if src else "")


class ConcretizationError(TypeError):
    """A traced value was used where a concrete Python value is needed."""


class TracerBoolConversionError(ConcretizationError):
    pass


class TracerIntegerConversionError(ConcretizationError):
    pass


class TracerArrayConversionError(ConcretizationError):
    pass


class UnexpectedTracerError(RuntimeError):
    """A tracer escaped the transform that created it (stored in a global, returned in aux...)."""


_FIXES = {
    "bool": "use fnp.where(cond, a, b) or fl.lax.cond(pred, true_fun, false_fun, *operands) "
            "instead of a Python `if`/`while`, or mark the argument static "
            "(jit(f, static_argnums=...))",
    "int": "mark the argument static (jit(f, static_argnums=...)) or keep the value as an array "
           "(fnp functions, fnp.where, fl.lax.cond and fl.lax.fori_loop accept traced values)",
    "array": "keep using functorch_lite.numpy (fnp) functions on traced values (fnp.where or "
             "fl.lax.cond for data-dependent choices); numpy functions need concrete data. Call "
             "them outside the transform or mark the argument static (jit(f, static_argnums=...))",
}


def concretization_error(tracer: Tracer, what: str, kind: str) -> ConcretizationError:
    cls = {"bool": TracerBoolConversionError, "int": TracerIntegerConversionError,
           "array": TracerArrayConversionError}[kind]
    frame = user_frame()
    desc = tracer.owner.describe()
    return cls(
        f"{what} needs a concrete value, but got a traced {tracer.aval.str_short()} "
        f"while {desc}.\n  at {where_str(frame)}\n"
        f"The value depends on the function's traced inputs, so it is not known during "
        f"tracing. To fix: {_FIXES[kind]}."
    )


# --------------------------------------------------------------------------- primitives


class Primitive:
    """An operation with its rules, all found from this one object.

    ``impl`` computes on concrete arrays, ``abstract_eval`` gives output avals,
    ``jvp`` is the forward-mode rule, ``transpose`` the reverse rule of a primitive
    that is linear in some inputs, ``batch`` the vmap rule, ``partial_eval`` an
    optional rule for higher-order primitives under linearize, and ``staging`` an
    optional rule replacing plain staging under jit (e.g. inlining a nested call).
    Backends keep their own lowering tables keyed by primitive; the core knows none.
    """

    def __init__(self, name: str, multiple_results: bool = False):
        self.name = name
        self.multiple_results = multiple_results
        self.impl = None
        self.abstract_eval = None
        self.jvp = None
        self.transpose = None
        self.batch = None
        self.partial_eval = None
        self.staging = None  # optional rule replacing plain staging (e.g. inlining)
        # eager evaluation hands impl plain numpy arrays; a primitive whose impl runs user
        # code (custom_jvp/custom_vjp) gets the library's Arrays, as user code expects
        self.impl_takes_arrays = False
        PRIMITIVES[name] = self

    def bind(self, *args, **params):
        return _state.trace.process_primitive(self, args, params)

    def __repr__(self):
        return self.name


PRIMITIVES: dict[str, Primitive] = {}


# --------------------------------------------------------------------------- traces


class Trace:
    """Base trace. Subclasses implement ``process_primitive``."""

    kind = "trace"

    def __init__(self, parent: Trace | None, fun_name: str | None = None):
        self.parent = parent
        self.alive = True
        self.fun_name = fun_name
        self.origin = user_frame() if fun_name is not None else None

    def describe(self) -> str:
        fn = f" of `{self.fun_name}`" if self.fun_name else ""
        return f"tracing {self.kind}{fn}"

    def invalidate(self):
        self.alive = False

    def process_primitive(self, prim, args, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def check_foreign(self, x):
        """Raise if ``x`` is a tracer of a trace that has already finished."""
        if isinstance(x, Tracer) and not x.owner.alive:
            raise escaped_tracer_error(x)


def escaped_tracer_error(x: Tracer) -> UnexpectedTracerError:
    t = x.owner
    made = f" (transform entered at {where_str(t.origin)})" if t.origin else ""
    origin = x.origin
    born = f"\n  the value was created at {where_str(origin)}" if origin else ""
    return UnexpectedTracerError(
        f"A traced {x.aval.str_short()} from {t.describe()}{made} escaped that transform and is "
        f"used after it returned{born}.\n  used at {where_str(user_frame())}\n"
        "Values computed inside jit/grad/vmap must be returned from the function, not stored in "
        "globals or closures; return it (or use has_aux=True) instead."
    )


class EvalTrace(Trace):
    """The root trace: runs each primitive's numpy (or cupy) implementation."""

    kind = "eager evaluation"

    def __init__(self):
        super().__init__(None)

    def process_primitive(self, prim, args, params):
        # concrete values leave the library here: kernels get plain numpy arrays, results
        # come back as Arrays (weakly typed where the shape rule says so, as under jit); GPU
        # (CuPy) arrays go in and come out as they are, with host operands moved to their GPU
        plain, weak, gpu = [], False, False
        for x in args:
            t = type(x)
            if t is Array:
                x = x if prim.impl_takes_arrays else x.view(np.ndarray)
            elif t is WeakArray:
                # (user code decides the weakness of what it returns itself)
                weak = not prim.impl_takes_arrays
                x = x if prim.impl_takes_arrays else x.view(np.ndarray)
            elif t is np.ndarray:
                pass
            elif t is DeletedArray:
                x._dead()  # donated to a jitted call: raises
            elif isinstance(x, Tracer):
                if not x.owner.alive:
                    raise escaped_tracer_error(x)
                raise UnexpectedTracerError(
                    f"A traced value from {x.owner.describe()} reached eager evaluation of "
                    f"`{prim.name}` outside its transform.\n  at {where_str(user_frame())}"
                )
            elif is_gpu(x):
                gpu = True
            plain.append(x)
        if gpu:
            plain = same_device(prim.name, plain)
        out = prim.impl(*plain, **params)
        if weak:
            return _wrap_weak(prim, args, params, out)
        return [wrap(o) for o in out] if prim.multiple_results else wrap(out)


def _wrap_weak(prim, args, params, out):
    """Results of a primitive with a weakly typed operand: weak where its shape rule says."""
    avals = prim.abstract_eval(*[get_aval(x) for x in args], **params)
    if prim.multiple_results:
        return [wrap(o, a.weak_type) for o, a in zip(out, avals)]
    return wrap(out, avals.weak_type)


class _State(threading.local):
    def __init__(self):
        self.trace = EVAL_TRACE


EVAL_TRACE = EvalTrace()
_state = _State()


def current_trace() -> Trace:
    return _state.trace


@contextmanager
def set_trace(trace: Trace):
    prev = _state.trace
    _state.trace = trace
    try:
        yield trace
    finally:
        _state.trace = prev


@contextmanager
def new_trace(trace: Trace):
    """Make ``trace`` current for the body of a transform, and invalidate it afterwards."""
    try:
        with set_trace(trace):
            yield trace
    finally:
        trace.invalidate()


def is_under_transform() -> bool:
    return _state.trace is not EVAL_TRACE


# --------------------------------------------------------------------------- tracers


class Tracer:
    """A value being traced by one trace (its ``owner``).

    Operators, ndarray-style methods and numpy's ufunc protocol are installed by
    ``functorch_lite.numpy`` (they are fnp functions, which sit above this layer).
    """

    __slots__ = ("owner", "__weakref__")
    __array_priority__ = 1000
    origin = None  # where the value was created (user_frame()), when the trace records it

    @property
    def aval(self) -> ShapedArray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def shape(self):
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    @property
    def ndim(self):
        return self.aval.ndim

    @property
    def size(self):
        return self.aval.size

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.aval.shape[0]

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.aval.shape[0]))

    def to_concrete(self, what: str, kind: str):
        """The concrete value behind this tracer, if there is one (JVP primals have one)."""
        raise concretization_error(self, what, kind)

    def __bool__(self):
        return bool(self.to_concrete("Python `bool()` (an `if`, `while`, `and`/`or`)", "bool"))

    def __int__(self):
        return int(self.to_concrete("Python `int()`", "int"))

    def __index__(self):
        return int(self.to_concrete("use as a Python index (`__index__`)", "int"))

    def __float__(self):
        return float(self.to_concrete("Python `float()`", "int"))

    def __complex__(self):
        return complex(self.to_concrete("Python `complex()`", "int"))

    def item(self):
        return self.to_concrete("`.item()`", "int").item()

    def tolist(self):
        return np.asarray(self.to_concrete("`.tolist()`", "array")).tolist()

    def __array__(self, dtype=None, copy=None):
        v = np.asarray(self.to_concrete("conversion to a numpy array (`np.asarray`)", "array"))
        return v if dtype is None else v.astype(dtype)

    __hash__ = None  # like arrays: `==` is elementwise

    def __repr__(self):
        return f"Traced<{self.aval.str_short()}> ({self.owner.describe()})"
