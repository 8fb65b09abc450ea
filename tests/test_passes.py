import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite.passes import simplify


def test_cse_merges_repeated_work_and_keeps_results():
    def f(x):
        a = fnp.sin(x) * 2.0
        b = fnp.sin(x) * 2.0  # the same computation again
        return a + b, fnp.cos(x)

    x = np.linspace(-1, 1, 5).astype(np.float32)
    ir = fl.make_ir(f)(x)
    names = [e.prim.name for e in ir.eqns]
    assert names.count("sin") == 1 and names.count("mul") == 1
    out, c = fl.jit(f)(x)
    np.testing.assert_allclose(out, 4 * np.sin(x), rtol=1e-6)
    np.testing.assert_allclose(c, np.cos(x), rtol=1e-6)


def test_cse_distinguishes_params_and_literals():
    def f(x):
        return fnp.sum(x, axis=0) + fnp.sum(x, axis=1), x * 2.0 + x * 3.0

    x = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    s, t = fl.jit(f)(x)
    np.testing.assert_allclose(s, x.sum(0) + x.sum(1))
    np.testing.assert_allclose(t, 5 * x)


def test_simplify_drops_dead_code():
    closed = fl.make_ir(lambda x: (fnp.exp(x), fnp.sin(x))[0])(np.ones(3, np.float32))
    assert [e.prim.name for e in simplify(closed).eqns] == ["exp"]


def test_cse_keeps_literals_that_differ_in_bits():
    # 0.0 == -0.0, yet x * 0.0 and x * -0.0 differ in sign
    f = lambda x: (x * 0.0, x * -0.0)
    x = np.zeros(3, np.float32)
    a, b = fl.jit(f)(x)
    assert not np.signbit(a).any() and np.signbit(b).all()


def test_cse_keeps_signed_zero_divisors_apart():
    # the program: x + 0.0 and / -0.0 share the value 0 but not the bits
    f = lambda x: fnp.divide(fnp.add(x, 0.0), -0.0)
    x = np.array([2.0], np.float32)
    assert f(x)[0] == -np.inf
    assert fl.jit(f)(x)[0] == -np.inf
