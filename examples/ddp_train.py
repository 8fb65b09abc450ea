"""Data-parallel training the PyTorch way: ``DistributedDataParallel`` and a
``DistributedSampler`` over MPI ranks, with ``import compat as torch`` as the only change
from a PyTorch DDP script.

    mpiexec -n 2 python examples/ddp_train.py [--epochs 4] [--batch-size 32]
    mpiexec --allow-run-as-root --oversubscribe -n 2 python examples/ddp_train.py  # as root
    python examples/ddp_train.py            # also runs as a job of one process

Each rank trains on its shard of the Digits training set (1438 8x8 images shipped with
the package) with ``batch-size`` rows per step, so one step sees ``ranks x batch-size``
rows; DDP averages the gradients during ``backward()``, so every rank takes the same step
and the replicas stay identical. Rank 0 alone shows the progress bar, saves the checkpoint
and prints the results; the test set is evaluated in shards whose counts are summed with
``all_reduce``.
"""

from __future__ import annotations

import argparse
import time

from tqdm import tqdm

import compat as torch
import compat.distributed as dist
import compat.nn.functional as F
from compat import nn, optim
from compat.nn.parallel import DistributedDataParallel as DDP
from compat.utils.data import DataLoader, Subset
from compat.utils.data.distributed import DistributedSampler
from compat.vision import datasets, transforms


class MLP(nn.Module):
    """A two-hidden-layer perceptron over the 64 pixels."""

    def __init__(self, hidden: int = 128, classes: int = 10):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def evaluate(model, dataset, rank: int, world: int) -> tuple[float, float]:
    """(mean loss, accuracy) over ``dataset``: each rank scores every ``world``-th image
    from its rank on, then the sums are added across ranks."""
    loader = DataLoader(Subset(dataset, range(rank, len(dataset), world)), batch_size=256)
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64)  # loss, correct, count
    with torch.no_grad():
        for images, labels in loader:
            logits = model(images)
            sums += torch.tensor([F.cross_entropy(logits, labels, reduction="sum").item(),
                                  (logits.argmax(dim=1) == labels).sum().item(),
                                  labels.size(0)], dtype=torch.float64)
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    loss, correct, count = sums.tolist()
    return loss / count, correct / count


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=32, help="rows per rank and step")
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint", default="ddp_digits.pt", help="written by rank 0")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)

    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed)  # the same model on every rank (DDP broadcasts rank 0's)

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train_set = datasets.Digits(train=True, transform=tf)
    test_set = datasets.Digits(train=False, transform=tf)
    sampler = DistributedSampler(train_set, seed=args.seed)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)

    model = DDP(MLP(args.hidden))
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        model.train()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                   disable=args.quiet or rank != 0)
        for images, labels in bar:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()  # gradients are averaged across ranks here
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scheduler.step()
    seconds = time.perf_counter() - start

    if rank == 0:
        torch.save({"model": model.module.state_dict(), "epoch": args.epochs},
                   args.checkpoint)
    test_loss, test_acc = evaluate(model, test_set, rank, world)
    if rank == 0:
        print(f"{world} rank(s), {args.epochs} epochs of {len(loader)} steps in "
              f"{seconds:.1f} s; test loss {test_loss:.3f}; checkpoint {args.checkpoint}")
        print(f"test accuracy {test_acc:.4f}", flush=True)
    dist.destroy_process_group()
    return {"test_accuracy": test_acc, "test_loss": test_loss, "seconds": seconds}


if __name__ == "__main__":
    main()
