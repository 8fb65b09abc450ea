"""The CuPy backend's runtime, end to end, without a GPU: ``jit(backend="cupy")`` on
fake GPU arrays (tests/gpu/fakecupy.py) whose ``RawModule`` kernels are the generated
CUDA source compiled as host C++ (tests/cupy/cuda_host.py).

What this checks: the runtime's Python logic (buffers allocated, freed and viewed at
the right offsets and strides through ``cupy.ndarray(memptr=...)``, launches in order
with a valid grid and arguments of the right types), the opaque steps' CuPy routines
(matmul, cumsum, argsort...), control flow's host loops around nested programs, and
the kernels' arithmetic as host C++ -- on every case of gpu_programs.py (the real-GPU
test's list) plus compat training on the emulated GPU. What it cannot check: CUDA's
thread and block semantics (the host build runs the grid in one thread, so shared
memory and ``__syncthreads`` are not exercised), NVRTC itself (test_cupy_codegen.py
compiles the same text to PTX with nvcc), CuPy's behaviour beyond the signatures the
fake copies, and timing.
"""

from __future__ import annotations

import cuda_host
import numpy as np
import pytest
from gpu import fakecupy
from gpu_programs import CASES, assert_matches, device_args

import compat as torch
import functorch_lite as fl
import functorch_lite.numpy as fnp
from backends.cupy import runtime
from backends.cupy.codegen import BLOCK

pytestmark = pytest.mark.skipif(cuda_host.host_compiler() is None,
                                reason="no host C++ compiler installed")


def fresh(f):
    """``f`` under a new identity, so that jit's per-function cache holds programs built
    on the emulator apart from real-GPU ones of the same function."""
    return lambda *args: f(*args)


@pytest.fixture(scope="module")
def emulated():
    """The emulator installed for this module, and every case compiled before any runs,
    so the first launch builds all their kernels in one compiler run."""
    with pytest.MonkeyPatch.context() as mp:
        cp = fakecupy.install(mp, build=cuda_host.build)
        mp.delenv("FUNCTORCH_LITE_BACKEND", raising=False)
        programs = {}
        modules, builds = fakecupy.STATE.modules, fakecupy.STATE.builds
        for name, case in CASES.items():
            args = device_args(case, cp.asarray)
            programs[name] = (fl.jit(fresh(case.f), backend="cupy").lower(*args).compile(),
                              args)
        run, args = programs["w1"]
        run(*args)  # the first launch builds every module made so far
        programs["counts"] = (fakecupy.STATE.modules - modules, fakecupy.STATE.builds - builds)
        yield cp, programs


@pytest.mark.parametrize("name", sorted(CASES))
def test_emulated_cupy_matches_numpy(emulated, name):
    cp, programs = emulated
    run, args = programs[name]
    assert_matches(CASES[name], run(*args), fakecupy.on_gpu, cp.asnumpy)


def test_one_compiler_run_builds_every_case(emulated):
    cp, programs = emulated
    modules, builds = programs["counts"]
    assert modules >= len(CASES) and builds == 1


def test_w1_launches_one_kernel_with_a_capped_grid(emulated):
    cp, programs = emulated
    run, args = programs["w1"]
    fakecupy.STATE.launches.clear()
    run(*args)
    ((name, grid, block),) = fakecupy.STATE.launches
    assert block == (BLOCK,)
    assert grid == (min(-(-(1 << 20) // BLOCK), runtime.BLOCKS_PER_SM * fakecupy.STATE.sms),)


def test_split_reduction_launches_its_combine_kernel_after(emulated):
    cp, programs = emulated
    x = cp.asarray(np.linspace(-1.0, 1.0, 9000))
    fakecupy.STATE.launches.clear()
    got = fl.jit(lambda v: fnp.sum(fnp.exp(v)), backend="cupy")(x)
    names = [n for n, _, _ in fakecupy.STATE.launches]
    assert len(names) == 2 and names[1] == names[0] + "_combine"
    np.testing.assert_allclose(got.get(), np.exp(np.linspace(-1.0, 1.0, 9000)).sum(),
                               rtol=1e-13)


def test_results_never_share_memory_with_arguments_constants_or_each_other(emulated):
    cp, _ = emulated
    table = np.arange(3.0)
    f = fl.jit(lambda v: (v, v * 2.0, v * 2.0, table + 0.0, fl.checkpoint_name(v, "n")),
               backend="cupy")
    x = cp.asarray(np.arange(3.0))
    outs = f(x)
    spans = [(o.data.ptr, o.data.ptr + o.nbytes) for o in [x, *outs]]
    assert all(a[1] <= b[0] or b[1] <= a[0] for i, a in enumerate(spans)
               for b in spans[i + 1:])
    for o in outs:
        o[0] = -7.0  # CuPy arrays are mutable: writing a result changes nothing else
    again = f(x)
    assert x.get().tolist() == [0.0, 1.0, 2.0]
    assert again[3].get().tolist() == [0.0, 1.0, 2.0] and again[1].get()[0] == 0.0
    # through control flow: a branch handing back a constant, a loop running no step
    g = fl.jit(lambda v: (fl.lax.cond(fnp.sum(v) > 0, lambda u: table, lambda u: u, v),
                          fl.lax.while_loop(lambda c: fnp.sum(c) < 0.0, lambda c: c + 1.0, v)),
               backend="cupy")
    for o in g(x):
        assert o.data.ptr != x.data.ptr
        o[0] = 50.0
    assert [o.get().tolist() for o in g(x)] == [[0.0, 1.0, 2.0]] * 2


def test_a_call_runs_on_the_gpu_holding_its_arguments(emulated, monkeypatch):
    cp, _ = emulated
    monkeypatch.setattr(fakecupy.STATE, "count", 2)
    w = np.linspace(0.0, 1.0, 4)
    f = fl.jit(lambda v: fnp.exp(v) @ v + fnp.sum(w * v), backend="cupy")
    with cp.cuda.Device(1):
        x1 = cp.asarray(np.arange(4.0))
    x0 = cp.asarray(np.arange(4.0))
    want = np.exp(np.arange(4.0)) @ np.arange(4.0) + (w * np.arange(4.0)).sum()
    for x, dev in ((x1, 1), (x0, 0), (x1, 1)):  # the constant w on each device in turn
        got = f(x)
        assert fakecupy.on_gpu(got, dev)
        np.testing.assert_allclose(got.get(), want, rtol=1e-14)
    with pytest.raises(ValueError, match="different GPUs"):
        fl.jit(lambda a, b: a + b, backend="cupy")(x0, x1)


# --------------------------------------------------------------------------- the emulator


def test_emulator_rejects_bad_launches(emulated):
    cp, _ = emulated
    src = ('extern "C" __global__ void twice(const double* __restrict__ p0, '
           "double* __restrict__ p1) { for (int i = 0; i < 4; i++) p1[i] = 2 * p0[i]; }")
    src = "#define __global__\n" + src  # host C++ has no __global__
    kern = cp.RawModule(code=src).get_function("twice")
    x, out = cp.asarray(np.arange(4.0)), cp.empty(4, np.float64)
    kern((1,), (32,), (x, out))
    assert out.get().tolist() == [0.0, 2.0, 4.0, 6.0]
    with pytest.raises(AssertionError, match="positive ints"):
        kern((0,), (32,), (x, out))
    with pytest.raises(TypeError, match="expected tuple"):
        kern((1,), (32,), [x, out])
    with pytest.raises(AssertionError, match="float32 array"):
        kern((1,), (32,), (x.astype(np.float32), out))
    with pytest.raises(AssertionError, match="not C-contiguous"):
        kern((1,), (32,), (cp.asarray(np.arange(8.0))[::2], out))
    with pytest.raises(AssertionError, match="overlaps argument 0"):
        kern((1,), (32,), (out, out))
    with pytest.raises(fakecupy.CUDADriverError, match="named symbol not found"):
        cp.RawModule(code=src).get_function("thrice")


def test_emulator_views_share_memory_and_stay_inside_it(emulated):
    cp, _ = emulated
    base = cp.asarray(np.arange(12.0))
    rev = cp.ndarray((3, 2), np.float64, memptr=base.data + 11 * 8, strides=(-16, -8))
    assert rev.get().tolist() == [[11.0, 10.0], [9.0, 8.0], [7.0, 6.0]]
    rev[0, 0] = -1.0
    assert base.get()[11] == -1.0  # a view, not a copy
    with pytest.raises(AssertionError, match="reaches outside it"):
        cp.ndarray((4,), np.float64, memptr=base.data + 10 * 8)
    fresh_mem = cp.empty((2, 2), np.float32).get()
    assert (fresh_mem.view(np.uint32) == 0x7F7F7F7F).all()  # unwritten memory is visible


# --------------------------------------------------------------------------- compat


def train(device: str, compile_: bool) -> list[np.ndarray]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fwd = torch.compile(model) if compile_ else model
    x = torch.tensor(np.random.RandomState(0).randn(5, 6).astype(np.float32)).to(device)
    y = torch.tensor(np.array([0, 2, 1, 1, 0])).to(device)
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(fwd(x), y)
        loss.backward()
        opt.step()
    return [p.detach().cpu().numpy() for p in model.parameters()]


@pytest.mark.parametrize("compile_", [False, True], ids=["eager", "compiled"])
def test_compat_training_on_the_emulated_gpu_matches_the_cpu(emulated, compile_):
    fakecupy.STATE.launches.clear()
    got = train("cuda", compile_)
    assert fakecupy.STATE.launches, "compat ran no kernel through the cupy backend"
    for g, w in zip(got, train("cpu", compile_)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
