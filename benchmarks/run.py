"""Benchmarks: each workload runs in functorch_lite and in its peers in the same process,
and the table reports ratios (peer time / our time; > 1 means we are faster), so a noisy
machine still gives stable figures.

    python benchmarks/run.py                 # pinned to one core (the stable setting)
    python benchmarks/run.py --all-cores
    python benchmarks/run.py --only W4 W7 --backend numpy

Peers: numpy always; PyTorch and JAX when installed (never required).
Workloads follow ../shared/DESIGN.md. Every workload that runs ``jit`` (W1-W4, W5c, W7,
C1) runs once per jit backend (``--backend`` picks one; default: llvm and numpy), one
row each; peers are measured once per workload. W1 also reports a plain copy of its
input (``x.copy()``: the memory floor; target <= 2x). W3 is the whole jitted training
step of an MLP; C1 is the time to the first W3 step in a fresh process, cold (empty
``FUNCTORCH_LITE_CACHE_DIR``) and warm (C1w: a second process on the filled cache),
against the first step of each peer in a fresh process (jax.jit compiles; torch and numpy
run eagerly; ``--torch-compile`` adds torch.compile, ~45 s here). W5 is compat's LeNet-5
training step eager, W5c the same with ``compat.compile(model)``, both against torch
eager. W6 is the core's eager dispatch (``fnp.add``); W6c/W6g are DESIGN's W6 proper,
compat's ``a + b`` on 16-element tensors without and with ``requires_grad`` (target:
<= 2x PyTorch); W8c imports compat too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

JIT_BACKENDS = ["llvm", "numpy"]  # the rows of every jit workload (--backend: one)
# measure the checkout this file is in, wherever an installed (editable) copy points
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _pin(all_cores: bool):
    if all_cores:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def timeit(fn, min_time=0.3, repeat=5):
    """Best per-call time over ``repeat`` rounds of enough calls to last ``min_time``."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(min_time / repeat / one))
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def _opt(mod):
    try:
        return __import__(mod)
    except Exception:
        return None


def each_backend(run):
    """``{backend: run()}`` with ``FUNCTORCH_LITE_BACKEND`` set to each jit backend in turn
    (``fl.jit`` and ``compat.compile`` pick their backend from it at call time)."""
    out, before = {}, os.environ.get("FUNCTORCH_LITE_BACKEND")
    try:
        for b in JIT_BACKENDS:
            os.environ["FUNCTORCH_LITE_BACKEND"] = b
            out[b] = run()
    finally:
        if before is None:
            os.environ.pop("FUNCTORCH_LITE_BACKEND", None)
        else:
            os.environ["FUNCTORCH_LITE_BACKEND"] = before
    return out


# --------------------------------------------------------------------------- workloads


def w1_program(fl, fnp):
    """W1's function (``fl.nn.sigmoid`` where the measured checkout has it)."""
    sig = getattr(getattr(fl, "nn", None), "sigmoid", None) or (lambda x: 1 / (1 + fnp.exp(-x)))

    def f(x):
        return fnp.tanh(x) * sig(x) + 0.5 * x * x - fnp.exp(-fnp.abs(x))

    return f


def w1(fl, fnp, np, torch, jax, small):
    n = 2 ** 20 if small else 2 ** 24
    x = np.random.RandomState(0).randn(n).astype(np.float32)
    jf = fl.jit(w1_program(fl, fnp))
    res = {"ours": each_backend(lambda: timeit(lambda: jf(x)))}
    res["numpy"] = timeit(lambda: np.tanh(x) * (1 / (1 + np.exp(-x))) + 0.5 * x * x
                          - np.exp(-np.abs(x)))
    res["copy"] = timeit(lambda: x.copy())
    if torch:
        tx = torch.from_numpy(x)
        res["torch"] = timeit(lambda: torch.tanh(tx) * torch.sigmoid(tx) + 0.5 * tx * tx
                              - torch.exp(-tx.abs()))
    if jax:
        jnp = jax.numpy
        jx = jnp.asarray(x)
        g = jax.jit(lambda x: jnp.tanh(x) * jax.nn.sigmoid(x) + 0.5 * x * x
                    - jnp.exp(-jnp.abs(x)))
        res["jax"] = timeit(lambda: g(jx).block_until_ready())
    return f"elementwise chain, 2**{20 if small else 24} f32, jit", res


def w2_program(fnp):
    """W2's function: a row-wise log_softmax written out."""

    def lsm(x):
        m = fnp.max(x, axis=1, keepdims=True)
        s = x - m
        return s - fnp.log(fnp.sum(fnp.exp(s), axis=1, keepdims=True))

    return lsm


def w2(fl, fnp, np, torch, jax, small):
    n = 1024 if small else 4096
    x = np.random.RandomState(0).randn(n, n).astype(np.float32)
    jf = fl.jit(w2_program(fnp))
    res = {"ours": each_backend(lambda: timeit(lambda: jf(x)))}

    def np_lsm(x):
        s = x - x.max(axis=1, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=1, keepdims=True))

    res["numpy"] = timeit(lambda: np_lsm(x))
    if torch:
        tx = torch.from_numpy(x)
        res["torch"] = timeit(lambda: torch.log_softmax(tx, dim=1))
    if jax:
        jx = jax.numpy.asarray(x)
        g = jax.jit(lambda x: jax.nn.log_softmax(x, axis=1))
        res["jax"] = timeit(lambda: g(jx).block_until_ready())
    return f"row log_softmax {n}x{n}, jit", res


def mlp_params(np, sizes, seed=0):
    r = np.random.RandomState(seed)
    return [((r.randn(a, b) / np.sqrt(a)).astype(np.float32), np.zeros(b, np.float32))
            for a, b in zip(sizes[:-1], sizes[1:])]


def w4_data(np, small):
    """W4's parameters (MLP 784-128-10) and batch."""
    batch = 64 if small else 256
    r = np.random.RandomState(1)
    return (mlp_params(np, [784, 128, 10]), r.randn(batch, 784).astype(np.float32),
            r.randint(0, 10, batch))


def w4_loss(fnp):
    """W4's per-example loss: the MLP's negative log-likelihood of one label."""

    def loss(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = fnp.maximum(h, 0.0)
        m = fnp.max(h)
        lse = m + fnp.log(fnp.sum(fnp.exp(h - m)))
        return lse - h[y]

    return loss


def w4(fl, fnp, np, torch, jax, small):
    params, xb, yb = w4_data(np, small)
    batch = len(xb)
    per_ex = fl.jit(fl.vmap(fl.grad(w4_loss(fnp)), in_axes=(None, 0, 0)))
    res = {"ours": each_backend(lambda: timeit(lambda: per_ex(params, xb, yb)))}

    def np_per_example():  # manual backprop, batched: the numpy peer
        (w1, b1), (w2, b2) = params
        z = xb @ w1 + b1
        h = np.maximum(z, 0)
        o = h @ w2 + b2
        p = np.exp(o - o.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(batch), yb] -= 1
        gw2 = h[:, :, None] * p[:, None, :]
        dh = (p @ w2.T) * (z > 0)
        gw1 = xb[:, :, None] * dh[:, None, :]
        return gw1, dh, gw2, p

    res["numpy"] = timeit(np_per_example)
    if torch:
        from torch.func import functional_call, grad, vmap  # noqa: F401

        tparams = [(torch.from_numpy(w), torch.from_numpy(b)) for w, b in params]

        def tloss(p, x, y):
            h = x
            for i, (w, b) in enumerate(p):
                h = h @ w + b
                if i < len(p) - 1:
                    h = torch.relu(h)
            return torch.logsumexp(h, 0) - h.gather(0, y.reshape(1))[0]

        tf = vmap(grad(tloss), in_dims=(None, 0, 0))
        tx, ty = torch.from_numpy(xb), torch.from_numpy(yb)
        res["torch"] = timeit(lambda: tf(tparams, tx, ty))
    if jax:
        jnp = jax.numpy

        def jloss(p, x, y):
            h = x
            for i, (w, b) in enumerate(p):
                h = h @ w + b
                if i < len(p) - 1:
                    h = jnp.maximum(h, 0)
            return jax.nn.logsumexp(h) - h[y]

        jf = jax.jit(jax.vmap(jax.grad(jloss), in_axes=(None, 0, 0)))
        jp = jax.tree_util.tree_map(jnp.asarray, params)
        jx, jy = jnp.asarray(xb), jnp.asarray(yb)
        res["jax"] = timeit(lambda: jax.block_until_ready(jf(jp, jx, jy)))
    return f"per-example grads MLP 784-128-10, batch {batch}", res


MLP3 = [784, 512, 512, 10]


def _mlp3_data(np, small):
    batch = 64 if small else 256
    r = np.random.RandomState(1)
    return (mlp_params(np, MLP3), r.randn(batch, 784).astype(np.float32),
            r.randint(0, 10, batch).astype(np.int32))


def mlp3_loss(fl):
    """W3's loss: the MLP (relu between layers) and cross-entropy."""

    def loss(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = fl.nn.relu(h)
        return fl.nn.cross_entropy(h, y)

    return loss


def mlp3_step(fl, fnp):
    """W3's step in functorch_lite: forward, cross-entropy, backward, SGD momentum 0.9
    (PyTorch's rule), all in one jit. Returns (step, optimizer)."""
    opt = fl.optim.sgd(0.01, momentum=0.9)
    loss = mlp3_loss(fl)

    @fl.jit
    def step(params, state, x, y):
        value, grads = fl.value_and_grad(loss)(params, x, y)
        params, state = opt.update(grads, state, params)
        return params, state, value

    return step, opt


def _mlp3_peers(np, torch, jax, params, xb, yb):
    """{peer: step() closure} for W3 (and C1's first steps): the same step in each peer."""
    lr, mu, batch = 0.01, 0.9, len(xb)
    out = {}
    ps = [(w.copy(), b.copy()) for w, b in params]
    bufs = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]

    def np_step():  # manual backprop, then PyTorch's momentum rule
        hs, h = [xb], xb
        for i, (w, b) in enumerate(ps):
            h = h @ w + b
            if i < len(ps) - 1:
                h = np.maximum(h, 0)
            hs.append(h)
        p = np.exp(h - h.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(batch), yb] -= 1
        d = p / batch
        for i in reversed(range(len(ps))):
            w, b = ps[i]
            gw, gb = hs[i].T @ d, d.sum(0)
            if i:
                d = (d @ w.T) * (hs[i] > 0)
            for param, g, buf in ((w, gw, bufs[i][0]), (b, gb, bufs[i][1])):
                buf *= mu
                buf += g
                param -= lr * buf

    out["numpy"] = np_step
    if torch:
        layers = []
        for i, (w, b) in enumerate(params):
            lin = torch.nn.Linear(*w.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers += [lin] + ([torch.nn.ReLU()] if i < len(params) - 1 else [])
        model = torch.nn.Sequential(*layers)
        topt = torch.optim.SGD(model.parameters(), lr=lr, momentum=mu)
        tx, ty = torch.from_numpy(xb), torch.from_numpy(yb.astype(np.int64))

        def torch_step():
            topt.zero_grad()
            torch.nn.functional.cross_entropy(model(tx), ty).backward()
            topt.step()

        out["torch"] = torch_step
    if jax:
        jnp = jax.numpy

        def jloss(p, x, y):
            h = x
            for i, (w, b) in enumerate(p):
                h = h @ w + b
                if i < len(p) - 1:
                    h = jax.nn.relu(h)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(h), y[:, None], 1))

        @jax.jit
        def jstep(p, bufs, x, y):
            value, g = jax.value_and_grad(jloss)(p, x, y)
            bufs = jax.tree_util.tree_map(lambda m, g: mu * m + g, bufs, g)
            p = jax.tree_util.tree_map(lambda p, m: p - lr * m, p, bufs)
            return p, bufs, value

        jst = {"p": jax.tree_util.tree_map(jnp.asarray, params),
               "m": jax.tree_util.tree_map(jnp.zeros_like, params)}
        jx, jy = jnp.asarray(xb), jnp.asarray(yb)

        def jax_step():
            jst["p"], jst["m"], v = jstep(jst["p"], jst["m"], jx, jy)
            jax.block_until_ready(v)

        out["jax"] = jax_step
    return out


def w3(fl, fnp, np, torch, jax, small):
    params, xb, yb = _mlp3_data(np, small)
    step, opt = mlp3_step(fl, fnp)

    def ours():
        st = {"p": params, "s": opt.init(params)}

        def run():
            st["p"], st["s"], _ = step(st["p"], st["s"], xb, yb)

        return timeit(run)

    res = {"ours": each_backend(ours)}
    for name, fn in _mlp3_peers(np, torch, jax, params, xb, yb).items():
        res[name] = timeit(fn)
    return f"MLP 784-512-512-10 SGD-momentum step, batch {len(xb)}, jit", res


def first_step(peer: str, small: bool) -> float:
    """Seconds from nothing compiled to the first W3 step's results (imports and data
    excluded), in this process: ``peer`` is "ours" (the backend from the environment),
    "numpy", "torch", "jax" or "torch.compile"."""
    import numpy as np

    params, xb, yb = _mlp3_data(np, small)
    if peer == "ours":
        import functorch_lite as fl
        import functorch_lite.numpy as fnp

        step, opt = mlp3_step(fl, fnp)
        state = opt.init(params)
        t0 = time.perf_counter()
        step(params, state, xb, yb)
        return time.perf_counter() - t0
    if peer == "torch.compile":
        import torch

        model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                    torch.nn.Linear(512, 512), torch.nn.ReLU(),
                                    torch.nn.Linear(512, 10))
        topt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        cm = torch.compile(model)
        tx, ty = torch.from_numpy(xb), torch.from_numpy(yb.astype(np.int64))
        t0 = time.perf_counter()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(cm(tx), ty).backward()
        topt.step()
        return time.perf_counter() - t0
    mods = {"torch": _opt("torch") if peer == "torch" else None,
            "jax": _opt("jax") if peer == "jax" else None}
    fn = _mlp3_peers(np, mods["torch"], mods["jax"], params, xb, yb)[peer]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _first_step_process(peer, small, env=None) -> float:
    """``first_step`` in a fresh process. Python's own bytecode cache is on there (as it
    is by default; a sandbox may set PYTHONDONTWRITEBYTECODE), so the figure is what a
    user's second run sees, not the compilation of our Python sources."""
    args = [sys.executable, os.path.abspath(__file__), "--first-step", peer]
    env = {k: v for k, v in {**os.environ, **(env or {})}.items()
           if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(args + (["--small"] if small else []), check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _c1(np, torch, jax, small, warm, rounds=3):
    """Best of ``rounds`` fresh processes (a busy machine only ever adds time)."""
    res = {}

    def ours():
        best = float("inf")
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as d:
                env = {"FUNCTORCH_LITE_CACHE_DIR": d}
                cold = _first_step_process("ours", small, env)
                best = min(best, _first_step_process("ours", small, env) if warm else cold)
        return best

    res["ours"] = each_backend(ours)
    for peer, mod in (("numpy", np), ("torch", torch), ("jax", jax)):
        if mod:
            res[peer] = min(_first_step_process(peer, small) for _ in range(rounds))
    if torch and TORCH_COMPILE:
        res["torch"] = _first_step_process("torch.compile", small)
    return res


TORCH_COMPILE = False  # --torch-compile: C1's torch peer is torch.compile (~45 s here)


def c1(fl, fnp, np, torch, jax, small):
    return ("first jitted W3 step, fresh process, cold cache (<= 0.5 s)",
            _c1(np, torch, jax, small, warm=False))


def c1w(fl, fnp, np, torch, jax, small):
    return ("first jitted W3 step, fresh process, warm cache (<= 0.05 s)",
            _c1(np, torch, jax, small, warm=True))


def _lenet_batch(np, batch):
    r = np.random.RandomState(0)
    return r.randn(batch, 1, 28, 28).astype(np.float32), r.randint(0, 10, batch)


def _w5_compat(np, torch, small, compiled):
    """A LeNet-5 training step (forward, cross-entropy, backward, SGD momentum), batch 64,
    in compat (eager, or with the model compiled) and, as the peer, torch eager."""
    # lazy: W8c times a fresh import of compat, so the benchmark module must not import it
    import compat
    from compat import nn, optim

    batch = 16 if small else 64
    x, y = _lenet_batch(np, batch)

    def lenet(nn):
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))

    def stepper(lib, model, opt, xb, yb):
        loss_fn = lib.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()

        return step

    compat.manual_seed(0)
    model = lenet(nn)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    run = compat.compile(model) if compiled else model
    xb, yb = compat.from_numpy(x), compat.from_numpy(y)
    ours = (lambda: timeit(stepper(compat, run, opt, xb, yb)))
    res = {"ours": each_backend(ours) if compiled else ours()}
    if torch:
        tm = lenet(torch.nn)
        topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
        res["torch"] = timeit(stepper(torch, tm, topt, torch.from_numpy(x),
                                      torch.from_numpy(y)))
    return f"LeNet-5 train step, batch {batch}", res


def w5(fl, fnp, np, torch, jax, small):
    desc, res = _w5_compat(np, torch, small, compiled=False)
    return desc + ", compat eager (<= 1.5x torch)", res


def w5c(fl, fnp, np, torch, jax, small):
    desc, res = _w5_compat(np, torch, small, compiled=True)
    return desc + ", compat.compile (<= 1x torch)", res


def w6(fl, fnp, np, torch, jax, small):
    a = np.ones(16, np.float32)
    b = np.ones(16, np.float32)
    res = {"ours": timeit(lambda: fnp.add(a, b)), "numpy": timeit(lambda: np.add(a, b))}
    if torch:
        ta, tb = torch.ones(16), torch.ones(16)
        res["torch"] = timeit(lambda: ta + tb)
    if jax:
        ja, jb = jax.numpy.ones(16), jax.numpy.ones(16)
        res["jax"] = timeit(lambda: (ja + jb).block_until_ready())
    return "eager add of two 16-element arrays (dispatch overhead)", res


def w6a(fl, fnp, np, torch, jax, small):
    # the usual eager case: results of fnp (immutable fl.Array) fed back into fnp
    a, b = fnp.ones(16), fnp.ones(16)
    res = {"ours": timeit(lambda: fnp.add(a, b))}
    x, y = np.ones(16, np.float32), np.ones(16, np.float32)
    res["numpy"] = timeit(lambda: np.add(x, y))
    if torch:
        ta, tb = torch.ones(16), torch.ones(16)
        res["torch"] = timeit(lambda: ta + tb)
    if jax:
        ja, jb = jax.numpy.ones(16), jax.numpy.ones(16)
        res["jax"] = timeit(lambda: (ja + jb).block_until_ready())
    return "eager add of two 16-element fl.Arrays (fnp results)", res


def _w6_compat(np, torch, requires_grad):
    import compat

    a = compat.ones(16, requires_grad=requires_grad)
    b = compat.ones(16, requires_grad=requires_grad)
    x, y = np.ones(16, np.float32), np.ones(16, np.float32)
    res = {"ours": timeit(lambda: a + b), "numpy": timeit(lambda: np.add(x, y))}
    if torch:
        ta = torch.ones(16, requires_grad=requires_grad)
        tb = torch.ones(16, requires_grad=requires_grad)
        res["torch"] = timeit(lambda: ta + tb)
    return res


def w6c(fl, fnp, np, torch, jax, small):
    return "compat eager add of two 16-element tensors", _w6_compat(np, torch, False)


def w6g(fl, fnp, np, torch, jax, small):
    return "compat eager add, 16 elements, requires_grad (records)", _w6_compat(np, torch, True)


def w7(fl, fnp, np, torch, jax, small):
    r = np.random.RandomState(0)
    W = r.randn(100, 100).astype(np.float32) / 10
    x = r.randn(100).astype(np.float32)
    h = fl.jit(fl.hessian(lambda x: fnp.sum(fnp.tanh(W @ x))))
    res = {"ours": each_backend(lambda: timeit(lambda: h(x)))}

    def np_hess():  # closed form: W^T diag(-2 t (1 - t^2)) W
        t = np.tanh(W @ x)
        return (W.T * (-2 * t * (1 - t * t))) @ W

    res["numpy"] = timeit(np_hess)
    if torch:
        from torch.func import hessian

        tW, tx = torch.from_numpy(W), torch.from_numpy(x)
        th = hessian(lambda x: torch.tanh(tW @ x).sum())
        res["torch"] = timeit(lambda: th(tx))
    if jax:
        jnp = jax.numpy
        jW = jnp.asarray(W)
        jh = jax.jit(jax.hessian(lambda x: jnp.sum(jnp.tanh(jW @ x))))
        jx = jnp.asarray(x)
        res["jax"] = timeit(lambda: jh(jx).block_until_ready())
    return "jit(hessian) of sum(tanh(W@x)), 100-dim", res


def _w8(stmt, torch, jax):
    base = _import_time("pass")
    res = {"ours": _import_time(stmt) - base, "numpy": _import_time("import numpy") - base}
    if torch:
        res["torch"] = _import_time("import torch") - base
    if jax:
        res["jax"] = _import_time("import jax") - base
    return res


def w8(fl, fnp, np, torch, jax, small):
    return ("fresh import time (interpreter start subtracted)",
            _w8("import functorch_lite", torch, jax))


def w8c(fl, fnp, np, torch, jax, small):
    return ("fresh `import functorch_lite, compat` (target <= 0.25 s)",
            _w8("import functorch_lite, compat", torch, jax))


def _import_time(stmt, rounds=3):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", stmt], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


# --------------------------------------------------------------------------- GPU (cupy)
# W1g-W4g: W1-W4 on the GPU through the cupy backend; without CuPy and a CUDA device
# each prints "no GPU" and measures nothing.


def _gpu():
    """The ``cupy`` module when a CUDA device answers, else None."""
    import backends  # lazy: after main() has put this checkout first on sys.path

    if backends.cuda_device_count() == 0:
        return None
    return _opt("cupy")


def _gpu_timeit(cp, fn):
    def run():
        fn()
        cp.cuda.Stream.null.synchronize()  # kernels run asynchronously: wait for them

    run()  # compile and warm up outside the timing
    return timeit(run)


def w1g(fl, fnp, np, torch, jax, small):
    cp = _gpu()
    if cp is None:
        return "elementwise chain on the GPU: no GPU", {}
    n = 2 ** 20 if small else 2 ** 24
    x = cp.asarray(np.random.RandomState(0).randn(n).astype(np.float32))
    jf = fl.jit(w1_program(fl, fnp), backend="cupy")
    t = _gpu_timeit(cp, lambda: jf(x))
    res = {"ours": {"cupy": t}, "copy": _gpu_timeit(cp, lambda: x.copy())}
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    # memoryClockRate is in kHz; DDR moves data on both clock edges
    peak = props["memoryClockRate"] * 1e3 * 2 * props["memoryBusWidth"] / 8
    achieved = 2 * n * 4 / t  # one read and one write of n float32
    res["note"] = (f"{achieved / 1e9:.0f} GB/s of {peak / 1e9:.0f} GB/s peak "
                   f"({100 * achieved / peak:.0f}%); copy {_fmt(res['copy']).strip()}")
    if torch and torch.cuda.is_available():
        tx = torch.as_tensor(cp.asnumpy(x), device="cuda")
        res["torch"] = _gpu_timeit(cp, lambda: torch.tanh(tx) * torch.sigmoid(tx)
                                   + 0.5 * tx * tx - torch.exp(-tx.abs()))
    return f"elementwise chain, 2**{20 if small else 24} f32, jit, GPU", res


def w2g(fl, fnp, np, torch, jax, small):
    cp = _gpu()
    if cp is None:
        return "row log_softmax on the GPU: no GPU", {}
    n = 1024 if small else 4096
    x = cp.asarray(np.random.RandomState(0).randn(n, n).astype(np.float32))
    jf = fl.jit(w2_program(fnp), backend="cupy")
    return f"row log_softmax {n}x{n} f32, jit, GPU", {"ours": {"cupy": _gpu_timeit(
        cp, lambda: jf(x))}}


def w3g(fl, fnp, np, torch, jax, small):
    cp = _gpu()
    if cp is None:
        return "MLP SGD-momentum step on the GPU: no GPU", {}
    params, xb, yb = _mlp3_data(np, small)
    step, opt = mlp3_step(fl, fnp)
    to_gpu = lambda tree: fl.tree.map(cp.asarray, tree)  # noqa: E731
    st = {"p": to_gpu(params), "s": to_gpu(opt.init(params))}
    xg, yg = cp.asarray(xb), cp.asarray(yb)

    def run():
        st["p"], st["s"], _ = step(st["p"], st["s"], xg, yg)

    return (f"MLP 784-512-512-10 SGD-momentum step, batch {len(xb)}, jit, GPU",
            {"ours": {"cupy": _gpu_timeit(cp, run)}})


def w4g(fl, fnp, np, torch, jax, small):
    cp = _gpu()
    if cp is None:
        return "per-example gradients on the GPU: no GPU", {}
    params, xb, yb = fl.tree.map(cp.asarray, w4_data(np, small))
    batch = len(xb)
    per_ex = fl.jit(fl.vmap(fl.grad(w4_loss(fnp)), in_axes=(None, 0, 0)), backend="cupy")
    return (f"per-example grads (vmap(grad)), MLP 784-128-10, batch {batch}, jit, GPU",
            {"ours": {"cupy": _gpu_timeit(cp, lambda: per_ex(params, xb, yb))}})


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W5c": w5c, "W6": w6, "W6a": w6a,
             "W6c": w6c, "W6g": w6g, "W7": w7, "W8": w8, "W8c": w8c, "C1": c1, "C1w": c1w,
             "W1g": w1g, "W2g": w2g, "W3g": w3g, "W4g": w4g}


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def _fmt(t: float) -> str:
    return f"{t * 1e3:8.3f}ms" if t >= 1e-3 else f"{t * 1e6:8.2f}us"


def main(argv=None):
    global TORCH_COMPILE
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    ap.add_argument("--only", nargs="*", help="workload ids to run (default: all)")
    ap.add_argument("--small", action="store_true", help="smaller sizes (quick check)")
    ap.add_argument("--backend", default=None,
                    help="the one jit backend to run (default: llvm and numpy)")
    ap.add_argument("--torch-compile", action="store_true",
                    help="C1's torch peer is torch.compile (slow) instead of eager torch")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    ap.add_argument("--first-step", help=argparse.SUPPRESS)  # C1's child process
    args = ap.parse_args(argv)
    _pin(args.all_cores)
    if args.first_step:
        print(json.dumps(first_step(args.first_step, args.small)))
        return
    TORCH_COMPILE = args.torch_compile
    if args.backend:
        JIT_BACKENDS[:] = [args.backend]
    import numpy as np

    import functorch_lite as fl
    import functorch_lite.numpy as fnp

    torch, jax = _opt("torch"), _opt("jax")
    if torch:
        torch.set_num_threads(1 if not args.all_cores else os.cpu_count())
    print(f"functorch_lite {fl.__version__}, jit backends {', '.join(JIT_BACKENDS)}; "
          f"{_machine()}, {'all cores' if args.all_cores else 'pinned to 1 core'}; "
          f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else "")
          + (f", jax {jax.__version__}" if jax else ""))
    print("ratio = peer time / our time (> 1: functorch_lite is faster)\n")
    cols = ["id", "workload", "backend", "ours", "vs numpy", "vs torch", "vs jax", "note"]
    if args.markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
    else:
        print(f"{'id':4} {'workload':58} {'backend':7} {'ours':>10} {'vs numpy':>9} "
              f"{'vs torch':>9} {'vs jax':>9}  note")
    for wid in args.only or WORKLOADS:
        desc, res = WORKLOADS[wid](fl, fnp, np, torch, jax, args.small)
        if not res:  # nothing measured (a GPU workload without a GPU)
            print(f"{wid:4} {desc}", flush=True)
            continue
        ours = res["ours"] if isinstance(res["ours"], dict) else {"-": res["ours"]}
        for backend, t in ours.items():
            ratios = [f"{res[k] / t:.2f}" if k in res else "-" for k in ("numpy", "torch", "jax")]
            note = f"copy {_fmt(res['copy']).strip()}: ours/copy {t / res['copy']:.2f}" \
                if "copy" in res else ""
            note = res.get("note", note)
            if args.markdown:
                print("| " + " | ".join([wid, desc, backend, _fmt(t).strip(), *ratios, note])
                      + " |", flush=True)
            else:
                print(f"{wid:4} {desc:58} {backend:7} {_fmt(t):>10} "
                      + " ".join(f"{r:>9}" for r in ratios) + f"  {note}", flush=True)


if __name__ == "__main__":
    main()
