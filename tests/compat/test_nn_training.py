"""PyTorch-tutorial-style training written as a PyTorch user writes it (only the import
changed): an nn.Module MLP on the real Digits data with a DataLoader and a hand-written
SGD step, reaching a real test accuracy; a small CNN whose loss falls; and the same model
trained through functorch_lite's transforms (a Module is a pytree)."""

from __future__ import annotations

import compat as torch
import compat.nn.functional as F
import functorch_lite as fl
from compat import nn
from compat.utils.data import DataLoader
from compat.vision import datasets, transforms


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64, 64)
        self.dropout = nn.Dropout(0.1)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.flatten(x)
        x = F.relu(self.fc1(x))
        return self.fc2(self.dropout(x))


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            pred = model(x).argmax(dim=1)
            correct += (pred == y).sum().item()
            total += y.size(0)
    return correct / total


def test_mlp_on_digits_reaches_real_accuracy():
    torch.manual_seed(0)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train = DataLoader(datasets.Digits(train=True, transform=tf), batch_size=32, shuffle=True)
    test = DataLoader(datasets.Digits(train=False, transform=tf), batch_size=128)
    model = MLP()
    loss_fn = nn.CrossEntropyLoss()
    lr = 0.1
    for _epoch in range(4):
        model.train()
        for x, y in train:
            loss = loss_fn(model(x), y)
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p.data -= lr * p.grad
    assert evaluate(model, test) > 0.9


def test_small_cnn_loss_falls():
    torch.manual_seed(1)
    tf = transforms.ToTensor()
    loader = DataLoader(datasets.Digits(train=True, transform=tf), batch_size=64, shuffle=True)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(64, 10))
    losses = []
    for i, (x, y) in enumerate(loader):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.2 * p.grad
        losses.append(loss.item())
        if i == 19:
            break
    assert sum(losses[-4:]) < 0.9 * sum(losses[:4])
    assert int(model[1].num_batches_tracked) == 20


def test_training_with_fl_grad_over_the_module():
    torch.manual_seed(2)
    data = datasets.Digits(train=True, transform=transforms.ToTensor())
    x = torch.stack([data[i][0] for i in range(256)]).flatten(1)
    y = torch.tensor([data[i][1] for i in range(256)])
    model = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))

    def loss_fn(m, x, y):
        return F.cross_entropy(m(x), y)

    step = fl.jit(fl.value_and_grad(loss_fn))
    first = None
    for _ in range(30):
        loss, grads = step(model, x, y)
        first = float(loss) if first is None else first
        model = fl.tree.map(lambda p, g: p - 0.5 * g, model, grads)
    assert type(model) is nn.Sequential and float(loss) < 0.6 * first
