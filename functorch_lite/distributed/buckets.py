"""Flat buffers for collectives: leaves become numpy arrays on the host, reductions run on
a few large per-dtype buckets (``Buckets``, one MPI all-reduce each, blocking or not), and
data that is only moved (broadcast, gather, send) travels as one byte buffer.

>>> from functorch_lite import distributed as dist
>>> dist.init()
>>> plan = dist.Buckets([((3,), "float32"), ((), "int64"), ((2, 2), "float32")])
>>> [(b.dtype.name, b.leaves) for b in plan.buckets]
[('float32', [0, 2]), ('int64', [1])]
>>> plan.all_reduce([np.ones(3, np.float32), 7, np.eye(2, dtype=np.float32)])[1]
Array(7)
"""

from __future__ import annotations

import numpy as np

from ..api_util import as_array
from ..array import plain, wrap
from ..core import ShapeDtypeStruct, Tracer, get_aval
from ..placement import is_gpu
from . import world

__all__ = ["DEFAULT_BUCKET_BYTES", "OPS", "Buckets", "Bucket", "Handle", "host_leaves",
           "wire_dtype", "check_op", "pack_bytes", "unpack_bytes", "byte_layout", "borrow",
           "give_back"]

# PyTorch DDP's default bucket_cap_mb (25 MiB): large enough that a message's fixed cost
# is negligible, small enough that the first buckets can travel while later ones fill
DEFAULT_BUCKET_BYTES = 25 * 2 ** 20
OPS = ("sum", "mean", "max", "min")
_ALIGN = 16  # byte offsets of leaves in a byte buffer, so that views are aligned


def host_leaves(name: str, leaves) -> list:
    """Leaves (numpy arrays, Arrays, Python scalars, compat Tensors, GPU arrays) as plain
    numpy arrays on the host; a traced value is refused, since a collective needs the data.

    >>> host_leaves("all_reduce", [1.0, np.arange(2)])
    [array(1., dtype=float32), array([0, 1])]
    """
    out = []
    for x in leaves:
        if isinstance(x, Tracer):
            raise TypeError(
                f"functorch_lite.distributed.{name}: got a traced value ({x.aval}); "
                "collectives exchange concrete data, so call them outside jit/grad/vmap "
                "(data_parallel all-reduces the gradients after its jitted step)")
        x = as_array(x)
        if is_gpu(x):
            x = x.get()
        out.append(plain(np.asarray(x)))
    return out


def wire_dtype(dtype) -> np.dtype:
    """The dtype a leaf is reduced in: its own, except float16 (summed in float32, which
    every MPI library supports) and bool (uint8, for max/min).

    >>> wire_dtype(np.float16), wire_dtype(np.int32)
    (dtype('float32'), dtype('int32'))
    """
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    return dtype


def check_op(name: str, op: str, dtypes) -> None:
    """Refuse an unknown op, and ops that have no meaning for a dtype present (the mean of
    integers, the sum of booleans).

    >>> check_op("all_reduce", "mean", [np.dtype("int32")])
    Traceback (most recent call last):
    TypeError: functorch_lite.distributed.all_reduce: op='mean' of int32 arrays ...
    """
    if op not in OPS:
        raise ValueError(f"functorch_lite.distributed.{name}: op={op!r}; use one of "
                         f"{', '.join(map(repr, OPS))}")
    for d in dtypes:
        d = np.dtype(d)
        if op == "mean" and d.kind in "iub":
            raise TypeError(
                f"functorch_lite.distributed.{name}: op='mean' of {d.name} arrays would not "
                "be an integer; reduce with op='sum' and divide by world_size() (or cast "
                "to a float dtype first)")
        if op == "sum" and d.kind == "b":
            raise TypeError(
                f"functorch_lite.distributed.{name}: op='sum' of bool arrays; use op='max' "
                "(any rank) or op='min' (every rank), or cast to an integer dtype")
        if d.kind not in "biufc":
            raise TypeError(f"functorch_lite.distributed.{name}: cannot reduce {d.name} "
                            "arrays; use a numeric dtype")


class Bucket:
    """One flat buffer of a single wire dtype holding the leaves ``leaves`` (indices into
    the plan's specs) at element ``offsets``; ``size`` elements in all."""

    def __init__(self, dtype, leaves, offsets, size, specs):
        self.dtype, self.leaves, self.offsets, self.size = dtype, leaves, offsets, size
        self.specs = specs  # (shape, dtype) of each leaf of this bucket

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def start(self, arrays, op: str = "sum") -> Handle:
        """Start a non-blocking all-reduce of this bucket's leaves (``arrays``, in the
        order of ``leaves``); ``.wait()`` on the result gives them reduced, as new arrays.
        Every rank must start the same buckets in the same order."""
        c = world.require("Bucket.start")
        return Handle([self.begin(arrays, op, blocking=False)], c.Get_size())

    def begin(self, arrays, op: str, blocking: bool):
        """Pack ``arrays`` and reduce them (``blocking``: now, with MPI's blocking
        all-reduce, which MPI libraries tune further than the non-blocking one); the part
        of a ``Handle`` that finishes it."""
        c = world.require("Bucket.start")
        check_op("Bucket.start", op, [d for _, d in self.specs])
        arrays = host_leaves("Bucket.start", arrays)
        if len(arrays) != len(self.specs):
            raise ValueError(f"functorch_lite.distributed.Bucket.start: {len(arrays)} arrays "
                             f"for a bucket of {len(self.specs)} leaves")
        raw = borrow(self.nbytes)
        buf = raw.view(self.dtype)
        for a, (shape, dtype), off in zip(arrays, self.specs, self.offsets):
            if a.shape != shape or a.dtype != dtype:
                give_back(raw)
                raise ValueError(
                    f"functorch_lite.distributed.Bucket.start: got a {a.dtype.name}"
                    f"{list(a.shape)} array where the plan has {dtype.name}{list(shape)}; "
                    "make a new Buckets plan when the arrays change")
            buf[off:off + a.size] = a.reshape(-1)
        mpi = world.mpi()
        req = None
        if self.size and c.Get_size() > 1:
            mop = mpi.MAX if op == "max" else mpi.MIN if op == "min" else mpi.SUM
            if blocking:
                c.Allreduce(mpi.IN_PLACE, buf, op=mop)
            else:
                req = c.Iallreduce(mpi.IN_PLACE, buf, op=mop)
        return self, raw, req, op


class Handle:
    """An all-reduce in flight: ``wait()`` finishes it and returns the reduced leaves as a
    list of new Arrays (in the order the caller gave them)."""

    def __init__(self, parts, n, order=None):
        # order: the caller's index of each leaf in bucket order (None: already in order)
        self.parts, self.n, self.order, self.result = parts, n, order, None

    def done(self) -> bool:
        """Whether ``wait()`` would return without blocking (also drives MPI's progress)."""
        return self.result is not None or all(r is None or r.Test() for _, _, r, _ in self.parts)

    def wait(self) -> list:
        """The reduced leaves (new Arrays); waits for MPI only the first time."""
        if self.result is None:
            mpi = world.mpi()
            reqs = [r for _, _, r, _ in self.parts if r is not None]
            if reqs:
                mpi.Request.Waitall(reqs)
            self.result = []
            for bucket, raw, _, op in self.parts:
                buf = raw.view(bucket.dtype)
                # the results are a copy (fused with the mean's division): the pooled
                # buffer goes back for the next call
                buf = np.divide(buf, self.n) if op == "mean" and self.n > 1 else buf.copy()
                give_back(raw)
                for (shape, dtype), off in zip(bucket.specs, bucket.offsets):
                    n = int(np.prod(shape, dtype=np.int64))
                    v = buf[off:off + n].reshape(shape)
                    self.result.append(wrap(v if v.dtype == dtype else v.astype(dtype)))
            if self.order is not None:
                flat, self.result = self.result, [None] * len(self.result)
                for i, v in zip(self.order, flat):
                    self.result[i] = v
        return self.result


class Buckets:
    """A plan packing leaves of the given specs (``(shape, dtype)`` pairs, or arrays /
    ``ShapeDtypeStruct``s) into per-dtype buckets of at most ``bucket_bytes`` each (a leaf
    larger than that gets a bucket of its own); leaves keep the order given within their
    dtype, so a caller that fills buckets in backward order lists the leaves reversed.

    ``all_reduce(arrays, op)`` reduces a list of arrays of those specs with one MPI
    all-reduce per bucket; ``start(arrays, op)`` does it without blocking (a ``Handle``);
    ``buckets[i].start(...)`` starts one bucket as soon as its leaves are ready. The plan
    itself is local: ``check()`` (collective) verifies that every rank made the same one.

    >>> dist.init(); plan = dist.Buckets([np.zeros(4, np.float32)] * 3, bucket_bytes=32)
    >>> [b.leaves for b in plan.buckets]
    [[0, 1], [2]]
    >>> plan.start([np.ones(4, np.float32)] * 3, "mean").wait()[2]
    Array([1., 1., 1., 1.], dtype=float32)
    """

    def __init__(self, specs, bucket_bytes: int = DEFAULT_BUCKET_BYTES):
        if bucket_bytes <= 0:
            raise ValueError(f"functorch_lite.distributed.Buckets: bucket_bytes={bucket_bytes}"
                             "; give a positive size in bytes (default 25 MiB)")
        self.specs = [_spec(s) for s in specs]
        self.bucket_bytes = int(bucket_bytes)
        groups: dict = {}
        for i, (_, dtype) in enumerate(self.specs):
            groups.setdefault(wire_dtype(dtype), []).append(i)
        self.buckets: list[Bucket] = []
        for wire, idx in groups.items():
            cur: list = []
            size = 0
            for i in idx:
                n = int(np.prod(self.specs[i][0], dtype=np.int64))
                if cur and (size + n) * wire.itemsize > self.bucket_bytes:
                    self._close(wire, cur)
                    cur, size = [], 0
                cur.append(i)
                size += n
            if cur:
                self._close(wire, cur)

    def _close(self, wire, idx):
        offsets, size = [], 0
        for i in idx:
            offsets.append(size)
            size += int(np.prod(self.specs[i][0], dtype=np.int64))
        self.buckets.append(Bucket(wire, idx, offsets, size, [self.specs[i] for i in idx]))

    def signature(self) -> str:
        """The plan's specs as ``check_same`` compares them."""
        return world.signature([ShapeDtypeStruct(s, d) for s, d in self.specs])

    def check(self, name: str = "Buckets.check") -> None:
        """Collective: ``ValueError`` on every rank unless all ranks planned the same
        specs (call it once after making the plan, before the first ``start``)."""
        world.check_same(name, f"{self.signature()} in buckets of {self.bucket_bytes} bytes")

    def start(self, arrays, op: str = "sum") -> Handle:
        """Start the all-reduce of every bucket without blocking."""
        return self.run(arrays, op, blocking=False)

    def all_reduce(self, arrays, op: str = "sum") -> list:
        """The reduced arrays, as new Arrays in the order of the specs."""
        return self.run(arrays, op, blocking=True).wait()

    def run(self, arrays, op: str, blocking: bool) -> Handle:
        """Reduce every bucket, blocking (``all_reduce``) or not (``start``)."""
        arrays = list(arrays)
        if len(arrays) != len(self.specs):
            raise ValueError(f"functorch_lite.distributed.Buckets: {len(arrays)} arrays "
                             f"for a plan of {len(self.specs)} leaves")
        parts, order = [], []
        for b in self.buckets:
            parts.append(b.begin([arrays[i] for i in b.leaves], op, blocking))
            order += b.leaves
        return Handle(parts, world.world_size(), order)


def _spec(s):
    if isinstance(s, tuple) and len(s) == 2 and not hasattr(s, "shape"):
        return tuple(int(d) for d in s[0]), np.dtype(s[1])
    a = s if hasattr(s, "shape") and hasattr(s, "dtype") else get_aval(s)
    return tuple(int(d) for d in a.shape), np.dtype(a.dtype)


# ------------------------------------------------------------------ byte buffers

# MPI libraries prepare a buffer the first time they see it (registration, mappings for
# single-copy transfers), which for a fresh multi-megabyte buffer costs several times the
# transfer (W3's 2.7 MB gradient all-reduce: 1.8 ms fresh, 0.3 ms reused), so buffers are
# pooled by size: a training loop repeats a few sizes. Results are always copied out.
_pool: dict = {}
_POOL_BYTES = 512 * 2 ** 20
_pooled = [0]


def borrow(nbytes: int) -> np.ndarray:
    """A uint8 buffer of ``nbytes`` (reused when one is free); ``give_back`` it after use.

    >>> give_back(borrow(64)); borrow(64).nbytes
    64
    """
    free = _pool.get(nbytes)
    if free:
        _pooled[0] -= nbytes
        return free.pop()
    return np.empty(nbytes, np.uint8)


def give_back(buf: np.ndarray) -> None:
    """Return a ``borrow``ed buffer to the pool (at most two per size, 512 MiB in all)."""
    free = _pool.setdefault(buf.nbytes, [])
    if len(free) < 2 and _pooled[0] + buf.nbytes <= _POOL_BYTES:
        free.append(buf)
        _pooled[0] += buf.nbytes


def byte_layout(specs) -> tuple[list, int]:
    """Byte offsets of leaves of the given ``(shape, dtype)`` specs in one buffer (each
    aligned to 16 bytes) and its total size.

    >>> byte_layout([((3,), np.dtype("float32")), ((), np.dtype("int64"))])
    ([0, 16], 32)
    """
    offsets, pos = [], 0
    for shape, dtype in specs:
        pos = -(-pos // _ALIGN) * _ALIGN
        offsets.append(pos)
        pos += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    # rounded up, so that in a row of such buffers (all_gather) each starts aligned
    return offsets, -(-pos // _ALIGN) * _ALIGN


def pack_bytes(arrays) -> np.ndarray:
    """Host arrays copied into one ``borrow``ed uint8 buffer (``byte_layout`` of their
    specs); ``give_back`` it after use."""
    offsets, total = byte_layout([(a.shape, a.dtype) for a in arrays])
    buf = borrow(total)
    for a, off in zip(arrays, offsets):
        buf[off:off + a.nbytes] = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    return buf


def unpack_bytes(buf: np.ndarray, specs, lead: tuple = ()) -> list:
    """New Arrays of the given specs read from ``buf`` (a ``byte_layout`` buffer, or with
    ``lead=(n,)`` n such buffers one after another, giving arrays stacked along a new
    leading axis)."""
    offsets, total = byte_layout(specs)
    rows = buf.reshape(lead + (total,)) if lead else buf
    out = []
    for (shape, dtype), off in zip(specs, offsets):
        n = int(np.prod(shape, dtype=np.int64))
        part = rows[..., off:off + n * dtype.itemsize].copy()  # buf is a pooled buffer
        out.append(wrap(part.view(dtype).reshape(lead + tuple(shape))))
    return out
