"""``repr`` of tensors, laid out as PyTorch prints them.

Floats use 4 decimals (``0.5000``), integral floats a trailing point (``1.``), scientific
notation when the magnitudes span more than 1000x (or exceed 1e8, or fall below 1e-4),
every element padded to one width; tensors over 1000 elements are summarised with ``...``.
Then the attributes that differ from the defaults: device, dtype, ``grad_fn`` or
``requires_grad``.

>>> compat.tensor([0.5, 2.0])
tensor([0.5000, 2.0000])
>>> compat.tensor([1.0, 1e-5], dtype=compat.float64)
tensor([1.0000e+00, 1.0000e-05], dtype=torch.float64)
"""

from __future__ import annotations

import math

import numpy as np

from functorch_lite.placement import is_gpu

from . import dtypes

THRESHOLD = 1000  # elements before summarising, as PyTorch's print options
EDGEITEMS = 3
PRECISION = 4
LINEWIDTH = 81  # numpy counts the trailing separator; 81 wraps where PyTorch's 80 does


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)].astype(np.float64)
    nonzero = np.abs(finite[finite != 0])
    int_mode = bool(np.all(finite == np.ceil(finite)))
    sci = False
    if nonzero.size:
        lo, hi = float(nonzero.min()), float(nonzero.max())
        sci = hi / lo > 1000.0 or hi > 1e8 or (not int_mode and lo < 1e-4)

    def fmt(v):
        v = float(v)
        if sci:
            return f"{v:.{PRECISION}e}"
        if int_mode:
            s = f"{v:.0f}"
            return s if math.isinf(v) or math.isnan(v) else s + "."
        return f"{v:.{PRECISION}f}"

    return fmt


def _formatter(a: np.ndarray):
    kind = a.dtype.kind
    sample = a.ravel() if a.size <= THRESHOLD else _summary_values(a)
    if kind == "b":
        fmt = str
    elif kind in "iu":
        fmt = lambda v: str(int(v))
    elif kind == "f":
        fmt = _float_formatter(sample)
    elif kind == "c":
        re_fmt = _float_formatter(np.concatenate([sample.real, sample.imag]))

        def fmt(v):
            im = re_fmt(abs(v.imag))
            return f"{re_fmt(v.real)}{'-' if v.imag < 0 else '+'}{im}j"
    else:
        fmt = str
    finite = sample[np.isfinite(sample)] if kind in "fc" else sample
    # PyTorch pads to the widest finite value; nan/inf keep their own length
    width = max((len(fmt(v)) for v in finite), default=0)
    return lambda v: fmt(v).rjust(width)


def _summary_values(a: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows (the first and last EDGEITEMS per dim)."""
    for ax in range(a.ndim):
        if a.shape[ax] > 2 * EDGEITEMS:
            idx = list(range(EDGEITEMS)) + list(range(a.shape[ax] - EDGEITEMS, a.shape[ax]))
            a = np.take(a, idx, axis=ax)
    return a.ravel()


def format_array(a: np.ndarray, prefix: str = "tensor(") -> str:
    """The body of a tensor's repr: nested brackets, elements formatted as PyTorch does."""
    if a.ndim == 0:
        return _formatter(a)(a.item() if a.dtype.kind != "c" else a[()])
    text = np.array2string(a, separator=", ", prefix=prefix, max_line_width=LINEWIDTH,
                           threshold=THRESHOLD, edgeitems=EDGEITEMS,
                           formatter={"all": _formatter(a)})
    return text.replace(", ...,", ",  ...,")  # PyTorch's summary marker spacing


def format_tensor(t) -> str:
    """PyTorch's repr of tensor ``t``: ``tensor([1., 2.], requires_grad=True)``."""
    a = t.array
    suffix = []
    if not isinstance(a, np.ndarray) and not is_gpu(a):
        body = repr(a)  # a tracer: show what it is
    else:
        host = np.asarray(a.get() if is_gpu(a) else a)
        if host.size == 0:
            body = "[]"
            if host.shape != (0,):
                dims = ", ".join(map(str, host.shape)) + ("," if host.ndim == 1 else "")
                suffix.append(f"size=({dims})")
        else:
            body = format_array(host)
    if is_gpu(a):
        suffix.append(f"device='{t.device}'")
    np_dtype = np.dtype(a.dtype)
    default = (dtypes.default_float_numpy(), np.dtype(np.int64), np.dtype(np.bool_),
               np.result_type(dtypes.default_float_numpy(), np.complex64))
    if np_dtype not in default or (body == "[]" and np_dtype != dtypes.default_float_numpy()):
        suffix.append(f"dtype={dtypes.from_numpy_dtype(np_dtype)}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.leaf_requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
