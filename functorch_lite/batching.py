"""vmap: the batching interpreter. Each primitive's batching rule maps
(axis size, values, batch dims) to (value, batch dim); unbatched values pass through
untouched.
"""

from __future__ import annotations

import functools

import numpy as np

from . import core
from . import tree as tree_util
from .api_util import as_array, fun_name
from .core import ShapedArray, Trace, Tracer, get_aval, new_trace, set_trace
from .ir import ClosedJaxpr, cached_transform
from .primitives.shape import broadcast_in_dim, moveaxis
from .staging import trace_to_jaxpr


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self.owner = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        a = get_aval(self.val)
        shape = a.shape[:self.bdim] + a.shape[self.bdim + 1:]
        return ShapedArray(shape, a.dtype, a.weak_type)

    def to_concrete(self, what, kind):
        raise core.concretization_error(self, what + " on a value batched by vmap", kind)


class BatchTrace(Trace):
    kind = "vmap"

    def __init__(self, parent, fun_name, axis_size):
        super().__init__(parent, fun_name)
        self.axis_size = axis_size

    def lift(self, x):
        if isinstance(x, BatchTracer) and x.owner is self:
            return x.val, x.bdim
        self.check_foreign(x)
        return x, None

    def wrap(self, v, d):
        return v if d is None else BatchTracer(self, v, d)

    def process_primitive(self, prim, args, params):
        vals, dims = [], []
        for x in args:
            v, d = self.lift(x)
            vals.append(v)
            dims.append(d)
        if all(d is None for d in dims):
            with set_trace(self.parent):
                return prim.bind(*vals, **params)
        if prim.batch is None:
            raise NotImplementedError(f"Batching rule for '{prim.name}' not implemented")
        with set_trace(self.parent):
            out, out_dim = prim.batch(self.axis_size, vals, dims, **params)
        if prim.multiple_results:
            return [self.wrap(v, d) for v, d in zip(out, out_dim)]
        return self.wrap(out, out_dim)


def vmap_flat(fun, args, in_dims, size, out_dims=0, fun_name=None):
    """Batch ``fun`` (flat -> flat list) over axis ``in_dims[i]`` of ``args[i]``.

    ``out_dims`` is an int or None (for all outputs), a list, or a callable returning the
    list once ``fun`` has run (for pytree prefixes that need the output structure). A
    ``None`` entry leaves an output unbatched (it must not depend on the batch)."""
    trace = BatchTrace(core.current_trace(), fun_name, size)
    ins = [x if d is None else BatchTracer(trace, x, d) for x, d in zip(args, in_dims)]
    with new_trace(trace):
        outs = fun(*ins)
    if callable(out_dims):
        out_dims = out_dims()
    if isinstance(out_dims, int) or out_dims is None:
        out_dims = [out_dims] * len(outs)
    res = []
    for o, od in zip(outs, out_dims):
        v, d = trace.lift(o)
        res.append(move_batch_axis(v, d, od, size, fun_name))
    return res


def move_batch_axis(v, d, od, size, fun_name):
    """Put the batch axis of ``v`` (at ``d``, or None: unbatched) at ``od``; an unbatched
    value is broadcast to ``size``. ``od=None`` requires ``v`` to be unbatched."""
    if od is None:
        if d is not None:
            raise ValueError(f"vmap of `{fun_name}`: out_axes=None requires an output that does "
                             "not depend on the mapped inputs, but it does (it is batched)")
        return v
    a = get_aval(v)
    if d is None:
        nd = a.ndim + 1
        od = od % nd
        shape = a.shape[:od] + (size,) + a.shape[od:]
        return broadcast_in_dim(v, shape, tuple(i for i in range(nd) if i != od))
    return moveaxis(v, d, od % a.ndim)


def _normalize_axis(ax, ndim, i, fname):
    if ax is None:
        return None
    if not isinstance(ax, (int, np.integer)):
        raise TypeError(f"vmap of `{fname}`: in_axes entries must be int or None, got {ax!r}")
    if not -ndim <= ax < ndim:
        raise ValueError(f"vmap of `{fname}`: in_axes={ax} is out of bounds for argument leaf {i} "
                         f"of rank {ndim}")
    return int(ax) % ndim


def _axis_size(leaves, axes, axis_size, name):
    sizes = {get_aval(x).shape[a] for x, a in zip(leaves, axes) if a is not None}
    if len(sizes) > 1:
        desc = ", ".join(f"arg leaf {i}: axis {a} of shape {get_aval(x).shape}"
                         for i, (x, a) in enumerate(zip(leaves, axes)) if a is not None)
        raise ValueError(f"vmap of `{name}` got inconsistent sizes for the mapped axis: "
                         f"{sorted(sizes)} ({desc})")
    if not sizes and axis_size is None:
        raise ValueError(f"vmap of `{name}`: no argument is mapped (all in_axes are None); "
                         "pass axis_size=")
    size = sizes.pop() if sizes else axis_size
    if axis_size is not None and size != axis_size:
        raise ValueError(f"vmap of `{name}`: axis_size={axis_size} but mapped inputs have "
                         f"size {size}")
    return size


def vmap(fun, in_axes=0, out_axes=0, axis_size: int | None = None):
    """Vectorise ``fun`` over a leading (or chosen) axis of its arguments.

    ``in_axes``: an int, None, or a pytree prefix of the positional arguments (tuple).
    ``out_axes``: likewise for the outputs.

    >>> fl.vmap(fnp.dot, in_axes=(0, None))(np.ones((5, 3)), np.ones(3)).shape  # doctest: +SKIP
    (5,)
    """
    name = fun_name(fun)

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        ia = tuple(in_axes) if isinstance(in_axes, list) else in_axes
        if isinstance(ia, tuple) and len(ia) != len(args):
            raise ValueError(f"vmap of `{name}`: in_axes has {len(ia)} entries but the function "
                             f"got {len(args)} positional arguments")
        leaves, in_tree = tree_util.flatten(args)
        try:
            axes = tree_util.prefix_broadcast(ia, args, "vmap in_axes")
        except ValueError as e:
            raise ValueError(f"vmap of `{name}`: {e}") from None
        # unmapped leaves pass through as given (a Python int stays usable as a static arg)
        leaves = [x if a is None else as_array(x) for x, a in zip(leaves, axes)]
        axes = [None if a is None else _normalize_axis(a, get_aval(x).ndim, i, name)
                for i, (a, x) in enumerate(zip(axes, leaves))]
        size = _axis_size(leaves, axes, axis_size, name)
        store = {}

        def flat(*xs):
            out = fun(*tree_util.unflatten(in_tree, xs), **kwargs)
            ol, store["tree"] = tree_util.flatten(out)
            store["out"] = out
            return [as_array(o) for o in ol]

        def out_dims():
            try:
                return tree_util.prefix_broadcast(out_axes, store["out"], "vmap out_axes")
            except ValueError as e:
                raise ValueError(f"vmap of `{name}`: {e}") from None

        res = vmap_flat(flat, leaves, axes, size, out_dims, name)
        return tree_util.unflatten(store["tree"], res)

    return batched


def batch_jaxpr(closed: ClosedJaxpr, in_dims, size, force_out=True) -> tuple[ClosedJaxpr, list]:
    """The batched form of a program, taking its inputs batched at ``in_dims`` (None:
    unbatched).

    Batched outputs come out at axis 0. ``force_out`` (a bool, or one per output) also
    broadcasts an output that does not depend on the batch; other such outputs stay
    unbatched. Returns (jaxpr, which outputs are batched)."""
    in_dims = tuple(in_dims)
    n_out = len(closed.out_avals)
    force = (bool(force_out),) * n_out if isinstance(force_out, bool) else tuple(
        bool(f) for f in force_out)

    def make():
        avals = [a if d is None else a.update(shape=a.shape[:d] + (size,) + a.shape[d:])
                 for a, d in zip(closed.in_avals, in_dims)]
        holder = {}

        def f(*args):
            trace = BatchTrace(core.current_trace(), None, size)
            ins = [x if d is None else BatchTracer(trace, x, d) for x, d in zip(args, in_dims)]
            with new_trace(trace):
                outs = closed.call(*ins)
            res, batched = [], []
            for o, fo in zip(outs, force):
                v, d = trace.lift(o)
                keep = d is not None or fo
                res.append(move_batch_axis(v, d, 0, size, "a batched program") if keep else v)
                batched.append(keep)
            holder["batched"] = batched
            return res

        return trace_to_jaxpr(f, avals, kind="vmap"), holder["batched"]

    return cached_transform(closed, "batch", (in_dims, size, force), make)
