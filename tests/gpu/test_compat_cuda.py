"""compat's CUDA semantics on a fake GPU: devices, moving tensors and modules, autograd,
optimizers and checkpoints following their parameters, PyTorch's errors.

``fakecupy`` stands in for CuPy (dispatch and placement). The programs compat compiles
(backward nodes, optimizer steps) are given the numpy backend here, whose GPU path
evaluates them eagerly on the device, so these tests need no C++ compiler; compat
training through the cupy backend itself, on kernels built as host C++, is in
tests/cupy/test_cupy_emulated.py.
"""

from __future__ import annotations

import io

import fakecupy
import numpy as np
import pytest

import compat as torch
import compat.graph
from compat import nn, optim
from compat.serialization import SerializationError

MIXED = ("Expected all tensors to be on the same device, but found at least two devices, "
         "cuda:0 and cpu!")


@pytest.fixture
def cuda(monkeypatch):
    cupy = fakecupy.install(monkeypatch)
    monkeypatch.setattr(compat.graph, "backend_for", lambda value: "numpy")
    monkeypatch.setenv("FUNCTORCH_LITE_BACKEND", "numpy")
    return cupy


def on_gpu(t) -> bool:
    return t.device == torch.device("cuda:0") and fakecupy.on_gpu(t.array)


def test_availability_and_devices(cuda):
    assert torch.cuda.is_available() and torch.cuda.device_count() == 1
    assert torch.cuda.get_device_name() == "FakeGPU 0"
    d = torch.device("cuda:0")
    assert (d.type, d.index, str(d)) == ("cuda", 0, "cuda:0")
    assert torch.device("cuda", 0) == d == "cuda:0"


def test_moving_tensors(cuda):
    x = torch.tensor([1.0, 2.0])
    for moved in (x.cuda(), x.to("cuda"), x.to(torch.device("cuda:0")), x.to(device="cuda"),
                  torch.tensor([1.0, 2.0], device="cuda"),
                  torch.zeros(2, device="cuda") + x.cuda()):
        assert on_gpu(moved) and moved.is_cuda and not moved.is_cpu
        assert moved.get_device() == 0
    g = x.cuda()
    assert g.cuda() is g and g.to("cuda:0") is g  # already there: the same tensor
    back = g.cpu()
    assert back.device == torch.device("cpu") and type(back.array) is np.ndarray
    assert back.tolist() == [1.0, 2.0]
    assert "device='cuda:0'" in repr(g)
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        g.numpy()
    assert g.to(torch.float64).dtype == torch.float64 and on_gpu(g.to(torch.float64))


def test_mixing_devices_raises_pytorchs_error(cuda):
    a, b = torch.ones(3, device="cuda"), torch.ones(3)
    for f in (lambda: a + b, lambda: b + a, lambda: torch.matmul(a, b), lambda: a * b,
              lambda: torch.cat([a, b]), lambda: torch.where(a > 0, a, b)):
        with pytest.raises(RuntimeError) as e:
            f()
        assert str(e.value) == MIXED
    # a 0-d CPU tensor combines with any device, as in PyTorch
    out = a * torch.tensor(2.0)
    assert on_gpu(out) and out.tolist() == [2.0, 2.0, 2.0]
    assert (a + 1).tolist() == [2.0, 2.0, 2.0]


def test_in_place_writes_keep_the_device(cuda):
    a = torch.ones(3, device="cuda")
    assert a.copy_(torch.arange(3.0)) is a and on_gpu(a)  # copy_ may cross devices
    assert a.tolist() == [0.0, 1.0, 2.0]
    host = torch.zeros(3)
    host.copy_(a)
    assert host.device == torch.device("cpu") and host.tolist() == [0.0, 1.0, 2.0]
    for f, want in ((lambda t: t.fill_(torch.tensor(4.0)), [4.0] * 3),
                    (lambda t: t.zero_(), [0.0] * 3), (lambda t: t.add_(t), [0.0] * 3),
                    (lambda t: t.add_(2).mul_(3), [6.0] * 3)):
        assert f(a) is a and on_gpu(a) and a.tolist() == want
    a[0] = torch.tensor(7.0)
    assert on_gpu(a) and a.tolist() == [7.0, 6.0, 6.0]
    with pytest.raises(RuntimeError) as e:
        a.add_(torch.ones(3))
    assert str(e.value) == MIXED


def test_gradients_flow_on_cuda_tensors(cuda):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 4)).astype(np.float32)
    x0 = rng.normal(size=(5, 3)).astype(np.float32)

    def grads(device):
        w = torch.tensor(w0, device=device, requires_grad=True)
        x = torch.tensor(x0, device=device)
        loss = torch.tanh(x @ w).pow(2).sum()
        loss.backward()
        return loss, w.grad

    loss_c, g_c = grads("cpu")
    loss_g, g_g = grads("cuda")
    assert on_gpu(loss_g) and on_gpu(g_g)
    np.testing.assert_allclose(loss_g.item(), loss_c.item(), rtol=1e-6)
    np.testing.assert_allclose(g_g.cpu().numpy(), g_c.numpy(), rtol=1e-5)
    # moving is differentiable: the gradient comes back to the CPU leaf
    leaf = torch.tensor(x0, requires_grad=True)
    (leaf.cuda() * 3.0).sum().backward()
    assert leaf.grad.device == torch.device("cpu")
    np.testing.assert_allclose(leaf.grad.numpy(), np.full_like(x0, 3.0))


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def _train(model, opt, x, y, steps=4):
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return loss


def test_module_cuda_keeps_parameters_and_trains_like_cpu(cuda):
    rng = np.random.default_rng(1)
    x0 = rng.normal(size=(6, 4)).astype(np.float32)
    y0 = rng.normal(size=(6, 2)).astype(np.float32)
    ref = _net()
    ref_loss = _train(ref, optim.Adam(ref.parameters(), lr=0.05), torch.tensor(x0),
                      torch.tensor(y0))

    model = _net()
    params = list(model.parameters())
    opt = optim.Adam(model.parameters(), lr=0.05)  # built before the move, as people do
    assert model.cuda() is model
    assert list(model.parameters()) == params and all(p is q for p, q in
                                                      zip(model.parameters(), params))
    assert all(on_gpu(p) for p in params)
    assert on_gpu(model[1].running_mean) and on_gpu(model[1].num_batches_tracked)
    loss = _train(model, opt, torch.tensor(x0).cuda(), torch.tensor(y0, device="cuda"))
    assert on_gpu(loss)
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-4)
    for p, q in zip(params, ref.parameters()):
        assert on_gpu(p) and on_gpu(p.grad)
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=1e-4,
                                   atol=1e-6)
        state = opt.state[p]
        assert on_gpu(state["exp_avg"]) and on_gpu(state["exp_avg_sq"])
    model.cpu()
    assert all(p.device == torch.device("cpu") for p in model.parameters())
    assert model[0].weight is params[0]
    assert model.to("cuda:0") is model and on_gpu(model[0].weight)


def test_optimizer_state_follows_its_parameters_on_load(cuda):
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.ones(4, 3)
    _train(model, opt, x, torch.zeros(4, 2), steps=2)  # state on the CPU
    saved = opt.state_dict()
    model.cuda()
    fresh = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fresh.load_state_dict(saved)  # PyTorch casts state to each parameter's device
    for p in model.parameters():
        assert on_gpu(fresh.state[p]["momentum_buffer"])
    _train(model, fresh, x.cuda(), torch.zeros(4, 2, device="cuda"), steps=1)
    assert all(on_gpu(p) for p in model.parameters())


def test_checkpoint_saved_on_cuda_loads_with_map_location(cuda, monkeypatch):
    model = nn.Linear(3, 2).cuda()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    data = buf.getvalue()
    want = {k: v.cpu().numpy() for k, v in model.state_dict().items()}

    def load(**kw):
        return torch.load(io.BytesIO(data), **kw)

    on = load()  # a GPU here: back on the GPU it was saved from
    assert all(on_gpu(v) for v in on.values())
    for loc in ("cpu", torch.device("cpu"), {"cuda:0": "cpu"}, lambda s, where: s):
        sd = load(map_location=loc)
        for k, v in sd.items():
            assert v.device == torch.device("cpu"), (loc, k)
            np.testing.assert_array_equal(v.numpy(), want[k])
    assert all(on_gpu(v) for v in load(map_location="cuda").values())
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(load(map_location="cpu"))
    np.testing.assert_array_equal(fresh.weight.detach().numpy(), want["weight"])

    monkeypatch.setattr(__import__("backends"), "cuda_device_count", lambda: 0)
    assert not torch.cuda.is_available()
    with pytest.raises(SerializationError, match=r"map_location=torch\.device\('cpu'\)"):
        load()
    assert load(map_location="cpu")["weight"].device == torch.device("cpu")
    with pytest.raises(RuntimeError, match="Torch not compiled with CUDA enabled"):
        torch.ones(2).cuda()
