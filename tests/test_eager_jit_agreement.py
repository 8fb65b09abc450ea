"""Eager and jit agree across the fnp surface: the same function on the same inputs gives
the same dtype, shape and values (or the same exception type) whether it runs eagerly or
under ``jit``, and the eager result is an immutable ``fl.Array``.

Inputs are drawn by hypothesis: arrays of every dtype kind (bool, signed and unsigned
ints, float16/32/64) in broadcastable shapes, and Python scalars (weakly typed; passed to
the jitted function as arguments, so traced as weak values).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import arrays
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite.jit import default_backend

DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.float16, np.float32,
          np.float64]

UNARY = """abs absolute negative positive sign exp exp2 expm1 log log1p log2 log10 sqrt square
cbrt reciprocal sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh
floor ceil trunc rint round around deg2rad rad2deg degrees radians isnan isinf isfinite
logical_not bitwise_not invert nan_to_num ravel transpose flip squeeze atleast_1d atleast_2d
sort argsort zeros_like ones_like empty_like count_nonzero cumsum diag""".split()

BINARY = """add subtract multiply divide true_divide floor_divide remainder mod fmod power
maximum minimum arctan2 hypot logaddexp equal not_equal less less_equal greater greater_equal
logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor left_shift right_shift
isclose""".split()

REDUCTIONS = """sum prod mean var std max min amax amin all any argmax argmin""".split()

OTHER = {
    "where": lambda x, y: fnp.where(x > 0 if x.dtype != np.bool_ else x, x, y),
    "clip": lambda x, y: fnp.clip(x, 0, 2),
    "concatenate": lambda x, y: fnp.concatenate([fnp.ravel(x), fnp.ravel(y)]),
    "stack": lambda x, y: fnp.stack([x, fnp.broadcast_to(y, x.shape)]),
    "matmul": lambda x, y: fnp.matmul(fnp.atleast_1d(x), fnp.atleast_1d(x).T),
    "dot": lambda x, y: fnp.dot(x, x),
    "outer": lambda x, y: fnp.outer(x, y),
    "inner": lambda x, y: fnp.inner(fnp.ravel(x), fnp.ravel(x)),
    "vdot": lambda x, y: fnp.vdot(x, x),
    "einsum": lambda x, y: fnp.einsum("...,...->...", x, x),
    "tensordot": lambda x, y: fnp.tensordot(x, x, axes=0),
    "kron": lambda x, y: fnp.kron(fnp.atleast_1d(x), fnp.atleast_1d(y)),
    "trace": lambda x, y: fnp.trace(fnp.atleast_2d(x)),
    "take": lambda x, y: fnp.take(x, np.array([0, 0])),
    "take_along_axis": lambda x, y: fnp.take_along_axis(fnp.atleast_1d(x),
                                                        fnp.argsort(fnp.atleast_1d(x)), -1),
    "getitem": lambda x, y: fnp.atleast_1d(x)[..., ::-1],
    "at_set": lambda x, y: fnp.atleast_1d(x).at[0].set(y),
    "at_add": lambda x, y: fnp.atleast_1d(x).at[..., -1].add(y),
    "broadcast_to": lambda x, y: fnp.broadcast_to(x, (2,) + fnp.shape(x)),
    "expand_dims": lambda x, y: fnp.expand_dims(x, 0),
    "reshape": lambda x, y: fnp.reshape(x, (-1,)),
    "moveaxis": lambda x, y: fnp.moveaxis(fnp.atleast_1d(x), 0, -1),
    "tile": lambda x, y: fnp.tile(x, 2),
    "repeat": lambda x, y: fnp.repeat(x, 2),
    "roll": lambda x, y: fnp.roll(x, 1),
    "pad": lambda x, y: fnp.pad(fnp.atleast_1d(x), 1),
    "tril": lambda x, y: fnp.tril(fnp.atleast_2d(x)),
    "full_like": lambda x, y: fnp.full_like(x, y),
    "astype": lambda x, y: fnp.astype(x, fnp.result_type(y)),
    "average": lambda x, y: fnp.average(x),
    "allclose": lambda x, y: fnp.allclose(x, y),
    "array_equal": lambda x, y: fnp.array_equal(x, y),
    "operators": lambda x, y: (x + y, x * y, x - y, x ** 2, -x, x < y, x == y),
    # Python-scalar constants in the function meet the (possibly weak) arguments
    "literals": lambda x, y: (x * 2.0 + 1, fnp.asarray(y) * 0.5 - 3, fnp.maximum(y, 1.5) * x,
                              2 ** fnp.asarray(y)),
    "methods": lambda x, y: (x.sum(), x.max(), x.reshape(-1), x.astype(fnp.float32).mean()),
}

CASES = ([(n, "unary") for n in UNARY] + [(n, "binary") for n in BINARY]
         + [(n, "reduce") for n in REDUCTIONS] + [(n, "other") for n in OTHER])


def _array(dtype, shape):
    lo = 0.0 if np.dtype(dtype).kind == "u" else -3.0
    return arrays(dtype, shape, lo, 3.0)


@st.composite
def operands(draw, kind):
    """(x, y): an array and a second operand (an array broadcastable with x, or a Python
    scalar)."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    x = draw(_array(draw(st.sampled_from(DTYPES)), shape))
    if draw(st.booleans()):
        # (a negative Python int cannot become an unsigned array eagerly, while under jit it
        # is a traced value that wraps around, as in JAX)
        lo = 0 if x.dtype.kind == "u" else -3
        y = draw(st.one_of(st.integers(lo, 3), st.floats(-3, 3, width=32), st.booleans()))
    else:
        yshape = shape[draw(st.integers(0, len(shape))):]
        y = draw(_array(draw(st.sampled_from(DTYPES)), yshape))
    return x, y


def _function(name, kind, axis, keepdims):
    if kind == "unary":
        return lambda x, y: getattr(fnp, name)(x)
    if kind == "binary":
        return lambda x, y: getattr(fnp, name)(x, y)
    if kind == "reduce":
        if name in ("argmax", "argmin"):
            return lambda x, y: getattr(fnp, name)(x, axis=axis)
        return lambda x, y: getattr(fnp, name)(x, axis=axis, keepdims=keepdims)
    return OTHER[name]


def _run(f, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own, for domain errors
        try:
            return f(*args), None
        except Exception as e:  # noqa: BLE001 - compared with the other mode's outcome
            return None, type(e)


def _check_same(eager, jitted, where):
    el, et = fl.tree.flatten(eager)
    jl, jt = fl.tree.flatten(jitted)
    assert et == jt, f"{where}: structure {et} vs {jt}"
    for i, (e, j) in enumerate(zip(el, jl)):
        assert isinstance(e, fl.Array) and not e.flags.writeable, f"{where}: eager {type(e)}"
        assert isinstance(j, fl.Array), f"{where}: jit {type(j)}"
        assert (e.dtype, e.shape, e.weak_type) == (j.dtype, j.shape, j.weak_type), \
            f"{where}, leaf {i}: eager {e!r} vs jit {j!r}"
        if e.dtype.kind == "f":
            tol = {2: 2e-3, 4: 1e-6, 8: 1e-13}[e.dtype.itemsize]
            np.testing.assert_allclose(j, e, rtol=tol, atol=tol, equal_nan=True,
                                       err_msg=f"{where}, leaf {i}")
        else:
            np.testing.assert_array_equal(j, e, err_msg=f"{where}, leaf {i}")


@pytest.mark.parametrize("name,kind", CASES, ids=[n for n, _ in CASES])
@settings(max_examples=8)
@given(data=st.data())
def test_eager_and_jit_agree(name, kind, data):
    x, y = data.draw(operands(kind))
    if name in ("operators", "methods", "literals") or data.draw(st.booleans()):
        # fnp results are Arrays (a plain numpy array keeps numpy's own operators)
        x = fnp.asarray(x)
        y = fnp.asarray(y) if isinstance(y, np.ndarray) else y
    axis = data.draw(st.sampled_from([None] + list(range(-x.ndim, x.ndim))))
    keepdims = data.draw(st.booleans())
    f = _function(name, kind, axis, keepdims)
    eager, e_err = _run(f, x, y)
    jitted, j_err = _run(fl.jit(f), x, y)
    where = f"{name}({x.dtype}{x.shape}, {y!r:.40})"
    if (e_err is ValueError and j_err is None and name in ("power", "literals")
            and default_backend() == "llvm"):
        # numpy refuses integers to negative integer powers by value, which compiled code
        # does not raise (it returns the truncated value): a known, open difference
        pytest.xfail(f"{where}: llvm does not raise numpy's ValueError")
    assert e_err == j_err, f"{where}: eager raised {e_err}, jit raised {j_err}"
    if e_err is None:
        _check_same(eager, jitted, where)
