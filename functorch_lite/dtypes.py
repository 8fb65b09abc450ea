"""Dtype rules: defaults, weak typing of Python scalars, and binary promotion.

Python scalars are *weakly typed*: ``x * 2.0`` keeps a float32 ``x`` float32, as in
JAX. A weak value only decides the result's *kind* (bool < int < float); the
strong operand decides the width. Two strong operands promote as numpy does, except
that integers never widen floats (float32 + int64 -> float32, as in JAX and PyTorch).
"""

from __future__ import annotations

import numpy as np

default_float = np.dtype(np.float32)
default_int = np.dtype(np.int64)

_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def kind_rank(dtype) -> int:
    """Rank of a dtype's kind in promotion: bool < int (signed or not) < float < complex."""
    return _KIND_ORDER[np.dtype(dtype).kind]


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def is_int(dtype) -> bool:
    return np.dtype(dtype).kind in "iu"


def is_python_scalar(x) -> bool:
    """A Python ``bool``/``int``/``float``/``complex`` (weakly typed), not a numpy scalar."""
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def scalar_dtype(x) -> np.dtype:
    """Dtype a Python scalar gets when it stands alone (``fnp.array(1.0)``)."""
    if isinstance(x, bool):
        return np.dtype(bool)
    if isinstance(x, int):
        return default_int
    if isinstance(x, float):
        return default_float
    if isinstance(x, complex):
        return np.dtype(np.complex64)
    raise TypeError(f"not a Python scalar: {type(x).__name__}")


def canonical(dtype) -> np.dtype:
    """Map user dtype spellings (``float``, ``'float32'``, ``np.float64``) to np.dtype.

    Python's ``float`` and ``int`` mean the library defaults (float32 / int64), as in JAX.
    """
    if dtype is float:
        return default_float
    if dtype is int:
        return default_int
    if dtype is bool:
        return np.dtype(bool)
    return np.dtype(dtype)


def promote(dtypes, weak) -> tuple[np.dtype, bool]:
    """Result dtype and weakness of combining values with ``dtypes`` / ``weak`` flags."""
    strong = [d for d, w in zip(dtypes, weak) if not w]
    weaks = [d for d, w in zip(dtypes, weak) if w]
    if strong:
        floats = [d for d in strong if d.kind in "fc"]
        # like JAX and PyTorch (not numpy): an integer array never widens a float one,
        # so float32 + int64 is float32
        pool = floats or strong
        out = np.result_type(*pool) if len(pool) > 1 else np.dtype(pool[0])
        for d in weaks:
            if _KIND_ORDER[d.kind] > _KIND_ORDER[out.kind]:
                # a weak float meeting an int array gives the default float, not float64
                out = default_float if d.kind == "f" else np.result_type(out, d)
        return np.dtype(out), False
    # only Python scalars: the highest kind wins at its own width (2.0 * 3 is float32)
    top = max(_KIND_ORDER[d.kind] for d in weaks)
    same = [d for d in weaks if _KIND_ORDER[d.kind] == top]
    return np.dtype(np.result_type(*same)), True
