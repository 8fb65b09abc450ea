"""fnp, grad and vmap on (fake) GPU arrays without jit; device placement.

``fakecupy`` stands in for CuPy: these tests check that GPU data stays on its device
through eager evaluation and the transforms, and that the numbers are the host's; they
do not run CUDA (``test_real_gpu.py`` does, where a GPU is present).
"""

from __future__ import annotations

import fakecupy
import numpy as np
import pytest

import backends
import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite.jit import default_backend


@pytest.fixture
def cupy(monkeypatch):
    return fakecupy.install(monkeypatch)


def _mlp_params(rng):
    return {"w1": rng.normal(size=(4, 8)).astype(np.float32) * 0.5,
            "b1": np.zeros(8, np.float32),
            "w2": rng.normal(size=(8, 3)).astype(np.float32) * 0.5,
            "b2": np.full(3, 0.1, np.float32)}


def _loss(params, x, y):
    h = fl.nn.relu(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"] + params["b2"]
    return fl.nn.cross_entropy(logits, y) + 1e-3 * fnp.sum(params["w1"] ** 2)


def _data(rng):
    return rng.normal(size=(5, 4)).astype(np.float32), np.array([0, 2, 1, 1, 0])


def test_backends_and_devices_see_the_gpu(cupy):
    assert fl.devices() == ["cpu", "gpu"]
    assert "numpy" in backends.available()
    x = fakecupy.gpu(np.ones(2, np.float32))
    assert fl.device_of(x) == "gpu:0" and fl.device_of(fnp.ones(2)) == "cpu"
    assert default_backend([np.ones(2), x]) == "cupy"  # jit's default follows the inputs


def test_no_gpu_means_cpu_only(monkeypatch):
    # CuPy imports but no device answers (no driver): no "gpu", and a clear error
    monkeypatch.setattr(backends, "cuda_device_count", lambda: 0)
    assert fl.devices() == ["cpu"]
    assert "cupy" not in backends.available()
    with pytest.raises(RuntimeError, match="no GPU is available"):
        fl.device_put(np.ones(2), "gpu")


def test_probe_is_cached_and_survives_a_missing_driver(monkeypatch):
    class Broken:
        class cuda:  # noqa: N801 - CuPy's layout
            class runtime:  # noqa: N801
                @staticmethod
                def getDeviceCount():  # noqa: N802
                    raise RuntimeError("cudaErrorInsufficientDriver")

    monkeypatch.setitem(__import__("sys").modules, "cupy", Broken)
    backends.cuda_device_count.cache_clear()
    try:
        assert backends.cuda_device_count() == 0
        assert backends.cuda_device_count.cache_info().hits == 0
        backends.cuda_device_count()
        assert backends.cuda_device_count.cache_info().hits == 1
    finally:
        backends.cuda_device_count.cache_clear()


def test_fnp_ops_stay_on_the_gpu_and_match_numpy(cupy):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 4)).astype(np.float32)
    b = rng.normal(size=(4, 2)).astype(np.float32)
    ga, gb = fakecupy.gpu(a), fakecupy.gpu(b)
    cases = [(lambda x, y: fnp.exp(x) @ y, np.float32),
             (lambda x, y: fnp.tanh(x * 2.0 - 1), np.float32),      # weak Python scalars
             (lambda x, y: fnp.sum(x, axis=0) + fnp.max(y), np.float32),
             (lambda x, y: fnp.where(x > 0, x, 0.5 * x), np.float32),
             (lambda x, y: fnp.concatenate([x, x[:1]]) / 3, np.float32),
             (lambda x, y: fnp.argmax(x, axis=1), np.int64),
             (lambda x, y: fnp.at(x)[0].set(7.0).T, np.float32)]
    for f, dt in cases:
        got = f(ga, gb)
        want = np.asarray(f(fnp.asarray(a), fnp.asarray(b)))
        assert fakecupy.on_gpu(got) and got.dtype == dt
        np.testing.assert_allclose(got.get(), want, rtol=1e-6)


def test_host_operands_follow_a_gpu_operand(cupy):
    # JAX's placement: host values (numpy arrays, Arrays, scalars) meet a GPU array on it
    g = fakecupy.gpu(np.arange(3.0, dtype=np.float32))
    out = fnp.add(g, np.ones(3, np.float32))
    assert fakecupy.on_gpu(out)
    np.testing.assert_array_equal(out.get(), [1.0, 2.0, 3.0])
    assert fakecupy.on_gpu(fnp.ones(3) * g)


def test_two_gpus_in_one_primitive_raise(monkeypatch):
    fakecupy.install(monkeypatch, devices=2)
    a = fakecupy.gpu(np.ones(2, np.float32), 0)
    b = fakecupy.gpu(np.ones(2, np.float32), 1)
    with pytest.raises(ValueError, match=r"add: operands live on different GPUs.*gpu:0.*gpu:1"):
        fnp.add(a, b)
    moved = fl.device_put(b, "gpu:0")
    assert fakecupy.on_gpu(moved, 0)
    np.testing.assert_array_equal(fnp.add(a, moved).get(), [2.0, 2.0])
    assert fakecupy.on_gpu(fnp.exp(b), 1)  # one GPU: results stay on it


def test_grad_of_mlp_loss_on_gpu_equals_cpu_and_stays_there(cupy):
    rng = np.random.default_rng(0)
    params = _mlp_params(rng)
    x, y = _data(rng)
    loss_cpu, g_cpu = fl.value_and_grad(_loss)(params, x, y)
    gparams = fl.device_put(params, "gpu")
    loss_gpu, g_gpu = fl.value_and_grad(_loss)(gparams, fl.device_put(x, "gpu"),
                                              fl.device_put(y, "gpu"))
    assert fakecupy.on_gpu(loss_gpu)
    np.testing.assert_allclose(loss_gpu.get(), loss_cpu, rtol=1e-6)
    for k in params:
        assert fakecupy.on_gpu(g_gpu[k]), k
        np.testing.assert_allclose(g_gpu[k].get(), g_cpu[k], rtol=1e-5, atol=1e-7)


def test_vmap_and_per_example_grads_on_gpu(cupy):
    rng = np.random.default_rng(2)
    params = _mlp_params(rng)
    x, y = _data(rng)
    per_ex = fl.vmap(fl.grad(lambda p, xi, yi: _loss(p, xi[None], yi[None])),
                     in_axes=(None, 0, 0))
    want = per_ex(params, x, y)
    got = per_ex(fl.device_put(params, "gpu"), fakecupy.gpu(x), fakecupy.gpu(y))
    for k in params:
        assert fakecupy.on_gpu(got[k]) and got[k].shape == (5,) + params[k].shape
        np.testing.assert_allclose(got[k].get(), want[k], rtol=1e-5, atol=1e-7)


def test_gradient_of_an_unused_gpu_input_is_gpu_zeros(cupy):
    g = fl.grad(lambda a, b: fnp.sum(a * 3.0), argnums=(0, 1))(
        fakecupy.gpu(np.ones(2, np.float32)), fakecupy.gpu(np.ones(3, np.float32)))
    assert all(fakecupy.on_gpu(v) for v in g)
    np.testing.assert_array_equal(g[0].get(), [3.0, 3.0])
    np.testing.assert_array_equal(g[1].get(), [0.0, 0.0, 0.0])


def test_control_flow_and_checkpoint_on_gpu(cupy):
    x = np.linspace(-1, 1, 6, dtype=np.float32)

    def f(v):
        v = fl.lax.fori_loop(0, 3, lambda i, c: c * 1.5 + fnp.sin(c), v)
        v = fl.lax.cond(fnp.sum(v) > 0, lambda a: a * 2.0, lambda a: -a, v)
        return fnp.sum(fl.checkpoint(lambda a: fnp.tanh(a) ** 2)(v))

    want = fl.value_and_grad(f)(x)
    got = fl.value_and_grad(f)(fakecupy.gpu(x))
    assert fakecupy.on_gpu(got[0]) and fakecupy.on_gpu(got[1])
    np.testing.assert_allclose(got[0].get(), want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1].get(), want[1], rtol=1e-5)


def test_device_put_and_get_round_trip(cupy):
    tree = {"a": np.arange(3, dtype=np.int32), "b": (fnp.ones(2), 2.0)}
    on = fl.device_put(tree, "gpu")
    assert all(fakecupy.on_gpu(v) for v in fl.tree.leaves(on))
    assert fl.device_put(on, "gpu")["a"] is on["a"]  # already there: no copy
    back = fl.device_put(on, "cpu")
    assert type(back["a"]) is fl.Array and back["a"].device == "cpu"
    np.testing.assert_array_equal(back["a"], [0, 1, 2])
    host = fl.device_get(on)
    assert type(host["b"][0]) is np.ndarray
    np.testing.assert_array_equal(host["b"][1], 2.0)
    fl.block_until_ready(on)
    assert fakecupy.STATE.syncs >= 1


def test_device_put_rejects_unknown_devices(cupy):
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        fl.device_put(np.ones(2), "tpu")
    with pytest.raises(RuntimeError, match="there are 1 GPUs"):
        fl.device_put(np.ones(2), "gpu:3")
