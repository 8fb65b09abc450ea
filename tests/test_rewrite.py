"""The rewrite passes run before code generation (functorch_lite/rewrite.py).

Each rewrite is checked twice: the equation list changes as expected, and the rewritten
program gives the original's results bit for bit on the numpy reference backend,
including -0.0, nan and inf inputs. A hypothesis test draws random op chains.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backends
import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import lax
from functorch_lite.core import ShapedArray, ShapeDtypeStruct
from functorch_lite.ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, typecheck
from functorch_lite.jit import jit_p
from functorch_lite.primitives.elementwise import convert_p, mul_p, neg_p, stop_gradient_p
from functorch_lite.primitives.shape import broadcast_in_dim_p, reduce_sum_p, slice_p
from functorch_lite.rewrite import (
    fold_constants,
    inline_calls,
    optimize,
    simplify_algebra,
)

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, np.nan, np.inf, -np.inf, 1e-40, 3e38]


def values(shape, dtype, seed=0):
    """An input of ``shape``/``dtype`` mixing special values (floats) with random ones."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        pool = np.array([0, 1, -1, 2, 7, info.min, info.max], dtype)
        return np.where(rng.random(shape) < 0.5, rng.choice(pool, shape),
                        rng.integers(-50, 50, shape)).astype(dtype)
    with np.errstate(all="ignore"):
        pool = np.array(SPECIAL, dtype)
    return np.where(rng.random(shape) < 0.6, rng.choice(pool, shape),
                    rng.standard_normal(shape) * 3).astype(dtype)


def run(closed, *args):
    with np.errstate(all="ignore"):
        return backends.get("numpy").compile(closed)(*args)


def assert_same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
    if a.dtype.kind == "f":  # every nan is the same value; every other bit must agree
        nan = np.isnan(a)
        assert (nan == np.isnan(b)).all(), (a, b)
        a, b = np.where(nan, 0, a), np.where(nan, 0, b)
    assert a.tobytes() == b.tobytes(), (a, b)


def same_results(orig, new, args):
    """``new`` takes and returns what ``orig`` does, with the same bits, and typechecks."""
    typecheck(new.jaxpr)
    assert new.in_avals == orig.in_avals
    assert new.out_avals == orig.out_avals  # dtypes and weak types
    for a, b in zip(run(orig, *args), run(new, *args)):
        assert_same_bits(a, b)


def checked(pass_, closed, *args):
    new = pass_(closed)
    same_results(closed, new, args)
    return new


def names(closed):
    return [e.prim.name for e in closed.eqns]


def ir_of(fn, *args):
    return fl.make_ir(fn)(*args)


def all_names(closed):
    """Primitive names here and in every nested program."""
    out = []
    for e in closed.eqns:
        out.append(e.prim.name)
        for p in e.params.values():
            for sub in (p if isinstance(p, tuple) else (p,)):
                if isinstance(sub, ClosedJaxpr):
                    out += all_names(sub)
    return out


X = values((3, 4), np.float32)
XI = values((3, 4), np.int32, seed=1)

# --------------------------------------------------------------------------- algebra


@pytest.mark.parametrize("fn", [
    lambda x: x * 1.0, lambda x: 1.0 * x, lambda x: x + -0.0, lambda x: -0.0 + x,
    lambda x: x - 0.0, lambda x: x / 1.0, lambda x: x ** 1.0, lambda x: lax.max(x, x),
    lambda x: lax.min(x, x), lambda x: lax.max(x, -np.inf), lambda x: lax.min(np.inf, x),
    lambda x: lax.select(x > 0, x, x), lambda x: lax.neg(lax.neg(x)),
    lambda x: x.T.T, lambda x: lax.stop_gradient(x),
], ids=["x*1", "1*x", "x+-0", "-0+x", "x-0", "x/1", "x**1", "max", "min", "max-inf",
        "min+inf", "select", "negneg", "TT", "stop_gradient"])
def test_identities_vanish(fn):
    new = checked(simplify_algebra, ir_of(fn, X), X)
    assert names(new) == [] and new.jaxpr.outvars == new.jaxpr.invars


@pytest.mark.parametrize("fn", [
    lambda x: x + 0.0, lambda x: 0.0 + x, lambda x: x - -0.0, lambda x: x * -1.0,
    lambda x: x * 0.0, lambda x: x - x, lambda x: x / 2.0, lambda x: x ** 2.0,
    lambda x: lax.max(x, np.inf),
], ids=["x+0", "0+x", "x--0", "x*-1", "x*0", "x-x", "x/2", "x**2", "max+inf"])
def test_float_non_identities_stay(fn):
    # -0.0 + 0.0 is +0.0, nan * 0 is nan, inf - inf is nan: none of these is x or a constant
    closed = ir_of(fn, X)
    new = checked(optimize, closed, X)
    assert names(new) == names(closed)


@pytest.mark.parametrize("fn", [lambda x: x * 1, lambda x: x + 0, lambda x: x - 0,
                                lambda x: lax.div(x, 1),
                                lambda x: x | 0, lambda x: x ^ 0, lambda x: x & -1,
                                lambda x: lax.shift_left(x, 0)],
                         ids=["x*1", "x+0", "x-0", "x/1", "or", "xor", "and", "shl"])
def test_integer_identities_vanish(fn):
    new = checked(optimize, ir_of(fn, XI), XI)
    assert names(new) == []


@pytest.mark.parametrize("fn", [lambda x: x * 0, lambda x: 0 * x, lambda x: x & 0,
                                lambda x: x - x, lambda x: lax.max(x, np.iinfo(np.int32).max)])
def test_integer_absorbing_values_give_a_splat(fn):
    new = checked(optimize, ir_of(fn, XI), XI)
    assert names(new) == ["broadcast_in_dim"]


def test_bool_identities():
    b = values((5,), np.bool_)
    for fn in (lambda x: x & True, lambda x: x | False, lambda x: lax.max(x, x)):
        assert names(checked(optimize, ir_of(fn, b), b)) == []
    assert names(checked(optimize, ir_of(lambda x: x & False, b), b)) == ["broadcast_in_dim"]


def test_weak_types_are_kept():
    # a weak x times a strong 1 is strong: replacing it by x would change its type
    fn = lambda x: lax.mul(x, np.float32(1))
    closed = ir_of(fn, 2.0)
    assert closed.in_avals[0].weak_type and not closed.out_avals[0].weak_type
    assert names(checked(optimize, closed, np.float32(2.0))) == ["mul"]
    # a weak x times a weak 1 is x
    weak = ShapedArray((), np.float32, weak_type=True)
    x, out = Var(weak), Var(weak)
    one = Literal(np.array(1.0, np.float32), weak)
    closed = ClosedJaxpr(Jaxpr([], [x], [Eqn(mul_p, [x, one], [out], {})], [out]), [])
    assert names(checked(optimize, closed, np.float32(2.0))) == []


def test_casts():
    def conv(x, dt):
        return convert_p.bind(x, new_dtype=np.dtype(dt), weak_type=False)

    x64 = values((4,), np.float64)
    cases = [  # (function, input, equations left)
        (lambda x: conv(x, np.float32), X, []),  # same type
        (lambda x: conv(conv(x, np.float64), np.float32), X, []),  # widening round trip
        (lambda x: conv(conv(x, np.float64), np.int32), XI, []),
        (lambda x: conv(conv(x, np.int64), np.int32), XI, []),
        (lambda x: conv(conv(x, np.float32), np.bool_), XI > 0, []),
        (lambda x: conv(conv(x, np.float32), np.float64), x64, ["convert_element_type"] * 2),
        (lambda x: conv(conv(x, np.float32), np.int32), XI, ["convert_element_type"] * 2),
        (lambda x: conv(conv(x, np.int32), np.float32), X, ["convert_element_type"] * 2),
    ]
    for fn, x, left in cases:
        assert names(checked(optimize, ir_of(fn, x), x)) == left


def test_movement_chains_become_one():
    x = values((2, 3, 4), np.float32)
    new = checked(optimize, ir_of(lambda x: fnp.transpose(fnp.transpose(x, (1, 2, 0)),
                                                          (2, 0, 1)), x), x)
    assert names(new) == []
    new = checked(optimize, ir_of(lambda x: fnp.transpose(fnp.transpose(x, (1, 2, 0)),
                                                          (1, 0, 2)), x), x)
    assert names(new) == ["transpose"] and new.eqns[0].params["permutation"] == (2, 1, 0)
    new = checked(optimize, ir_of(lambda x: x.reshape(6, 4).reshape(4, 6), x), x)
    assert names(new) == ["reshape"] and new.eqns[0].invars == new.jaxpr.invars
    assert names(checked(optimize, ir_of(lambda x: x.reshape(6, 4).reshape(2, 3, 4), x),
                         x)) == []
    v = values((3,), np.float32)
    new = checked(optimize, ir_of(lambda v: lax.broadcast_in_dim(
        lax.broadcast_in_dim(v, (2, 3), (1,)), (4, 2, 3), (1, 2)), v), v)
    assert names(new) == ["broadcast_in_dim"]
    assert new.eqns[0].params["broadcast_dimensions"] == (2,)


def test_no_op_movements_and_reductions_vanish():
    def fn(x):
        y = reduce_sum_p.bind(x, axes=())
        y = slice_p.bind(y, start_indices=(0, 0), limit_indices=(3, 4), strides=(1, 1))
        return stop_gradient_p.bind(y)

    assert names(checked(optimize, ir_of(fn, X), X)) == []
    same = lambda x: broadcast_in_dim_p.bind(x, shape=(3, 4), broadcast_dimensions=(0, 1))
    assert names(checked(optimize, ir_of(same, X), X)) == []
    # a real slice stays
    assert names(checked(optimize, ir_of(lambda x: x[1:], X), X)) == ["slice"]


def test_select_with_a_known_predicate_picks_a_case():
    fn = lambda x: lax.select(fnp.ones(x.shape, bool), x, fnp.sin(x))
    assert names(checked(optimize, ir_of(fn, X), X)) == []


def test_double_negation_of_integers_wraps_back():
    x = np.array([np.iinfo(np.int32).min, -1, 0, 5], np.int32)
    new = checked(simplify_algebra, ir_of(lambda x: neg_p.bind(neg_p.bind(x)), x), x)
    assert names(new) == []


# --------------------------------------------------------------------------- folding


def test_splats_fold_into_one_splat():
    # autodiff's typical residue: a splat of 1 times a splat of 2
    closed = ir_of(fl.grad(lambda x: fnp.sum(fnp.tanh(x) * 2.0)), X)
    new = checked(fold_constants, closed, X)
    assert len(new.eqns) == len(closed.eqns) - 1
    assert names(new).count("broadcast_in_dim") == 2  # 1.0 (for 1 - t*t) and the product


def test_literals_fold_to_a_literal_with_its_type():
    def fn(x):
        # operands that are all literals (np scalars bound directly)
        c = lax.sub(np.float32(1.0), np.float32(3.0))
        return x * lax.neg(c), lax.convert(lax.max(np.int32(3), np.int32(-7)), np.float64)

    x = np.float32(1.5)
    closed = ir_of(fn, x)
    new = checked(fold_constants, closed, x)
    assert names(new) == ["mul"]
    lit = new.eqns[0].invars[1]
    assert lit.val == 2.0 and lit.val.dtype == np.float32 and lit.aval.dtype == np.float32
    assert new.jaxpr.outvars[1].val.dtype == np.float64


def test_signed_zero_and_nan_fold_bit_exactly():
    def fn(x):
        z = lax.neg(fnp.zeros(x.shape, np.float32))  # a splat of -0.0
        n = lax.div(z, z)  # 0/0: a splat of nan
        return x + z, x * n, lax.max(x, n)

    closed = ir_of(fn, X)
    new = checked(optimize, closed, X)
    # x + -0.0 is x; the nan splat folds; max with nan stays (nan propagates)
    assert new.jaxpr.outvars[0] is new.jaxpr.invars[0]
    assert "div" not in names(new) and "neg" not in names(new)


def test_constants_fold_and_big_broadcasts_stay():
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    closed = ir_of(lambda x: x + fnp.transpose(w) * 2, np.ones((3, 2), np.float32))
    new = checked(optimize, closed, np.ones((3, 2), np.float32))
    assert names(new) == ["add"]
    np.testing.assert_array_equal(new.consts[0], w.T * 2)
    # a scalar broadcast to a big shape is never materialised
    big = ShapeDtypeStruct((1000, 1000), np.float32)
    closed = ir_of(lambda x: x + fnp.full((1000, 1000), 3.0, np.float32) * 2.0, big)
    new = optimize(closed)
    assert names(new) == ["broadcast_in_dim", "add"] and not new.consts
    # nor is a constant broadcast (even to a small shape): a fused kernel reads it as is
    closed = ir_of(lambda x: x + fnp.broadcast_to(w[0] * 2, (4, 3)), np.ones((4, 3),
                                                                            np.float32))
    new = checked(optimize, closed, np.ones((4, 3), np.float32))
    assert names(new) == ["broadcast_in_dim", "add"] and new.consts[0].shape == (3,)


def test_splats_move_and_reduce_to_splats():
    def fn(x):
        s = lax.transpose(lax.reshape(fnp.full((2, 3), -0.0, np.float32), (3, 2)), (1, 0))
        return x + lax.reduce_max(s, (0,)), lax.reduce_min(s, (0, 1))

    x = values((3,), np.float32)
    new = checked(optimize, ir_of(fn, x), x)
    assert names(new) == [] and new.jaxpr.outvars[0] is new.jaxpr.invars[0]  # x + -0.0
    assert np.signbit(new.jaxpr.outvars[1].val)
    # the maximum over an empty axis is an error at run time, and stays one
    empty = lambda x: lax.reduce_max(fnp.full((0, 3), 1.0, np.float32), (0,)) + x
    assert names(optimize(ir_of(empty, x))) == ["broadcast_in_dim", "reduce_max", "add"]


def test_transcendental_functions_are_not_folded():
    # each backend has its own exp within an ulp bound; folding with numpy would pick one
    fn = lambda x: x * fnp.exp(fnp.ones(x.shape, np.float32))
    assert "exp" in names(checked(optimize, ir_of(fn, X), X))
    # integer power folds, float power does not
    fn = lambda x: x * lax.pow(np.int32(3), np.int32(2))
    assert names(checked(optimize, ir_of(fn, XI), XI)) == ["broadcast_in_dim", "mul"]


def test_run_time_errors_are_not_folded_away():
    fn = lambda x: x + lax.select_n(np.int32(5), np.float32(1), np.float32(2))  # bad index
    closed = ir_of(fn, np.float32(1))
    assert "select_n" in names(optimize(closed))


# --------------------------------------------------------------------------- inlining


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = fnp.tanh(x @ w1 + b1)
    return fnp.mean((h @ w2 + b2 - y) ** 2)


def mlp_args():
    rng = np.random.default_rng(0)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)
    return [((f(4, 8), f(8)), (f(8, 2), f(2))), f(5, 4), f(5, 2)]


def flat_run(fn, args):
    """(program, flat inputs) of ``fn`` on ``args``."""
    return fl.make_ir(fn)(*args), fl.tree.leaves(args)


@fl.custom_jvp
def softplus(x):
    return fnp.log1p(fnp.exp(x))


softplus.defjvps(lambda t, ans, x: t * lax.logistic(x))


@fl.custom_vjp
def clip_grad(x):
    return x * 1.0


clip_grad.defvjp(lambda x: (clip_grad(x), None), lambda res, g: (fnp.clip(g, -1.0, 1.0),))

CKPT = fl.checkpoint(lambda x: fnp.sin(fnp.sin(x)) * 2.0)
NAMED = fl.checkpoint(lambda x: fnp.sin(fl.checkpoint_name(fnp.sin(x), "h")),
                      policy=fl.checkpoint_policies.save_only_these_names("h"))


@pytest.mark.parametrize("fn", [
    lambda x: CKPT(x), lambda x: CKPT(CKPT(x)) + CKPT(x), lambda x: softplus(x),
    lambda x: clip_grad(x) * 3.0, lambda x: CKPT(softplus(clip_grad(x))),
    fl.value_and_grad(lambda x: fnp.sum(CKPT(x))),
    fl.grad(lambda x: fnp.sum(softplus(x) * clip_grad(x))),
    fl.value_and_grad(lambda x: fnp.sum(CKPT(softplus(x)))),
    lambda x: NAMED(x), fl.value_and_grad(lambda x: fnp.sum(NAMED(x))),
], ids=["ckpt", "ckpt-twice", "custom_jvp", "custom_vjp", "nested", "grad-ckpt",
        "grad-custom", "grad-ckpt-custom", "named", "grad-named"])
def test_calls_are_inlined(fn):
    closed = ir_of(fn, X)
    new = checked(inline_calls, closed, X)
    assert not set(all_names(new)) & {"checkpoint", "custom_jvp_call", "custom_vjp_call"}
    assert "name" not in all_names(checked(optimize, closed, X))


def test_inlined_custom_calls_with_constants():
    w = np.linspace(-2, 2, 12).astype(np.float32).reshape(3, 4)

    @fl.custom_jvp
    def scaled(x):
        return fnp.exp(x) * w  # closes over an array: a constant of call_jaxpr

    scaled.defjvps(lambda t, ans, x: t * ans)

    def fn(x, s):
        @fl.custom_vjp
        def f(y):
            return y * s  # closes over a traced value: s becomes a leading operand

        f.defvjp(lambda y: (f(y), None), lambda r, g: (g,))
        return f(x) + scaled(x)

    closed = ir_of(fn, X, X)
    assert {"custom_jvp_call", "custom_vjp_call"} <= set(all_names(closed))
    new = checked(optimize, closed, X, X)
    assert not {"custom_jvp_call", "custom_vjp_call"} & set(all_names(new))


def test_a_call_carrying_its_constants_is_inlined_with_them():
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    inner = ir_of(lambda x: x * w, X)  # w is a constant of the called program
    assert inner.consts
    a, out = Var(inner.in_avals[0]), Var(inner.out_avals[0])
    eqn = Eqn(jit_p, [a], [out], {"jaxpr": inner, "name": "f", "backend": "numpy"})
    cond = ir_of(lambda x: lax.cond(x[0, 0] > 0, lambda v: v, lambda v: v * 2.0, x), X)
    # the same program twice, and as a branch of a cond (where it cannot take constants)
    o2, o3 = Var(out.aval), Var(out.aval)
    ceq = cond.eqns[-1]
    branches = (ClosedJaxpr(Jaxpr([], [b := Var(out.aval)], [Eqn(jit_p, [b], [c := Var(
        out.aval)], eqn.params)], [c]), []),) * 2
    closed = ClosedJaxpr(Jaxpr([], [a], [eqn, Eqn(jit_p, [out], [o2], eqn.params),
                                         Eqn(ceq.prim, [Literal(np.array(1, np.int32),
                                                                ceq.invars[0].aval), o2],
                                             [o3], {"branches": branches})], [o3]), [])
    new = checked(optimize, closed, X)
    assert names(new) == ["mul", "mul", "cond"] and len(new.consts) == 1
    inner_names = [all_names(b) for b in new.eqns[-1].params["branches"]]
    assert inner_names == [["jit", "mul"]] * 2
    assert new.eqns[-1].params["branches"][0] is new.eqns[-1].params["branches"][1]


def test_a_jit_equation_is_inlined():
    inner = ir_of(lambda x: fnp.sin(x) * 1.0, X)
    a, out = Var(inner.in_avals[0]), Var(inner.out_avals[0])
    eqn = Eqn(jit_p, [a], [out], {"jaxpr": inner, "name": "f", "backend": "numpy"})
    closed = ClosedJaxpr(Jaxpr([], [a], [eqn, Eqn(jit_p, [out], [o2 := Var(out.aval)],
                                                     eqn.params)], [o2]), [])
    new = checked(optimize, closed, X)
    assert names(new) == ["sin", "sin"]


# --------------------------------------------------------------------------- control flow


def test_cond_branches_and_loop_bodies_are_simplified():
    def fn(x):
        y = lax.cond(fnp.sum(x) > 0, lambda v: lax.neg(-v) * 1.0, lambda v: CKPT(v.T.T), x)

        def body(c, xs):
            return c * 1.0 + xs, lax.neg(lax.neg(c))

        c, ys = lax.scan(body, x[0], x)
        w = lax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] - 0.0), (0, c))[1]
        return y, ys, w

    closed = ir_of(fn, X)
    before = all_names(closed)
    new = checked(optimize, closed, X)
    after = all_names(new)
    assert {"cond", "scan", "while"} <= set(after) and "checkpoint" not in after
    assert "neg" in before and "neg" not in after and "transpose" not in after
    assert after.count("sub") < before.count("sub")


def test_nested_programs_gain_no_constants():
    w = np.arange(4, dtype=np.float32)

    def fn(x):
        return lax.cond(x[0] > 0, lambda v: v + fnp.flip(w) * 2, lambda v: v, x)

    x = values((4,), np.float32)
    new = checked(optimize, ir_of(fn, x), x)
    for e in new.eqns:
        for b in e.params.get("branches", ()):
            assert not b.consts and not b.jaxpr.constvars


# --------------------------------------------------------------------------- whole programs


def test_mlp_training_step_shrinks_and_agrees():
    args = mlp_args()
    closed, flat = flat_run(fl.jit(fl.value_and_grad(mlp_loss)), args)
    new = checked(optimize, closed, *flat)
    assert len(new.eqns) < len(closed.eqns)
    assert len(optimize(new).eqns) == len(new.eqns)  # a fixpoint


def test_a_transposed_product_swaps_its_operands():
    # (a @ b).T is b.T @ a.T: the product is written in the order it is read (integers,
    # so the sums agree bit for bit; floats may sum in another order in a backend)
    a, b = values((2, 3, 4), np.int32, seed=2), values((2, 4, 5), np.int32, seed=3)
    f = lambda a, b: fnp.swapaxes(fnp.matmul(a, b), 1, 2)  # noqa: E731
    new = checked(simplify_algebra, ir_of(f, a, b), a, b)
    assert names(new) == ["dot_general"]
    assert new.eqns[0].invars == list(new.jaxpr.invars[::-1])
    # another reader of the product keeps it as it was
    g = lambda a, b: (fnp.swapaxes(fnp.matmul(a, b), 1, 2), fnp.matmul(a, b))  # noqa: E731
    kept = checked(optimize, ir_of(g, a, b), a, b)
    assert names(kept) == ["dot_general", "transpose"]


def test_size_one_dims_do_not_hide_a_transposed_product():
    # the shape of jit(hessian)'s last step: a product with size-1 dims, moved by a
    # transpose of those dims and reshapes, then transposed: one product, no transpose
    z, w = values((5, 1, 4, 1), np.int32, seed=4), values((4, 6), np.int32, seed=5)

    def f(z, w):
        out = lax.dot_general(z, w, (((2,), (0,)), ((), ())))  # (5, 1, 1, 6)
        return fnp.reshape(fnp.transpose(out, (0, 1, 3, 2)), (5, 6)).T

    new = checked(optimize, ir_of(f, z, w), z, w)
    assert [n for n in names(new) if n not in ("reshape",)] == ["dot_general"]


def test_a_product_with_a_constant_identity_is_the_other_constant():
    # jacfwd's basis times a constant weight: the product is the weight, moved, when
    # its values leave no room for IEEE effects (no inf or nan, no -0.0)
    w = values((3, 3), np.float32, seed=6)
    finite = np.where(np.isfinite(w) & (w != 0), w, 1.5).astype(np.float32)
    x = np.ones(3, np.float32)

    def f(w):
        return fl.jit(lambda x: fnp.tanh(fl.jacfwd(lambda x: w @ x)(x)))

    for weight, folded in ((finite, True), (w, False)):  # w has inf, nan and -0.0
        closed = fl.make_ir(f(weight))(x)
        new = optimize(closed)
        assert ("dot_general" not in names(new)) == folded
        assert_same_bits(run(new, x)[0], run(closed, x)[0])


# --------------------------------------------------------------------------- random chains

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]
LITERALS = [0.0, -0.0, 1.0, 2, -1, 0.5, np.nan, np.inf]
BINOPS = ["add", "sub", "mul", "div", "max", "min", "pow", "and", "or", "xor", "rem"]
UNOPS = ["neg", "abs", "not", "sqrt", "floor", "exp", "sign", "stop_gradient"]


def literal(value, dtype, strong):
    dtype = np.dtype(dtype)
    if dtype.kind != "f" and not np.isfinite(value):
        value = 3
    if dtype.kind != "f":
        value = int(value)
    return np.asarray(value, dtype)[()] if strong else (bool(value) if dtype == np.bool_
                                                        else value)


def valid(op, dtype):
    kind = np.dtype(dtype).kind
    if op in ("and", "or", "xor", "not"):
        return kind != "f"
    if op in ("sqrt", "floor", "exp"):
        return kind == "f"
    if op in ("sub", "div", "pow", "neg", "rem", "abs", "sign"):
        return kind != "b" and not (op == "pow" and kind == "i")
    return True


def apply_step(step, x, pool):
    """One random operation on the current value ``x`` (pool: earlier values)."""
    kind, a, b, c = step
    dt, shape = x.dtype, x.shape
    if kind == 0:  # binary with a literal, either side, weak or strong
        op = BINOPS[a % len(BINOPS)]
        if not valid(op, dt):
            return x
        value = LITERALS[b % len(LITERALS)]
        # numpy's power(x, y) takes sqrt(x) when y is a stride-0 array of 0.5, and
        # pow(-0.0, 0.5) is +0.0 where sqrt(-0.0) is -0.0: the reference itself depends
        # on the layout a rewrite may change
        lit = literal(2.0 if op == "pow" and value == 0.5 else value, dt, c % 2)
        fn = getattr(lax, {"and": "bitwise_and", "or": "bitwise_or",
                           "xor": "bitwise_xor"}.get(op, op))
        return fn(lit, x) if c % 4 >= 2 and op in ("add", "mul", "max", "min", "and", "or",
                                                  "xor") else fn(x, lit)
    if kind == 1:  # unary
        op = UNOPS[a % len(UNOPS)]
        if not valid(op, dt):
            return x
        return getattr(lax, {"not": "bitwise_not"}.get(op, op))(x)
    if kind == 2:  # binary with an earlier value of the same type, or itself
        same = [p for p in pool if p.shape == shape and p.dtype == dt] + [x]
        op = BINOPS[a % len(BINOPS)]
        if not valid(op, dt) or op == "pow":  # (pow: see above)
            return x
        fn = getattr(lax, {"and": "bitwise_and", "or": "bitwise_or",
                           "xor": "bitwise_xor"}.get(op, op))
        return fn(x, same[b % len(same)])
    if kind == 3 and x.ndim >= 2:  # transposes
        perm = np.random.default_rng(b).permutation(x.ndim)
        return lax.transpose(lax.transpose(x, perm), np.argsort(perm)) if c % 2 else \
            lax.transpose(x, perm)
    if kind == 4:  # reshapes
        flat = lax.reshape(x, (x.size,))
        return lax.reshape(flat, shape[::-1]) if c % 2 else lax.reshape(flat, shape)
    if kind == 5:  # broadcast then reduce back
        y = lax.broadcast_in_dim(x, (2,) + shape, tuple(range(1, x.ndim + 1)))
        red = [lax.reduce_max, lax.reduce_min][a % 2] if dt != np.bool_ else lax.reduce_or
        return red(y, (0,))
    if kind == 6:  # select between x and an earlier value
        same = [p for p in pool if p.shape == shape and p.dtype == dt] + [x]
        other = same[b % len(same)]
        pred = lax.gt(x, x) if c % 2 else fnp.full(shape, bool(a % 2), bool)
        return lax.select(pred, x, other)
    if kind == 7:  # cast to another dtype
        return lax.convert(x, DTYPES[a % len(DTYPES)])
    if kind == 8 and x.ndim:  # reduce one axis
        return lax.reduce_max(x, (b % x.ndim,)) if dt != np.bool_ else \
            lax.reduce_or(x, (b % x.ndim,))
    if kind == 10:  # fnp arithmetic with a Python scalar (keeps a weak x weak)
        value = LITERALS[b % len(LITERALS)]
        value = value if np.isfinite(value) or dt.kind == "f" else 3.0
        return [lambda: x + value, lambda: value * x, lambda: fnp.maximum(x, value)][a % 3]()
    if kind == 9:  # splat of a literal combined with x
        s = fnp.full(shape, literal(LITERALS[b % len(LITERALS)], dt, True), dt)
        return lax.select(fnp.full(shape, bool(c % 2), bool), s, x) if a % 2 else \
            lax.max(s, x)
    return x


steps = st.lists(st.tuples(st.integers(0, 10), st.integers(0, 50), st.integers(0, 50),
                           st.integers(0, 3)), min_size=1, max_size=10)


@settings(max_examples=150)  # cheap examples (about 10 ms each), many rewrites to reach
@given(dtype=st.sampled_from(DTYPES), shape=st.sampled_from([(), (3,), (2, 3), (2, 1, 3)]),
       chain=steps, seed=st.integers(0, 2 ** 16), weak=st.booleans())
def test_random_chains_agree_bit_for_bit(dtype, shape, chain, seed, weak):
    def fn(x):
        pool, y = [x], x
        for step in chain:
            y = apply_step(step, y, pool)
            pool.append(y)
        return pool[-1], pool[len(pool) // 2]

    x = values(shape, dtype, seed)
    # a 0-d input traced from a Python scalar is weakly typed (float32, int64 or bool)
    weak = weak and shape == () and x.dtype in (np.float32, np.int64, np.bool_)
    closed = ir_of(fn, x.item() if weak else x)
    new = checked(optimize, closed, x)
    assert len(new.eqns) <= len(closed.eqns)
