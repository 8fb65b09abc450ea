"""Model parallelism with send/recv: the first layers of a network live on rank 0, the
last layers and the loss on rank 1. Each step, rank 0 sends its activations forward; rank
1 finishes the forward pass, backpropagates to its input and sends that gradient back;
rank 0 continues the backward pass from it. Each rank steps the optimizer of its own stage.

    mpiexec -n 2 python examples/model_parallel.py [--steps 60]
    mpiexec --allow-run-as-root --oversubscribe -n 2 python examples/model_parallel.py

At the end rank 1 sends its trained layers to rank 0, which compares the whole network
with the same network trained in one process on the same batches and prints the largest
difference: 0, since both run the same float32 operations in the same order (the split
moves values between processes, it changes no arithmetic).
"""

from __future__ import annotations

import argparse
import copy
import sys

import numpy as np

import compat as torch
import compat.distributed as dist
from compat import nn


def network() -> nn.Sequential:
    """The whole model; ``[:2]`` is stage 0 (rank 0), ``[2:]`` stage 1 (rank 1)."""
    return nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 16), nn.Tanh(),
                         nn.Linear(16, 1))


def batches(steps: int, batch: int, seed: int):
    """The same (inputs, targets) on every rank: a smooth function to regress."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.standard_normal((batch, 8)).astype(np.float32)
        y = np.sin(x[:, :1] * 2) + 0.5 * x[:, 1:2] * x[:, 2:3]
        yield torch.tensor(x), torch.tensor(y.astype(np.float32))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if world != 2:
        if rank == 0:
            print(f"model_parallel.py splits the network over 2 ranks, got {world}: run "
                  "mpiexec -n 2 python examples/model_parallel.py", file=sys.stderr)
        dist.destroy_process_group()
        return {"max_difference": None}

    torch.manual_seed(args.seed)
    full = network()                       # built identically on both ranks
    reference = copy.deepcopy(full)        # rank 0 trains it in one piece
    stage = full[:2] if rank == 0 else full[2:]
    opt = torch.optim.SGD(stage.parameters(), lr=args.lr, momentum=0.9)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.MSELoss()

    for step, (x, y) in enumerate(batches(args.steps, args.batch_size, args.seed)):
        opt.zero_grad()
        if rank == 0:
            act = stage(x)
            dist.send(act.detach(), dst=1)            # activations forward
            grad = torch.empty_like(act)
            dist.recv(grad, src=1)                    # their gradient back
            act.backward(grad)
            ref_opt.zero_grad()
            loss_fn(reference(x), y).backward()
            ref_opt.step()
        else:
            act = torch.empty(args.batch_size, 32)
            dist.recv(act, src=0)
            act.requires_grad_()
            loss = loss_fn(stage(act), y)
            loss.backward()
            dist.send(act.grad, dst=0)
            if step % 10 == 0 or step == args.steps - 1:
                print(f"step {step:3d}  loss {loss.item():.4f}", flush=True)
        opt.step()

    # rank 1's trained layers travel to rank 0 for the comparison
    tail = list(full[2:].parameters())
    for p in tail:
        if rank == 1:
            dist.send(p.detach(), dst=0)
        else:
            dist.recv(p.data, src=1)
    result = {"max_difference": None}
    if rank == 0:
        diff = max(float((p - q).abs().max()) for p, q in zip(full.parameters(),
                                                               reference.parameters()))
        print(f"max |difference| between the two-rank and the one-process network: "
              f"{diff:.3g}", flush=True)
        result["max_difference"] = diff
    dist.barrier()
    dist.destroy_process_group()
    return result


if __name__ == "__main__":
    main()
