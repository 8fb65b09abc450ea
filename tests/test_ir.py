"""The IR checker: well-formed programs pass, each kind of malformed program is caught.

The test suite runs with FUNCTORCH_LITE_CHECK_IR=1 (tests/conftest.py), so every program
staged by any test has gone through ``typecheck`` as well.
"""

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite.core import PRIMITIVES, ShapedArray
from functorch_lite.ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, check_enabled, typecheck

F32 = ShapedArray((3,), np.float32)


def _program(eqns, invars, outvars):
    return Jaxpr([], invars, eqns, outvars)


def test_checking_is_on_in_the_test_suite():
    assert check_enabled()


def test_staged_programs_typecheck():
    def f(x, y):
        c = fl.lax.cond(x.sum() > 0, lambda v: v * 2.0, lambda v: -v, y)
        return fnp.tanh(x) @ y.T + c.sum()

    x = np.ones((2, 3), np.float32)
    closed = fl.make_ir(f)(x, x)
    typecheck(closed.jaxpr)
    typecheck(fl.make_ir(fl.grad(lambda v: (f(v, v) ** 2).sum()))(x).jaxpr)


def test_undefined_variable_is_caught():
    x, ghost, out = Var(F32), Var(F32), Var(F32)
    j = _program([Eqn(PRIMITIVES["add"], [x, ghost], [out], {})], [x], [out])
    with pytest.raises(TypeError, match="equation 0 \\(add\\) uses an undefined variable"):
        typecheck(j)


def test_wrong_recorded_type_is_caught():
    x, out = Var(F32), Var(ShapedArray((4,), np.float32))
    j = _program([Eqn(PRIMITIVES["sin"], [x], [out], {})], [x], [out])
    with pytest.raises(TypeError, match="sin.*produces f32\\[3\\] but the IR records f32\\[4\\]"):
        typecheck(j)


def test_double_definition_is_caught():
    x, out = Var(F32), Var(F32)
    eqns = [Eqn(PRIMITIVES["sin"], [x], [out], {}), Eqn(PRIMITIVES["cos"], [x], [out], {})]
    with pytest.raises(TypeError, match="equation 1 \\(cos\\) defines a variable that is"):
        typecheck(_program(eqns, [x], [out]))


def test_wrong_output_count_is_caught():
    x, a, b = Var(F32), Var(F32), Var(F32)
    j = _program([Eqn(PRIMITIVES["sin"], [x], [a, b], {})], [x], [a])
    with pytest.raises(TypeError, match="produces 1 values but the IR binds 2"):
        typecheck(j)


def test_mistyped_literal_is_caught():
    x, out = Var(ShapedArray((), np.float32)), Var(ShapedArray((), np.float32))
    lit = Literal(np.asarray(2, np.int64), ShapedArray((), np.float32))
    j = _program([Eqn(PRIMITIVES["add"], [x, lit], [out], {})], [x], [out])
    with pytest.raises(TypeError, match="literal"):
        typecheck(j)


def test_undefined_output_is_caught():
    x, ghost = Var(F32), Var(F32)
    with pytest.raises(TypeError, match="returns an undefined variable"):
        typecheck(_program([], [x], [ghost]))


def test_malformed_nested_program_is_caught():
    closed = fl.make_ir(lambda p, v: fl.lax.cond(p, fnp.sin, fnp.cos, v))(
        np.bool_(True), np.ones(3, np.float32))
    cond = next(e for e in closed.eqns if e.prim.name == "cond")
    branch = cond.params["branches"][0].jaxpr
    bad_out = Var(ShapedArray((5,), np.float32))
    e = branch.eqns[0]
    branch.eqns[0] = Eqn(e.prim, e.invars, [bad_out], e.params)
    branch.outvars = [bad_out]
    with pytest.raises(TypeError, match="records f32\\[5\\]"):
        typecheck(closed.jaxpr)


def test_closed_jaxpr_hoist_consts_and_call():
    c = np.arange(3, dtype=np.float32)
    closed = fl.make_ir(lambda x: x * c)(np.ones(3, np.float32))
    assert len(closed.consts) == 1
    hoisted, consts = closed.hoist_consts()
    assert hoisted.consts == [] and len(hoisted.jaxpr.invars) == 2
    x = np.full(3, 2.0, np.float32)
    np.testing.assert_allclose(hoisted.call(*consts, x)[0], 2 * c)
    np.testing.assert_allclose(closed.call(x)[0], 2 * c)
    assert isinstance(hoisted, ClosedJaxpr)
