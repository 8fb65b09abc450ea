"""The steps that are not fused kernels, keyed by primitive: which CuPy routine runs
each (``OPAQUE[prim] = (routine, run)``, ``run(xp, arrays, params) -> list of arrays``,
``xp`` being the ``cupy`` module, handed in by the runtime so that this module never
imports it). ``routine`` is what ``lower_text`` prints for the step.

* ``dot_general``: operands moved to (batch, rows, contracted) x (batch, contracted,
  cols) and multiplied by ``cupy.matmul`` (cuBLAS batched GEMM for floats);
* ``cumsum``: ``cupy.cumsum`` (reversed through ``cupy.flip``); ``argmax``/``argmin``:
  ``cupy.argmax``/``argmin`` (first index of the extreme, NaN wins, as numpy);
  ``argsort``: ``cupy.argsort`` (stable);
* ``concatenate``: ``cupy.concatenate``;
* ``gather``, ``scatter``, ``pad``, ``window_patches``, ``window_overlap_add``: the
  primitive's own reference ``impl``, written against the array module of its inputs,
  so it runs CuPy operations on device arrays;
* ``name`` is its operand; ``custom_lin`` raises the reference interpreter's error.

>>> OPAQUE[linalg.dot_general_p][0]
'cupy.matmul (cuBLAS batched GEMM)'
"""

from __future__ import annotations

import numpy as np

from functorch_lite.checkpoint import name_p
from functorch_lite.custom import custom_lin_p
from functorch_lite.primitives import conv, index, linalg, reduce, shape


def _dot_general(xp, arrays, params):
    lhs, rhs = arrays
    (lc, rc), (lb, rb) = params["dimension_numbers"]
    lf = [d for d in range(lhs.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    bshape = [lhs.shape[d] for d in lb]
    m = [lhs.shape[d] for d in lf]
    n = [rhs.shape[d] for d in rf]
    size = lambda dims: int(np.prod(dims, dtype=np.int64))  # noqa: E731
    k = size([lhs.shape[d] for d in lc])
    a = xp.transpose(lhs, list(lb) + lf + list(lc)).reshape(size(bshape), size(m), k)
    b = xp.transpose(rhs, list(rb) + list(rc) + rf).reshape(size(bshape), k, size(n))
    out = xp.matmul(a, b).reshape(bshape + m + n)
    want = params.get("preferred_element_type")
    return [out.astype(want, copy=False) if want is not None else out]


def _cumsum(xp, arrays, params):
    (x,) = arrays
    axis, rev = params["axis"], params.get("reverse", False)
    if rev:
        return [xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis, dtype=x.dtype), axis)]
    return [xp.cumsum(x, axis=axis, dtype=x.dtype)]


def _arg(fn):
    def run(xp, arrays, params):
        (x,) = arrays
        return [getattr(xp, fn)(x, axis=params["axes"][0]).astype(params["index_dtype"])]

    return run


def _impl(prim):
    def run(xp, arrays, params):
        out = prim.impl(*arrays, **params)
        return list(out) if prim.multiple_results else [out]

    return run


def _name(xp, arrays, params):
    return [arrays[0]]


def _custom_lin(xp, arrays, params):
    # the numpy interpreter raises this when the program runs; no code could do better
    custom_lin_p.impl(*arrays, **params)
    raise AssertionError("custom_lin's impl always raises")


OPAQUE = {
    linalg.dot_general_p: ("cupy.matmul (cuBLAS batched GEMM)", _dot_general),
    reduce.cumsum_p: ("cupy.cumsum", _cumsum),
    reduce.argmax_p: ("cupy.argmax", _arg("argmax")),
    reduce.argmin_p: ("cupy.argmin", _arg("argmin")),
    shape.concatenate_p: ("cupy.concatenate",
                          lambda xp, a, p: [xp.concatenate(a, axis=p["dimension"])]),
    name_p: ("identity", _name),
    custom_lin_p: ("raises the reference's error", _custom_lin),
}
for _p in (index.gather_p, index.scatter_p, shape.pad_p, conv.window_patches_p,
           conv.window_overlap_add_p, reduce.argsort_p):
    OPAQUE[_p] = (f"{_p.name}'s reference impl on cupy arrays", _impl(_p))
