"""dot_general: batched tensor contraction (the one linear-algebra primitive).

``dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``; the
output holds the batch dims, then lhs free dims, then rhs free dims (XLA's order).
"""

from __future__ import annotations

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..placement import as_ndarray
from ..rules import Zero, is_undefined
from .elementwise import convert, defjvp
from .shape import moveaxis, transpose


def _free(ndim, contract, batch):
    return [i for i in range(ndim) if i not in contract and i not in batch]


def _dot_aval(lhs, rhs, dimension_numbers, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise ValueError(f"dot_general: dimension numbers {dimension_numbers} are unbalanced")
    for a, b in zip(lc, rc):
        if lhs.shape[a] != rhs.shape[b]:
            raise ValueError(f"dot_general: contracting dimension {a} of lhs {lhs.shape} "
                             f"(size {lhs.shape[a]}) does not match dimension {b} of rhs "
                             f"{rhs.shape} (size {rhs.shape[b]})")
    for a, b in zip(lb, rb):
        if lhs.shape[a] != rhs.shape[b]:
            raise ValueError(f"dot_general: batch dimension {a} of lhs {lhs.shape} does not "
                             f"match dimension {b} of rhs {rhs.shape}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general: operand dtypes differ: {lhs.dtype.name} vs "
                        f"{rhs.dtype.name}")
    shape = ([lhs.shape[i] for i in lb] + [lhs.shape[i] for i in _free(lhs.ndim, lc, lb)]
             + [rhs.shape[i] for i in _free(rhs.ndim, rc, rb)])
    dtype = preferred_element_type or lhs.dtype
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type)


def _dot_impl(lhs, rhs, dimension_numbers, preferred_element_type=None):
    lhs, rhs = as_ndarray(lhs), as_ndarray(rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    lf, rf = _free(lhs.ndim, lc, lb), _free(rhs.ndim, rc, rb)
    bshape = [lhs.shape[i] for i in lb]
    m = [lhs.shape[i] for i in lf]
    n = [rhs.shape[i] for i in rf]
    k = int(np.prod([lhs.shape[i] for i in lc], dtype=np.int64))
    bsz = int(np.prod(bshape, dtype=np.int64))
    a = np.transpose(lhs, list(lb) + lf + list(lc)).reshape(
        bsz, int(np.prod(m, dtype=np.int64)), k)
    b = np.transpose(rhs, list(rb) + list(rc) + rf).reshape(
        bsz, k, int(np.prod(n, dtype=np.int64)))
    out = np.matmul(a, b).reshape(bshape + m + n)
    if preferred_element_type is not None:
        out = out.astype(preferred_element_type, copy=False)
    return out


dot_general_p = Primitive("dot_general")
dot_general_p.impl = _dot_impl
dot_general_p.abstract_eval = _dot_aval


def _ranges_like(*xs):
    start = 0
    for x in xs:
        yield tuple(range(start, start + len(x)))
        start += len(x)


def _transpose_lhs(g, x_aval, y, dimension_numbers, swap_ans=False):
    (xc, yc), (xb, yb) = dimension_numbers
    y_ndim = get_aval(y).ndim
    x_kept = _free(x_aval.ndim, xc, xb)
    y_kept = _free(y_ndim, yc, yb)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(xb, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(xb, x_kept, y_kept)
    dims = ((ans_y, tuple(y_kept)), (ans_batch, tuple(yb)))
    xc_by_y = [xc[i] for i in np.argsort(yc)]
    out_axes = np.argsort(list(xb) + x_kept + xc_by_y)
    res = dot_general_p.bind(g, y, dimension_numbers=dims, preferred_element_type=None)
    res = transpose(res, tuple(int(i) for i in out_axes))
    return convert(res, x_aval.dtype) if get_aval(res).dtype != x_aval.dtype else res


def _dot_transpose(ct, lhs, rhs, dimension_numbers, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    if is_undefined(lhs) and is_undefined(rhs):
        raise TypeError("dot_general: both operands are linear; the product is not linear")
    if is_undefined(lhs):
        if type(ct) is Zero:
            return [Zero(lhs.aval), None]
        return [_transpose_lhs(ct, lhs.aval, rhs, dimension_numbers), None]
    if type(ct) is Zero:
        return [None, Zero(rhs.aval)]
    swapped = ((rc, lc), (rb, lb))
    return [None, _transpose_lhs(ct, rhs.aval, lhs, swapped, swap_ans=True)]


defjvp(dot_general_p,
       lambda g, ans, x, y, **p: dot_general_p.bind(g, y, **p),
       lambda g, ans, x, y, **p: dot_general_p.bind(x, g, **p))
dot_general_p.transpose = _dot_transpose


def _dot_batch(size, vals, dims, dimension_numbers, preferred_element_type=None):
    (lhs, rhs), (ld, rd) = vals, dims
    (lc, rc), (lb, rb) = dimension_numbers
    sh = lambda ax: tuple(a + 1 for a in ax)
    if ld is not None and rd is not None:
        lhs, rhs = moveaxis(lhs, ld, 0), moveaxis(rhs, rd, 0)
        dn = ((sh(lc), sh(rc)), ((0,) + sh(lb), (0,) + sh(rb)))
        return dot_general_p.bind(lhs, rhs, dimension_numbers=dn,
                                  preferred_element_type=preferred_element_type), 0
    if ld is not None:
        lhs = moveaxis(lhs, ld, 0)
        dn = ((sh(lc), rc), (sh(lb), rb))
        return dot_general_p.bind(lhs, rhs, dimension_numbers=dn,
                                  preferred_element_type=preferred_element_type), len(lb)
    rhs = moveaxis(rhs, rd, 0)
    dn = ((lc, sh(rc)), (lb, sh(rb)))
    n_lhs_free = get_aval(lhs).ndim - len(lc) - len(lb)
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dn,
                              preferred_element_type=preferred_element_type), len(lb) + n_lhs_free


dot_general_p.batch = _dot_batch


# ------------------------------------------------------------------ binder (lax re-exports it)


def dot_general(lhs, rhs, dimension_numbers, preferred_element_type=None):
    """Contract ``lhs`` and ``rhs``: ``((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``.

    >>> dot_general(np.ones((2, 3)), np.ones((3, 4)), (((1,), (0,)), ((), ()))).shape
    (2, 4)
    """
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb)))
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dn,
                              preferred_element_type=preferred_element_type)
