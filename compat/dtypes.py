"""Dtypes: PyTorch's dtype objects over numpy dtypes, the default float dtype, conversions.

A ``compat.dtype`` prints as PyTorch's does (``torch.float32``) so that scripts and their
printed output read as they would under PyTorch, and carries the numpy dtype it stands for
in ``.dtype`` (numpy accepts it anywhere a dtype goes: ``np.zeros(3, compat.float32)``).

>>> import compat as torch
>>> torch.float32, torch.float is torch.float32, torch.tensor([1, 2]).dtype
(torch.float32, True, torch.int64)
"""

from __future__ import annotations

import builtins

import numpy as np


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type (``torch.dtype``): ``compat.float32``, ``compat.long``...

    >>> compat.float64.is_floating_point, compat.int32.itemsize
    (True, 4)
    """

    __slots__ = ("name", "dtype", "is_floating_point", "is_complex", "is_signed", "itemsize")

    def __init__(self, name: str, np_dtype):
        self.name = name
        self.dtype = np.dtype(np_dtype)
        self.is_floating_point = self.dtype.kind == "f"
        self.is_complex = self.dtype.kind == "c"
        self.is_signed = self.dtype.kind in "ifc"
        self.itemsize = self.dtype.itemsize

    def __repr__(self):
        return f"torch.{self.name}"

    def to_real(self) -> dtype:
        """The real dtype of a complex one (``complex64 -> float32``); itself otherwise."""
        return from_numpy_dtype(np.empty(0, self.dtype).real.dtype)

    def to_complex(self) -> dtype:
        """The complex dtype of a float one (``float32 -> complex64``)."""
        return from_numpy_dtype(np.result_type(self.dtype, np.complex64))

    def __reduce__(self):  # pickled by name, so unpickling gives back the same object
        return self.name


float16 = half = dtype("float16", np.float16)
float32 = float = dtype("float32", np.float32)  # noqa: A001 - PyTorch's alias
float64 = double = dtype("float64", np.float64)
complex64 = cfloat = dtype("complex64", np.complex64)
complex128 = cdouble = dtype("complex128", np.complex128)
uint8 = dtype("uint8", np.uint8)
uint16 = dtype("uint16", np.uint16)
uint32 = dtype("uint32", np.uint32)
uint64 = dtype("uint64", np.uint64)
int8 = dtype("int8", np.int8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)  # noqa: A001 - PyTorch's alias
int64 = long = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)  # noqa: A001 - PyTorch's name

ALL = (float16, float32, float64, complex64, complex128, uint8, uint16, uint32, uint64,
       int8, int16, int32, int64, bool)
_BY_NUMPY = {d.dtype: d for d in ALL}
_BY_NUMPY.update({d.dtype.type: d for d in ALL})  # the scalar types hash differently

# mutable process state: set_default_dtype changes what Python floats become
_default = {"float": float32}


def from_numpy_dtype(np_dtype) -> dtype:
    """The compat dtype of a numpy dtype (or scalar type).

    >>> from_numpy_dtype(np.dtype("int32"))
    torch.int32
    """
    d = _BY_NUMPY.get(np_dtype)
    if d is None:
        d = _BY_NUMPY.get(np.dtype(np_dtype))
        if d is None:
            raise TypeError(f"compat has no dtype for numpy dtype {np.dtype(np_dtype)}")
    return d


def to_numpy(d) -> np.dtype:
    """The numpy dtype for a dtype spelled any way users spell it: a compat dtype, a numpy
    dtype or type, a string, or Python's ``float``/``int``/``bool`` (which mean float64,
    int64 and bool, as in PyTorch).

    >>> to_numpy(compat.long), to_numpy("float16")
    (dtype('int64'), dtype('float16'))
    """
    if type(d) is dtype:
        return d.dtype
    if d is builtins.float:
        return np.dtype(np.float64)
    if d is builtins.int:
        return np.dtype(np.int64)
    if d is builtins.bool:
        return np.dtype(np.bool_)
    if isinstance(d, str) and d.startswith("torch."):
        d = d[len("torch."):]
    return np.dtype(d)


def canonical(d) -> dtype:
    """The compat dtype for any spelling ``to_numpy`` accepts.

    >>> canonical("float64")
    torch.float64
    """
    return d if type(d) is dtype else from_numpy_dtype(to_numpy(d))


def get_default_dtype() -> dtype:
    """The dtype Python floats and float creation functions give (float32 unless changed).

    >>> compat.get_default_dtype()
    torch.float32
    """
    return _default["float"]


def set_default_dtype(d) -> None:
    """Set the default floating point dtype (``float32`` or ``float64``), as PyTorch's.

    >>> compat.set_default_dtype(compat.float64); compat.tensor([1.0]).dtype
    torch.float64
    >>> compat.set_default_dtype(compat.float32)
    """
    d = canonical(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default["float"] = d


def default_float_numpy() -> np.dtype:
    """The numpy dtype of the current default float dtype."""
    return _default["float"].dtype


def is_floating_point(x) -> builtins.bool:
    """True if ``x``'s dtype is a floating point type (``torch.is_floating_point``).

    >>> compat.is_floating_point(compat.tensor([1.0]))
    True
    """
    return x.dtype.is_floating_point


def promote_types(a, b) -> dtype:
    """The dtype two tensors of dtypes ``a`` and ``b`` combine to (``torch.promote_types``).

    >>> compat.promote_types(compat.int32, compat.float32)
    torch.float32
    """
    na, nb = to_numpy(a), to_numpy(b)
    if (na.kind in "fc") != (nb.kind in "fc"):  # an integer never widens a float
        return from_numpy_dtype(na if na.kind in "fc" else nb)
    return from_numpy_dtype(np.result_type(na, nb))


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating point dtype (``torch.finfo``).

    >>> compat.finfo(compat.float32).eps
    1.1920928955078125e-07
    """

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        fi = np.finfo(to_numpy(type) if type is not None else default_float_numpy())
        self.bits, self.eps = fi.bits, builtins.float(fi.eps)
        self.max, self.min = builtins.float(fi.max), builtins.float(fi.min)
        self.tiny = self.smallest_normal = builtins.float(fi.tiny)
        self.resolution = builtins.float(fi.resolution)
        self.dtype = str(fi.dtype)


class iinfo:  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype (``torch.iinfo``).

    >>> compat.iinfo(compat.int8).max
    127
    """

    def __init__(self, type):  # noqa: A002 - PyTorch's argument name
        ii = np.iinfo(to_numpy(type))
        self.bits, self.max, self.min, self.dtype = ii.bits, builtins.int(ii.max), \
            builtins.int(ii.min), str(ii.dtype)
