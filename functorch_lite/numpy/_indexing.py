"""numpy-style indexing (``x[idx]``, ``x.at[idx].set(v)``) and the functions built on it.

Reads gather, functional updates scatter. Built on index arrays: ``take``,
``take_along_axis``, ``repeat`` and ``pad`` (beyond their broadcast/constant cases),
``diagonal``, ``diag`` and sorting.

An index expression is normalised to the static *spec* of the gather/scatter
primitives plus a list of integer index arrays (which may be traced).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .. import lax as L
from ..core import ConcretizationError, Tracer, user_frame, where_str
from ..primitives.index import spec_layout
from ._core import asarray_like, broadcast_to_shape, cast, dtype_of, normalize_axis, shape_of
from ._math import add, clip, divide, maximum, minimum, multiply, power, remainder, where
from ._shape import moveaxis, ravel


def _is_int_scalar(i):
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


_EMPTY_ELLIPSIS = object()  # marks where an ellipsis expanding to no dimension stood


class _Mask:
    """A concrete boolean mask of rank >= 1 in an index (expanded once its axis is known)."""

    __slots__ = ("m",)

    def __init__(self, m):
        self.m = m


def _traced_mask_error(name, mask):
    return ConcretizationError(
        f"{name}: boolean mask indexing with a traced mask ({mask.aval.str_short()}) gives a "
        f"result whose shape depends on the mask's values, which cannot be traced.\n"
        f"  at {where_str(user_frame())}\n"
        "To fix: use fnp.where(mask, x, other) (or x.at[mask].set(v) for updates), or compute "
        "the mask outside the transform / mark its input static (jit(f, static_argnums=...)).")


def normalize_index(shape, idx, name="index"):
    """Returns (spec, index arrays) for ``x[idx]`` on an array of ``shape``.

    0-d booleans must have been removed first (``_lift_scalar_bools``)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    items = []
    for i in idx:
        if isinstance(i, list):
            i = np.asarray(i)
            if i.dtype == np.float64 and i.size == 0:
                i = i.astype(np.int64)
        if isinstance(i, Tracer) and i.dtype == np.bool_:
            raise _traced_mask_error(name, i)
        if isinstance(i, (np.ndarray, np.bool_, bool)) and np.asarray(i).dtype == np.bool_:
            i = np.asarray(i)
            if i.ndim == 0:  # pragma: no cover - removed by _lift_scalar_bools
                raise IndexError(f"{name}: unexpected 0-d boolean index")
            items.append(_Mask(i))
            continue
        items.append(i)
    n_consume = sum(i.m.ndim if isinstance(i, _Mask) else 1
                    for i in items if i is not None and i is not Ellipsis)
    if n_consume > len(shape):
        raise IndexError(f"{name}: too many indices for array of shape {shape}: "
                         f"{n_consume} were given")
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise IndexError(f"{name}: an index can only have a single ellipsis ('...')")
    if Ellipsis in [i if i is Ellipsis else None for i in items]:
        k = next(j for j, i in enumerate(items) if i is Ellipsis)
        fill = [slice(None)] * (len(shape) - n_consume)
        # an ellipsis standing for no dimension still separates advanced indices (numpy)
        items = items[:k] + (fill or [_EMPTY_ELLIPSIS]) + items[k + 1:]
    else:
        items = items + [slice(None)] * (len(shape) - n_consume)
    # expand boolean masks into integer index arrays, checking they fit the axes they cover
    expanded, dim = [], 0
    for i in items:
        if isinstance(i, _Mask):
            covered = tuple(shape[dim:dim + i.m.ndim])
            if i.m.shape != covered:
                raise IndexError(f"{name}: boolean index of shape {i.m.shape} does not match "
                                 f"the indexed dimensions {covered} (from axis {dim}) of an "
                                 f"array of shape {shape}")
            expanded.extend(np.nonzero(i.m))
            dim += i.m.ndim
            continue
        expanded.append(i)
        if i is not None and i is not _EMPTY_ELLIPSIS:
            dim += 1
    items = expanded
    spec, arrays, dim, sep_at = [], [], 0, None
    for i in items:
        if i is _EMPTY_ELLIPSIS:
            sep_at = len(spec)
            continue
        if i is None:
            spec.append(("n",))
            continue
        n = shape[dim]
        if isinstance(i, slice):
            start, stop, step = (_static(v, name) for v in (i.start, i.stop, i.step))
            start, stop, step = slice(start, stop, step).indices(n)
            if not len(range(start, stop, step)):
                start, stop, step = 0, 0, 1  # empty; also avoids start == -1 (step < 0)
            spec.append(("s", start, stop, step))
        elif _is_int_scalar(i):
            j = int(i)
            if not -n <= j < n:
                raise IndexError(f"{name}: index {j} is out of bounds for axis {dim} with size "
                                 f"{n}")
            spec.append(("c", j % n))
        else:
            arr = asarray_like(i)
            if not dtypes.is_int(dtype_of(arr)):
                raise IndexError(f"{name}: arrays used as indices must be of integer (or "
                                 f"boolean) type, got {dtype_of(arr)}")
            _check_bounds(name, arr, n, dim)
            spec.append(("i", len(arrays)))
            arrays.append(arr)
        dim += 1
    # numpy puts the broadcast index dims first when advanced indices are not adjacent; the
    # spec cannot express "separated by an empty ellipsis", so report it (``front``)
    adv = [j for j, e in enumerate(spec) if e[0] in "ic"] if arrays else []
    front = sep_at is not None and any(j < sep_at for j in adv) and any(j >= sep_at for j in adv)
    return tuple(spec), arrays, front


def _front_perm(shape, spec, arrays):
    """Permutation taking the spec's result layout (index dims in place) to numpy's layout
    for separated advanced indices (index dims first); None when they coincide."""
    out_shape, p, bshape = spec_layout(shape, spec, [shape_of(a) for a in arrays])
    if not p:
        return None
    r = len(bshape)
    return tuple(range(p, p + r)) + tuple(range(p)) + tuple(range(p + r, len(out_shape)))


def _static(v, name):
    if v is None:
        return None
    if isinstance(v, Tracer):
        return int(v.to_concrete(f"{name}: a slice bound", "int"))
    return int(v)


def _is_scalar_bool(i):
    return isinstance(i, (bool, np.bool_)) or (
        isinstance(i, np.ndarray) and i.dtype == np.bool_ and i.ndim == 0)


def _lift_scalar_bools(x, idx):
    """numpy's reading of a 0-d boolean index: a new unit axis of the operand, indexed by
    ``[0]`` (True) or ``[]`` (False) as an advanced index. Returns (x', idx') with the unit
    axes inserted into ``x`` (``idx`` unchanged when it holds no 0-d boolean)."""
    tup = idx if isinstance(idx, tuple) else (idx,)
    if not any(_is_scalar_bool(i) for i in tup):
        return x, idx

    def consumed(i):
        if i is None or i is Ellipsis:
            return 0
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, (np.ndarray, Tracer)) and i.dtype == np.bool_:
            return i.ndim
        return 1

    shape = shape_of(x)
    others = sum(consumed(i) for i in tup if not _is_scalar_bool(i))
    pos, new_idx, new_shape = 0, [], list(shape)
    for i in tup:
        if _is_scalar_bool(i):
            new_shape.insert(pos, 1)
            new_idx.append(np.arange(int(bool(i)), dtype=np.int64))
            pos += 1
        else:
            pos += max(len(shape) - others, 0) if i is Ellipsis else consumed(i)
            new_idx.append(i)
    return L.reshape(x, tuple(new_shape)), tuple(new_idx)


def getitem(x, idx):
    """``x[idx]`` with numpy semantics for basic and advanced (integer/boolean) indexing."""
    x = asarray_like(x)
    x, idx = _lift_scalar_bools(x, idx)
    spec, arrays, front = normalize_index(shape_of(x), idx)
    if not arrays:
        if len(spec) == len(shape_of(x)) and all(
                e[0] == "s" and e[1:] == (0, n, 1) for e, n in zip(spec, shape_of(x))):
            return x
        if all(e[0] in "sc" and (e[0] == "c" or e[3] > 0) for e in spec):
            return _basic(x, spec)
    out = L.gather(x, arrays, spec)
    perm = _front_perm(shape_of(x), spec, arrays) if front else None
    return L.transpose(out, perm) if perm else out


def _basic(x, spec):
    """Static slices and integers: slice + reshape (cheaper to run and differentiate)."""
    shape = shape_of(x)
    starts, limits, strides, keep = [], [], [], []
    for e, _n in zip(spec, shape):
        if e[0] == "s":
            start, stop, step = e[1:]
            starts.append(start)
            limits.append(max(start, stop))
            strides.append(step)
            keep.append(True)
        else:
            starts.append(e[1])
            limits.append(e[1] + 1)
            strides.append(1)
            keep.append(False)
    y = L.slice(x, starts, limits, strides)
    ys = shape_of(y)
    return L.reshape(y, tuple(n for n, k in zip(ys, keep) if k))


class AtIndexer:
    """``x.at``: indexing it gives the reference whose methods make the updated copy."""

    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _AtRef(self.x, idx)


class _AtRef:
    """Functional index update: ``x.at[idx].set(v)`` returns a new array."""

    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x = asarray_like(x)
        self.idx = idx

    def get(self):
        return getitem(self.x, self.idx)

    def _update(self, v, mode):
        x = self.x
        idx = self.idx if isinstance(self.idx, tuple) else (self.idx,)
        shape = shape_of(x)
        # traced boolean mask over the whole array: a select, no data-dependent shape
        if len(idx) == 1 and isinstance(idx[0], Tracer) and idx[0].dtype == np.bool_:
            return _masked_update(x, idx[0], v, mode)
        orig_shape = shape
        x, idx = _lift_scalar_bools(x, idx)
        shape = shape_of(x)
        spec, arrays, front = normalize_index(shape, idx, f"at[].{mode}")
        out_shape = _gather_shape(shape, spec, arrays)
        perm = _front_perm(shape, spec, arrays) if front else None
        if perm:  # the updates are laid out as numpy's x[idx] would be
            out_shape = tuple(out_shape[p] for p in perm)
        v = cast(asarray_like(v), dtype_of(x))
        vs = shape_of(v)
        if vs != out_shape:
            try:
                v = broadcast_to_shape(v, out_shape)
            except ValueError:
                raise ValueError(f"at[].{mode}: updates of shape {vs} cannot be broadcast to the "
                                 f"indexed shape {out_shape}") from None
            if np.broadcast_shapes(vs, out_shape) != out_shape:
                raise ValueError(f"at[].{mode}: updates of shape {vs} cannot be broadcast to the "
                                 f"indexed shape {out_shape}")
        if perm:
            v = L.transpose(v, tuple(int(i) for i in np.argsort(perm)))
        return L.reshape(L.scatter(x, v, arrays, spec, mode), orig_shape)

    def set(self, values):
        return self._update(values, "set")

    def add(self, values):
        return self._update(values, "add")

    def multiply(self, values):
        return self._update(values, "mul")

    mul = multiply

    def divide(self, values):
        return self._update(divide(1, values), "mul")

    def power(self, values):
        return self.set(power(self.get(), values))

    def min(self, values):
        return self._update(values, "min")

    def max(self, values):
        return self._update(values, "max")

    def apply(self, fn):
        return self.set(fn(self.get()))


def _masked_update(x, mask, v, mode):
    xs, ms = shape_of(x), shape_of(mask)
    # a boolean index covers the *leading* dims (x[mask] with a row mask selects rows)
    if ms != xs[:len(ms)]:
        raise IndexError(f"at[].{mode}: boolean mask of shape {ms} does not match the leading "
                         f"dimensions of an array of shape {xs}")
    if ms != xs:
        mask = L.broadcast_in_dim(mask, xs, tuple(range(len(ms))))
    v = cast(asarray_like(v), dtype_of(x))
    try:
        ok = np.broadcast_shapes(shape_of(v), xs) == xs
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"at[].{mode}: updates of shape {shape_of(v)} cannot be broadcast to "
                         f"the masked array of shape {xs}")
    new = {"set": lambda: v, "add": lambda: add(x, v), "mul": lambda: multiply(x, v),
           "max": lambda: maximum(x, v), "min": lambda: minimum(x, v)}[mode]()
    return where(mask, new, x)


def _gather_shape(shape, spec, arrays):
    return spec_layout(shape, spec, [shape_of(a) for a in arrays])[0]


def at(x) -> AtIndexer:
    """Functional updates on any array, concrete or traced: ``fnp.at(x)[0].set(1.0)``."""
    return AtIndexer(x)


def _along_axis(a, axis, op):
    """``a`` as an array and ``axis`` normalised; ``axis=None`` means the flattened array."""
    x = asarray_like(a)
    if axis is None:
        return ravel(x), 0
    return x, normalize_axis(axis, len(shape_of(x)), op=op)


def _check_bounds(name, idx, n, ax):
    """Concrete index arrays are checked like static indices (IndexError, as numpy)."""
    if isinstance(idx, np.ndarray) and idx.size and ((idx >= n).any() or (idx < -n).any()):
        bad = int(idx.max()) if (idx >= n).any() else int(idx.min())
        raise IndexError(f"{name}: index {bad} is out of bounds for axis {ax} with size {n}")


def take(a, indices, axis=None, mode=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (flattened when None).

    ``mode``: None/'raise' (numpy's default): concrete out-of-range indices raise
    IndexError; traced ones cannot be checked and are clamped, as in ``x[i]`` (JAX's
    choice). 'clip' clamps into ``[0, n-1]``, 'wrap' wraps around (numpy's modes)."""
    x, ax = _along_axis(a, axis, "take")
    shape = shape_of(x)
    idx = asarray_like(indices)
    if not dtypes.is_int(dtype_of(idx)):
        raise IndexError(f"take: indices must be integers, got {dtype_of(idx)}")
    n = shape[ax]
    if mode in (None, "raise"):
        _check_bounds("take", idx, n, ax)
    elif mode == "clip":
        idx = clip(idx, 0, max(n - 1, 0))
    elif mode == "wrap":
        idx = remainder(idx, max(n, 1))
    else:
        raise ValueError(f"take: mode must be 'raise', 'clip' or 'wrap', got {mode!r}")
    spec = tuple(("i", 0) if d == ax else ("s", 0, n, 1) for d, n in enumerate(shape))
    return L.gather(x, [idx], spec)


def take_along_axis(arr, indices, axis):
    x = asarray_like(arr)
    idx = asarray_like(indices)
    shape, ishape = shape_of(x), shape_of(idx)
    if axis is None:
        return take_along_axis(ravel(x), ravel(idx) if len(ishape) != 1 else idx, 0)
    if len(shape) != len(ishape):
        raise ValueError(f"take_along_axis: indices (shape {ishape}) and arr (shape {shape}) "
                         "must have the same number of dimensions")
    ax = normalize_axis(axis, len(shape), op="take_along_axis")
    _check_bounds("take_along_axis", idx, shape[ax], ax)
    bshape = tuple(ishape[d] if d == ax else np.broadcast_shapes((shape[d],), (ishape[d],))[0]
                   for d in range(len(shape)))
    arrays, spec = [], []
    for d in range(len(shape)):
        if d == ax:
            a = idx if ishape == bshape else broadcast_to_shape(idx, bshape)
        else:
            a = L.iota(np.int64, bshape, d)
        spec.append(("i", len(arrays)))
        arrays.append(a)
    return L.gather(x, arrays, tuple(spec))


def repeat(a, repeats, axis=None):
    """Repeat elements; ``repeats`` is an int or a concrete sequence of ints."""
    x, ax = _along_axis(a, axis, "repeat")
    shape = shape_of(x)
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        big = shape[:ax + 1] + (r,) + shape[ax + 1:]
        y = L.broadcast_in_dim(x, big, tuple(i if i <= ax else i + 1 for i in range(len(shape))))
        return L.reshape(y, shape[:ax] + (shape[ax] * r,) + shape[ax + 1:])
    idx = np.repeat(np.arange(shape[ax]), np.asarray(repeats))
    return take(x, idx, axis=ax)


def pad(array, pad_width, mode="constant", constant_values=0):
    """Pad with numpy's modes: constant, edge, reflect, symmetric, wrap."""
    x = asarray_like(array)
    shape = shape_of(x)
    nd = len(shape)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (nd, 2))
    if (pw < 0).any():
        raise ValueError(f"pad: negative pad widths {pad_width}")
    if mode == "constant":
        cv = np.asarray(constant_values)
        if cv.ndim == 0:
            return L.pad(x, tuple((int(lo), int(hi), 0) for lo, hi in pw), cv.item())
        # per-axis (before, after) values: pad one side of one axis at a time, in axis order,
        # so corners take the later axis's value (as numpy does)
        cv = np.broadcast_to(cv, (nd, 2))
        for ax, (lo, hi) in enumerate(pw):
            for side, width in ((0, lo), (1, hi)):
                if width:
                    cfg = [(0, 0, 0)] * nd
                    cfg[ax] = (int(width), 0, 0) if side == 0 else (0, int(width), 0)
                    x = L.pad(x, tuple(cfg), cv[ax, side].item())
        return x
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use constant, edge, "
                                  "reflect, symmetric or wrap")
    for ax, (lo, hi) in enumerate(pw):
        if lo or hi:
            idx = np.pad(np.arange(shape[ax]), (int(lo), int(hi)), mode=mode)
            x = take(x, idx, axis=ax)
    return x


def diagonal(a, offset=0, axis1=0, axis2=1):
    """Diagonal of the (axis1, axis2) planes, placed last (numpy's layout)."""
    x = asarray_like(a)
    shape = shape_of(x)
    nd = len(shape)
    a1, a2 = (normalize_axis(axis1, nd, "axis1", "diagonal"),
              normalize_axis(axis2, nd, "axis2", "diagonal"))
    x = moveaxis(x, (a1, a2), (nd - 2, nd - 1))
    n, m = shape_of(x)[-2:]
    k = max(0, min(n - max(-offset, 0), m - max(offset, 0)))
    i = np.arange(k) + max(-offset, 0)
    j = np.arange(k) + max(offset, 0)
    spec = tuple(("s", 0, s, 1) for s in shape_of(x)[:-2]) + (("i", 0), ("i", 1))
    return L.gather(x, [i, j], spec)


def diag(v, k=0):
    x = asarray_like(v)
    s = shape_of(x)
    if len(s) == 2:
        return diagonal(x, k)
    if len(s) != 1:
        raise ValueError("diag: input must be 1-d or 2-d")
    n = s[0] + abs(k)
    z = L.full((n, n), 0, dtype_of(x))
    i = np.arange(s[0]) + max(-k, 0)
    j = np.arange(s[0]) + max(k, 0)
    return L.scatter(z, x, [i, j], (("i", 0), ("i", 1)), "set")


def argsort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    x, ax = _along_axis(a, axis, "argsort")
    return L.argsort(x, ax, descending)


def sort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    """Sorted copy; differentiable (a gather of the sorting permutation)."""
    x, ax = _along_axis(a, axis, "sort")
    return take_along_axis(x, L.argsort(x, ax, descending), ax)
