"""Eager execution, transforms and compat on a real GPU (CuPy arrays), against the host.

Skipped unless CuPy imports and a CUDA device answers. Compiled GPU programs (the cupy jit
backend) have their own tests in tests/cupy; here the programs compat compiles are given
the numpy backend, whose GPU path evaluates them eagerly on the device.
"""

from __future__ import annotations

import numpy as np
import pytest

import backends
import compat as torch
import compat.graph
import functorch_lite as fl
import functorch_lite.numpy as fnp
from compat import nn, optim

pytestmark = pytest.mark.skipif(
    backends.cuda_device_count() == 0,
    reason="needs CuPy and a CUDA device (pip install cupy-cuda12x on a machine with a GPU)")


@pytest.fixture
def cp():
    import cupy  # lazy: only present where a GPU is (the module skips otherwise)

    return cupy


def test_eager_ops_run_on_the_device(cp):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 32)).astype(np.float32)
    b = rng.normal(size=(32, 16)).astype(np.float32)
    ga, gb = cp.asarray(a), cp.asarray(b)
    for f in (lambda x, y: fnp.tanh(x @ y * 0.5), lambda x, y: fl.nn.softmax(x, axis=1),
              lambda x, y: fnp.sum(fnp.exp(x), axis=0), lambda x, y: fnp.argmax(x, axis=1),
              lambda x, y: fl.scipy.special.erf(x), lambda x, y: fnp.sort(x, axis=1)):
        got = f(ga, gb)
        assert isinstance(got, cp.ndarray)
        np.testing.assert_allclose(cp.asnumpy(got), f(a, b), rtol=2e-5, atol=1e-6)


def test_grad_and_vmap_on_the_device(cp):
    rng = np.random.default_rng(1)
    w = rng.normal(size=(8, 3)).astype(np.float32)
    x = rng.normal(size=(5, 8)).astype(np.float32)

    def loss(w, x):
        return fnp.mean(fl.nn.log_softmax(fnp.tanh(x @ w), axis=-1) ** 2)

    g_host = fl.grad(loss)(w, x)
    g_dev = fl.grad(loss)(cp.asarray(w), cp.asarray(x))
    assert isinstance(g_dev, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g_dev), g_host, rtol=1e-4, atol=1e-7)
    per = fl.vmap(fl.grad(lambda w, xi: loss(w, xi[None])), in_axes=(None, 0))
    got = per(cp.asarray(w), cp.asarray(x))
    assert isinstance(got, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(got), per(w, x), rtol=1e-4, atol=1e-7)


def test_device_put_round_trip(cp):
    tree = {"w": fnp.arange(4.0), "n": np.int32(3)}
    on = fl.device_put(tree, "gpu")
    assert all(isinstance(v, cp.ndarray) for v in fl.tree.leaves(on))
    assert fl.device_of(on["w"]) == "gpu:0"
    back = fl.device_get(fl.block_until_ready(on))
    np.testing.assert_array_equal(back["w"], [0.0, 1.0, 2.0, 3.0])


def test_compat_training_step_on_cuda(cp, monkeypatch):
    monkeypatch.setattr(compat.graph, "backend_for", lambda value: "numpy")
    monkeypatch.setenv("FUNCTORCH_LITE_BACKEND", "numpy")

    def run(device):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        model.to(device)
        x = torch.linspace(-1, 1, 32).reshape(4, 8).to(device)
        for _ in range(3):
            opt.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            opt.step()
        return loss.item(), model[0].weight.detach().cpu().numpy(), model[0].weight.device

    l_cpu, w_cpu, _ = run("cpu")
    l_gpu, w_gpu, dev = run("cuda")
    assert dev == torch.device("cuda:0")
    np.testing.assert_allclose(l_gpu, l_cpu, rtol=1e-4)
    np.testing.assert_allclose(w_gpu, w_cpu, rtol=1e-4, atol=1e-6)
    with pytest.raises(RuntimeError, match="found at least two devices, cuda:0 and cpu!"):
        torch.ones(2, device="cuda") + torch.ones(2)
