"""Per-example gradients with ``jit(vmap(grad(loss)))`` on the handwritten digits, used
for differentially-private-style training: each example's gradient is clipped to a norm
bound before averaging (what DP-SGD does, minus the noise unless --noise is given).

    python examples/per_example_grads.py [--steps 300] [--clip 1.0] [--noise 0.0]
"""

from __future__ import annotations

import argparse

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import nn, random, tree
from functorch_lite.datasets import load_digits


def init(key, sizes):
    ks = random.split(key, len(sizes) - 1)
    return [(random.normal(k, (m, n)) * np.sqrt(2.0 / m), fnp.zeros(n))
            for k, (m, n) in zip(ks, zip(sizes[:-1], sizes[1:]))]


def loss_one(params, x, y):
    """Loss of a single example (x: (64,), y: ()) — vmap adds the batch."""
    h = x
    for w, b in params[:-1]:
        h = nn.relu(h @ w + b)
    w, b = params[-1]
    return nn.cross_entropy((h @ w + b)[None], y[None])


per_example_grads = fl.jit(fl.vmap(fl.grad(loss_one), in_axes=(None, 0, 0)))


@fl.jit
def clipped_mean_grad(params, xb, yb, clip):
    grads = fl.vmap(fl.grad(loss_one), in_axes=(None, 0, 0))(params, xb, yb)
    sq = sum(fnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in tree.leaves(grads))
    scale = fnp.minimum(1.0, clip / (fnp.sqrt(sq) + 1e-12))
    return tree.map(lambda g: fnp.mean(g * scale.reshape((-1,) + (1,) * (g.ndim - 1)), axis=0),
                    grads), fnp.sqrt(sq)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--noise", type=float, default=0.0, help="Gaussian noise multiplier")
    ap.add_argument("--lr", type=float, default=0.5)
    args = ap.parse_args(argv)

    images, labels = load_digits()
    x = (images.reshape(len(images), -1) / 16.0).astype(np.float32)
    x_train, y_train, x_test, y_test = x[:1500], labels[:1500], x[1500:], labels[1500:]
    key = random.PRNGKey(0)
    key, k0 = random.split(key)
    params = init(k0, [64, 64, 10])

    # check: vmap(grad) equals a Python loop of grad on a few examples
    g_v = per_example_grads(params, x_train[:4], y_train[:4])
    for i in range(4):
        g_i = fl.grad(loss_one)(params, x_train[i], y_train[i])
        for a, b in zip(tree.leaves(g_v), tree.leaves(g_i)):
            np.testing.assert_allclose(np.asarray(a)[i], b, rtol=1e-4, atol=1e-6)
    print("per-example gradients match a loop of grad over the batch")

    rng = np.random.RandomState(0)
    for step in range(args.steps):
        idx = rng.randint(0, len(x_train), args.batch)
        g, norms = clipped_mean_grad(params, x_train[idx], y_train[idx], args.clip)
        if args.noise:
            key, nk = random.split(key)
            keys = random.split(nk, len(tree.leaves(g)))
            noisy = [leaf + random.normal(k, leaf.shape) * args.noise * args.clip / args.batch
                     for leaf, k in zip(tree.leaves(g), keys)]
            g = tree.unflatten(tree.structure(g), noisy)
        params = tree.map(lambda p, gr: p - args.lr * gr, params, g)
        if step % 100 == 0 or step == args.steps - 1:
            logits = x_test
            for w, b in params[:-1]:
                logits = np.maximum(logits @ w + b, 0)
            logits = logits @ params[-1][0] + params[-1][1]
            acc = float(np.mean(np.argmax(logits, -1) == y_test))
            print(f"step {step:4d}  median per-example grad norm {np.median(norms):.3f}  "
                  f"test accuracy {acc:.3f}")
    return acc


if __name__ == "__main__":
    main()
