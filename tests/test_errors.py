"""Error messages of the transforms: the right exception type, and a message that names
the function, the offending source line, the shapes/dtypes involved and a fix."""

from __future__ import annotations

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp

X3 = np.array([1.0, -2.0, 3.0], np.float32)


# --------------------------------------------------------------------------- grad misuse


def test_grad_of_non_scalar_output_names_the_shape():
    def vector_valued(x):
        return fnp.sin(x)

    with pytest.raises(TypeError) as ei:
        fl.grad(vector_valued)(X3)
    msg = str(ei.value)
    assert "vector_valued" in msg and "f32[3]" in msg and "(3,)" in msg and "scalar" in msg
    assert "jacrev" in msg or "vjp" in msg
    with pytest.raises(TypeError, match=r"tuple|scalar"):
        fl.grad(lambda x: (fnp.sum(x), fnp.sum(x)))(X3)


def test_grad_of_integer_output_is_rejected():
    with pytest.raises(TypeError, match="i64|int"):
        fl.grad(lambda x: fnp.argmax(x))(X3)


def test_grad_wrt_integer_input_names_the_dtype():
    def f(x, n):
        return fnp.sum(x) * n

    with pytest.raises(TypeError, match=r"argument 1.*int64") as ei:
        fl.grad(f, argnums=1)(X3, np.int64(3))
    assert "`f`" in str(ei.value)
    with pytest.raises(TypeError, match="int64"):
        fl.grad(lambda k: k * 2.0)(3)  # a Python int is an integer input too
    with pytest.raises(TypeError, match="int32"):
        fl.grad(lambda d: fnp.sum(d["a"]) * 1.0)({"a": np.arange(3, dtype=np.int32)})
    # integer arguments outside argnums are fine
    np.testing.assert_allclose(fl.grad(f)(X3, np.int64(3)), [3.0, 3.0, 3.0])


# --------------------------------------------------------------------------- concretization


def _check_concretization(ei, fn_name, line_text):
    err = ei.value
    assert isinstance(err, fl.ConcretizationError) and isinstance(err, TypeError)
    msg = str(err)
    assert fn_name in msg, msg
    assert line_text in msg, msg  # the offending source line is quoted
    assert "test_errors.py" in msg, msg
    assert "static_argnums" in msg, msg
    return msg


def test_python_if_on_traced_value_under_jit():
    def relu_branchy(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(fl.ConcretizationError) as ei:
        fl.jit(relu_branchy)(np.float32(1.0))
    msg = _check_concretization(ei, "relu_branchy", "if x > 0:")
    assert "fnp.where" in msg and "fl.lax.cond" in msg
    assert isinstance(ei.value, fl.TracerBoolConversionError)


def test_python_while_and_boolean_ops_under_jit():
    def loop_until(x):
        while fnp.sum(x) < 10:
            x = x * 2
        return x

    with pytest.raises(fl.ConcretizationError) as ei:
        fl.jit(loop_until)(X3)
    _check_concretization(ei, "loop_until", "while fnp.sum(x) < 10:")

    def uses_and(x):
        return x if (x > 0) and (x < 5) else 0.0

    with pytest.raises(fl.ConcretizationError) as ei:
        fl.jit(uses_and)(np.float32(1.0))
    _check_concretization(ei, "uses_and", "return x if (x > 0) and (x < 5) else 0.0")


def test_branch_in_helper_names_the_helper_line_and_the_jitted_function():
    def helper(v):
        if v.sum() > 0:  # offending line
            return v
        return -v

    def outer_step(x):
        return helper(x) * 2

    with pytest.raises(fl.ConcretizationError) as ei:
        fl.jit(outer_step)(X3)
    msg = _check_concretization(ei, "helper", "if v.sum() > 0:  # offending line")
    assert "outer_step" in msg


@pytest.mark.parametrize("conv,line", [
    (lambda x: float(x), "float(x)"),
    (lambda x: int(x), "int(x)"),
    (lambda x: x.item(), "x.item()"),
    (lambda x: np.asarray(x), "np.asarray(x)"),
    (lambda x: list(range(x)), "list(range(x))"),
], ids=["float", "int", "item", "asarray", "index"])
def test_concrete_conversions_under_jit(conv, line):
    def convert_me(x):
        return conv(x)

    arg = np.int64(3) if "range" in line else np.float32(1.0)
    with pytest.raises(TypeError) as ei:
        fl.jit(convert_me)(arg)
    err = ei.value
    msg = str(err)
    assert isinstance(err, fl.ConcretizationError), type(err)
    assert "convert_me" in msg
    assert line in msg, msg
    assert "static_argnums" in msg


def test_numpy_functions_on_traced_values():
    def uses_np_sin(x):
        return np.sin(x) * 2

    with pytest.raises(fl.TracerArrayConversionError) as ei:
        fl.jit(uses_np_sin)(X3)
    msg = str(ei.value)
    assert "np.sin" in msg and "fnp.sin" in msg and "uses_np_sin" in msg
    assert "return np.sin(x) * 2" in msg

    def in_place(x):
        acc = np.zeros(3, np.float32)
        acc += x
        return acc

    with pytest.raises(fl.ConcretizationError, match="out="):
        fl.jit(in_place)(X3)
    # numpy operators with a traced operand on the right still trace (ndarray + tracer)
    out = fl.jit(lambda x: np.ones(3, np.float32) * x + np.float32(2) ** x - (np.zeros(3) > x))(X3)
    np.testing.assert_allclose(out, X3 + 2.0 ** X3 - (0 > X3), rtol=1e-6)
    # under grad the primal is concrete, but handing it to numpy would drop the derivative
    with pytest.raises(fl.TracerArrayConversionError, match="derivative"):
        fl.grad(lambda x: fnp.sum(np.asarray(x) * x))(X3)
    with pytest.raises(fl.ConcretizationError):
        fl.grad(lambda x: fnp.sum(np.exp(x)))(X3)
    # ... while bool/float of the primal (Python control flow) is fine under grad
    np.testing.assert_allclose(fl.grad(lambda x: x * 3 if float(x) > 0 else -x)(1.0), 3.0)


def test_concretization_under_vmap_and_jit_of_grad():
    with pytest.raises(fl.ConcretizationError, match="vmap") as ei:
        fl.vmap(lambda v: v if v > 0 else -v)(X3)
    assert "fnp.where" in str(ei.value)

    def piecewise(x):
        return x ** 2 if x > 0 else -x

    # grad alone works (the primal is concrete) ...
    np.testing.assert_allclose(fl.grad(piecewise)(2.0), 4.0)
    # ... but under jit the primal is traced
    with pytest.raises(fl.ConcretizationError) as ei:
        fl.jit(fl.grad(piecewise))(np.float32(2.0))
    _check_concretization(ei, "piecewise", "return x ** 2 if x > 0 else -x")


def test_static_argnums_is_the_fix():
    def f(x, flag):
        if flag > 0:
            return x
        return -x

    with pytest.raises(fl.ConcretizationError):
        fl.jit(f)(X3, 1)
    np.testing.assert_allclose(fl.jit(f, static_argnums=1)(X3, 1), X3)
    np.testing.assert_allclose(fl.jit(f, static_argnums=1)(X3, -1), -X3)


# --------------------------------------------------------------------------- leaked tracers

_LEAKED = []


def test_tracer_leaked_from_jit():
    _LEAKED.clear()

    def leaky(x):
        _LEAKED.append(x * 2)  # stored in a global: escapes the trace
        return x

    fl.jit(leaky)(X3)
    leaked = _LEAKED[0]
    for use in (lambda: leaked + 1, lambda: fnp.sin(leaked),
                lambda: fl.jit(lambda a: a + leaked)(X3),
                lambda: fl.grad(lambda a: fnp.sum(a * leaked))(X3)):
        with pytest.raises(fl.UnexpectedTracerError) as ei:
            use()
        msg = str(ei.value)
        assert "leaky" in msg and "escaped" in msg
        assert "_LEAKED.append(x * 2)" in msg  # where the value was created
        assert "test_errors.py" in msg  # ... and where it was used


def test_tracer_leaked_from_grad_and_vmap():
    store = []

    def keep(x):
        store.append(x)
        return fnp.sum(x ** 2)

    fl.grad(keep)(X3)
    with pytest.raises(fl.UnexpectedTracerError, match="keep"):
        store[0] * 2
    store.clear()
    fl.vmap(lambda v: store.append(v) or v)(X3)
    with pytest.raises(fl.UnexpectedTracerError, match="vmap"):
        fnp.exp(store[0])


# --------------------------------------------------------------------------- shape errors


def test_vmap_mismatched_batch_sizes_names_sizes():
    with pytest.raises(ValueError) as ei:
        fl.vmap(lambda a, b: a + b)(np.ones((3, 2)), np.ones((4, 2)))
    msg = str(ei.value)
    assert "3" in msg and "4" in msg and "(3, 2)" in msg and "(4, 2)" in msg
    with pytest.raises(ValueError, match=r"\[2, 5\]"):
        fl.vmap(lambda a, b: a * b, in_axes=(0, 1))(np.ones((2, 5)), np.ones((2, 5)))


def test_vmap_in_axes_structure_mismatch():
    with pytest.raises(ValueError, match="in_axes"):
        fl.vmap(lambda a, b: a + b, in_axes=(0, 0, 0))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="in_axes"):
        fl.vmap(lambda d: d["a"] + d["b"], in_axes=({"a": 0},))(
            {"a": np.ones(3), "b": np.ones(3)})
    with pytest.raises(ValueError, match="in_axes"):
        fl.vmap(lambda t: t[0], in_axes=([0, 0],))((np.ones(3), np.ones(3)))


def test_jvp_tangent_mismatches():
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        fl.jvp(fnp.sin, (X3,), (np.ones(4, np.float32),))
    with pytest.raises(ValueError, match="structure"):
        fl.jvp(lambda a, b: a * b, (X3, X3), (X3,))
    with pytest.raises(TypeError, match="tuple"):
        fl.jvp(fnp.sin, X3, X3)


def test_linearize_and_vjp_structure_mismatch():
    _, f_jvp = fl.linearize(lambda a, b: a * b, X3, X3)
    with pytest.raises(ValueError, match="structure"):
        f_jvp(X3)
    _, f_vjp = fl.vjp(lambda a: {"o": a}, X3)
    with pytest.raises(ValueError, match="structure"):
        f_vjp(X3)


def test_custom_rule_errors():
    @fl.custom_jvp
    def no_rule(x):
        return x

    with pytest.raises(AttributeError, match="defjvp"):
        no_rule(X3)

    @fl.custom_vjp
    def bad_bwd(d):
        return d["a"] * 2

    bad_bwd.defvjp(lambda d: (d["a"] * 2, None), lambda r, g: ((g, g),))
    with pytest.raises(TypeError, match="structure"):
        fl.grad(lambda v: fnp.sum(bad_bwd({"a": v})))(X3)
