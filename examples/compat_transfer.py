"""Transfer learning: train a network on one task, save its weights with ``compat.save``,
load the body into a new model with a new head for another task, freeze the body and
fine-tune with two param groups (the new head at a high learning rate, the body's last
layer, unfrozen, at a low one).

    python examples/compat_transfer.py [--pretrain-epochs 6] [--finetune-epochs 25] [--shots 20]

Task A: recognise the digits 0-4. Task B: the digits 5-9 (classes 0-4 of a new head),
learned from only ``--shots`` images per class.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from tqdm import tqdm

import compat as torch
import compat.nn.functional as F
from compat import nn, optim
from compat.utils.data import DataLoader, Subset
from compat.vision import datasets, transforms


class Net(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(),
                                  nn.Linear(128, 64), nn.ReLU())
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        return self.head(self.body(x))


def subset(ds, digits, per_class=None, offset=0):
    """The samples of ``ds`` whose label is in ``digits`` (at most ``per_class`` each);
    labels are shifted down by ``offset`` through ``target_transform``."""
    counts, keep = {}, []
    for i, y in enumerate(ds.targets.tolist()):
        if y in digits and (per_class is None or counts.get(y, 0) < per_class):
            counts[y] = counts.get(y, 0) + 1
            keep.append(i)
    ds.target_transform = lambda y: y - offset
    return Subset(ds, keep)


def train(model, loader, optimizer, epochs, desc, quiet):
    for epoch in range(epochs):
        model.train()
        for x, y in tqdm(loader, desc=f"{desc} {epoch + 1}/{epochs}", leave=False,
                         disable=quiet):
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()


def accuracy(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pretrain-epochs", type=int, default=6)
    ap.add_argument("--finetune-epochs", type=int, default=25)
    ap.add_argument("--shots", type=int, default=20, help="task-B images per class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])

    def data(train, digits, per_class=None, offset=0):
        return subset(datasets.Digits(train=train, transform=tf), digits, per_class, offset)

    # 1. pre-train on task A and save the weights
    a_train = DataLoader(data(True, range(5)), batch_size=32, shuffle=True)
    a_test = DataLoader(data(False, range(5)), batch_size=256)
    source = Net(classes=5)
    train(source, a_train, optim.Adam(source.parameters(), lr=2e-3), args.pretrain_epochs,
          "pre-train", args.quiet)
    acc_a = accuracy(source, a_test)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "task_a.pt")
        torch.save(source.state_dict(), path)
        state = torch.load(path, map_location="cpu")

    # 2. a new model for task B: load the body, keep the new head (strict=False reports it)
    model = Net(classes=5)
    body = {k: v for k, v in state.items() if k.startswith("body.")}
    missing, unexpected = model.load_state_dict(body, strict=False)
    assert missing == ["head.weight", "head.bias"] and not unexpected
    b_train = DataLoader(data(True, range(5, 10), args.shots, offset=5), batch_size=16,
                         shuffle=True)
    b_test = DataLoader(data(False, range(5, 10), offset=5), batch_size=256)
    acc_b_before = accuracy(model, b_test)

    # 3. freeze the body, then unfreeze its last layer for a gentle second param group
    model.body.requires_grad_(False)
    last = model.body[3]
    last.requires_grad_(True)
    optimizer = optim.SGD([{"params": model.head.parameters(), "lr": 0.1},
                           {"params": last.parameters(), "lr": 0.01}], momentum=0.9)
    frozen = model.body[1].weight.detach().clone()
    train(model, b_train, optimizer, args.finetune_epochs, "fine-tune", args.quiet)
    assert torch.equal(frozen, model.body[1].weight), "a frozen layer changed"
    acc_b = accuracy(model, b_test)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    print(f"task A (0-4) test accuracy {acc_a:.3f}; task B (5-9) from {args.shots} images per "
          f"class: {acc_b_before:.3f} before fine-tuning, {acc_b:.3f} after "
          f"({trainable} of {total} parameters trained)")
    return {"task_a_accuracy": acc_a, "task_b_before": acc_b_before, "task_b_accuracy": acc_b}


if __name__ == "__main__":
    main()
