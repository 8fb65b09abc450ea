"""``compat.compile``: the same training loop run eagerly and with the model compiled
(forward and backward as compiled programs of the core), from the same initial weights
on the same batches. The losses agree to float32 rounding; the compiled loop is faster.

    python examples/compat_compile.py [--steps 60] [--batch-size 64] [--backend numpy|llvm]
"""

from __future__ import annotations

import argparse
import copy
import time

from tqdm import tqdm

import compat as torch
import compat.nn.functional as F
from compat import nn, optim
from compat.utils.data import DataLoader
from compat.vision import datasets, transforms


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def run(model, batches, desc, quiet):
    """Train ``model`` on ``batches``; returns (losses, seconds per step after the first)."""
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    losses, start = [], None
    for i, (x, y) in enumerate(tqdm(batches, desc=desc, leave=False, disable=quiet)):
        if i == 1:
            start = time.perf_counter()  # the first step includes tracing and compiling
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    per_step = (time.perf_counter() - start) / max(1, len(batches) - 1)
    return losses, per_step


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--backend", default=None, help="functorch_lite backend (default: jit's)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    torch.manual_seed(0)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    loader = DataLoader(datasets.Digits(train=True, transform=tf), batch_size=args.batch_size,
                        shuffle=True, drop_last=True)
    batches = []
    while len(batches) < args.steps:
        batches.extend(loader)
    batches = batches[:args.steps]

    eager = CNN()
    compiled_model = copy.deepcopy(eager)
    compiled = torch.compile(compiled_model, backend=args.backend or "inductor")
    eager_losses, eager_step = run(eager, batches, "eager", args.quiet)
    compiled_losses, compiled_step = run(compiled, batches, "compiled", args.quiet)

    diff = max(abs(a - b) for a, b in zip(eager_losses, compiled_losses))
    print(f"{args.steps} steps: loss {eager_losses[0]:.3f} -> {eager_losses[-1]:.3f}; "
          f"largest eager/compiled loss difference {diff:.2e}; per step eager "
          f"{eager_step * 1e3:.1f} ms, compiled {compiled_step * 1e3:.1f} ms "
          f"({eager_step / compiled_step:.2f}x)")
    return {"max_loss_diff": diff, "eager_losses": eager_losses,
            "compiled_losses": compiled_losses, "eager_step": eager_step,
            "compiled_step": compiled_step}


if __name__ == "__main__":
    main()
