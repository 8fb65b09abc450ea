"""Argument handling shared by the user-facing transforms: leaves as arrays, function names.

>>> as_array(2.0)
Array(2., dtype=float32, weak_type=True)
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .array import wrap
from .core import Tracer


def as_array(x):
    """Accept numpy arrays, Python scalars, tracers and compat Tensors as leaves.

    Python scalars get the library defaults (float32, int64) as weakly typed Arrays, numpy
    scalars become Arrays; anything array-like with a ``shape`` and ``dtype`` (cupy arrays)
    passes through unchanged."""
    if isinstance(x, (Tracer, np.ndarray)):
        return x
    conv = getattr(x, "__fl_array__", None)
    if conv is not None:
        return conv()
    if isinstance(x, np.generic):
        return wrap(np.asarray(x))
    if isinstance(x, (bool, int, float, complex)):
        # weakly typed, as the same argument is when traced by jit
        return wrap(np.asarray(x, dtypes.scalar_dtype(x)), weak=True)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    raise TypeError(f"expected an array, a Python scalar or a compat Tensor, got "
                    f"{type(x).__name__}")


def fun_name(fun) -> str:
    """The name error messages use for a user function (its ``__name__`` or its type)."""
    return getattr(fun, "__name__", type(fun).__name__)
