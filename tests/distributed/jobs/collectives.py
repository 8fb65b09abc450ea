"""Run on every rank of an MPI job: each collective against numpy, computed locally from
every rank's (deterministic) inputs. Prints ``rank r: ok`` when all checks pass."""

from __future__ import annotations

import numpy as np

import functorch_lite as fl
from functorch_lite import distributed as dist

dist.init()
R, N = dist.rank(), dist.world_size()
DTYPES = [np.float32, np.float64, np.int32, np.int64]
TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def value(rank, dtype, shape, seed):
    rs = np.random.RandomState(7919 * seed + rank)
    if np.dtype(dtype).kind == "f":
        return np.asarray(rs.randn(*shape) * 4).astype(dtype)
    return np.asarray(rs.randint(-50, 50, size=shape)).astype(dtype)


def make_tree(rank, seed, dtypes=DTYPES, lead=2):
    """Several leaves of each dtype: 0-d, size-0, vectors, matrices; a Python scalar."""
    t = {}
    for k, dt in enumerate(dtypes):
        t[np.dtype(dt).name] = [value(rank, dt, (), seed + k), value(rank, dt, (0, 3), seed),
                                value(rank, dt, (lead * N, 3), seed + 2 * k),
                                value(rank, dt, (5,), seed + 3 * k)]
    t["py"] = (float(rank) + 0.5, rank + 1)
    return t


def same(got, want, what, arrays=True):
    gl, gt = fl.tree.flatten(got)
    wl, wt = fl.tree.flatten(want)
    assert gt == wt, (what, gt, wt)
    for g, w in zip(gl, wl):
        w = np.asarray(w)
        assert isinstance(g, fl.Array) or not arrays, (what, type(g))
        g = np.asarray(g)
        assert g.shape == w.shape and g.dtype == w.dtype, (what, g.shape, g.dtype, w.shape,
                                                           w.dtype)
        tol = TOL.get(w.dtype, 0)
        np.testing.assert_allclose(np.asarray(g), w, rtol=tol, atol=tol, err_msg=what)


def leafwise(f, trees):
    """numpy's reduction over the ranks' trees, leaf by leaf (Python scalars as arrays)."""
    leaves = [dist.buckets.host_leaves("test", fl.tree.leaves(t)) for t in trees]
    td = fl.tree.structure(trees[0])
    return fl.tree.unflatten(td, [f([ls[i] for ls in leaves]) for i in range(len(leaves[0]))])


def hosted(t):
    """Python scalars as the arrays collectives make of them (float32, int64)."""
    return fl.tree.unflatten(fl.tree.structure(t),
                             dist.buckets.host_leaves("test", fl.tree.leaves(t)))


def copy(t):
    return fl.tree.map(lambda x: np.array(x, copy=True), t)


def check_reductions():
    mine = make_tree(R, 1)
    before = copy(mine)
    trees = [make_tree(r, 1) for r in range(N)]
    for op, f in [("sum", lambda xs: np.sum(xs, axis=0).astype(xs[0].dtype)),
                  ("max", lambda xs: np.max(xs, axis=0)), ("min", lambda xs: np.min(xs, axis=0))]:
        same(dist.all_reduce(mine, op), leafwise(f, trees), f"all_reduce {op}")
    floats = {k: v for k, v in mine.items() if k.startswith("float")}
    want = leafwise(lambda xs: (np.sum(xs, axis=0) / N).astype(xs[0].dtype),
                    [{k: v for k, v in t.items() if k.startswith("float")} for t in trees])
    same(dist.all_reduce(floats, "mean"), want, "all_reduce mean")
    same(dist.iall_reduce(floats, "mean", bucket_bytes=64).wait(), want, "iall_reduce mean")
    same(mine, before, "inputs untouched", arrays=False)
    # float16 is summed in float32 on the wire
    h = dist.all_reduce(np.full(3, R + 1, np.float16), "sum")
    assert h.dtype == np.float16 and np.all(h == N * (N + 1) // 2), h
    b = dist.all_reduce(np.array([R == 0, True]), "min")
    assert b.dtype == np.bool_ and list(b) == [N == 1, True], b


def check_reduce_scatter():
    mine = make_tree(R, 2)
    trees = [make_tree(r, 2) for r in range(N)]
    for op, f in [("sum", lambda xs: np.sum(xs, axis=0).astype(xs[0].dtype)),
                  ("max", lambda xs: np.max(xs, axis=0))]:
        sub = {k: v[1:3] for k, v in mine.items() if k != "py"}  # leading dims 0 and 2N
        full = leafwise(f, [{k: v[1:3] for k, v in t.items() if k != "py"} for t in trees])
        want = fl.tree.map(lambda a: a[R * (a.shape[0] // N):(R + 1) * (a.shape[0] // N)],
                           full)
        same(dist.reduce_scatter(sub, op), want, f"reduce_scatter {op}")
    try:
        dist.reduce_scatter(np.zeros((N + 1, 2)) if N > 1 else np.zeros(()))
    except ValueError as e:
        assert "reduce_scatter" in str(e) and "multiple of world_size" in str(e), e
    else:
        raise AssertionError("reduce_scatter accepted a leading axis that does not divide")


def check_moves():
    mine = make_tree(R, 3)
    trees = [make_tree(r, 3) for r in range(N)]
    for root in sorted({0, N - 1}):
        same(dist.broadcast(mine, root=root), leafwise(lambda xs, r=root: xs[r], trees),
             f"broadcast root {root}")
    same(dist.all_gather(mine), leafwise(np.stack, trees), "all_gather")
    # point to point around the ring; even ranks send first, so blocking sends pair up
    big = value(R, np.float32, (300, 400), 4)  # large enough for a rendezvous send
    payload = {"t": make_tree(R, 5), "big": big}
    src, dst = (R - 1) % N, (R + 1) % N
    like = {"t": make_tree(src, 5), "big": fl.ShapeDtypeStruct((300, 400), np.float32)}
    if N > 1:
        if R % 2 == 0:
            dist.send(payload, dst, tag=3)
            got = dist.recv(like, src, tag=3)
        else:
            got = dist.recv(like, src, tag=3)
            dist.send(payload, dst, tag=3)
        same(got, hosted({"t": make_tree(src, 5), "big": value(src, np.float32, (300, 400), 4)}),
             "send/recv")
    dist.barrier()


def check_buckets():
    shapes = [(10, 10), (100,), (7,), (50,), (3, 3)]
    arrays = [value(R, np.float32, s, 10 + i) for i, s in enumerate(shapes)]
    arrays.insert(2, value(R, np.float64, (20,), 20))
    # 400-byte cap: [0:400B], [1:400B], [3:28B + 4:200B], [5:36B] for float32; [2] float64
    plan = dist.Buckets(arrays, bucket_bytes=400)
    assert [b.leaves for b in plan.buckets] == [[0], [1], [3, 4, 5], [2]], \
        [b.leaves for b in plan.buckets]
    plan.check()
    per_leaf = [dist.all_reduce(a) for a in arrays]
    h = plan.start(arrays)
    assert len(h.parts) == len(plan.buckets) == 4
    same(h.wait(), per_leaf, "bucketed all_reduce == per-leaf")
    same(plan.all_reduce(arrays, "max"), [dist.all_reduce(a, "max") for a in arrays], "max")
    # buckets started one at a time, last first (as a backward pass fills them)
    handles = [(b, b.start([arrays[i] for i in b.leaves], "sum"))
               for b in reversed(plan.buckets)]
    for b, hb in handles:
        same(hb.wait(), [per_leaf[i] for i in b.leaves], "bucket by bucket")


def mlp_loss(params, batch):
    x, y = batch
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = fl.nn.relu(h)
    return fl.nn.cross_entropy(h, y)


def check_data_parallel():
    rs = np.random.RandomState(0)  # the same on every rank
    params = [(rs.randn(6, 8).astype(np.float32) * 0.5, np.zeros(8, np.float32)),
              (rs.randn(8, 3).astype(np.float32) * 0.5, np.full(3, 0.1, np.float32))]
    x = rs.randn(4 * N, 6).astype(np.float32)
    y = rs.randint(0, 3, 4 * N).astype(np.int32)
    step = dist.data_parallel(mlp_loss)
    loss, grads = step(params, dist.shard((x, y)))
    want_loss, want_grads = fl.value_and_grad(mlp_loss)(params, (x, y))
    np.testing.assert_allclose(loss, want_loss, rtol=2e-6, atol=1e-6)
    for g, w in zip(fl.tree.leaves(grads), fl.tree.leaves(want_grads)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    # a few SGD steps keep the parameters equal on every rank and equal to one process
    opt = fl.optim.sgd(0.1, momentum=0.9)
    p, s, p1, s1 = params, opt.init(params), params, opt.init(params)
    for _ in range(3):
        _, g = step(p, dist.shard((x, y)))
        p, s = opt.update(g, s, p)
        _, g1 = fl.value_and_grad(mlp_loss)(p1, (x, y))
        p1, s1 = opt.update(g1, s1, p1)
    stacked = dist.all_gather(p)
    for a, b in zip(fl.tree.leaves(stacked), fl.tree.leaves(p1)):
        assert np.all(a == a[0]), "parameters differ between ranks"
        np.testing.assert_allclose(a[0], b, rtol=1e-5, atol=1e-6)
    (loss, aux), _ = dist.data_parallel(lambda p, b: (mlp_loss(p, b), R), has_aux=True,
                                        jit=False)(params, dist.shard((x, y)))
    assert aux == R  # aux stays rank-local


check_reductions()
check_reduce_scatter()
check_moves()
check_buckets()
check_data_parallel()
print(f"rank {R} of {N}: ok", flush=True)
