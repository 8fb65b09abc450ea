"""A LeNet-style convolutional network trained with data augmentation: random rotations
and shifted crops from ``compat.vision.transforms`` applied per sample by the
``DataLoader``, SGD with Nesterov momentum and a step learning-rate schedule.

    python examples/compat_lenet.py [--epochs 8] [--batch-size 64]

Data: ``compat.vision.datasets.Digits`` (8x8 images, padded to 12x12 so two 3x3
convolutions and two 2x2 poolings fit).
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


class LeNet(nn.Module):
    """conv(3x3) -> ReLU -> max-pool, twice, then two fully connected layers."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 3 * 3, 64)
        self.fc2 = nn.Linear(64, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def accuracy(model, loader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += len(labels)
    return correct / total


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--limit", type=int, default=None, help="use only this many training images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    normalize = transforms.Normalize((0.3,), (0.35,))
    augment = transforms.Compose([
        transforms.RandomRotation(10),
        transforms.RandomCrop(12, padding=3),   # 8x8 padded to 14x14, a random 12x12 window
        transforms.ToTensor(),
        normalize,
    ])
    # the test images are only padded: a 12x12 crop of the 12x12 padded image is the image
    plain = transforms.Compose([transforms.RandomCrop(12, padding=2), transforms.ToTensor(),
                                normalize])
    train_set = datasets.Digits(train=True, transform=augment)
    if args.limit:
        train_set = torch.utils.data.Subset(train_set, range(args.limit))
    test_set = datasets.Digits(train=False, transform=plain)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)

    model = LeNet()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=1e-4)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=max(1, args.epochs // 2),
                                          gamma=0.3)
    criterion = nn.CrossEntropyLoss()
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
            bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{scheduler.get_last_lr()[0]:.3g}")
        scheduler.step()
    seconds = time.perf_counter() - start
    test_acc = accuracy(model, test_loader)
    print(f"test accuracy {test_acc:.3f}  ({args.epochs} epochs in {seconds:.1f} s)")
    return {"test_accuracy": test_acc, "seconds": seconds}


if __name__ == "__main__":
    main()
