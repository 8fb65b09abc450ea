"""End-to-end tests of jit: results, caching and retracing, static arguments, logging,
pytrees, composition with the other transforms, and IR inspection without data."""

from __future__ import annotations

import functools
import gc
import importlib
import re
import warnings
import weakref

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp

RNG = np.random.default_rng(11)


def rnd(*shape, dtype=np.float32):
    return RNG.uniform(-2.0, 2.0, size=shape).astype(dtype)


def same(a, b, rtol=1e-6, atol=1e-6):
    assert isinstance(a, np.ndarray), type(a)
    b = np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


class Counter:
    """A traced function that counts how often it is traced (Python side effect)."""

    def __init__(self, fn):
        self.fn = fn
        self.n = 0
        self.__name__ = getattr(fn, "__name__", "counted")

    def __call__(self, *args, **kwargs):
        self.n += 1
        return self.fn(*args, **kwargs)


# --------------------------------------------------------------------------- results


@pytest.mark.parametrize("f,args", [
    (lambda x: fnp.sin(x) * 2.0 + 1, (rnd(3),)),
    (lambda x, y: x @ y + fnp.sum(x), (rnd(2, 3), rnd(3, 4))),
    (lambda x: fnp.exp(-x ** 2) / (1 + fnp.abs(x)), (rnd(5, dtype=np.float64),)),
    (lambda x: (x * 3, x > 0, fnp.argmax(x)), (rnd(4),)),
    (lambda n: n * 2 + 1, (np.arange(5),)),
    (lambda x: fnp.mean(fnp.tanh(x), axis=0, keepdims=True), (rnd(3, 2),)),
], ids=["elementwise", "matmul", "f64", "tuple_out", "int", "reduce"])
def test_jit_equals_eager(f, args):
    eager = f(*args)
    out = fl.jit(f)(*args)
    for a, b in zip(fl.tree.leaves(out), fl.tree.leaves(eager)):
        same(a, b)


def test_jit_pytrees_and_none():
    def f(d, pair):
        return {"sum": d["a"] + d["b"], "none": None, "nested": (pair[0] * 2, [pair[1]])}

    d = {"a": rnd(2), "b": rnd(2)}
    out = fl.jit(f)(d, (rnd(3), rnd(1)))
    assert out["none"] is None
    assert isinstance(out["nested"], tuple) and isinstance(out["nested"][1], list)
    same(out["sum"], d["a"] + d["b"])
    assert fl.jit(lambda x: None)(rnd(2)) is None
    assert fl.jit(lambda x: ())(rnd(2)) == ()
    # outputs that are inputs, constants, or Python scalars
    x = rnd(3)
    same(fl.jit(lambda a: a)(x), x)
    same(fl.jit(lambda a: np.ones(2, np.float32))(x), np.ones(2, np.float32))
    same(fl.jit(lambda a: 3.0)(x), np.asarray(3.0, np.float32))


def test_float64_stays_float64():
    x = np.linspace(-1, 1, 5)
    out = fl.jit(lambda a: fnp.sin(a) * 2.0 + 1 - a / 3)(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.sin(x) * 2 + 1 - x / 3, rtol=1e-14)
    assert fl.jit(lambda a: fnp.sum(a * a))(x).dtype == np.float64
    assert fl.jit(fl.grad(lambda a: fnp.sum(a ** 2)))(x).dtype == np.float64
    assert fl.jit(lambda a: a * 2.0)(np.float32(1.0)).dtype == np.float32  # weak scalar


def test_closure_constants():
    C = rnd(3)
    D = rnd(3, dtype=np.float64)
    out = fl.jit(lambda a: a * C + 1.0)(np.ones(3, np.float32))
    same(out, C + 1.0)
    out = fl.jit(lambda a: fnp.sum(a * D))(np.ones(3))
    np.testing.assert_allclose(out, D.sum(), rtol=1e-14)
    ir = fl.make_ir(lambda a: a + C)(fl.ShapeDtypeStruct((3,), np.float32))
    assert "add" in str(ir)


# --------------------------------------------------------------------------- caching


def test_cache_hit_does_not_retrace():
    f = Counter(lambda x, y: fnp.sin(x) * y)
    jf = fl.jit(f)
    x = rnd(3)
    same(jf(x, x), np.sin(x) * x)
    same(jf(x + 1, x), np.sin(x + 1) * x)
    y = rnd(3)
    same(jf(y, x), np.sin(y) * x)
    assert f.n == 1
    # Python scalars are weakly typed: different values hit the same entry
    jf(x, 2.0)
    jf(x, 5.0)
    assert f.n == 2


def test_retrace_on_shape_dtype_structure_and_static_change():
    f = Counter(lambda x, n=1: x * n)
    jf = fl.jit(f, static_argnames="n")
    jf(rnd(3))
    assert f.n == 1
    jf(rnd(4))  # shape
    assert f.n == 2
    jf(rnd(4, dtype=np.float64))  # dtype
    assert f.n == 3
    jf(rnd(4, dtype=np.float64), n=2)  # static value
    assert f.n == 4
    same(jf(rnd(4, dtype=np.float64) * 0 + 1, n=2), np.full(4, 2.0))
    assert f.n == 4
    jf(rnd(4, dtype=np.float64), n=3)
    assert f.n == 5
    jf((rnd(2),), n=3)  # structure: a tuple instead of an array
    assert f.n == 6
    for args in [(rnd(3),), (rnd(4),), (rnd(4, dtype=np.float64),)]:
        jf(*args)  # all cached
    assert f.n == 6


def test_static_argnums_and_argnames():
    g = Counter(lambda x, n, mode="add": x + n if mode == "add" else x * n)
    jg = fl.jit(g, static_argnums=1, static_argnames=("mode",))
    x = rnd(3)
    same(jg(x, 2), x + 2)
    same(jg(x, 3, mode="mul"), x * 3)
    same(jg(x, 3, mode="mul"), x * 3)
    assert g.n == 2
    # the static value can drive Python control flow and shapes
    jr = fl.jit(lambda x, k: fnp.reshape(x, (k, -1)) if k > 1 else x, static_argnums=(1,))
    assert jr(rnd(6), 2).shape == (2, 3)
    assert jr(rnd(6), 3).shape == (3, 2)
    assert fl.jit(lambda x, k: x * k, static_argnums=-1)(x, 4).shape == (3,)
    # a non-array argument (a string) must be marked static, as in JAX
    js = fl.jit(lambda x, how: x * (2 if how == "double" else 3), static_argnums=1)
    same(js(x, "double"), x * 2)
    same(js(x, "triple"), x * 3)
    with pytest.raises(TypeError, match=r"argument 1 is a str.*static_argnums=\(1,\)"):
        fl.jit(lambda x, how: x)(x, "double")
    with pytest.raises(ValueError, match="static_argnums"):
        fl.jit(lambda x: x, static_argnums=3)


def test_static_parameters_are_static_however_passed():
    def f(x, n=2):
        return x * n if n > 1 else -x  # Python control flow on n: needs n static

    x = rnd(2)
    by_name = fl.jit(f, static_argnames="n")
    same(by_name(x, 3), x * 3)  # passed positionally
    same(by_name(x, n=0), -x)
    by_num = fl.jit(f, static_argnums=1)
    same(by_num(x, n=3), x * 3)  # passed by keyword
    same(by_num(x), x * 2)  # default value
    same(fl.jit(lambda *a: a[0] * a[1], static_argnums=1)(x, 4), x * 4)


def test_jit_as_method_decorator():
    # as in JAX, `self` is an argument like any other: static (hashable) or an error
    class Model:
        def __init__(self, k):
            self.k = k

        @functools.partial(fl.jit, static_argnums=0)
        def apply(self, x):
            return x * self.k

        @fl.jit
        def unmarked(self, x):
            return x * self.k

    x = rnd(3)
    same(Model(3.0).apply(x), x * 3)
    same(Model(5.0).apply(x), x * 5)
    with pytest.raises(TypeError, match=r"argument 0 is a Model.*static_argnums=\(0,\)"):
        Model(3.0).unmarked(x)


def test_unhashable_static_argument_is_a_clear_type_error():
    jf = fl.jit(lambda x, shape: x.reshape(shape), static_argnums=1)
    with pytest.raises(TypeError, match=r"static argument 1.*list.*hashable"):
        jf(rnd(6), [2, 3])
    same(jf(rnd(6) * 0, (2, 3)), np.zeros((2, 3), np.float32))
    jk = fl.jit(lambda x, shape=None: x.reshape(shape), static_argnames="shape")
    with pytest.raises(TypeError, match=r"'shape'.*hashable"):
        jk(rnd(6), shape=[3, 2])


def test_failed_trace_is_not_cached():
    state = {"fail": True}

    def f(x):
        if state["fail"]:
            raise RuntimeError("boom")
        return x + 1

    jf = fl.jit(f)
    with pytest.raises(RuntimeError, match="boom"):
        jf(rnd(2))
    state["fail"] = False
    same(jf(np.zeros(2, np.float32)), np.ones(2, np.float32))


# --------------------------------------------------------------------------- logging, warnings


def test_log_compiles_prints_the_reason(monkeypatch, capsys):
    monkeypatch.setenv("FUNCTORCH_LITE_LOG_COMPILES", "1")

    def my_step(x, n=1):
        return x * n

    jf = fl.jit(my_step, static_argnames="n")
    jf(rnd(3))
    jf(rnd(3))  # cached: prints nothing
    jf(rnd(5))
    jf(rnd(5, dtype=np.float64))
    jf(rnd(5, dtype=np.float64), n=2)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "my_step" in ln]
    assert len(lines) == 4, err
    assert "first call" in lines[0]
    assert re.search(r"f32\[3\].*f32\[5\]", lines[1]), lines[1]
    assert re.search(r"f32\[5\].*f64\[5\]", lines[2]), lines[2]
    assert "static" in lines[3] and "2" in lines[3], lines[3]


def test_log_compiles_off_by_default(monkeypatch, capsys):
    monkeypatch.delenv("FUNCTORCH_LITE_LOG_COMPILES", raising=False)
    fl.jit(lambda x: x + 1)(rnd(2))
    assert "tracing" not in capsys.readouterr().err


def test_many_retraces_warn_once_at_the_call_site():
    jf = fl.jit(lambda x: x + 1)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for n in range(1, 16):
            jf(np.ones(n, np.float32))
    msgs = [w for w in rec if "traced" in str(w.message)]
    assert len(msgs) == 1
    assert "retrace" in str(msgs[0].message) or "recompil" in str(msgs[0].message)
    assert msgs[0].filename == __file__  # points at the user's call, not library code


# --------------------------------------------------------------------------- compositions


def test_nested_jit():
    inner = Counter(lambda b: fnp.sin(b) * 2)
    j_inner = fl.jit(inner)
    outer = fl.jit(lambda a: j_inner(a) + j_inner(a * 2))
    x = rnd(3)
    same(outer(x), np.sin(x) * 2 + np.sin(2 * x) * 2)
    same(outer(x), np.sin(x) * 2 + np.sin(2 * x) * 2)
    assert inner.n == 1  # inner traced once for the shared signature, outer cached
    same(j_inner(x), np.sin(x) * 2)


def test_jit_with_autodiff():
    x = rnd(3)
    f = lambda a: fnp.sum(fnp.sin(a) * a)
    ref = np.cos(x) * x + np.sin(x)
    same(fl.jit(fl.grad(f))(x), ref, rtol=1e-5)
    same(fl.grad(fl.jit(f))(x), ref, rtol=1e-5)
    same(fl.jit(fl.grad(fl.jit(f)))(x), ref, rtol=1e-5)
    s = np.float32(0.3)
    same(fl.grad(fl.grad(fl.jit(lambda a: a ** 3 * fnp.sin(a))))(s),
         np.float32(6 * s * np.sin(s) + 6 * s ** 2 * np.cos(s) - s ** 3 * np.sin(s)), rtol=1e-5)
    y, t = fl.jvp(fl.jit(fnp.sin), (x,), (np.ones(3, np.float32),))
    same(t, np.cos(x))
    same(fl.jacfwd(fl.jit(fnp.sin))(x), np.diag(np.cos(x)).astype(np.float32))
    same(fl.jacrev(fl.jit(fnp.sin))(x), np.diag(np.cos(x)).astype(np.float32))
    # grad through a jitted function with a static argument, closing over a traced value
    jp = fl.jit(lambda a, n: a ** n, static_argnums=1)
    same(fl.grad(lambda a: jp(a, 3))(np.float32(2.0)), np.float32(12.0))
    same(fl.grad(lambda w: fnp.sum(fl.jit(lambda a: a * w)(x)))(np.float32(1.0)),
         np.float32(x.sum()), rtol=1e-5)


def test_jit_with_vmap():
    x = rnd(4, 3)
    f = lambda a: fnp.sum(a ** 2)
    same(fl.vmap(fl.jit(f))(x), (x ** 2).sum(1), rtol=1e-5)
    same(fl.jit(fl.vmap(f))(x), (x ** 2).sum(1), rtol=1e-5)
    same(fl.jit(fl.vmap(fl.grad(f)))(x), 2 * x)
    same(fl.vmap(fl.jit(fl.grad(f)))(x), 2 * x)


def test_jit_callable_object_and_kwargs():
    class Scale:
        def __init__(self, k):
            self.k = k

        def __call__(self, x, *, bias):
            return x * self.k + bias

    jf = fl.jit(Scale(3.0))
    x = rnd(2)
    same(jf(x, bias=np.ones(2, np.float32)), x * 3 + 1)


# --------------------------------------------------------------------------- inspection


def test_make_ir_with_shape_dtype_struct():
    calls = []

    def f(x, y):
        calls.append(1)
        return fnp.sin(x) @ y

    ir = fl.make_ir(f)(fl.ShapeDtypeStruct((2, 3), np.float32),
                       fl.ShapeDtypeStruct((3,), "float32"))
    text = str(ir)
    assert "sin" in text and "dot_general" in text
    assert "f32[2,3]" in text and "f32[2]" in text
    assert calls == [1]
    # make_ir of transformed functions, with real arrays too
    t = str(fl.make_ir(fl.grad(lambda a: fnp.sum(fnp.sin(a))))(rnd(3)))
    assert "cos" in t
    t = str(fl.make_ir(lambda a, n: a * n, static_argnums=1)(
        fl.ShapeDtypeStruct((3,), np.float64), 4))
    assert "f64[3]" in t and "4" in t


def test_lower_as_text_needs_no_data():
    calls = []

    def f(x):
        calls.append(1)
        return fnp.tanh(x) * 2.0

    jf = fl.jit(f)
    lowered = jf.lower(fl.ShapeDtypeStruct((4, 4), np.float32))
    txt = lowered.as_text()
    assert isinstance(txt, str) and txt.strip()
    assert calls == [1]
    txt_np = fl.jit(f, backend="numpy").lower(fl.ShapeDtypeStruct((4,), np.float32)).as_text()
    assert "tanh" in txt_np
    # the lowered program runs
    run = fl.jit(f, backend="numpy").lower(rnd(4)).compile()
    x = rnd(4)
    same(run(x), np.tanh(x) * 2)
    # calling with a real array of the lowered signature reuses the trace
    same(jf(np.zeros((4, 4), np.float32)), np.zeros((4, 4), np.float32))
    # the two backend="numpy" jits of f share one cache (one per function and configuration,
    # as in JAX): f(4,) was traced once; no retrace here either
    assert len(calls) == 2


class _TensorLike:
    """Stands in for a compat Tensor: exposes its array through ``__fl_array__`` and has a
    non-numpy ``dtype`` attribute."""

    dtype = "compat.float32"

    def __init__(self, a):
        self._a = np.asarray(a, np.float32)

    @property
    def shape(self):
        return self._a.shape

    def __fl_array__(self):
        return self._a


def test_transforms_accept_tensor_like_leaves():
    t = _TensorLike([1.0, 2.0])
    ref2 = np.array([2.0, 4.0], np.float32)
    same(fl.jit(lambda x: x * 2)(t), ref2)
    same(fl.jit(lambda d: d["t"] * 2)({"t": t}), ref2)
    same(fl.grad(lambda x: fnp.sum(x ** 2))(t), ref2)
    same(fl.vmap(lambda x: x * 2)(t), ref2)
    same(fl.jvp(lambda x: x * 2, (t,), (t,))[1], ref2)
    same(fl.jacrev(lambda x: x * 2)(t), 2 * np.eye(2, dtype=np.float32))
    assert "f32[2]" in str(fl.make_ir(lambda x: x * 2)(t))


def test_donate_argnums_are_checked():
    f = lambda x, y: x + y
    out = fl.jit(f, donate_argnums=(0,))(np.ones(3, np.float32), np.ones(3, np.float32))
    np.testing.assert_allclose(out, 2 * np.ones(3))
    with pytest.raises(ValueError, match="donate_argnums 2 is out of range"):
        fl.jit(f, donate_argnums=2)
    with pytest.raises(TypeError, match="donate_argnums must be ints"):
        fl.jit(f, donate_argnums=("x",))
    with pytest.raises(ValueError, match="both static and donated"):
        fl.jit(f, static_argnums=1, donate_argnums=1)


def test_jit_called_afresh_on_the_same_function_traces_once():
    # the common `fl.jit(f)(x)` inside a loop: one cache per function (held weakly), as JAX
    calls = []

    def f(x):
        calls.append(1)
        return fnp.sin(x) * 2.0

    x = rnd(3)
    for _ in range(5):
        same(fl.jit(f)(x), np.sin(x) * 2)
    assert len(calls) == 1
    assert fl.jit(f).trace_count == 1
    # another configuration of jit is another cache
    fl.jit(f, static_argnames="unused")(x)
    assert len(calls) == 2
    # the cache goes away with the function
    jit_module = importlib.import_module("functorch_lite.jit")  # fl.jit is the function
    ref = weakref.ref(f)
    n = len(jit_module._fun_caches)
    del f
    gc.collect()
    # (gc.collect may also drop the caches of other functions that died meanwhile)
    assert ref() is None and len(jit_module._fun_caches) <= n - 1


def test_mutated_object_argument_is_not_silently_stale():
    # formerly any non-array argument was static and cached on: mutating it was ignored
    class Scale:
        def __init__(self, k):
            self.k = k

    s = Scale(2.0)
    f = lambda x, obj: x * obj.k
    with pytest.raises(TypeError, match=r"argument 1 is a Scale, not an array.*"
                                        r"static_argnums=\(1,\).*hashable"):
        fl.jit(f)(rnd(2), s)
    with pytest.raises(TypeError, match=r"argument 'obj' is a Scale.*static_argnames"):
        fl.jit(f)(rnd(2), obj=s)
    with pytest.raises(TypeError, match=r"argument 0 \(a leaf inside it\) is a str"):
        fl.jit(lambda d: d["x"])({"x": "text"})
    # static and hashable is the explicit, documented way
    jf = fl.jit(f, static_argnums=1)
    x = rnd(2)
    same(jf(x, s), x * 2)
