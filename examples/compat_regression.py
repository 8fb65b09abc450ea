"""Regression with ``nn.MSELoss``: a small MLP learns a noisy 1-D curve from a
``TensorDataset``, with ``ReduceLROnPlateau`` lowering the learning rate when the
validation loss stalls.

    python examples/compat_regression.py [--epochs 60] [--samples 1024]
"""

from __future__ import annotations

import argparse
import math
import time

from tqdm import tqdm

import compat as torch
from compat import nn, optim
from compat.utils.data import DataLoader, TensorDataset, random_split


def make_data(n: int, generator) -> TensorDataset:
    """``y = sin(3x) + 0.3 x^2`` plus noise, for ``x`` uniform in [-2, 2]."""
    x = torch.rand(n, 1, generator=generator) * 4 - 2
    y = torch.sin(3 * x) + 0.3 * x ** 2 + 0.05 * torch.randn(n, 1, generator=generator)
    return TensorDataset(x, y)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    data = make_data(args.samples, g)
    n_val = args.samples // 5
    train_set, val_set = random_split(data, [args.samples - n_val, n_val], generator=g)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=g)
    val_loader = DataLoader(val_set, batch_size=n_val)

    model = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 1))
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)

    start = time.perf_counter()
    bar = tqdm(range(args.epochs), desc="epochs", disable=args.quiet)
    for _ in bar:
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = sum(criterion(model(x), y).item() for x, y in val_loader)
        scheduler.step(val_loss)
        bar.set_postfix(val_mse=f"{val_loss:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2g}")
    seconds = time.perf_counter() - start

    with torch.no_grad():
        x = torch.linspace(-2, 2, 9).unsqueeze(1)
        pred = model(x).squeeze(1)
        truth = [math.sin(3 * v) + 0.3 * v * v for v in x.squeeze(1).tolist()]
    print(f"validation MSE {val_loss:.4f} (noise variance 0.0025)  "
          f"final lr {scheduler.get_last_lr()[0]:.2g}  ({args.epochs} epochs in {seconds:.1f} s)")
    print("x      " + " ".join(f"{v:6.2f}" for v in x.squeeze(1).tolist()))
    print("model  " + " ".join(f"{v:6.2f}" for v in pred.tolist()))
    print("truth  " + " ".join(f"{v:6.2f}" for v in truth))
    return {"val_mse": val_loss, "seconds": seconds}


if __name__ == "__main__":
    main()
