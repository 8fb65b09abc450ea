"""The ``functorch_lite.numpy`` API: indexing (gather), functional updates (scatter),
take / take_along_axis, sorting, the dtype rules of API.md, bad-input errors, creation
functions and tracer operators.

Random index expressions mix ints, slices (negative steps, out-of-range bounds), integer
arrays, boolean masks, ``None`` and ``...``; every one is checked against numpy eagerly,
under ``jit``, ``grad`` (finite differences and JVP/VJP) and ``vmap``.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    ALL_DTYPES,
    FLOAT_DTYPES,
    arrays,
    assert_close,
    check_grads,
    check_jvp_vjp,
    check_vmap,
    rand,
    seeds,
    shapes,
)
from hypothesis import given
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.numpy as fnp

# =========================================================================== index expressions


@st.composite
def index_exprs(draw, shape, arrays_ok=True, masks_ok=True, none_ok=True, ellipsis_ok=True):
    """A random numpy index (a tuple) valid for an array of ``shape``."""
    nd = len(shape)
    k = draw(st.integers(0, nd))
    kinds, used = [], 0
    has_mask = has_array = False
    while used < k:
        choices = ["int", "slice", "slice"]
        if arrays_ok and not has_mask:
            choices += ["array", "list"]
        if masks_ok and not has_mask and not has_array:
            choices.append("mask")
        kind = draw(st.sampled_from(choices))
        span = draw(st.integers(1, min(2, k - used))) if kind == "mask" else 1
        has_mask |= kind == "mask"
        has_array |= kind in ("array", "list")
        kinds.append((kind, span))
        used += span
    ell = draw(st.integers(0, len(kinds))) if ellipsis_ok and draw(st.booleans()) else None
    # the dims each item consumes: items after an ellipsis take the trailing dims
    dims, d = [], 0
    for j, (_, span) in enumerate(kinds):
        if ell is not None and j == ell:
            d = nd - sum(s for _, s in kinds[j:])
        dims.append(d)
        d += span
    ishape = draw(shapes(0, 2, 1, 3))
    items = []
    for (kind, span), d in zip(kinds, dims):
        n = shape[d]
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 2, n + 2)
            step = draw(st.sampled_from([None, 1, 2, 3, -1, -2, -3]))
            items.append(slice(draw(bound), draw(bound), step))
        elif kind == "array":
            s = ishape if draw(st.integers(0, 3)) else ()
            items.append(draw(arrays(np.int64, s, -n, n - 1)))
        elif kind == "list":
            items.append(draw(st.lists(st.integers(-n, n - 1), min_size=ishape[-1] if ishape
                                       else 1, max_size=ishape[-1] if ishape else 1)))
        else:
            items.append(draw(arrays(np.bool_, tuple(shape[d:d + span]))))
    if ell is not None:
        items.insert(ell, Ellipsis)
    if none_ok:
        for _ in range(draw(st.integers(0, 2))):
            items.insert(draw(st.integers(0, len(items))), None)
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


def _fmt(idx):
    return repr(idx).replace("\n", "")


def _has_arrays(idx):
    tup = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, (np.ndarray, list)) for i in tup)


@given(data=st.data())
def test_getitem_matches_numpy(data):
    dt = data.draw(st.sampled_from(ALL_DTYPES))
    x = data.draw(arrays(dt, data.draw(shapes(0, 4, 1, 4))))
    idx = data.draw(index_exprs(x.shape), label="idx")
    expected = np.asarray(x[idx])
    assert_close(fnp.getitem(x, idx), expected, err_msg=_fmt(idx))
    # the same expression on a tracer, under jit
    assert_close(fl.jit(lambda a: a[idx])(x), expected, err_msg=_fmt(idx))


@given(data=st.data(), seed=seeds)
def test_getitem_grad(data, seed):
    shape = data.draw(shapes(1, 3, 1, 4))
    idx = data.draw(index_exprs(shape), label="idx")
    rng = np.random.default_rng(seed)
    x = rand(rng, shape)
    w = rand(rng, np.shape(x[idx]))
    # duplicates in integer arrays accumulate in the gradient (scatter-add)
    check_grads(lambda a: fnp.sum(a[idx] * w), [x])
    check_jvp_vjp(lambda a: a[idx], [x], seed=seed)
    check_vmap(fl.grad(lambda a: fnp.sum(a[idx] * w)), [np.stack([x, -x])], in_axes=0)


@given(data=st.data(), seed=seeds)
def test_getitem_vmap_over_operand(data, seed):
    shape = data.draw(shapes(1, 3, 1, 4))
    idx = data.draw(index_exprs(shape), label="idx")
    in_axis = data.draw(st.integers(0, len(shape)))
    out_axis = data.draw(st.sampled_from([0, -1]))
    xb = np.moveaxis(rand(np.random.default_rng(seed), (3,) + shape, np.float32), 0, in_axis)
    check_vmap(lambda a: a[idx], [xb], in_axes=in_axis, out_axes=out_axis)


@st.composite
def batched_index_case(draw):
    """An operand, an index expression with integer arrays, and the arrays batched."""
    shape = draw(shapes(1, 3, 1, 4))
    idx = draw(index_exprs(shape, masks_ok=False))
    tup = list(idx) if isinstance(idx, tuple) else [idx]
    slots = [j for j, i in enumerate(tup) if isinstance(i, (np.ndarray, list))]
    if not slots:
        # force one integer array on the first axis
        tup = [np.array([0, shape[0] - 1, -1])] + [slice(None)] * (len(shape) - 1)
        slots = [0]
    # each batched array: a stack of 3 random index arrays of the same shape
    batched, axes = [], []
    for j in slots:
        a = np.asarray(tup[j])
        d = _axis_of(tup, j, len(shape))
        n = shape[d]
        b = draw(arrays(np.int64, (3,) + a.shape, -n, n - 1))
        ax = draw(st.integers(0, a.ndim))
        batched.append(np.moveaxis(b, 0, ax))
        axes.append(ax)
    return shape, tup, slots, batched, axes


def _axis_of(tup, j, nd):
    """Operand axis consumed by item ``j`` of an index tuple (no masks in it)."""
    consumed = [i for i in tup if i is not None and i is not Ellipsis]
    if Ellipsis in [i if i is Ellipsis else None for i in tup]:
        e = next(k for k, i in enumerate(tup) if i is Ellipsis)
        before = sum(1 for i in tup[:e] if i is not None)
        if j > e:
            after = sum(1 for i in tup[j:] if i is not None)
            return nd - after
        return sum(1 for i in tup[:j] if i is not None) if j < e else before
    del consumed
    return sum(1 for i in tup[:j] if i is not None)


@given(case=batched_index_case(), seed=seeds, x_batched=st.booleans(),
       out_axis=st.sampled_from([0, -1]))
def test_getitem_vmap_over_indices(case, seed, x_batched, out_axis):
    shape, tup, slots, batched, axes = case
    rng = np.random.default_rng(seed)

    def f(a, *idx_arrays):
        t = list(tup)
        for j, i in zip(slots, idx_arrays):
            t[j] = i
        # (fnp.getitem: an unbatched operand is a plain numpy array, whose own
        # __getitem__ cannot take tracers)
        return fnp.getitem(a, tuple(t))

    x = rand(rng, (3,) + shape if x_batched else shape, np.float32)
    check_vmap(f, [x] + batched, in_axes=(0 if x_batched else None, *axes),
               out_axes=out_axis)


# --------------------------------------------------------------------------- explicit rules


def test_advanced_index_placement_rules():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    i, j = np.array([0, 2, 1]), np.array([[1], [3]])
    cases = [
        (slice(None), i),                      # adjacent: stays in place
        (slice(None), i, np.array([1, 2, 3])),  # adjacent pair
        (slice(None), i, 0),                    # int counts as advanced: adjacent
        (0, slice(None), i),                    # separated by a slice: goes first
        (i % 2, slice(None), i),                # non-adjacent arrays: broadcast dims first
        (Ellipsis, j),                          # last axis
        (None, slice(None), i),                 # newaxis before
        (slice(None), None, i),                 # newaxis between basic and advanced
        (i % 2, None, i),                       # newaxis separates the arrays: first
        (slice(None), j % 3, i, slice(1, None, -1)),  # 2-d broadcast block in the middle
        (slice(None, None, -1), i, slice(None), j),
        (np.array(1), slice(None), np.array([0])),  # 0-d array is advanced
        (slice(None), i, Ellipsis, i, 0),       # an ellipsis standing for no dim separates
        (slice(None), i, Ellipsis, slice(None), 0),
        (Ellipsis, i, 1),                       # adjacent after a non-empty ellipsis
    ]
    for idx in cases:
        expected = x[idx]
        assert_close(fnp.getitem(x, idx), expected, err_msg=_fmt(idx))
        assert_close(fl.jit(lambda a, idx=idx: a[idx])(x), expected, err_msg=_fmt(idx))
        # the same positions through vmap over a leading batch dim of the operand
        xb = np.stack([x, x + 1000])
        assert_close(fl.vmap(lambda a, idx=idx: a[idx])(xb), np.stack([x[idx], (x + 1000)[idx]]),
                     err_msg=_fmt(idx))
        # and the same layout for the updates of x.at[idx]
        v = np.arange(expected.size, dtype=np.float32).reshape(expected.shape)
        y = x.copy()
        y[idx] = v
        assert_close(fnp.at(x)[idx].set(v), y, err_msg=_fmt(idx))
        assert_close(fl.jit(lambda a, b, idx=idx: a.at[idx].set(b))(x, v), y, err_msg=_fmt(idx))


def test_slices_with_negative_steps_and_out_of_range_bounds():
    x = np.arange(10.0, dtype=np.float32)
    for sl in [slice(None, None, -1), slice(8, 2, -2), slice(None, 3, -1), slice(-1, -11, -1),
               slice(20, None, -3), slice(-20, 20, 4), slice(5, 5), slice(7, 2),
               slice(None, -20, -1)]:
        assert_close(fnp.getitem(x, sl), x[sl], err_msg=str(sl))
        assert_close(fl.jit(lambda a, sl=sl: a[sl])(x), x[sl], err_msg=str(sl))
        g = fl.grad(lambda a, sl=sl: fnp.sum(a[sl] * fnp.arange(x[sl].size)))(x)
        expected = np.zeros_like(x)
        expected[sl] = np.arange(x[sl].size)
        assert_close(g, expected, err_msg=str(sl))


def test_boolean_masks():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    m2 = x % 3 == 0
    m1 = np.array([True, False, True])
    assert_close(fnp.getitem(x, m2), x[m2])
    assert_close(fnp.getitem(x, m1), x[m1])
    assert_close(fnp.getitem(x, (m1, 1)), x[m1, 1])
    assert_close(fnp.getitem(x, (slice(None), np.array([False, True, True, False]))),
                 x[:, np.array([False, True, True, False])])
    assert_close(fnp.getitem(x, np.zeros((3, 4), bool)), x[np.zeros((3, 4), bool)])
    # 0-d booleans add an axis of length 1 (True) or 0 (False), as in numpy
    for idx in [True, False, (0, True), (Ellipsis, False), (True, m1), ([0, 2], True, 1)]:
        assert_close(fnp.getitem(x, idx), x[idx], err_msg=_fmt(idx))
        y = x.copy()
        y[idx] = -1.0
        assert_close(fnp.at(x)[idx].set(-1.0), y, err_msg=_fmt(idx))
    # concrete masks work inside transforms (they are constants there)
    assert_close(fl.jit(lambda a: a[m2])(x), x[m2])
    g = fl.grad(lambda a: fnp.sum(a[m2] ** 2))(x)
    assert_close(g, np.where(m2, 2 * x, 0))
    # under grad the primal is concrete, so a mask computed from it works (as in JAX)
    g = fl.grad(lambda a: fnp.sum(a[a > 5.0]))(x)
    assert_close(g, (x > 5).astype(np.float32))


def test_index_types():
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    for idx in [np.int32(1), np.int64(-1), (np.int64(0), slice(None), np.int8(2)),
                [1, 0], ([1, 0], [2, 2]), (Ellipsis, [3, 0, 3]), (None, Ellipsis, None),
                Ellipsis, (), (slice(None), [])]:
        assert_close(fnp.getitem(x, idx), x[idx], err_msg=_fmt(idx))
        assert_close(fl.jit(lambda a, idx=idx: a[idx])(x), x[idx], err_msg=_fmt(idx))


def test_traced_integer_indices():
    x = np.arange(10.0, dtype=np.float32) * 2
    f = fl.jit(lambda a, i: a[i])
    assert_close(f(x, np.int64(3)), x[3])
    assert_close(f(x, np.array([1, -1, -10])), x[[1, -1, -10]])
    # out-of-range traced indices cannot raise (values are unknown while tracing): they are
    # clamped into range, as in JAX
    assert_close(f(x, np.array([10, 25, -11, -30])), x[[9, 9, 0, 0]])
    # a traced integer scalar works for dynamic indexing on any axis
    y = x.reshape(2, 5)
    assert_close(fl.jit(lambda a, i: a[:, i])(y, np.int64(4)), y[:, 4])
    assert_close(fl.jit(lambda a, i: a[i, 1:])(y, np.int32(1)), y[1, 1:])
    g = fl.grad(lambda a, i: fnp.sum(a[i] ** 2))(x, np.array([2, 2, 5]))
    expected = np.zeros_like(x)
    expected[2], expected[5] = 4 * x[2], 2 * x[5]
    assert_close(g, expected)


# =========================================================================== take / take_along_axis


@given(data=st.data())
def test_take(data):
    dt = data.draw(st.sampled_from(ALL_DTYPES))
    x = data.draw(arrays(dt, data.draw(shapes(1, 3, 1, 4))))
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    n = x.size if axis is None else x.shape[axis]
    idx = data.draw(arrays(np.int64, data.draw(shapes(0, 2, 1, 3)), -n, n - 1))
    expected = np.take(x, idx, axis=axis)
    assert_close(fnp.take(x, idx, axis=axis), expected)
    assert_close(fl.jit(lambda a, i: fnp.take(a, i, axis=axis))(x, idx), expected)
    if dt in FLOAT_DTYPES:
        xf = rand(np.random.default_rng(0), x.shape)
        w = rand(np.random.default_rng(1), expected.shape)
        check_grads(lambda a: fnp.sum(fnp.take(a, idx, axis=axis) * w), [xf])
        if idx.ndim:
            check_vmap(lambda a, i: fnp.take(a, i, axis=axis), [x.astype(np.float32), idx],
                       in_axes=(None, 0))
        xb = np.stack([x, x[::-1]]).astype(np.float32)
        check_vmap(lambda a, i: fnp.take(a, i, axis=axis), [xb, idx], in_axes=(0, None),
                   out_axes=-1)


def test_take_modes_and_bounds():
    x = np.arange(5.0, dtype=np.float32)
    idx = np.array([0, 7, -1, -8])
    with pytest.raises(IndexError, match="7"):
        fnp.take(x, idx)
    with pytest.raises(IndexError):
        fnp.take(x, idx, mode="raise")
    assert_close(fnp.take(x, idx, mode="clip"), np.take(x, idx, mode="clip"))
    assert_close(fnp.take(x, idx, mode="wrap"), np.take(x, idx, mode="wrap"))
    assert_close(fl.jit(lambda a, i: fnp.take(a, i, mode="wrap"))(x, idx),
                 np.take(x, idx, mode="wrap"))
    # traced indices cannot be checked: clamped, like x[i]
    assert_close(fl.jit(lambda a, i: fnp.take(a, i))(x, idx), x[[0, 4, 4, 0]])
    with pytest.raises(IndexError):
        fnp.take_along_axis(x.reshape(1, 5), np.array([[5]]), axis=1)
    with pytest.raises(ValueError, match="mode"):
        fnp.take(x, idx, mode="fill")


@given(data=st.data())
def test_take_along_axis(data):
    dt = data.draw(st.sampled_from(ALL_DTYPES))
    shape = data.draw(shapes(1, 3, 1, 4))
    x = data.draw(arrays(dt, shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    ishape = list(shape)
    ishape[axis] = data.draw(st.integers(0, 4))
    # other dims may be 1 (broadcast against the operand)
    ishape = [m if j == axis % len(shape) or not data.draw(st.booleans()) else 1
              for j, m in enumerate(ishape)]
    n = shape[axis]
    idx = data.draw(arrays(np.int64, tuple(ishape), -n, n - 1))
    expected = np.take_along_axis(x, idx, axis=axis)
    assert_close(fnp.take_along_axis(x, idx, axis), expected)
    assert_close(fl.jit(lambda a, i: fnp.take_along_axis(a, i, axis))(x, idx), expected)
    if dt in FLOAT_DTYPES:
        xf = rand(np.random.default_rng(0), shape)
        w = rand(np.random.default_rng(1), expected.shape)
        check_grads(lambda a: fnp.sum(fnp.take_along_axis(a, idx, axis) * w), [xf])
        xb = np.stack([x, x]).astype(np.float32)
        ib = np.stack([idx, idx[::-1] if idx.ndim else idx])
        check_vmap(lambda a, i: fnp.take_along_axis(a, i, axis), [xb, ib], in_axes=(0, 0))
        check_vmap(lambda a, i: fnp.take_along_axis(a, i, axis), [x.astype(np.float32), ib],
                   in_axes=(None, 0), out_axes=-1)


# =========================================================================== at[] updates

AT_MODES = {
    "set": None, "add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum,
}


def _np_update(x, idx, v, mode):
    y = np.array(x, copy=True)
    if mode == "set":
        y[idx] = v
    else:
        # broadcast the values first: ufunc.at reads uninitialised memory when it has to
        # broadcast them itself (numpy 2.x bug, seen with np.minimum.at on int32)
        AT_MODES[mode].at(y, idx, np.broadcast_to(np.asarray(v, y.dtype), y[idx].shape))
    return y


def _positions_unique(shape, idx):
    pos = np.arange(int(np.prod(shape))).reshape(shape)[idx]
    return np.unique(pos).size == np.size(pos)


@pytest.mark.parametrize("mode", list(AT_MODES))
@given(data=st.data())
def test_at_update_matches_numpy(mode, data):
    dt = data.draw(st.sampled_from(ALL_DTYPES[:4]))
    x = data.draw(arrays(dt, data.draw(shapes(1, 3, 1, 4))))
    idx = data.draw(index_exprs(x.shape, none_ok=False), label="idx")
    if mode == "set" and not _positions_unique(x.shape, idx):
        idx = data.draw(index_exprs(x.shape, arrays_ok=False, none_ok=False), label="idx2")
    target = np.shape(x[idx])
    # updates of the indexed shape, or broadcastable to it (a scalar, trailing dims)
    vshape = data.draw(st.sampled_from([target, (), target[1:], target[-1:]]))
    v = data.draw(arrays(dt, vshape))
    expected = _np_update(x, idx, v, mode)
    assert_close(getattr(fnp.at(x)[idx], mode)(v), expected, err_msg=_fmt(idx))
    jitted = fl.jit(lambda a, b: getattr(a.at[idx], mode)(b))(x, v)
    assert_close(jitted, expected, err_msg=_fmt(idx))
    # a Python scalar update
    expected = _np_update(x, idx, dt(2), mode)
    assert_close(getattr(fnp.at(x)[idx], mode)(2), expected, err_msg=_fmt(idx))


def test_at_does_not_mutate_and_get():
    x = np.arange(6.0, dtype=np.float32)
    y = fnp.at(x)[1:3].set(0.0)
    assert_close(x, np.arange(6.0, dtype=np.float32))
    assert_close(y, np.array([0, 0, 0, 3, 4, 5], np.float32))
    assert_close(fnp.at(x)[[0, 0, 5]].add(1.0), np.array([2, 1, 2, 3, 4, 6], np.float32))
    assert_close(fnp.at(x)[::2].get(), x[::2])
    assert_close(fnp.at(x)[1].divide(2.0), np.array([0, 0.5, 2, 3, 4, 5], np.float32))
    assert_close(fnp.at(x)[2].power(2), np.array([0, 1, 4, 3, 4, 5], np.float32))
    assert_close(fnp.at(x)[-1].apply(lambda v: v * 10), np.array([0, 1, 2, 3, 4, 50],
                                                                  np.float32))


@pytest.mark.parametrize("mode", list(AT_MODES))
@given(data=st.data(), seed=seeds)
def test_at_update_grad(mode, data, seed):
    shape = data.draw(shapes(1, 3, 1, 4))
    idx = data.draw(index_exprs(shape, none_ok=False), label="idx")
    if mode != "add" and not _positions_unique(shape, idx):
        idx = data.draw(index_exprs(shape, arrays_ok=False, none_ok=False), label="idx2")
    rng = np.random.default_rng(seed)
    x = rand(rng, shape)
    v = rand(rng, np.shape(x[idx]))
    w = rand(rng, shape)

    def f(a, b):
        return getattr(fnp.at(a)[idx], mode)(b)

    check_grads(lambda a, b: fnp.sum(f(a, b) * w), [x, v])
    check_jvp_vjp(f, [x, v], seed=seed)
    check_vmap(fl.grad(lambda a, b: fnp.sum(f(a, b) * w), argnums=(0, 1)),
               [np.stack([x, x + 1]), v], in_axes=(0, None))


@pytest.mark.parametrize("mode", list(AT_MODES))
@given(data=st.data(), seed=seeds)
def test_at_update_vmap(mode, data, seed):
    shape = data.draw(shapes(1, 3, 1, 3))
    idx = data.draw(index_exprs(shape, none_ok=False), label="idx")
    if mode == "set" and not _positions_unique(shape, idx):
        idx = data.draw(index_exprs(shape, arrays_ok=False, none_ok=False), label="idx2")
    rng = np.random.default_rng(seed)
    vshape = np.shape(np.zeros(shape)[idx])
    axes = data.draw(st.sampled_from([(0, 0), (0, None), (None, 0), (1, 0)]))
    if axes[0] == 1 and len(shape) < 1:
        axes = (0, 0)
    x = rand(rng, shape, np.float32)
    v = rand(rng, vshape, np.float32)
    if axes[0] is not None:
        x = np.moveaxis(rand(rng, (2,) + shape, np.float32), 0, axes[0])
    if axes[1] is not None:
        v = rand(rng, (2,) + vshape, np.float32)
    check_vmap(lambda a, b: getattr(fnp.at(a)[idx], mode)(b), [x, v], in_axes=axes,
               out_axes=data.draw(st.sampled_from([0, -1])))


@pytest.mark.parametrize("mode", list(AT_MODES))
def test_at_update_vmap_over_indices(mode):
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    ib = np.array([[0, 2], [1, 1], [3, 0]])  # one index pair per batch element
    vb = np.array([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]], np.float32)
    if mode == "set":
        ib = np.array([[0, 2], [1, 3], [3, 0]])
    check_vmap(lambda i, v: getattr(fnp.at(x)[:, i], mode)(v[None, :]), [ib, vb])
    check_vmap(lambda a, i: getattr(fnp.at(a)[i], mode)(-1.0), [x.reshape(4, 3), ib[:, :1]],
               in_axes=(1, 0))


def test_at_with_traced_mask_and_indices():
    x = np.array([1.0, -2.0, 3.0, -4.0], np.float32)
    f = fl.jit(lambda a: a.at[a < 0].set(0.0))
    assert_close(f(x), np.maximum(x, 0))
    assert_close(fl.jit(lambda a: a.at[a < 0].add(10.0))(x), np.where(x < 0, x + 10, x))
    assert_close(fl.jit(lambda a: a.at[a < 0].multiply(2.0))(x), np.where(x < 0, 2 * x, x))
    assert_close(fl.jit(lambda a: a.at[a > 0].max(2.0))(x), np.where(x > 0, np.maximum(x, 2), x))
    assert_close(fl.jit(lambda a: a.at[a > 0].min(2.0))(x), np.where(x > 0, np.minimum(x, 2), x))
    g = fl.grad(lambda a: fnp.sum(fl.jit(lambda b: b.at[b < 0].set(0.0))(a) ** 2))(x)
    assert_close(g, np.where(x < 0, 0, 2 * x))
    # a traced mask over the leading dims selects rows, as x[mask] does
    m = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    row = np.array([True, False, True])
    expected = m.copy()
    expected[row] = np.arange(4.0)
    assert_close(fl.jit(lambda a, r: a.at[r].set(np.arange(4.0, dtype=np.float32)))(m, row),
                 expected)
    assert_close(fl.vmap(lambda a, r: fnp.at(a)[r].add(1.0), in_axes=(None, 0))(
        m, np.stack([row, ~row])), np.stack([m + row[:, None], m + ~row[:, None]]))
    with pytest.raises(IndexError, match="mask"):
        fl.jit(lambda a, r: a.at[r].set(0.0))(m, np.ones(4, bool))
    with pytest.raises(ValueError, match="updates"):
        fl.jit(lambda a, r: a.at[r].set(np.ones((2, 3, 4), np.float32)))(m, row)
    # traced integer indices
    f = fl.jit(lambda a, i, v: a.at[i].add(v))
    assert_close(f(x, np.array([0, 0, 3]), np.ones(3, np.float32)),
                 np.array([3.0, -2.0, 3.0, -3.0], np.float32))


def test_at_update_errors():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"\(2,\).*\(3, 4\)|\(3, 4\).*\(2,\)"):
        fnp.at(x)[:, :].set(np.ones(2, np.float32))
    with pytest.raises(ValueError):
        fl.jit(lambda a: a.at[0].add(fnp.ones(3)))(x)
    with pytest.raises(IndexError):
        fnp.at(x)[3].set(1.0)
    with pytest.raises(IndexError):
        fnp.at(x)[:, [0, 4]].add(1.0)
    with pytest.raises(TypeError, match=r"\.at\["):
        fl.jit(lambda a: a.__setitem__(0, 1.0))(x)


def test_setitem_on_tracer_message():
    def f(a):
        a[0] = 1.0
        return a

    with pytest.raises(TypeError, match=r"x = x\.at\[idx\]\.set"):
        fl.jit(f)(np.zeros(3, np.float32))


# =========================================================================== sort / argsort


@given(data=st.data())
def test_sort_argsort(data):
    dt = data.draw(st.sampled_from(ALL_DTYPES))
    x = data.draw(arrays(dt, data.draw(shapes(1, 3, 1, 5)), -3, 3))  # many ties
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    expected_i = np.argsort(x, axis=axis, kind="stable")
    assert_close(fnp.argsort(x, axis=axis), expected_i)
    assert_close(fnp.sort(x, axis=axis), np.sort(x, axis=axis))
    assert_close(fl.jit(lambda a: fnp.argsort(a, axis=axis))(x), expected_i)
    assert_close(fl.jit(lambda a: fnp.sort(a, axis=axis))(x), np.sort(x, axis=axis))
    # descending is stable too: equal elements keep their original order
    ax = -1 if axis is None else axis
    flat = x.ravel() if axis is None else x
    key = np.argsort(np.flip(flat, ax), axis=ax, kind="stable")
    expected_desc = flat.shape[ax] - 1 - np.flip(key, ax)
    assert_close(fnp.argsort(x, axis=axis, descending=True), expected_desc)
    assert_close(fnp.sort(x, axis=axis, descending=True),
                 np.take_along_axis(flat, expected_desc, ax))
    if x.ndim >= 2:
        check_vmap(lambda a: fnp.argsort(a, axis=-1), [x], in_axes=1, out_axes=1)
        check_vmap(lambda a: fnp.sort(a, axis=0), [x], in_axes=x.ndim - 1)


@given(shape=shapes(1, 2, 1, 5), seed=seeds, descending=st.booleans())
def test_sort_grad(shape, seed, descending):
    rng = np.random.default_rng(seed)
    x = rand(rng, shape)  # continuous: no ties
    w = rand(rng, shape)
    check_grads(lambda a: fnp.sum(fnp.sort(a, axis=-1, descending=descending) * w), [x])
    check_jvp_vjp(lambda a: fnp.sort(a, axis=0, descending=descending), [x], seed=seed)


def test_sort_unsigned_and_extreme_integers_descending():
    x = np.array([3, 0, 255, 7], np.uint8)
    assert_close(fnp.sort(x, descending=True), np.array([255, 7, 3, 0], np.uint8))
    y = np.array([0, np.iinfo(np.int64).min, 5], np.int64)
    assert_close(fnp.argsort(y, descending=True), np.array([2, 0, 1]))


# =========================================================================== dtype rules (API.md)


def test_creation_dtypes():
    assert fnp.array([1.0]).dtype == np.float32
    assert fnp.array(1.0).dtype == np.float32
    assert fnp.asarray([[1.0, 2], [3, 4]]).dtype == np.float32
    assert fnp.array([1, 2]).dtype == np.int64
    assert fnp.array(3).dtype == np.int64
    assert fnp.array([True, False]).dtype == np.bool_
    assert fnp.array(np.ones(2, np.float64)).dtype == np.float64
    assert fnp.array(np.ones(2, np.int32)).dtype == np.int32
    assert fnp.array([1, 2], dtype=float).dtype == np.float32
    assert fnp.array([1.5], dtype=int).dtype == np.int64
    assert fnp.zeros(3).dtype == np.float32
    assert fnp.ones((2, 2)).dtype == np.float32
    assert fnp.empty(2).dtype == np.float32
    assert fnp.full(2, 1.5).dtype == np.float32
    assert fnp.full(2, 7).dtype == np.int64
    assert fnp.zeros_like(np.ones(2, np.int32)).dtype == np.int32
    assert fnp.ones_like(np.ones(2, np.float64)).dtype == np.float64
    assert fnp.full_like(np.ones(2, np.float64), 3).dtype == np.float64
    assert fnp.arange(3).dtype == np.int64
    assert fnp.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert fnp.linspace(0, 1, 5).dtype == np.float32
    assert fnp.eye(3).dtype == np.float32
    assert_close(fnp.arange(2, 11, 3), np.arange(2, 11, 3))
    assert_close(fnp.linspace(0, 1, 5), np.linspace(0, 1, 5).astype(np.float32))
    assert_close(fnp.eye(3, 4, k=1), np.eye(3, 4, k=1, dtype=np.float32))
    # creation inside a transform gives the same values and dtypes
    out = fl.jit(lambda x: (fnp.zeros(2), fnp.ones_like(x), fnp.full((2,), 3)))(
        np.ones(3, np.float64))
    assert_close(out, (np.zeros(2, np.float32), np.ones(3), np.full(2, 3, np.int64)))


def test_creation_from_traced_values():
    x = np.array([1.5, -2.0, 3.0], np.float32)

    def f(a):
        return (fnp.array([a[0], a[1] * 2.0]), fnp.asarray([[a[2], 1.0], [0.0, a[0]]]),
                fnp.full((2, 2), a[1]), fnp.zeros_like(a), fnp.ones_like(a, dtype=np.int32),
                fnp.full_like(a, 7.0), fnp.linspace(a[1], a[2], 5), fnp.array(a, ndmin=3),
                fnp.stack([a, a * 2]))

    expected = (np.array([1.5, -4.0], np.float32), np.array([[3.0, 1.0], [0.0, 1.5]],
                                                            np.float32),
                np.full((2, 2), -2.0, np.float32), np.zeros(3, np.float32),
                np.ones(3, np.int32), np.full(3, 7.0, np.float32),
                np.linspace(-2.0, 3.0, 5).astype(np.float32), x[None, None],
                np.stack([x, x * 2]))
    assert_close(f(x), expected)
    assert_close(fl.jit(f)(x), expected)
    g = fl.grad(lambda a: fnp.sum(fnp.array([a[0], a[1] * 2.0]) ** 2)
                + fnp.sum(fnp.linspace(a[1], a[2], 5)))(x)
    assert_close(g, np.array([3.0, -16.0 + 2.5, 2.5], np.float32))


WEAK_CASES = [
    # (array dtype, python scalar, op, expected dtype)
    (np.float32, 2.0, "mul", np.float32),
    (np.float32, 2, "mul", np.float32),
    (np.float64, 2.0, "mul", np.float64),
    (np.int32, 2, "mul", np.int32),
    (np.int32, 2.5, "mul", np.float32),
    (np.int64, 2.5, "add", np.float32),
    (np.int8, 3, "add", np.int8),
    (np.bool_, 1, "add", np.int64),
    (np.bool_, 1.5, "mul", np.float32),
    (np.float32, True, "add", np.float32),
    (np.int32, 2, "floordiv", np.int32),
    (np.int32, 2, "truediv", np.float32),
    (np.float32, 2.0, "pow", np.float32),
    (np.int32, 2, "pow", np.int32),
]


@pytest.mark.parametrize("dt,scalar,op,expected", WEAK_CASES,
                         ids=[f"{np.dtype(c[0]).name}-{c[1]!r}-{c[2]}" for c in WEAK_CASES])
def test_weak_python_scalars(dt, scalar, op, expected):
    x = np.array([1, 2, 3]).astype(dt)
    fn = {"mul": lambda a, s: a * s, "add": lambda a, s: a + s,
          "floordiv": lambda a, s: a // s, "truediv": lambda a, s: a / s,
          "pow": lambda a, s: a**s}[op]
    rfn = {"mul": lambda a, s: s * a, "add": lambda a, s: s + a}.get(op)
    ref = fn(x.astype(np.float64) if np.dtype(expected).kind == "f" else x.astype(np.int64),
             scalar)
    ref = np.asarray(ref).astype(expected)
    named = {"mul": fnp.multiply, "add": fnp.add, "floordiv": fnp.floor_divide,
             "truediv": fnp.divide, "pow": fnp.power}[op]
    assert_close(named(x, scalar), ref, rtol=1e-6)
    # tracer operators, under jit and vmap; the scalar as a jit argument stays weak
    assert_close(fl.jit(lambda a: fn(a, scalar))(x), ref, rtol=1e-6)
    assert_close(fl.jit(fn)(x, scalar), ref, rtol=1e-6)
    assert_close(fl.vmap(lambda a: fn(a, scalar))(x), ref, rtol=1e-6)
    if rfn is not None:
        assert_close(fl.jit(lambda a: rfn(a, scalar))(x), ref, rtol=1e-6)


def test_two_python_scalars():
    assert_close(fnp.add(1, 2), np.array(3, np.int64))
    assert_close(fnp.multiply(2.0, 3.0), np.array(6.0, np.float32))
    assert_close(fnp.add(True, 2), np.array(3, np.int64))


def test_weak_float_with_weak_int():
    assert_close(fnp.multiply(2.0, 3), np.array(6.0, np.float32))


def test_array_array_promotion():
    f32, f64 = np.ones(2, np.float32), np.ones(2, np.float64)
    i32, i64 = np.ones(2, np.int32), np.ones(2, np.int64)
    b = np.ones(2, bool)
    assert (f32 + f64).dtype == np.float64
    assert fnp.add(f32, f64).dtype == np.float64
    assert fnp.add(i32, i64).dtype == np.int64
    assert fnp.add(b, i32).dtype == np.int32
    # integers never widen a float (JAX / PyTorch rule, documented in dtypes.py)
    assert fnp.add(f32, i64).dtype == np.float32
    assert fnp.multiply(i32, f32).dtype == np.float32
    assert fl.jit(lambda a, c: a * c)(f32, i64).dtype == np.float32
    assert fnp.divide(i32, i32).dtype == np.float32
    assert fnp.sqrt(i64).dtype == np.float32
    assert fnp.sin(np.ones(2, np.int32)).dtype == np.float32


def test_float64_stays_float64():
    x = np.linspace(0.1, 1.0, 6).reshape(2, 3)

    def f(a):
        b = fnp.sin(a) * 2.0 + 1 - a / 3
        c = b @ b.T + fnp.exp(a).sum(axis=1)
        return fnp.mean(fnp.tanh(c) ** 2) + fnp.std(a) + fnp.max(a) + a[0, 1]

    # (eager, `+` of two 0-d numpy arrays is numpy's own and gives a numpy scalar)
    for out in (f(x), fl.jit(f)(x), fl.grad(f)(x), fl.jit(fl.grad(f))(x),
                fl.vmap(f)(np.stack([x, x])), fl.jvp(f, (x,), (x,))[1]):
        assert np.asarray(out).dtype == np.float64
    assert_close(fl.jit(f)(x), np.asarray(f(x)))
    # a float64 result that could only come from float64 arithmetic
    assert_close(np.asarray(f(x)), np.asarray(_np_f(x)), rtol=1e-12)


def _np_f(a):
    b = np.sin(a) * 2.0 + 1 - a / 3
    c = b @ b.T + np.exp(a).sum(axis=1)
    return np.mean(np.tanh(c) ** 2) + np.std(a) + np.max(a) + a[0, 1]


def test_reduction_dtypes():
    i32 = np.arange(6, dtype=np.int32).reshape(2, 3)
    b = np.array([True, True, False])
    assert_close(fnp.sum(i32), np.array(15, np.int64))
    assert_close(fnp.sum(i32, axis=0), np.array([3, 5, 7], np.int64))
    assert_close(fnp.prod(i32 + 1), np.array(720, np.int64))
    assert_close(fnp.sum(b), np.array(2, np.int64))
    assert_close(fnp.cumsum(i32, axis=1), np.cumsum(i32, axis=1).astype(np.int64))
    assert_close(fnp.mean(i32), np.array(2.5, np.float32))
    assert_close(fnp.var(i32), np.array(np.var(np.arange(6)), np.float32))
    assert_close(fnp.mean(np.ones(2, np.float64)), np.array(1.0))
    assert_close(fnp.max(i32), np.array(5, np.int32))
    assert_close(fnp.sum(i32, dtype=np.float32), np.array(15.0, np.float32))
    assert_close(fnp.sum(np.ones(3, np.float32)), np.array(3.0, np.float32))
    assert_close(fnp.trace(i32[:, :2]), np.array(4, np.int64))
    # same under jit
    assert_close(fl.jit(lambda a: (fnp.sum(a), fnp.mean(a), fnp.prod(a)))(i32),
                 (np.array(15, np.int64), np.array(2.5, np.float32), np.array(0, np.int64)))


def test_results_are_numpy_arrays():
    x = np.ones(3, np.float32)
    for out in (fnp.sum(x), fnp.add(1.0, 2.0), fnp.sin(x), fl.jit(fnp.sum)(x),
                fl.grad(fnp.sum)(x), fnp.getitem(x, 0), fnp.max(x), fnp.argmax(x)):
        assert isinstance(out, np.ndarray), type(out)


# =========================================================================== bad input


def test_shape_mismatch_errors_name_op_and_shapes():
    a, b = np.ones((2, 3), np.float32), np.ones((4, 5), np.float32)
    cases = [
        (lambda: fnp.matmul(a, b), "matmul", (2, 3), (4, 5)),
        (lambda: fnp.matmul(np.ones((2, 2, 3)), np.ones((3, 3, 4))), "matmul", (2,), (3,)),
        (lambda: fnp.matmul(np.ones(3), np.ones(4)), "matmul", (3,), (4,)),
        (lambda: fnp.add(a, np.ones(4)), "add", (2, 3), (4,)),
        (lambda: fnp.multiply(a, np.ones((3, 2))), "multiply", (2, 3), (3, 2)),
        (lambda: fnp.where(np.ones(5, bool), a, 0.0), "where", (5,), (2, 3)),
        (lambda: fnp.broadcast_to(a, (3, 3)), "broadcast_to", (2, 3), (3, 3)),
        (lambda: fnp.dot(a, b), "dot", (2, 3), (4, 5)),
        (lambda: fnp.tensordot(a, b, 1), "tensordot", (2, 3), (4, 5)),
        (lambda: fnp.reshape(a, (4, 2)), "reshape", (2, 3), (4, 2)),
        (lambda: fnp.concatenate([a, b]), "concatenate", (2, 3), (4, 5)),
        (lambda: fnp.stack([a, b]), "stack", (2, 3), (4, 5)),
    ]
    for fn, name, s1, s2 in cases:
        with pytest.raises(ValueError) as info:
            fn()
        msg = str(info.value)
        assert name in msg, msg
        assert str(s1) in msg and str(s2) in msg, msg


def test_shape_mismatch_errors_under_transforms():
    a, b = np.ones((2, 3), np.float32), np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        fl.jit(lambda x, y: x @ y)(a, b)
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        fl.jit(lambda x, y: x + y)(a, np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        fl.grad(lambda x: fnp.sum(x @ b))(a)
    with pytest.raises(ValueError, match=r"matmul"):
        fl.vmap(lambda x: x @ b)(a)
    with pytest.raises(ValueError):
        fnp.einsum("ij,jk->ik", a, b)


def test_bad_axis_arguments():
    x = np.zeros((2, 3), np.float32)
    for fn in [lambda: fnp.sum(x, axis=2), lambda: fnp.mean(x, axis=-3),
               lambda: fnp.sum(x, axis=(0, 0)), lambda: fnp.expand_dims(x, (0, 0)),
               lambda: fnp.expand_dims(x, 3), lambda: fnp.squeeze(x, 0),
               lambda: fnp.transpose(x, (0, 0)), lambda: fnp.argmax(x, axis=2),
               lambda: fnp.concatenate([x, x], axis=2), lambda: fnp.split(x, 2, axis=1),
               lambda: fnp.reshape(x, (-1, -1)), lambda: fnp.cumsum(x, axis=5)]:
        with pytest.raises(ValueError):
            fn()


def test_static_index_out_of_range_raises_index_error():
    x = np.zeros((3, 4), np.float32)
    for idx in [3, -4, (0, 4), (0, -5), np.array([0, 3]), [1, -4], (slice(None), [4]),
                (Ellipsis, 10), (0, 0, 0), np.zeros(4, bool), (slice(None), np.ones(3, bool))]:
        with pytest.raises(IndexError):
            fnp.getitem(x, idx)
        with pytest.raises(IndexError):
            fl.jit(lambda a, idx=idx: a[idx])(x)
    with pytest.raises(IndexError, match="4"):
        fnp.getitem(x, (0, 4))
    with pytest.raises(IndexError):
        fnp.getitem(x, np.array([0.5]))  # float index arrays
    with pytest.raises(IndexError):
        fnp.getitem(x, (Ellipsis, 0, Ellipsis))


def test_traced_boolean_mask_raises_clear_error():
    x = np.array([1.0, -2.0, 3.0], np.float32)

    def f(a):
        return a[a > 0]  # the offending line

    with pytest.raises(TypeError) as info:
        fl.jit(f)(x)
    msg = str(info.value)
    assert isinstance(info.value, fl.ConcretizationError)
    assert "boolean" in msg and "fnp.where" in msg, msg
    assert "test_fnp.py" in msg and "a[a > 0]" in msg, msg
    with pytest.raises(TypeError, match="boolean"):
        fl.vmap(f)(np.stack([x, x]))
    with pytest.raises(TypeError, match="boolean"):
        fl.jit(lambda a: a.at[a > 0, 0].set(1.0))(np.ones((2, 2), np.float32))


# =========================================================================== tracer operators


def test_tracer_operators_match_numpy():
    x = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], np.float32)
    y = np.array([2.0, -3.0, 0.5], np.float32)
    xi = np.array([[7, -8, 9], [1, 0, -3]], np.int32)

    def ops(a, b, i):
        return (a + b, b - a, a * 2, 3.0 / (a + 10), a / b, a // b, a % b, a**2, 2.0**a,
                -a, +a, abs(a), a @ b, b @ a.T, a > b, a <= 1, a == b, a != b, ~i, i & 5,
                i | 2, i ^ 3, i << 1, i >> 1, 1 + a, 1 - a, a.T, a.reshape(3, 2),
                a.reshape((-1,)), a.transpose(1, 0), a.ravel(), a.astype(np.int32),
                a.sum(0), a.mean(axis=1), a.clip(-1, 1), a[None, :, 0], a.swapaxes(0, 1),
                a.dot(b), a.flatten(), a.squeeze(), a.mT, divmod(i, 4))

    def np_ops(a, b, i):
        return (a + b, b - a, a * 2, np.float32(3.0) / (a + 10), a / b, a // b, a % b, a**2,
                np.float32(2.0) ** a, -a, +a, abs(a), a @ b, b @ a.T, a > b, a <= 1, a == b,
                a != b, ~i, i & 5, i | 2, i ^ 3, i << 1, i >> 1, 1 + a, 1 - a, a.T,
                a.reshape(3, 2), a.reshape((-1,)), a.transpose(1, 0), a.ravel(),
                a.astype(np.int32), a.sum(0), a.mean(axis=1), a.clip(-1, 1), a[None, :, 0],
                a.swapaxes(0, 1), a.dot(b), a.flatten(), a.squeeze(), a.mT, divmod(i, 4))

    expected = np_ops(x, y, xi)
    out = fl.jit(ops)(x, y, xi)
    assert len(out) == len(expected)
    for k, (o, e) in enumerate(zip(out, expected)):
        assert_close(o, e, err_msg=f"op #{k}")
    # numpy array on the left of a tracer defers to the tracer
    assert_close(fl.jit(lambda a: y + a)(x), x + y)
    assert_close(fl.jit(lambda a: np.ones(3, np.float32) @ a.T)(x), np.ones(3, np.float32) @ x.T)


def test_tracer_len_iter_and_shape_attrs():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)

    def f(a):
        assert a.shape == (2, 3) and a.ndim == 2 and a.size == 6 and a.dtype == np.float32
        assert len(a) == 2
        rows = list(a)
        return rows[0] + rows[1]

    assert_close(fl.jit(f)(x), x[0] + x[1])


@pytest.mark.parametrize("shape", [(4, 6), (24,), (3, 8), (2, 12)])
def test_reshape_fortran_order(shape):
    x = np.arange(24.0).reshape(2, 3, 4)
    want = np.reshape(x, shape, order="F")
    np.testing.assert_array_equal(fnp.reshape(x, shape, order="F"), want)
    np.testing.assert_array_equal(fl.jit(lambda v: fnp.reshape(v, shape, order="F"))(x), want)
    w = np.arange(24.0).reshape(shape)
    g = fl.grad(lambda v: fnp.sum(fnp.reshape(v, shape, order="F") * w))(x)
    np.testing.assert_array_equal(g, np.reshape(w, x.shape, order="F"))


# one ValueError for every out-of-range axis, 0-d arrays included (any axis is out of range
# there), eagerly and under jit
_AXIS_FUNS = {
    "sum": lambda x, ax: fnp.sum(x, axis=ax), "mean": lambda x, ax: fnp.mean(x, axis=ax),
    "max": lambda x, ax: fnp.max(x, axis=ax), "argmax": lambda x, ax: fnp.argmax(x, axis=ax),
    "argmin": lambda x, ax: fnp.argmin(x, axis=ax), "var": lambda x, ax: fnp.var(x, axis=ax),
    "cumsum": lambda x, ax: fnp.cumsum(x, axis=ax), "sort": lambda x, ax: fnp.sort(x, axis=ax),
    "take": lambda x, ax: fnp.take(x, np.array(0), axis=ax),
    "flip": lambda x, ax: fnp.flip(x, axis=ax), "squeeze": lambda x, ax: fnp.squeeze(x, ax),
    "roll": lambda x, ax: fnp.roll(x, 1, axis=ax), "split": lambda x, ax: fnp.split(x, 1, ax),
}


@pytest.mark.parametrize("name", sorted(_AXIS_FUNS))
@pytest.mark.parametrize("shape,axis", [((), 0), ((), -1), ((3,), 1), ((2, 3), -3)])
def test_out_of_range_axis_is_one_value_error(name, shape, axis):
    f = _AXIS_FUNS[name]
    x = np.ones(shape, np.float32)
    for run in (lambda: f(x, axis), lambda: fl.jit(lambda v: f(v, axis))(x)):
        with pytest.raises(ValueError, match=rf"{name}: axis {axis} is out of bounds for "
                                             rf"array of dimension {len(shape)}"):
            run()
