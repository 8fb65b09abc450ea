"""``fl.Array``: the immutable numpy subclass every concrete result is.

The issue's programs first (a captured table indexed by a traced value, ``x.at`` on concrete
arrays, ``b = a; b += 10``, eager promotion, ``block_until_ready``/``device``), then the
contract: it is a numpy array to everyone else (zero-copy ``np.asarray``, numpy functions
accept it), it cannot be changed in place, and every eager result of fnp, lax, nn, random
and of the transforms is one.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import lax, nn
from functorch_lite import random as R

Array = fl.Array


def is_ours(x):
    return type(x) is Array and not x.flags.writeable


# --------------------------------------------------------------------------- the programs


def test_captured_table_indexed_by_a_traced_value():
    table = fnp.arange(10.)
    np.testing.assert_array_equal(fl.jit(lambda i: table[i])(3), 3.0)
    np.testing.assert_array_equal(fl.vmap(lambda i: table[i])(np.array([1, 4, 9])), [1, 4, 9])
    total = lax.fori_loop(0, 4, lambda i, acc: acc + table[i], 0.0)
    assert float(total) == 6.0
    summed = fl.jit(lambda n: lax.fori_loop(0, n, lambda i, acc: acc + table[i], 0.0))(5)
    assert float(summed) == 10.0
    # slices with traced starts and 2-d tables; grad through the gathered value
    grid = fnp.arange(12.).reshape(3, 4)
    np.testing.assert_array_equal(fl.jit(lambda i, j: grid[i, j])(2, 1), 9.0)
    np.testing.assert_array_equal(fl.vmap(lambda i: grid[i])(np.array([0, 2])), grid[::2])
    assert float(fl.grad(lambda s, i: s * table[i])(2.0, 3)) == 3.0


def test_at_updates_on_concrete_arrays():
    x = fnp.zeros(4)
    y = x.at[1].set(5.0).at[2:].add(1.0).at[0].multiply(3.0)
    np.testing.assert_array_equal(y, [0.0, 5.0, 1.0, 1.0])
    np.testing.assert_array_equal(x, np.zeros(4))  # unchanged
    np.testing.assert_array_equal(x.at[np.array([True, False, True, False])].set(2.0),
                                  [2.0, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(x.at[3].get(), 0.0)
    # the same function eagerly and under jit
    f = lambda v, i: v.at[i].max(7.0)
    np.testing.assert_array_equal(f(x, 1), fl.jit(f)(x, 1))
    # fnp.at keeps working, on Arrays and on plain numpy arrays
    np.testing.assert_array_equal(fnp.at(np.zeros(2))[0].set(1.0), [1.0, 0.0])
    assert is_ours(fnp.at(x)[0].set(1.0))


def test_augmented_assignment_rebinds_and_never_changes_another_name():
    a = fnp.ones(3)
    b = a
    b += 10
    np.testing.assert_array_equal(a, np.ones(3))
    np.testing.assert_array_equal(b, np.full(3, 11.0))
    c = a
    c *= fnp.arange(3.0)
    c -= 1
    c /= 2
    np.testing.assert_array_equal(a, np.ones(3))
    np.testing.assert_array_equal(c, [-0.5, 0.0, 0.5])
    assert is_ours(c)
    # an accumulator loop, as JAX programs write it
    total = fnp.zeros(())
    for k in range(4):
        total += k
    assert float(total) == 6.0


def test_eager_operators_promote_as_jit_does():
    f32, i64 = fnp.ones(3, dtype=fnp.float32), fnp.arange(3)
    for op in (lambda p, q: p * q, lambda p, q: q + p, lambda p, q: p / q, lambda p, q: q - p,
               lambda p, q: p ** q, lambda p, q: q @ p):
        eager = op(f32, i64)
        assert eager.dtype == fl.jit(op)(f32, i64).dtype == np.float32
    f16 = fnp.ones(2, dtype=fnp.float16)
    assert (f16 * 2.0).dtype == np.float16 and (2.0 * f16).dtype == np.float16
    assert (fnp.arange(3) / 2).dtype == np.float32
    # a numpy array meeting an Array also follows the library's rules, on either side
    assert (np.arange(3) * f32).dtype == np.float32 and (f32 * np.arange(3)).dtype == np.float32
    assert np.add(f32, i64).dtype == np.float32  # the ufunc protocol too
    assert (np.int64(2) * f32).dtype == np.float32


def test_block_until_ready_device_and_device_get():
    x = fnp.arange(3.0)
    assert x.block_until_ready() is x
    assert x.device == "cpu" and x.devices() == {"cpu"}
    assert fl.block_until_ready({"x": x})["x"] is x
    host = fl.device_get({"x": x, "n": 3})
    assert type(host["x"]) is np.ndarray and np.shares_memory(host["x"], x)
    assert host["n"] == 3
    assert is_ours(fl.device_put(np.ones(2)))


# --------------------------------------------------------------------------- a numpy array


def test_it_is_a_numpy_array_to_everyone_else():
    x = fnp.arange(6.0).reshape(2, 3)
    assert isinstance(x, np.ndarray) and isinstance(x, fnp.ndarray)
    view = np.asarray(x)
    assert type(view) is np.ndarray and np.shares_memory(view, x)  # zero-copy
    assert not view.flags.writeable
    # numpy functions take it and give numpy's results
    assert float(np.mean(x)) == 2.5
    np.testing.assert_array_equal(np.sort(fnp.array([3.0, 1.0, 2.0])), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.concatenate([x, x]).shape, (4, 3))
    assert type(np.concatenate([x, x])) is np.ndarray
    np.testing.assert_allclose(np.median(x, axis=1), [1.0, 4.0])
    np.testing.assert_array_equal(np.where(x > 2, x, 0), [[0, 0, 0], [3, 4, 5]])
    np.testing.assert_allclose(x, np.arange(6.0).reshape(2, 3))
    assert np.linalg.norm(x) == pytest.approx(np.sqrt(55.0))
    w = np.array(x)
    w[0, 0] = 9.0  # np.array copies into a writable numpy array
    assert float(x[0, 0]) == 0.0
    # printing, pickling and copying keep it an immutable Array
    assert repr(fnp.array([1.0, 2.0])) == "Array([1., 2.], dtype=float32)"
    assert str(fnp.array([1.0, 2.0])) == "[1. 2.]"
    back = pickle.loads(pickle.dumps(x))
    assert is_ours(back) and np.array_equal(back, x)
    assert pickle.loads(pickle.dumps(fnp.asarray(2.0))).weak_type
    assert copy.copy(x) is x and copy.deepcopy(x) is x
    assert is_ours(x.copy()) and not np.shares_memory(x.copy(), x)


def test_in_place_changes_raise_type_errors_naming_at():
    x = fnp.ones(3)
    with pytest.raises(TypeError, match=r"immutable.*x.at\[idx\].set\(v\)"):
        x[0] = 2.0
    with pytest.raises(TypeError, match=r"immutable.*x\[idx\] = v"):
        x[1:] += 1.0  # reads, adds, then assigns the slice: the assignment is refused
    with pytest.raises(TypeError, match=r"np.add\(\.\.\., out=x\).*x.at"):
        np.add(x, 1.0, out=x)
    with pytest.raises(TypeError, match=r"x.fill\(v\)"):
        x.fill(0.0)
    with pytest.raises(TypeError, match="immutable"):
        x.sum(out=np.zeros(()))
    with pytest.raises(TypeError, match=r"np.copyto\(x, \.\.\.\).*x.at"):
        np.copyto(x, 5.0)  # numpy's functions find the buffer read-only
    with pytest.raises(TypeError, match=r"np.add.at\(x, \.\.\.\)"):
        np.add.at(x, [0], 1.0)
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(x)[0] = 5.0  # the zero-copy view is read-only too
    np.testing.assert_array_equal(x, np.ones(3))


def test_methods_are_the_fnp_functions():
    x = fnp.arange(6).reshape(2, 3)
    for got, want in [(x.sum(), 15), (x.sum(axis=0), [3, 5, 7]), (x.mean(), 2.5),
                      (x.max(axis=1, keepdims=True), [[2], [5]]), (x.argmax(), 5),
                      (x.astype(float), np.arange(6.0).reshape(2, 3)), (x.T, x.view(np.ndarray).T),
                      (x.reshape(3, 2), np.arange(6).reshape(3, 2)), (x.ravel(), np.arange(6)),
                      (x.cumsum(axis=1), [[0, 1, 3], [3, 7, 12]]), (x.clip(1, 4), np.clip(x, 1, 4)),
                      (fnp.array([3, 1, 2]).sort(), [1, 2, 3]), (x.std(), np.std(np.arange(6)))]:
        assert is_ours(got), got
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert x.astype(float).dtype == np.float32  # float means the library's default float
    assert x.mean().dtype == np.float32  # as under jit
    assert x[0].dtype == x.dtype and is_ours(x[0]) and is_ours(x[1, 2])  # 0-d Arrays
    assert [float(v) for v in fnp.arange(3.0)] == [0.0, 1.0, 2.0]  # iteration
    np.testing.assert_array_equal(x[np.array([1, 0])], [[3, 4, 5], [0, 1, 2]])
    assert is_ours(x[np.array([1, 0])])  # advanced indexing copies: read-only too
    assert is_ours(np.sin(x)) and np.sin(x).dtype == np.float32  # plain ufunc calls: fnp


def test_plain_numpy_inputs_are_accepted_everywhere():
    a = np.linspace(0, 1, 4).astype(np.float32)
    for out in (fnp.sin(a), fnp.add(a, a), fl.jit(fnp.sin)(a), fl.grad(lambda v: fnp.sum(v))(a),
                fl.vmap(fnp.sin)(a), nn.relu(a), fnp.squeeze(a), fnp.asarray(a), fnp.array(a)):
        assert is_ours(out)
    # asarray views (no copy), array copies
    assert np.shares_memory(fnp.asarray(a), a) and not np.shares_memory(fnp.array(a), a)
    # the jit fast path serves numpy arrays and Arrays from one cache entry
    calls = []

    def f(v):
        calls.append(1)
        return v * 2

    jf = fl.jit(f)
    jf(a)
    jf(fnp.asarray(a))
    assert len(calls) == 1


# --------------------------------------------------------------------------- every eager result


def test_every_eager_result_is_an_immutable_array():
    x = np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32)
    key = R.PRNGKey(0)
    results = {
        "fnp.zeros": fnp.zeros(3), "fnp.arange": fnp.arange(4), "fnp.eye": fnp.eye(2),
        "fnp.linspace": fnp.linspace(0, 1, 3), "fnp.full": fnp.full((2,), 3.0),
        "fnp.nonzero": fnp.nonzero(x > 0)[0], "fnp.where": fnp.where(x > 0, x, 0.0),
        "fnp.split": fnp.split(x, 3, axis=1)[0], "fnp.clip": fnp.clip(x),
        "fnp.broadcast_arrays": fnp.broadcast_arrays(x, x)[0],
        "lax.add": lax.add(x, x), "lax.cond": lax.cond(True, lambda v: v, lambda v: -v, x),
        "lax.scan": lax.scan(lambda c, v: (c + v, c), 0.0, x[0])[1],
        "lax.while_loop": lax.while_loop(lambda c: c < 3, lambda c: c + 1, 0),
        "nn.softmax": nn.softmax(x), "nn.dropout": nn.dropout(key, 0.5, x),
        "random.split": R.split(key), "random.normal": R.normal(key, (2,)),
        "random.PRNGKey": key, "jit": fl.jit(lambda v: v)(x),
        "grad": fl.grad(lambda v: fnp.sum(v * v))(x),
        "value_and_grad": fl.value_and_grad(lambda v: fnp.sum(v))(x)[0],
        "vjp": fl.vjp(fnp.sin, x)[1](np.ones_like(x))[0],
        "jvp": fl.jvp(fnp.sin, (x,), (np.ones_like(x),))[1],
        "jacfwd": fl.jacfwd(fnp.sin)(x[0]), "jacrev": fl.jacrev(fnp.sin)(x[0]),
        "hessian": fl.hessian(lambda v: fnp.sum(v ** 3))(x[0]),
        "vmap": fl.vmap(fnp.sum)(x), "checkpoint": fl.checkpoint(fnp.sin)(x),
        "lower.compile": fl.jit(fnp.cos).lower(x).compile()(x),
        "grad zero": fl.grad(lambda v, w: fnp.sum(v), argnums=1)(x, x),
    }
    bad = {k: type(v).__name__ for k, v in results.items() if not is_ours(v)}
    assert bad == {}


def test_custom_rules_see_arrays_eagerly():
    seen = []

    @fl.custom_jvp
    def f(x):
        seen.append(type(x))
        return x.at[0].set(0.0) * 2.0  # .at needs an Array (or a tracer)

    f.defjvp(lambda p, t: (f(p[0]), 2.0 * t[0]))
    out = f(fnp.ones(2))
    assert is_ours(out) and seen[-1] is Array
    np.testing.assert_array_equal(out, [0.0, 2.0])


def test_python_scalars_are_weakly_typed_arrays_eagerly_as_under_jit():
    # JAX's weak_type: a value made from Python scalars takes the other operand's dtype
    two = fnp.asarray(2.0)
    assert type(two) is fl.WeakArray and two.weak_type and not fnp.ones(()).weak_type
    assert repr(two) == "Array(2., dtype=float32, weak_type=True)"
    h = fnp.ones(3, dtype=fnp.float16)
    for f in (lambda s, v: s * v, lambda s, v: fnp.sin(s) * v, lambda s, v: fnp.ravel(s) + v,
              lambda s, v: fnp.stack([fnp.broadcast_to(s, v.shape), v])):
        eager, jitted = f(2.0, h), fl.jit(f)(2.0, h)
        assert eager.dtype == jitted.dtype == np.float16
        assert eager.weak_type == jitted.weak_type
    assert fnp.sin(2.0).weak_type and fl.jit(fnp.sin)(2.0).weak_type
    assert (fnp.asarray(3) * fnp.ones(2, dtype=fnp.int8)).dtype == np.int8
    assert not (two * fnp.ones(2)).weak_type  # a strong operand makes the result strong
