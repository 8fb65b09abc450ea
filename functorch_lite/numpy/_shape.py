"""Shape manipulation with numpy names."""

from __future__ import annotations

import numpy as np

from .. import lax as L
from ._core import (
    asarray_like,
    broadcast_shapes,
    broadcast_to_shape,
    normalize_axes,
    normalize_axis,
    num_elements,
    promote,
    shape_of,
)


def reshape(a, newshape=None, order="C", *, shape=None):
    """Reshape in C (row-major) or F (column-major) order; one dimension may be -1.

    >>> fnp.reshape(fnp.arange(6), (2, 3), order="F")
    Array([[0, 2, 4],
           [1, 3, 5]])
    """
    if order not in ("C", "F", "A"):
        raise ValueError(f"reshape: order must be 'C', 'F' or 'A', got {order!r}")
    newshape = shape if newshape is None else newshape
    x = asarray_like(a)
    old = shape_of(x)
    if isinstance(newshape, (int, np.integer)):
        newshape = (int(newshape),)
    newshape = [int(s) for s in newshape]
    if newshape.count(-1) > 1:
        raise ValueError("reshape: can only specify one unknown dimension")
    size = num_elements(old)
    if -1 in newshape:
        known = num_elements([s for s in newshape if s != -1])
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape array of size {size} into shape "
                             f"{tuple(newshape)}")
        newshape[newshape.index(-1)] = size // known
    if num_elements(newshape) != size:
        raise ValueError(f"reshape: cannot reshape array of shape {old} (size {size}) into "
                         f"shape {tuple(newshape)}")
    if order == "F":  # column-major = reverse the axes, reshape row-major, reverse back
        rev = L.transpose(x, tuple(reversed(range(len(old)))))
        y = L.reshape(rev, tuple(reversed(newshape)))
        return L.transpose(y, tuple(reversed(range(len(newshape)))))
    return L.reshape(x, tuple(newshape))


def ravel(a):
    x = asarray_like(a)
    return L.reshape(x, (num_elements(shape_of(x)),))


def transpose(a, axes=None):
    x = asarray_like(a)
    nd = len(shape_of(x))
    if axes is None:
        axes = tuple(reversed(range(nd)))
    axes = tuple(normalize_axis(ax, nd, op="transpose") for ax in axes)
    if sorted(axes) != list(range(nd)):
        raise ValueError(f"transpose: axes {axes} don't match array of shape {shape_of(x)}")
    return L.transpose(x, axes)


permute_dims = transpose


def moveaxis(a, source, destination):
    x = asarray_like(a)
    nd = len(shape_of(x))
    src = [normalize_axis(s, nd, "source", "moveaxis") for s in np.atleast_1d(source)]
    dst = [normalize_axis(d, nd, "destination", "moveaxis") for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of elements")
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return L.transpose(x, tuple(order))


def swapaxes(a, axis1, axis2):
    x = asarray_like(a)
    nd = len(shape_of(x))
    perm = list(range(nd))
    i, j = normalize_axis(axis1, nd, op="swapaxes"), normalize_axis(axis2, nd, op="swapaxes")
    perm[i], perm[j] = perm[j], perm[i]
    return L.transpose(x, tuple(perm))


def squeeze(a, axis=None):
    x = asarray_like(a)
    shape = shape_of(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = normalize_axes(axis, len(shape), op="squeeze")
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has size "
                                 f"not equal to one (axis {ax} of shape {shape})")
    return L.reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def expand_dims(a, axis):
    x = asarray_like(a)
    shape = list(shape_of(x))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    nd = len(shape) + len(axes)
    axes = sorted(normalize_axis(ax, nd, op="expand_dims") for ax in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"expand_dims: repeated axis in {axis}")
    for ax in axes:
        shape.insert(ax, 1)
    return L.reshape(x, tuple(shape))


def broadcast_to(array, shape):
    x = asarray_like(array)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    old = shape_of(x)
    if broadcast_shapes("broadcast_to", old, shape) != shape:
        raise ValueError(f"broadcast_to: cannot broadcast shape {old} to {shape}")
    return broadcast_to_shape(x, shape) if old != shape else x


def broadcast_arrays(*args):
    xs = [asarray_like(a) for a in args]
    shape = broadcast_shapes("broadcast_arrays", *[shape_of(x) for x in xs])
    return [broadcast_to_shape(x, shape) if shape_of(x) != shape else x for x in xs]


def atleast_1d(*arys):
    out = [reshape(a, (1,)) if len(shape_of(asarray_like(a))) == 0 else asarray_like(a)
           for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    out = []
    for a in arys:
        x = asarray_like(a)
        nd = len(shape_of(x))
        out.append(reshape(x, (1,) * (2 - nd) + shape_of(x)) if nd < 2 else x)
    return out[0] if len(out) == 1 else out


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis (``axis=None`` flattens them first)."""
    xs = list(arrays)
    if not xs:
        raise ValueError("concatenate: need at least one array to concatenate")
    if axis is None:
        xs = [ravel(x) for x in xs]
        axis = 0
    xs = promote("concatenate", *xs, broadcast=False)
    nd = len(shape_of(xs[0]))
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    for x in xs:
        if len(shape_of(x)) != nd:
            raise ValueError("concatenate: all the input arrays must have same number of "
                             "dimensions, got shapes " + ", ".join(str(shape_of(v)) for v in xs))
    ax = normalize_axis(axis, nd, op="concatenate")
    s0 = shape_of(xs[0])
    # checked here too: eager evaluation runs the numpy kernel without the shape rule
    if any(tuple(n for i, n in enumerate(shape_of(x)) if i != ax)
           != tuple(n for i, n in enumerate(s0) if i != ax) for x in xs):
        raise ValueError("concatenate: shapes " + ", ".join(str(shape_of(v)) for v in xs)
                         + f" differ outside axis {ax}")
    return L.concatenate(xs, ax)


def hstack(tup):
    xs = [atleast_1d(a) for a in tup]
    return concatenate(xs, axis=0 if len(shape_of(xs[0])) == 1 else 1)


def vstack(tup):
    return concatenate([atleast_2d(a) for a in tup], axis=0)


def split(ary, indices_or_sections, axis=0):
    """Split into equal sections (an int) or at the given indices (a sequence)."""
    x = asarray_like(ary)
    shape = shape_of(x)
    ax = normalize_axis(axis, len(shape), op="split")
    n = shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: array split does not result in an equal division "
                             f"({n} into {k} sections)")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    out = []
    for lo, hi in zip(bounds, bounds[1:]):
        # each piece is x[lo:hi] with Python slicing rules (negative indices count from the end)
        lo, hi, _ = slice(lo, hi).indices(n)
        out.append(L.slice_in_dim(x, lo, max(lo, hi), axis=ax))
    return out


def array_split(ary, indices_or_sections, axis=0):
    x = asarray_like(ary)
    n = shape_of(x)[normalize_axis(axis, len(shape_of(x)), op="array_split")]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        return split(x, list(np.cumsum(sizes)[:-1]), axis)
    return split(x, indices_or_sections, axis)


def flip(m, axis=None):
    x = asarray_like(m)
    return L.rev(x, normalize_axes(axis, len(shape_of(x)), op="flip"))


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def tile(A, reps):
    x = asarray_like(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shape = shape_of(x)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + tuple(shape)
    reps = (1,) * (nd - len(reps)) + reps
    x = L.reshape(x, shape)
    big = []
    dims = []
    for i, (r, n) in enumerate(zip(reps, shape)):
        big += [r, n]
        dims.append(2 * i + 1)
    return L.reshape(L.broadcast_in_dim(x, tuple(big), tuple(dims)),
                     tuple(r * n for r, n in zip(reps, shape)))


def roll(a, shift, axis=None):
    x = asarray_like(a)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), shape_of(x))
    shifts = np.atleast_1d(shift)
    axes = np.atleast_1d(axis)
    for s, ax in np.broadcast(shifts, axes):
        ax = normalize_axis(int(ax), len(shape_of(x)), op="roll")
        n = shape_of(x)[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            x = L.concatenate([L.slice_in_dim(x, n - s, n, axis=ax),
                               L.slice_in_dim(x, 0, n - s, axis=ax)], ax)
    return x


def shape(a):
    return shape_of(asarray_like(a))


def ndim(a):
    return len(shape_of(asarray_like(a)))


def size(a, axis=None):
    s = shape_of(asarray_like(a))
    return num_elements(s) if axis is None else s[axis]
