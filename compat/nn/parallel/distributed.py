"""``DistributedDataParallel``: one replica of a module per MPI rank, kept identical by
averaging gradients across ranks during ``backward()``.

Construction broadcasts rank 0's parameters and buffers. The gradients of the parameters
that require grad are planned into ``functorch_lite.distributed.Buckets`` (about
``bucket_cap_mb`` each, one dtype per bucket) in reverse registration order -- roughly the
order backward produces them. Each parameter's post-accumulate-grad hook marks it ready;
when every gradient of the next bucket in line is ready, that bucket starts its
non-blocking all-reduce (average) while the backward pass goes on. Buckets always start in
the same order on every rank (a bucket waits for the ones before it), so the collectives
line up. A callback queued on the backward pass starts the buckets still waiting (a
parameter the graph did not reach contributes zeros), waits for all and writes the
averages into ``.grad``.

How much communication overlaps computation depends on the MPI library progressing a
non-blocking all-reduce while Python computes: Open MPI progresses it inside MPI calls, so
each gradient's hook tests the all-reduces in flight (one cheap MPI call each), which
moves them forward between the backward pass's operations; the rest happens in the final
wait. The packing and the launch order are PyTorch's either way.

The plan's last leaf holds one flag per parameter (1 where this rank has a gradient; it
travels in the last bucket of its dtype, which starts at the end of backward anyway): a
parameter that no rank's graph reached keeps ``grad = None`` (as single-process training
on the whole batch would leave it), one that some rank reached gets the average over all
ranks, counting zeros for the others. Results need no ``find_unused_parameters``; what it buys is
overlap: a parameter the graph does not reach never reports ready, so its bucket (and every
bucket after it) waits for the end of backward, unless ``find_unused_parameters=True``
walks each forward's graph and counts the unreached ones as ready at once (as PyTorch).

>>> import compat as torch
>>> torch.distributed.init_process_group("mpi")
>>> model = DistributedDataParallel(torch.nn.Linear(3, 1))
>>> model(torch.ones(2, 3)).sum().backward()
>>> model.module.weight.grad
tensor([[2., 2., 2.]])
>>> torch.distributed.destroy_process_group()
"""

from __future__ import annotations

import contextlib

import numpy as np

import functorch_lite.distributed as fld

from ... import distributed as dist
from ...autograd.engine import queue_callback, topological_order
from ...grad_mode import is_grad_enabled, no_grad
from ...ops.inplace import assign
from ...tensor import AccumulateGrad, Tensor, own, wrap
from ..module import Module


class DistributedDataParallel(Module):
    """Data-parallel training over the ranks of ``compat.distributed`` (PyTorch's DDP).

    Args:
        module: the model (the same architecture on every rank); reachable as ``.module``.
        device_ids, output_device, dim: accepted for PyTorch's signature (one device per
            process; inputs are not scattered).
        broadcast_buffers: broadcast rank 0's buffers (BatchNorm statistics) at each forward.
        process_group: ``None`` (the default group; the only one there is).
        bucket_cap_mb: the size of a gradient bucket in MiB.
        find_unused_parameters: walk each forward's graph so that buckets holding
            parameters it does not use can start during backward (see the module docstring;
            results are the same either way).
        gradient_as_bucket_view, static_graph: accepted for PyTorch's signature.

    Use ``no_sync()`` to accumulate gradients locally over several backward passes; the
    first backward after it averages the accumulated gradients.

    >>> import compat as torch
    >>> torch.distributed.init_process_group("mpi")
    >>> ddp = DistributedDataParallel(torch.nn.Linear(2, 2))
    >>> list(ddp.state_dict())
    ['module.weight', 'module.bias']
    >>> torch.distributed.destroy_process_group()
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float | None = 25, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, **kwargs):
        super().__init__()
        dist.check_group("DistributedDataParallel", process_group)
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.world_size = dist.get_world_size()
        with no_grad():
            dist.broadcast_coalesced(list(module.parameters()) + list(module.buffers()), 0)
        # leaf i of the plan is the gradient of params[i]; the last leaf the has-grad flags
        params = self.grad_params = [p for p in reversed(list(module.parameters()))
                                     if p.requires_grad]
        specs = [(tuple(p.shape), p.array.dtype) for p in params]
        flag_dtype = params[-1].array.dtype if params else np.dtype(np.float32)
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2**20)
        self.plan = fld.Buckets(specs + [((len(params),), flag_dtype)], cap)
        self.plan.check("DistributedDataParallel")
        self.bucket_of = [0] * (len(params) + 1)
        for i, b in enumerate(self.plan.buckets):
            for leaf in b.leaves:
                self.bucket_of[leaf] = i
        self.index_of = {id(p): i for i, p in enumerate(params)}
        self.missing = [0] * len(self.plan.buckets)  # gradients each bucket still waits for
        self.handles: list = []       # the started buckets' all-reduces, in bucket order
        self.sync_pending = False     # the last forward's backward must average gradients
        self.finish_queued = False
        self.reset()
        self.hook_handles = [p.register_post_accumulate_grad_hook(self.grad_ready)
                             for p in params]

    def reset_missing(self) -> None:
        # the flags leaf is never marked ready: its bucket waits for the end of backward
        self.missing = [len(b.leaves) for b in self.plan.buckets]

    def reset(self) -> None:
        """Ready for the next synchronised backward."""
        self.reset_missing()
        self.handles = []
        self.sync_pending = self.finish_queued = False

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self.world_size > 1:
            buffers = list(self.module.buffers())
            if buffers:
                with no_grad():
                    dist.broadcast_coalesced(buffers, 0)
        self.sync_pending = is_grad_enabled() and self.require_backward_grad_sync
        out = self.module(*inputs, **kwargs)
        if self.sync_pending:
            self.reset_missing()
            if self.find_unused_parameters:
                self.mark_unreached(out)
        return out

    def mark_unreached(self, out) -> None:
        """Count the parameters this forward's graph does not reach as ready now, so their
        buckets need not wait for the end of backward (PyTorch's find_unused_parameters:
        one walk of the graph per forward)."""
        roots = [t.grad_fn for t in tensors_in(out) if t.grad_fn is not None]
        reached = {id(node.variable) for node in topological_order(roots)
                   if isinstance(node, AccumulateGrad)}
        for i, p in enumerate(self.grad_params):
            if id(p) not in reached:
                self.missing[self.bucket_of[i]] -= 1

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward passes (of forwards run inside) only accumulate gradients
        locally; the first synchronised backward after it averages the sums.

        >>> import compat as torch
        >>> torch.distributed.init_process_group("mpi")
        >>> ddp = DistributedDataParallel(torch.nn.Linear(1, 1, bias=False))
        >>> with ddp.no_sync():
        ...     ddp(torch.ones(1, 1)).sum().backward()
        >>> ddp(torch.ones(1, 1)).sum().backward(); ddp.module.weight.grad
        tensor([[2.]])
        >>> torch.distributed.destroy_process_group()
        """
        prev = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = prev

    # -- during backward --------------------------------------------------------------------
    def grad_ready(self, param: Tensor) -> None:
        """A parameter's gradient is final for this pass: start every bucket now full."""
        if not self.sync_pending:
            return
        if not self.finish_queued:
            self.finish_queued = True
            queue_callback(self.finish)
        self.missing[self.bucket_of[self.index_of[id(param)]]] -= 1
        self.start_ready()
        # Open MPI moves a non-blocking all-reduce forward only inside MPI calls: testing
        # the ones in flight at each gradient lets them progress during backward
        for handle in self.handles:
            handle.done()

    def start_ready(self) -> None:
        """Start the buckets in line whose gradients are all there (in bucket order)."""
        buckets = self.plan.buckets
        while len(self.handles) < len(buckets) and self.missing[len(self.handles)] <= 0:
            self.handles.append(self.start(buckets[len(self.handles)]))

    def start(self, bucket):
        """Start averaging a bucket: each parameter's gradient (zeros where it has none),
        and the has-gradient flags where the bucket holds them."""
        params = self.grad_params
        arrays = []
        for leaf in bucket.leaves:
            if leaf == len(params):
                arrays.append(np.array([p.grad is not None for p in params],
                                       bucket.specs[-1][1]))
                continue
            g = params[leaf].grad
            arrays.append(np.zeros(params[leaf].shape, params[leaf].array.dtype) if g is None
                          else g.numpy_array())
        return bucket.start(arrays, "mean")

    def finish(self) -> None:
        """After the graph walk: start the buckets left, wait for all, write the averages
        into ``.grad``."""
        self.missing = [0] * len(self.missing)
        self.start_ready()
        params = self.grad_params
        results: list = [None] * (len(params) + 1)
        for bucket, handle in zip(self.plan.buckets, self.handles):
            for leaf, value in zip(bucket.leaves, handle.wait()):
                results[leaf] = value
        flags = results[-1]
        with no_grad():
            for p, g, used in zip(params, results, flags):
                if used <= 0:
                    continue  # no rank has a gradient: it stays None, as on one process
                if p.grad is None:
                    p.grad = wrap(own(g))
                else:
                    assign(p.grad, wrap(own(g)))
        self.reset()


def tensors_in(out) -> list:
    """The tensors in a forward's output (a tensor, or tuples/lists/dicts of them)."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in tensors_in(o)]
    return []
