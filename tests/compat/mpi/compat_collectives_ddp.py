"""One MPI job (any world size) checking compat.distributed and DistributedDataParallel on
every rank: collectives on tensors against numpy (in place), DDP with SGD and Adam against
one process training on the concatenated batch, no_sync accumulation, parameters no rank
used, buckets started during backward. Prints "rank R ok" per rank; any failure raises
(and part 1's hook ends the whole job with the traceback)."""

from __future__ import annotations

import copy

import numpy as np

import compat as torch
import compat.distributed as dist
from compat import nn

try:
    dist.get_rank()
except ValueError as e:
    assert "Default process group has not been initialized" in str(e)
else:
    raise AssertionError("get_rank before init_process_group did not raise")

dist.init_process_group(backend="gloo")  # PyTorch CPU scripts' choice: runs over MPI
rank, n = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi"


def per_rank(r):
    """What rank r contributes: distinct values per rank."""
    return (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5) * (r + 1) + r


ALL = np.stack([per_rank(r) for r in range(n)])


def check(got, want, what):
    got = got.numpy(force=True) if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"rank {rank}: {what}")


# -- all_reduce in place, every op; a view of the tensor sees the result ------------------
for op, want in [(dist.ReduceOp.SUM, ALL.sum(0)), (dist.ReduceOp.AVG, ALL.mean(0)),
                 (dist.ReduceOp.MIN, ALL.min(0)), (dist.ReduceOp.MAX, ALL.max(0)),
                 (dist.ReduceOp.PRODUCT, ALL.prod(0))]:
    t = torch.tensor(per_rank(rank))
    view, ptr, version = t[1], t.data_ptr(), t._version
    assert dist.all_reduce(t, op=op) is None
    check(t, want, f"all_reduce {op}")
    check(view, want[1], f"all_reduce {op}: view")
    assert t.data_ptr() == ptr and t._version > version

t = torch.tensor(per_rank(rank))
work = dist.all_reduce(t, async_op=True)
assert work.wait() is True and work.is_completed()
check(t, ALL.sum(0), "async all_reduce")

ints = torch.tensor([rank, 10 * rank + 1])
dist.all_reduce(ints)
assert ints.dtype == torch.int64 and ints.tolist() == [sum(range(n)),
                                                       sum(10 * r + 1 for r in range(n))]

# a leaf that requires grad: changed as through .data, no history recorded
w = torch.tensor(per_rank(rank), requires_grad=True)
dist.all_reduce(w)
assert w.grad_fn is None and w.requires_grad
check(w.detach(), ALL.sum(0), "all_reduce of a leaf requiring grad")

# -- broadcast, all_gather, reduce_scatter, reduce, gather, scatter, send/recv ------------
src = n - 1
t = torch.tensor(per_rank(rank))
dist.broadcast(t, src=src)
check(t, per_rank(src), "broadcast")

outs = [torch.zeros(2, 3) for _ in range(n)]
dist.all_gather(outs, torch.tensor(per_rank(rank)))
for r in range(n):
    check(outs[r], per_rank(r), f"all_gather [{r}]")
cat = torch.zeros(2 * n, 3)
dist.all_gather_into_tensor(cat, torch.tensor(per_rank(rank)))
check(cat, ALL.reshape(2 * n, 3), "all_gather_into_tensor")

blocks = np.arange(n * 4, dtype=np.float32).reshape(n, 4) + rank  # block r goes to rank r
want = sum(np.arange(n * 4, dtype=np.float32).reshape(n, 4) + r for r in range(n))[rank]
out = torch.zeros(4)
dist.reduce_scatter_tensor(out, torch.tensor(blocks.reshape(-1)))
check(out, want, "reduce_scatter_tensor")
out = torch.zeros(4)
dist.reduce_scatter(out, [torch.tensor(b) for b in blocks], op=dist.ReduceOp.MAX)
check(out, (np.arange(n * 4, dtype=np.float32).reshape(n, 4) + n - 1)[rank],
      "reduce_scatter MAX")

t = torch.tensor(per_rank(rank))
dist.reduce(t, dst=0)
check(t, ALL.sum(0) if rank == 0 else per_rank(rank), "reduce")

got = [torch.zeros(2, 3) for _ in range(n)] if rank == 0 else None
dist.gather(torch.tensor(per_rank(rank)), got, dst=0)
if rank == 0:
    for r in range(n):
        check(got[r], per_rank(r), f"gather [{r}]")
t = torch.zeros(2, 3)
dist.scatter(t, [torch.tensor(per_rank(r) * 2) for r in range(n)] if rank == 0 else None,
             src=0)
check(t, per_rank(rank) * 2, "scatter")

# a ring: rank r sends to r+1 and receives from r-1 (rank 0 sends first: no cycle of waits)
right, left = (rank + 1) % n, (rank - 1) % n
box = torch.zeros(2, 3)
if rank == 0:
    dist.send(torch.tensor(per_rank(rank)), dst=right)
    assert dist.recv(box, src=left) == left
else:
    dist.recv(box, src=left)
    dist.send(torch.tensor(per_rank(rank)), dst=right)
check(box, per_rank(left), "send/recv ring")
dist.barrier()

# a shape that differs on one rank is reported on every rank, not mixed up
bad = torch.zeros(3 if rank == n - 1 else 2)
try:
    dist.all_reduce(bad)
except ValueError as e:
    assert "disagree" in str(e), e
else:
    raise AssertionError("mismatched all_reduce shapes were not detected")


# -- DistributedDataParallel against one process on the concatenated batch ---------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 16)
        self.fc2 = nn.Linear(16, 16)
        self.head = nn.Linear(16, 3)
        self.spare = nn.Linear(16, 3)    # used by rank 0's forward only
        self.unused = nn.Linear(2, 2)    # used by no rank

    def forward(self, x, use_spare=False):
        h = torch.tanh(self.fc2(torch.relu(self.fc1(x))))
        out = self.head(h)
        return out + self.spare(h) if use_spare else out


B = 4                                   # rows per rank and step
data = np.random.default_rng(0)         # the same global batches on every rank
STEPS = 3
X = data.standard_normal((STEPS, n * B, 5)).astype(np.float32)
Y = data.integers(0, 3, (STEPS, n * B))


def mine(a):
    return torch.tensor(a[rank * B:(rank + 1) * B])


def params_of(module):
    return np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])


for make_opt in (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
                 lambda ps: torch.optim.Adam(ps, lr=1e-2)):
    torch.manual_seed(rank)             # different initial weights: DDP broadcasts rank 0's
    model = Net()
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0005,  # ~500 B buckets
                                              find_unused_parameters=True)
    assert len(ddp.plan.buckets) > 2
    assert list(ddp.state_dict())[0] == "module.fc1.weight"
    ref = copy.deepcopy(model)          # rank 0's initial weights, trained on all the data
    opt, ref_opt = make_opt(ddp.parameters()), make_opt(ref.parameters())
    started_during_backward = []
    model.fc1.weight.register_hook(
        lambda g, seen=started_during_backward, ddp=ddp: seen.append(len(ddp.handles)))
    loss_fn = nn.CrossEntropyLoss()
    for s in range(STEPS):
        opt.zero_grad()
        loss_fn(ddp(mine(X[s])), torch.tensor(Y[s][rank * B:(rank + 1) * B])).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(torch.tensor(X[s])), torch.tensor(Y[s])).backward()
        ref_opt.step()
    assert model.unused.weight.grad is None
    # the last layers' buckets went out before backward reached the first layer
    assert started_during_backward and min(started_during_backward) > 0, \
        started_during_backward
    p = params_of(model)
    gathered = [torch.zeros(p.size) for _ in range(n)]
    dist.all_gather(gathered, torch.tensor(p))
    for r in range(n):
        assert np.array_equal(gathered[r].numpy(), p), f"rank {r} differs from rank {rank}"
    np.testing.assert_allclose(p, params_of(ref), rtol=1e-4, atol=2e-5,
                               err_msg=f"rank {rank}: DDP vs one process ({make_opt})")

# no_sync: two local accumulations, then a synchronised one; a layer only rank 0 uses
torch.manual_seed(0)
model = Net()
ddp = nn.parallel.DistributedDataParallel(model)
ref = copy.deepcopy(model)
for s in range(STEPS):
    if s < STEPS - 1:
        with ddp.no_sync():
            ddp(mine(X[s]), use_spare=rank == 0).pow(2).mean().backward()
        assert ddp.handles == []
    else:
        ddp(mine(X[s]), use_spare=rank == 0).pow(2).mean().backward()
    # the reference: the mean over ranks of each rank's loss, on one process
    total = sum(ref(torch.tensor(X[s][r * B:(r + 1) * B]), use_spare=r == 0).pow(2).mean()
                for r in range(n)) / n
    total.backward()
for (name, p), q in zip(model.named_parameters(), ref.parameters()):
    if q.grad is None:
        assert p.grad is None, name
        continue
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6,
                               err_msg=f"rank {rank}: no_sync grad of {name}")
assert model.spare.weight.grad is not None and model.unused.weight.grad is None

# buffers follow rank 0 at each forward (broadcast_buffers)
bn = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
ddp = nn.parallel.DistributedDataParallel(bn)
with torch.no_grad():
    bn[1].running_mean.fill_(float(rank))
ddp(torch.ones(2, 3))  # rank 0's statistics (zeros), then this batch's update
rm = bn[1].running_mean.numpy().copy()
got = [torch.zeros(3) for _ in range(n)]
dist.all_gather(got, torch.tensor(rm))
assert all(np.array_equal(g.numpy(), rm) for g in got), "running stats differ across ranks"

dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {rank} ok", flush=True)
