"""Classify handwritten digits the PyTorch way: an ``nn.Module`` trained with a
``DataLoader``, a loss, an optimizer and a learning-rate schedule -- the script a PyTorch
user writes, with ``import compat as torch`` as the only change.

    python examples/compat_digits.py [--epochs 12] [--batch-size 32] [--lr 0.002]

Data: ``compat.vision.datasets.Digits``, the 8x8 UCI handwritten digits that ship with
the package (1438 training and 359 test images), so it runs offline in seconds.
"""

from __future__ import annotations

import argparse
import time

from tqdm import tqdm

import compat as torch
import compat.nn.functional as F
from compat import nn, optim
from compat.utils.data import DataLoader
from compat.vision import datasets, transforms


class Classifier(nn.Module):
    """A two-hidden-layer perceptron over the 64 pixels."""

    def __init__(self, hidden: int = 128, classes: int = 10):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(0.2)
        self.fc3 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = self.flatten(x)
        x = F.relu(self.fc1(x))
        x = self.dropout(F.relu(self.fc2(x)))
        return self.fc3(x)


def evaluate(model, loader):
    """(mean loss, accuracy) of ``model`` over ``loader``."""
    model.eval()
    loss = correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            logits = model(images)
            loss += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(dim=1) == labels).sum().item()
            total += labels.size(0)
    return loss / total, correct / total


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train_set = datasets.Digits(train=True, transform=tf)
    test_set = datasets.Digits(train=False, transform=tf)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)

    model = Classifier(args.hidden)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                   disable=args.quiet)
        for images, labels in bar:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scheduler.step()
    seconds = time.perf_counter() - start

    test_loss, test_acc = evaluate(model, test_loader)
    _, train_acc = evaluate(model, train_loader)
    print(f"train accuracy {train_acc:.3f}  test accuracy {test_acc:.3f}  "
          f"test loss {test_loss:.3f}  ({args.epochs} epochs in {seconds:.1f} s)")
    return {"test_accuracy": test_acc, "train_accuracy": train_acc, "test_loss": test_loss,
            "seconds": seconds}


if __name__ == "__main__":
    main()
