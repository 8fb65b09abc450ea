"""Collectives and point-to-point messages on pytrees of arrays.

Every function takes a pytree whose leaves are numpy arrays, Arrays, Python scalars or
compat Tensors, leaves its input untouched and returns a new pytree of Arrays. Before
moving data every rank checks (one 16-byte all-reduce) that all ranks make the same call on
the same tree structure, shapes and dtypes: a mismatch raises ``ValueError`` on every rank
instead of mixing unrelated buffers. Reductions travel in per-dtype buckets (``Buckets``);
data that is only moved travels as one byte buffer per call.

>>> from functorch_lite import distributed as dist
>>> dist.init()
>>> dist.all_reduce({"w": np.ones(2, np.float32), "n": 3}, op="sum")
{'n': Array(3), 'w': Array([1., 1.], dtype=float32)}
"""

from __future__ import annotations

import numpy as np

from .. import tree as tree_mod
from ..array import wrap
from . import world
from .buckets import (
    DEFAULT_BUCKET_BYTES,
    Buckets,
    Handle,
    borrow,
    byte_layout,
    check_op,
    give_back,
    host_leaves,
    pack_bytes,
    unpack_bytes,
    wire_dtype,
)

__all__ = ["all_reduce", "iall_reduce", "TreeHandle", "broadcast", "all_gather",
           "reduce_scatter", "send", "recv"]

_plans: dict = {}  # (specs, bucket_bytes) -> Buckets: a training loop repeats one signature


def _flat(name, tree):
    world.require(name)
    leaves, treedef = tree_mod.flatten(tree)
    return host_leaves(name, leaves), treedef


def _plan(arrays, bucket_bytes):
    key = (tuple((a.shape, a.dtype) for a in arrays), bucket_bytes)
    plan = _plans.get(key)
    if plan is None:
        plan = Buckets([k for k in key[0]], bucket_bytes)
        if len(_plans) < 256:
            _plans[key] = plan
    return plan


class TreeHandle:
    """A pytree all-reduce in flight (``iall_reduce``): ``wait()`` returns the reduced
    tree, ``done()`` whether that would not block."""

    def __init__(self, handle: Handle, treedef):
        self.handle, self.treedef = handle, treedef

    def done(self) -> bool:
        return self.handle.done()

    def wait(self):
        """The reduced tree of new Arrays (finishing the reduction if needed)."""
        return tree_mod.unflatten(self.treedef, self.handle.wait())


def iall_reduce(tree, op: str = "sum", *, bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> TreeHandle:
    """Start ``all_reduce`` without blocking; ``.wait()`` on the handle gives the result.
    Other work (the rest of a backward pass) can run meanwhile; every rank must start its
    collectives in the same order.

    >>> dist.init(); h = dist.iall_reduce([np.arange(3.0)], "max"); h.wait()
    [Array([0., 1., 2.])]
    """
    return _reduce(tree, op, bucket_bytes, blocking=False)


def _reduce(tree, op, bucket_bytes, blocking):
    arrays, treedef = _flat("all_reduce", tree)
    check_op("all_reduce", op, [a.dtype for a in arrays])
    world.check_same("all_reduce", f"op={op!r} bucket_bytes={bucket_bytes} "
                     + world.signature(arrays, treedef))
    return TreeHandle(_plan(arrays, bucket_bytes).run(arrays, op, blocking), treedef)


def all_reduce(tree, op: str = "sum", *, bucket_bytes: int = DEFAULT_BUCKET_BYTES):
    """Reduce every leaf elementwise across ranks: ``op`` is ``"sum"``, ``"mean"``,
    ``"max"`` or ``"min"``; every rank gets the result. Leaves are packed into per-dtype
    buckets of at most ``bucket_bytes`` (one MPI all-reduce each), not one message per
    leaf. Float16 is reduced in float32; the mean of integers is refused.

    >>> dist.init(); dist.all_reduce((np.float32(2.0), np.arange(2)), op="mean")
    Traceback (most recent call last):
    TypeError: functorch_lite.distributed.all_reduce: op='mean' of int64 arrays ...
    """
    return _reduce(tree, op, bucket_bytes, blocking=True).wait()


def broadcast(tree, root: int = 0):
    """Every rank gets rank ``root``'s values (the others' arrays only give the shapes and
    dtypes, which must match root's).

    >>> dist.init(); dist.broadcast([1.5, np.zeros((0, 2))], root=0)
    [Array(1.5, dtype=float32), Array([], shape=(0, 2), dtype=float64)]
    """
    arrays, treedef = _flat("broadcast", tree)
    c = world.comm()
    _check_rank("broadcast", "root", root, c.Get_size())
    world.check_same("broadcast", f"root={root} " + world.signature(arrays, treedef))
    specs = [(a.shape, a.dtype) for a in arrays]
    buf = pack_bytes(arrays) if c.Get_rank() == root else borrow(byte_layout(specs)[1])
    try:
        if buf.size and c.Get_size() > 1:
            c.Bcast(buf, root=root)
        return tree_mod.unflatten(treedef, unpack_bytes(buf, specs))
    finally:
        give_back(buf)


def all_gather(tree):
    """Each leaf stacked over the ranks along a new leading axis (``out[r]`` is rank r's),
    as ``jax.lax.all_gather`` in ``pmap``.

    >>> dist.init(); dist.all_gather({"x": np.array([1, 2], np.int32)})
    {'x': Array([[1, 2]], dtype=int32)}
    """
    arrays, treedef = _flat("all_gather", tree)
    c = world.comm()
    world.check_same("all_gather", world.signature(arrays, treedef))
    specs = [(a.shape, a.dtype) for a in arrays]
    mine = pack_bytes(arrays)
    n = c.Get_size()
    out = borrow(n * mine.size)
    try:
        if mine.size:
            c.Allgather(mine, out)
        return tree_mod.unflatten(treedef, unpack_bytes(out, specs, lead=(n,)))
    finally:
        give_back(mine)
        give_back(out)


def reduce_scatter(tree, op: str = "sum"):
    """Reduce across ranks like ``all_reduce``, then rank r keeps only its block of the
    leading axis (rows ``r*k:(r+1)*k`` with ``k = shape[0] // world_size()``), which must
    divide by the number of ranks. One MPI reduce-scatter per dtype.

    >>> dist.init(); dist.reduce_scatter(np.arange(4.0).reshape(2, 2))
    Array([[0., 1.],
           [2., 3.]])
    """
    arrays, treedef = _flat("reduce_scatter", tree)
    c = world.comm()
    n = c.Get_size()
    check_op("reduce_scatter", op, [a.dtype for a in arrays])
    for a in arrays:
        if a.ndim == 0 or a.shape[0] % n:
            raise ValueError(
                f"functorch_lite.distributed.reduce_scatter: a leaf of shape {a.shape} has no "
                f"leading axis that divides into {n} equal blocks (one per rank); pad or "
                "reshape it so that shape[0] is a multiple of world_size()")
    world.check_same("reduce_scatter", f"op={op!r} " + world.signature(arrays, treedef))
    mpi = world.mpi()
    groups: dict = {}
    for i, a in enumerate(arrays):
        groups.setdefault(wire_dtype(a.dtype), []).append(i)
    out: list = [None] * len(arrays)
    for wire, idx in groups.items():
        widths = [arrays[i].size // n for i in idx]
        total = sum(widths)
        # row r of the send buffer is what rank r receives: its block of every leaf
        send_raw, recv_raw = borrow(n * total * wire.itemsize), borrow(total * wire.itemsize)
        send, recv = send_raw.view(wire).reshape(n, total), recv_raw.view(wire)
        pos = 0
        for i, w in zip(idx, widths):
            send[:, pos:pos + w] = arrays[i].reshape(n, w)
            pos += w
        if n == 1:
            recv[...] = send[0]
        elif total:
            c.Reduce_scatter_block(send, recv, op=mpi.MAX if op == "max" else
                                   mpi.MIN if op == "min" else mpi.SUM)
        if op == "mean" and n > 1:
            np.divide(recv, n, out=recv)
        pos = 0
        for i, w in zip(idx, widths):
            a = arrays[i]
            v = recv[pos:pos + w].reshape((a.shape[0] // n,) + a.shape[1:])
            out[i] = wrap(v.astype(a.dtype))  # a copy: recv goes back to the pool
            pos += w
        give_back(send_raw)
        give_back(recv_raw)
    return tree_mod.unflatten(treedef, out)


def send(tree, dest: int, tag: int = 0) -> None:
    """Send a pytree to rank ``dest``, which receives it with ``recv(like, source=...)``
    (``like`` of the same structure, shapes and dtypes). A small header carries the
    signature, then one byte buffer the data; blocks until the data is handed to MPI
    (large messages: until the receiver takes them), so pair each send with a recv.

    >>> if dist.rank() == 0:  # doctest: +SKIP
    ...     dist.send({"h": np.ones((2, 3), np.float32)}, dest=1)
    """
    arrays, treedef = _flat("send", tree)
    c = world.comm()
    _check_peer("send", "dest", dest, c)
    buf = pack_bytes(arrays)
    try:
        c.send((world.signature(arrays, treedef), buf.size), dest=dest, tag=tag)
        c.Send(buf, dest=dest, tag=tag)
    finally:
        give_back(buf)


def recv(like, source: int, tag: int = 0):
    """Receive what rank ``source`` sent with ``send`` (same ``tag``): ``like`` is a pytree
    of arrays or ``fl.ShapeDtypeStruct``s giving the expected structure, shapes and
    dtypes. A different signature raises ``ValueError`` here (after draining the message,
    so the sender never hangs) naming both.

    >>> if dist.rank() == 1:  # doctest: +SKIP
    ...     got = dist.recv({"h": fl.ShapeDtypeStruct((2, 3), np.float32)}, source=0)
    """
    leaves, treedef = tree_mod.flatten(like)
    c = world.comm()
    _check_peer("recv", "source", source, c)
    specs = [(tuple(a.shape), np.dtype(a.dtype)) for a in map(_shaped, leaves)]
    text = world.signature(leaves, treedef)
    theirs, nbytes = c.recv(source=source, tag=tag)
    buf = borrow(nbytes)
    try:
        c.Recv(buf, source=source, tag=tag)
        if theirs == text:
            return tree_mod.unflatten(treedef, unpack_bytes(buf, specs))
    finally:
        give_back(buf)
    raise ValueError(
            f"functorch_lite.distributed.recv: rank {source} sent {theirs} (tag {tag}), but "
            f"this rank ({c.Get_rank()}) expected {text}; give recv a `like` tree of the "
            "sent structure, shapes and dtypes")


def _shaped(x):
    return x if hasattr(x, "shape") and hasattr(x, "dtype") else host_leaves("recv", [x])[0]


def _check_rank(name, what, r, n):
    if not isinstance(r, (int, np.integer)) or not 0 <= r < n:
        raise ValueError(f"functorch_lite.distributed.{name}: {what}={r!r} is not a rank of "
                         f"this job (0..{n - 1})")


def _check_peer(name, what, r, c):
    _check_rank(name, what, r, c.Get_size())
    if r == c.Get_rank():
        raise ValueError(f"functorch_lite.distributed.{name}: {what}={r} is this rank; "
                         "point-to-point messages go to another rank")
