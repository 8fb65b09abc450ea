"""Train an MLP on the handwritten digits, written in the functional style:
parameters are a pytree, the loss is a pure function, and one ``jit``-compiled
step does forward, backward and the Adam update.

    python examples/functional_mlp.py [--epochs 30] [--batch 64] [--hidden 128]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import nn, optim, random
from functorch_lite.datasets import load_digits


def init_mlp(key, sizes):
    """He-initialised weights, zero biases: a list of (w, b) pairs."""
    params = []
    for k, (m, n) in zip(random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append((random.normal(k, (m, n)) * np.sqrt(2.0 / m), fnp.zeros(n)))
    return params


def predict(params, x):
    for w, b in params[:-1]:
        x = nn.relu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def loss_fn(params, x, y):
    return nn.cross_entropy(predict(params, x), y)


def accuracy(params, x, y):
    return float(np.mean(np.argmax(predict(params, x), axis=-1) == y))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    images, labels = load_digits()
    x = (images.reshape(len(images), -1) / 16.0).astype(np.float32)
    perm = np.random.RandomState(args.seed).permutation(len(x))
    x, y = x[perm], labels[perm]
    n_train = 1500
    x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]

    key = random.PRNGKey(args.seed)
    key, init_key = random.split(key)
    params = init_mlp(init_key, [64, args.hidden, args.hidden, 10])
    opt = optim.adam(args.lr)
    state = opt.init(params)

    @fl.jit
    def step(params, state, xb, yb):
        loss, grads = fl.value_and_grad(loss_fn)(params, xb, yb)
        params, state = opt.update(grads, state, params)
        return params, state, loss

    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional
        def tqdm(it, **_):
            return it

    t0 = time.perf_counter()
    for epoch in tqdm(range(args.epochs), desc="epochs"):
        key, sk = random.split(key)
        order = np.asarray(random.permutation(sk, n_train))
        losses = []
        for i in range(0, n_train - args.batch + 1, args.batch):
            idx = order[i:i + args.batch]
            params, state, loss = step(params, state, x_train[idx], y_train[idx])
            losses.append(float(loss))
        if epoch == args.epochs - 1 or epoch % 10 == 0:
            print(f"epoch {epoch:3d}  loss {np.mean(losses):.4f}  "
                  f"test accuracy {accuracy(params, x_test, y_test):.3f}")
    print(f"trained in {time.perf_counter() - t0:.1f}s; step traced {step.trace_count} time(s)")
    return accuracy(params, x_test, y_test)


if __name__ == "__main__":
    main()
