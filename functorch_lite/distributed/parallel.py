"""Data parallelism: each rank computes the loss and gradients of its shard of the batch,
and the gradients are averaged across ranks in buckets.

>>> from functorch_lite import distributed as dist
>>> dist.init()
>>> step = dist.data_parallel(lambda w, b: fnp.mean((b @ w) ** 2))
>>> loss, g = step(np.ones(2, np.float32), dist.shard(np.ones((4, 2), np.float32)))
>>> loss, g
(Array(4., dtype=float32), Array([4., 4.], dtype=float32))
"""

from __future__ import annotations

from collections.abc import Callable

from .. import tree as tree_mod
from ..array import wrap
from ..derivatives import value_and_grad
from ..jit import jit as compile_jit
from . import world
from .buckets import DEFAULT_BUCKET_BYTES, host_leaves
from .collectives import all_reduce

__all__ = ["data_parallel", "shard"]


def data_parallel(loss_fn: Callable, has_aux: bool = False, *,
                  bucket_bytes: int = DEFAULT_BUCKET_BYTES, jit: bool = True) -> Callable:
    """``step(params, batch) -> (loss, grads)`` for a pure ``loss_fn(params, batch)``.

    Each rank runs ``fl.value_and_grad(loss_fn)`` on its own ``batch`` (jit-compiled with
    ``jit=True``; the communication happens after it, outside jit, on concrete arrays),
    then one bucketed all-reduce (``op="mean"``, buckets of ``bucket_bytes``) averages the
    loss and the gradients over the ranks. With ``loss_fn`` a mean over the rank's
    examples and equal shards on every rank (``shard``), the result is the loss and
    gradient of the whole global batch. With ``has_aux``, ``loss_fn`` returns
    ``(loss, aux)``, the step returns ``((loss, aux), grads)`` and ``aux`` stays rank-local.
    Every rank ends the step with the same gradients, so the same optimizer update keeps
    the parameters equal (start them equal: ``broadcast(params, root=0)``).

    >>> dist.init(); step = dist.data_parallel(lambda p, b: (p * b).sum(), jit=False)
    >>> step(np.float32(2.0), np.arange(3, dtype=np.float32))
    (Array(6., dtype=float32), Array(3., dtype=float32))
    """
    vg = value_and_grad(loss_fn, has_aux=has_aux)
    local = compile_jit(vg) if jit else vg

    def step(params, batch):
        world.require("data_parallel")
        out, grads = local(params, batch)
        loss, aux = out if has_aux else (out, None)
        loss, grads = all_reduce((loss, grads), "mean", bucket_bytes=bucket_bytes)
        return ((loss, aux) if has_aux else loss), grads

    step.__name__ = f"data_parallel({getattr(loss_fn, '__name__', 'loss_fn')})"
    return step


def shard(tree):
    """This rank's equal block of every leaf's leading axis (``world_size()`` blocks, in
    rank order): how a global batch is split for ``data_parallel``.

    >>> dist.init(); dist.shard({"x": np.arange(4)})
    {'x': Array([0, 1, 2, 3])}
    """
    n, r = world.world_size(), world.rank()
    leaves, treedef = tree_mod.flatten(tree)
    out = []
    for a in host_leaves("shard", leaves):
        if a.ndim == 0 or a.shape[0] % n:
            raise ValueError(
                f"functorch_lite.distributed.shard: a leaf of shape {a.shape} does not split "
                f"into {n} equal blocks along its leading axis; use a global batch size "
                "that is a multiple of world_size() (or drop the remainder)")
        k = a.shape[0] // n
        out.append(wrap(a[r * k:(r + 1) * k].copy()))
    return tree_mod.unflatten(treedef, out)
