"""``Array``: the type of every concrete value functorch_lite hands back.

An ``Array`` *is* a ``numpy.ndarray`` (a read-only subclass), so ``isinstance(x,
np.ndarray)`` holds, ``np.asarray(x)`` is zero-copy and numpy, scipy or matplotlib take it
as they are. What it adds is JAX's semantics where numpy's would differ:

* it is immutable: ``x[i] = v`` and ``np.add(a, b, out=x)`` raise a ``TypeError`` showing
  ``x.at[i].set(v)``; ``x += 1`` rebinds ``x`` to a new array (as in JAX) and never changes
  an array another name still refers to;
* operators, methods (``x.sum()``, ``x.reshape(...)``...) and numpy ufuncs called on it
  (``np.sin(x)``) run the ``functorch_lite.numpy`` function of that name, so dtype promotion
  is the library's everywhere (``float32 * int64`` is float32 eagerly and under ``jit``);
* indexing it with a traced value inside a transform gives a traced value (a captured
  table indexed by a loop counter), and ``x.at[i].set(v)`` works on it;
* ``block_until_ready()``, ``device`` and ``devices()`` as on JAX arrays.

Only ``wrap`` (numpy results leaving the library) and ``plain`` (Arrays entering a numpy
kernel) convert; the operators and methods are installed by ``functorch_lite.numpy``
(``_methods.install``), which sits above this module.

>>> import functorch_lite.numpy as fnp
>>> x = fnp.arange(3.0)
>>> type(x).__name__, isinstance(x, np.ndarray)
('Array', True)
>>> x.at[0].set(5.0)
Array([5., 1., 2.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

__all__ = ["Array", "WeakArray", "DeletedArray", "wrap", "plain", "immutable_error", "delete"]


def immutable_error(what: str = "x[idx] = v") -> TypeError:
    """The error for an attempt to change an Array in place."""
    return TypeError(
        f"functorch_lite arrays are immutable, so `{what}` cannot change one. Make an updated "
        "copy instead: x = x.at[idx].set(v) (or .add/.multiply/.min/.max), or fnp.where; "
        "np.array(x) gives a writable numpy copy.")


class Array(np.ndarray):
    """An immutable numpy array with JAX's semantics (see the module docstring).

    >>> x = fnp.ones(3)
    >>> x[0] = 2.0
    Traceback (most recent call last):
    TypeError: functorch_lite arrays are immutable, so `x[idx] = v` cannot change one. ...
    """

    __slots__ = ()

    def __setitem__(self, idx, value):
        # arrays numpy itself made writable (np.empty_like(x) keeps the subclass) behave as
        # numpy's; ours are read-only and refuse
        if not self.flags.writeable:
            raise immutable_error()
        np.ndarray.__setitem__(self, idx, value)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy ufuncs on Arrays: a plain call of a ufunc fnp implements runs the fnp
        function (our promotion, an Array result); anything else (``out=``, ``reduce``...)
        runs numpy's kernel on plain views and returns numpy's result. ``out`` may not be
        one of our (read-only) arrays."""
        for x in inputs:
            if not isinstance(x, np.ndarray) and getattr(type(x), "__array_ufunc__", None) \
                    not in (None, np.ndarray.__array_ufunc__):
                return NotImplemented  # a tracer (or another array type) handles it
        if method == "__call__" and not kwargs:
            fn = UFUNC_FUNCTIONS.get(ufunc.__name__)
            if fn is not None:
                return fn(*inputs)
        if method == "at" and isinstance(inputs[0], Array) and not inputs[0].flags.writeable:
            raise immutable_error(f"np.{ufunc.__name__}.at(x, ...)")
        outs = kwargs.get("out")
        if outs is not None:
            outs = outs if isinstance(outs, tuple) else (outs,)
            for o in outs:
                if isinstance(o, Array) and not o.flags.writeable:
                    raise immutable_error(f"np.{ufunc.__name__}(..., out=x)")
            kwargs["out"] = tuple(plain(o) for o in outs)
        res = getattr(ufunc, method)(*[plain(x) for x in inputs], **kwargs)
        if outs is not None:
            return outs[0] if len(outs) == 1 else outs
        return res

    def __array_function__(self, func, types, args, kwargs):
        """numpy's functions (``np.sort``, ``np.concatenate``, ``np.mean``...) see plain
        numpy views and return numpy's results: numpy code keeps numpy's semantics (it may
        copy and sort in place, or write into what it allocated)."""
        if not all(issubclass(t, np.ndarray) for t in types):
            return NotImplemented
        out = kwargs.get("out")
        for o in out if isinstance(out, tuple) else (out,):
            if isinstance(o, Array) and not o.flags.writeable:
                raise immutable_error(f"np.{func.__name__}(..., out=x)")
        try:
            return func(*_plain_all(args), **{k: _plain_all(v) for k, v in kwargs.items()})
        except ValueError as e:
            # numpy refusing to write into one of our (read-only) buffers: np.copyto(x, v)
            if "read-only" in str(e):
                raise immutable_error(f"np.{func.__name__}(x, ...)") from None
            raise

    def __repr__(self):
        # numpy's text for the values ("array" and "Array" have the same width, so the
        # continuation lines stay aligned)
        return "A" + repr(self.view(np.ndarray))[1:]

    def __str__(self):
        return str(self.view(np.ndarray))

    def fill(self, value):
        if not self.flags.writeable:
            raise immutable_error("x.fill(v)")
        np.ndarray.fill(self, value)

    def block_until_ready(self) -> Array:
        """Wait until the value is computed (numpy work already is) and return it."""
        return self

    @property
    def device(self) -> str:
        """The device holding the array: ``"cpu"``."""
        return "cpu"

    def devices(self) -> set:
        return {"cpu"}

    def copy_to_host_async(self) -> None:
        """Nothing to do: the data is on the host."""

    def copy(self, order="K") -> Array:
        """A new (immutable) Array with the same values."""
        return wrap(np.array(self.view(np.ndarray), order=order), self.weak_type)

    def __copy__(self):
        return self if not self.flags.writeable else self.copy()

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        # unpickled as an Array again (numpy's reduce would rebuild a writable one)
        return wrap, (np.array(plain(self)), self.weak_type)

    def is_deleted(self) -> bool:
        """Whether the array was donated to a jitted call (or ``delete``d): its memory may
        hold another result now, and reading it raises."""
        return False

    def delete(self) -> None:
        """Give up this array (JAX's ``Array.delete``): any later use raises."""
        delete(self)


class WeakArray(Array):
    """An ``Array`` holding a weakly typed value (made from a Python scalar, or computed only
    from such values): in promotion it takes the other operand's dtype, as a Python scalar
    does and as the same value does under ``jit`` (JAX's ``weak_type``).

    >>> fnp.asarray(2.0)
    Array(2., dtype=float32, weak_type=True)
    >>> (fnp.asarray(2.0) * fnp.ones(2, dtype=fnp.float16)).dtype
    dtype('float16')
    """

    __slots__ = ()
    weak_type = True

    def __repr__(self):
        return Array.__repr__(self)[:-1] + ", weak_type=True)"


Array.weak_type = False

# ufunc name -> the fnp function with numpy's calling convention (filled by
# functorch_lite.numpy when it installs the methods)
UFUNC_FUNCTIONS: dict = {}


class DeletedArray(Array):
    """What an ``Array`` becomes once donated (``jit(..., donate_argnums=...)``) or
    deleted: its shape and dtype remain, any use of its values raises (its memory may now
    hold the call's result, as in JAX, where a donated array is deleted). Reaching its
    memory through a numpy view taken *before* the donation is not caught, but such a view
    also keeps the buffer from being reused.

    >>> x = fnp.ones(2); x.delete()
    >>> x + 1
    Traceback (most recent call last):
    RuntimeError: Array has been deleted (donated to a jitted call, or .delete()) ...
    """

    __slots__ = ()

    def _dead(self, *args, **kwargs):
        raise RuntimeError(
            f"Array has been deleted (donated to a jitted call, or .delete()): an array "
            f"passed in donate_argnums may not be used after the call, its buffer may hold "
            f"the result now. Keep a copy (x.copy()) before the call if you need the value, "
            f"or drop donate_argnums. (shape {self.shape}, dtype {self.dtype})")

    __getitem__ = __array_ufunc__ = __array_function__ = __repr__ = __str__ = _dead
    __iter__ = __len__ = __bool__ = __float__ = __int__ = __index__ = __array__ = _dead
    tolist = item = copy = __copy__ = __deepcopy__ = __reduce__ = tobytes = _dead
    block_until_ready = _dead

    def is_deleted(self) -> bool:
        return True

    def delete(self) -> None:
        pass


def delete(x: Array) -> None:
    """Make the Array ``x`` a ``DeletedArray`` (in place: every name for it sees that)."""
    if type(x) is Array or type(x) is WeakArray:
        x.__class__ = DeletedArray


def wrap(x, weak: bool | None = None):
    """A numpy result as an ``Array`` (a read-only view, no copy; a ``WeakArray`` with
    ``weak=True``); tracers and other values pass through, numpy scalars become 0-d Arrays.
    An Array keeps its weak type unless ``weak`` says otherwise.

    >>> wrap(np.ones(2)).flags.writeable
    False
    """
    t = type(x)
    if t is np.ndarray:
        v = x.view(WeakArray if weak else Array)
        v.setflags(write=False)
        return v
    if t is Array or t is WeakArray:
        return x if weak is None or x.weak_type == weak else wrap(x.view(np.ndarray), weak)
    if not isinstance(x, (np.ndarray, np.generic)):
        return x
    if isinstance(x, np.generic):
        return wrap(np.asarray(x), weak)
    return wrap(x.view(np.ndarray), weak)  # another ndarray subclass


def _plain_all(x):
    """``plain`` through (nested) tuples and lists, as numpy functions take sequences."""
    if isinstance(x, Array):
        return x.view(np.ndarray)
    if type(x) is tuple or type(x) is list:
        return type(x)(_plain_all(v) for v in x)
    return x


def plain(x):
    """An ``Array`` as a plain ``numpy.ndarray`` view (numpy kernels never see our type);
    anything else unchanged. A deleted (donated) Array raises."""
    if isinstance(x, Array):
        if type(x) is DeletedArray:
            x._dead()
        return x.view(np.ndarray)
    return x
