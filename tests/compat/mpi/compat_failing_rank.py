"""A compat training script in which rank 1 raises while rank 0 waits in a collective: the
job must end (non-zero, with rank 1's traceback) instead of hanging."""

import compat as torch
import compat.distributed as dist

dist.init_process_group("mpi")
t = torch.ones(3)
if dist.get_rank() == 1:
    t = t / 0 + 1 // 0  # ZeroDivisionError on this rank only
dist.all_reduce(t)
print("unreachable on rank", dist.get_rank(), flush=True)
