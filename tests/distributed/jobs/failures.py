"""Run on 2+ ranks: mismatches are reported on every rank (and the job goes on after they
are caught), then rank 1 raises: the job must end non-zero with rank 1's traceback."""

from __future__ import annotations

import numpy as np

from functorch_lite import distributed as dist

dist.init()
R, N = dist.rank(), dist.world_size()


def expect_value_error(fn, *words):
    try:
        fn()
    except ValueError as e:
        for w in words:
            assert w in str(e), (w, str(e))
        print(f"rank {R} caught: {e}", flush=True)
    else:
        raise AssertionError(f"no ValueError; expected one mentioning {words}")


# shapes differ: every rank raises and names its own shapes and the other rank's
expect_value_error(lambda: dist.all_reduce({"w": np.zeros((2, R + 1), np.float32)}),
                   "all_reduce", f"This rank ({R})", f"{{'w': *}} [(2, {R + 1}) float32]",
                   "rank 1 called" if R == 0 else "rank 0 called")
# dtypes differ
expect_value_error(lambda: dist.all_gather(np.zeros(3, np.float32 if R else np.float64)),
                   "all_gather", "float64", "float32")
# different collectives on different ranks
expect_value_error(lambda: dist.broadcast(np.ones(2)) if R == 0 else dist.barrier(),
                   "broadcast", "barrier")
# a recv whose `like` does not match the message: the receiver raises, the sender goes on
if R == 0:
    dist.send({"x": np.zeros((400, 500), np.float32)}, 1, tag=5)
elif R == 1:
    expect_value_error(lambda: dist.recv({"x": np.zeros((400, 501), np.float32)}, 0, tag=5),
                       "recv", "rank 0 sent {'x': *} [(400, 500) float32]", "(400, 501)")
# still in step after the caught errors
total = dist.all_reduce(np.float32(1.0))
assert total == N, total
print(f"rank {R} in step", flush=True)
if R == 1:
    raise RuntimeError("rank one fails on purpose")
dist.barrier()  # the others wait here for a rank that never comes: the abort ends them
print(f"rank {R} passed the barrier: the job should have been aborted", flush=True)
