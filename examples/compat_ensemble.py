"""An ensemble evaluated in one batched call: several small classifiers are trained with
different seeds, their parameters stacked with ``compat.func.stack_module_state``, and
``compat.func.vmap`` over ``functional_call`` runs all members at once (the torch.func
model-ensembling recipe). The ensemble averages the members' probabilities.

    python examples/compat_ensemble.py [--members 5] [--epochs 4]
"""

from __future__ import annotations

import argparse
import copy

from tqdm import tqdm

import compat as torch
import compat.nn.functional as F
from compat import nn, optim
from compat.func import functional_call, stack_module_state, vmap
from compat.utils.data import DataLoader
from compat.vision import datasets, transforms


def make_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def train_member(seed, loader, epochs):
    torch.manual_seed(seed)
    model = make_model()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    return model.eval()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    torch.manual_seed(0)
    train_loader = DataLoader(datasets.Digits(train=True, transform=tf), batch_size=32,
                              shuffle=True)
    test = datasets.Digits(train=False, transform=tf)
    x_test, y_test = next(iter(DataLoader(test, batch_size=len(test))))

    models = [train_member(seed, train_loader, args.epochs)
              for seed in tqdm(range(args.members), desc="members", disable=args.quiet)]

    # one functional model, parameters as a stacked (members, ...) leading dimension
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0])

    def member(p, b, x):
        return functional_call(base, (p, b), (x,))

    with torch.no_grad():
        logits = vmap(member, in_dims=(0, 0, None))(params, buffers, x_test)  # (M, N, 10)
        looped = torch.stack([m(x_test) for m in models])
    assert torch.allclose(logits, looped, atol=1e-5), "vmap disagrees with the loop"
    member_acc = (logits.argmax(-1) == y_test).float().mean(1)
    ensemble_acc = (logits.softmax(-1).mean(0).argmax(-1) == y_test).float().mean().item()
    print("member test accuracies " + " ".join(f"{a:.3f}" for a in member_acc.tolist())
          + f"; ensemble {ensemble_acc:.3f}")
    return {"member_accuracy": member_acc.tolist(), "ensemble_accuracy": ensemble_acc}


if __name__ == "__main__":
    main()
