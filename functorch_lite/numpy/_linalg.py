"""Linear algebra with numpy semantics; the products lower to ``dot_general``."""

from __future__ import annotations

import numpy as np

from .. import lax as L
from ._core import broadcast_shapes, normalize_axis, promote, shape_of
from ._indexing import diagonal
from ._math import multiply
from ._reductions import sum as array_sum
from ._shape import ravel


def _promote2(name, a, b):
    return promote(name, a, b, broadcast=False)


def matmul(a, b, /):
    """Matrix product with numpy broadcasting of leading (batch) dimensions.

    >>> fnp.matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)).shape
    (2, 4)
    """
    x, y = _promote2("matmul", a, b)
    sx, sy = shape_of(x), shape_of(y)
    if not sx or not sy:
        raise ValueError(f"matmul: operands must not be scalars, got shapes {sx} and {sy}; "
                         "use multiply (*) for scalars")
    vx, vy = len(sx) == 1, len(sy) == 1
    if vx:
        x = L.reshape(x, (1,) + sx)
    if vy:
        y = L.reshape(y, sy + (1,))
    sx, sy = shape_of(x), shape_of(y)
    if sx[-1] != sy[-2]:
        raise ValueError(f"matmul: shapes {shape_of(a) if hasattr(a, 'shape') else sx} and "
                         f"{shape_of(b) if hasattr(b, 'shape') else sy} are not aligned: "
                         f"{sx[-1]} (last dim of the first) != {sy[-2]} (second-to-last dim of "
                         "the second)")
    batch = broadcast_shapes("matmul", sx[:-2], sy[:-2])
    nb = len(batch)
    if sx[:-2] != batch:
        x = L.broadcast_in_dim(x, batch + sx[-2:], tuple(range(nb - len(sx) + 2, nb + 2)))
    if sy[:-2] != batch:
        y = L.broadcast_in_dim(y, batch + sy[-2:], tuple(range(nb - len(sy) + 2, nb + 2)))
    bd = tuple(range(nb))
    out = L.dot_general(x, y, (((nb + 1,), (nb,)), (bd, bd)))
    if vx:
        out = L.reshape(out, batch + (shape_of(out)[-1],))
    if vy:
        out = L.reshape(out, shape_of(out)[:-1])
    return out


def dot(a, b, /):
    """numpy.dot: inner product for vectors, matrix product for matrices, and for N-d a sum
    over the last axis of ``a`` and the second-to-last of ``b``."""
    x, y = _promote2("dot", a, b)
    sx, sy = shape_of(x), shape_of(y)
    if not sx or not sy:
        return multiply(x, y)
    cy = 0 if len(sy) == 1 else len(sy) - 2
    if sx[-1] != sy[cy]:
        raise ValueError(f"dot: shapes {sx} and {sy} not aligned: {sx[-1]} (dim {len(sx) - 1}) "
                         f"!= {sy[cy]} (dim {cy})")
    return L.dot_general(x, y, (((len(sx) - 1,), (cy,)), ((), ())))


def vdot(a, b, /):
    return dot(ravel(a), ravel(b))


def inner(a, b, /):
    x, y = _promote2("inner", a, b)
    sx, sy = shape_of(x), shape_of(y)
    if not sx or not sy:
        return multiply(x, y)
    if sx[-1] != sy[-1]:
        raise ValueError(f"inner: shapes {sx} and {sy} differ in the last dimension")
    return L.dot_general(x, y, (((len(sx) - 1,), (len(sy) - 1,)), ((), ())))


def outer(a, b, /):
    x, y = _promote2("outer", ravel(a), ravel(b))
    return L.dot_general(L.reshape(x, shape_of(x) + (1,)), L.reshape(y, (1,) + shape_of(y)),
                         (((1,), (0,)), ((), ())))


def tensordot(a, b, axes=2):
    x, y = _promote2("tensordot", a, b)
    sx, sy = shape_of(x), shape_of(y)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        ax = tuple(range(len(sx) - n, len(sx)))
        bx = tuple(range(n))
    else:
        ax, bx = axes
        ax = (ax,) if isinstance(ax, (int, np.integer)) else tuple(ax)
        bx = (bx,) if isinstance(bx, (int, np.integer)) else tuple(bx)
        ax = tuple(normalize_axis(i, len(sx), op="tensordot") for i in ax)
        bx = tuple(normalize_axis(i, len(sy), op="tensordot") for i in bx)
    for i, j in zip(ax, bx):
        if sx[i] != sy[j]:
            raise ValueError(f"tensordot: shape-mismatch for sum: {sx} axis {i} vs {sy} axis {j}")
    return L.dot_general(x, y, ((ax, bx), ((), ())))


def _parse_einsum(subscripts, shapes):
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {len(terms)} subscript terms for {len(shapes)} operands")
    used = set(ch for ch in subscripts if ch.isalpha())
    free = iter(ch for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                if ch not in used)
    ell_rank = 0
    for t, s in zip(terms, shapes):
        if "..." in t:
            ell_rank = max(ell_rank, len(s) - (len(t) - 3))
    ell = "".join(next(free) for _ in range(ell_rank))
    new_terms = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            t = t.replace("...", ell[ell_rank - k:])
        if len(t) != len(s):
            raise ValueError(f"einsum: subscript '{t}' does not match operand of shape {s}")
        new_terms.append(t)
    if out is None:
        counts = {}
        for t in new_terms:
            for ch in t:
                counts[ch] = counts.get(ch, 0) + 1
        out = ell + "".join(sorted(ch for ch, c in counts.items() if c == 1 and ch not in ell))
    else:
        out = out.replace("...", ell)
    return new_terms, out, ell


def _diag_reduce(x, term, keep):
    """Take diagonals of repeated letters and sum letters not in ``keep``."""
    while True:
        dup = next((ch for ch in term if term.count(ch) > 1), None)
        if dup is None:
            break
        i = term.index(dup)
        j = term.index(dup, i + 1)
        x = diagonal(x, 0, i, j)
        term = "".join(c for k, c in enumerate(term) if k not in (i, j)) + dup
    drop = tuple(i for i, ch in enumerate(term) if ch not in keep)
    if drop:
        x = L.reduce_sum(x, drop)
        term = "".join(ch for i, ch in enumerate(term) if i not in drop)
    return x, term


def einsum(subscripts, *operands, optimize=None, precision=None):
    """Einstein summation (explicit and implicit forms, ``...`` supported).

    >>> fnp.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
    (2, 4)
    """
    xs = promote("einsum", *operands, broadcast=False)
    terms, out, ell = _parse_einsum(subscripts, [shape_of(x) for x in xs])
    sizes = {}
    for t, x in zip(terms, xs):
        for ch, n in zip(t, shape_of(x)):
            if ch in ell and 1 in (n, sizes.get(ch, n)):  # ellipsis dims broadcast
                sizes[ch] = max(n, sizes.get(ch, n))
            elif sizes.setdefault(ch, n) != n:
                raise ValueError(f"einsum: size of label '{ch}' differs between operands "
                                 f"({sizes[ch]} vs {n}) in '{subscripts}'")
    xs = [L.broadcast_in_dim(x, tuple(sizes[ch] for ch in t), tuple(range(len(t))))
          if tuple(sizes[ch] for ch in t) != shape_of(x) else x for x, t in zip(xs, terms)]
    cur, cur_t = None, None
    for k, (x, t) in enumerate(zip(xs, terms)):
        later = set(out) | set("".join(terms[k + 1:]))
        if cur is None:
            cur, cur_t = _diag_reduce(x, t, later | set("".join(terms[k + 1:])))
            continue
        x, t = _diag_reduce(x, t, later | set(cur_t))
        cur, cur_t = _diag_reduce(cur, cur_t, later | set(t))
        batch = [ch for ch in cur_t if ch in t and ch in later]
        contract = [ch for ch in cur_t if ch in t and ch not in later]
        dn = ((tuple(cur_t.index(c) for c in contract), tuple(t.index(c) for c in contract)),
              (tuple(cur_t.index(c) for c in batch), tuple(t.index(c) for c in batch)))
        cur = L.dot_general(cur, x, dn)
        cur_t = ("".join(batch) + "".join(c for c in cur_t if c not in batch and c not in contract)
                 + "".join(c for c in t if c not in batch and c not in contract))
    cur, cur_t = _diag_reduce(cur, cur_t, set(out))
    if sorted(cur_t) != sorted(out):
        raise ValueError(f"einsum: output subscript '{out}' is invalid for '{subscripts}'")
    return L.transpose(cur, tuple(cur_t.index(c) for c in out))


def trace(a, offset=0, axis1=0, axis2=1):
    return array_sum(diagonal(a, offset, axis1, axis2), axis=-1)


def kron(a, b):
    x, y = _promote2("kron", a, b)
    sx, sy = shape_of(x), shape_of(y)
    nd = max(len(sx), len(sy))
    sx = (1,) * (nd - len(sx)) + sx
    sy = (1,) * (nd - len(sy)) + sy
    x, y = L.reshape(x, sx), L.reshape(y, sy)
    big = tuple(v for pair in zip(sx, sy) for v in pair)
    xb = L.broadcast_in_dim(x, big, tuple(range(0, 2 * nd, 2)))
    yb = L.broadcast_in_dim(y, big, tuple(range(1, 2 * nd, 2)))
    return L.reshape(L.mul(xb, yb), tuple(p * q for p, q in zip(sx, sy)))
