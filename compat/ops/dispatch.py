"""Running an operation on tensors: the eager forward, and the graph node when grad is needed.

An operation (``Op``) is a pure function of arrays written with ``functorch_lite`` (module
level, so it is hashable) and a PyTorch-style node name. ``Op.__call__(*inputs, **params)``
takes tensors, arrays or Python scalars as inputs and hashable static parameters; it runs the
function eagerly on the arrays, wraps the result in tensors, and -- only when grad mode is on
and some input requires grad -- records an ``OpNode`` whose backward is the core's VJP of the
same function. Shape errors from the core (``ValueError``) become PyTorch's
``RuntimeError``, naming the operation and the shapes.

>>> double = Op(lambda x: fnp.multiply(x, 2), "Mul")
>>> double(compat.ones(2, requires_grad=True))
tensor([2., 2.], grad_fn=<MulBackward0>)
"""

from __future__ import annotations

import numpy as np

from functorch_lite.placement import is_gpu

from ..device import device_of
from ..grad_mode import STATE
from ..graph import OpNode, node_class
from ..tensor import Tensor, make_view, own, wrap

NO_EDGE = (None, 0)


def is_differentiable(a) -> bool:
    """Float and complex outputs carry gradients; integer and bool outputs never do."""
    return a.dtype.kind in "fc"


def check_devices(inputs) -> None:
    """PyTorch's error when an operation's tensors live on two devices; a 0-d CPU tensor
    goes with any device (PyTorch treats it as a scalar, and the core copies it over).

    >>> check_devices((compat.ones(2), compat.tensor(3.0)))
    """
    seen = None
    for x in inputs:
        if isinstance(x, Tensor):
            d = device_of(x.array)
            if d.type == "cpu" and x.array.ndim == 0:
                continue
            if seen is None:
                seen = d
            elif d != seen:
                first, second = (seen, d) if seen.type != "cpu" else (d, seen)
                raise RuntimeError("Expected all tensors to be on the same device, but found "
                                   f"at least two devices, {first} and {second}!")


class Op:
    """One operation: ``fn`` (a pure function of arrays and keyword static parameters),
    the node name (``"Add"`` gives ``AddBackward0``), and how its outputs relate to inputs.

    ``multi``: ``fn`` returns a tuple of arrays (``max`` with indices, ``split``).
    ``view``: the outputs are views of input 0 (they share its memory and version counter);
    such an op passes ``view_fn``, computing the same result as a numpy view for concrete
    arrays (the core's functions may copy), while ``fn`` stays the definition for tracing
    and for the VJP.

    >>> Op(fnp.sin, "Sin")(compat.zeros(1))
    tensor([0.])
    """

    __slots__ = ("fn", "node_cls", "name", "multi", "view_fn")

    def __init__(self, fn, name: str, multi: bool = False, view_fn=None):
        self.fn = fn
        self.name = name
        self.node_cls = None  # made on first record: a class per op costs import time
        self.multi = multi
        self.view_fn = view_fn

    def __repr__(self):
        return f"<compat op {self.name}>"

    def forward(self, arrays, params):
        """The eager result on the input arrays (tuple of arrays when ``multi``)."""
        try:
            if self.view_fn is not None and isinstance(arrays[0], np.ndarray):
                return self.view_fn(*arrays, **params) if params else self.view_fn(*arrays)
            return self.fn(*arrays, **params) if params else self.fn(*arrays)
        except ValueError as e:
            raise RuntimeError(f"{self.name.lower()}: {e}" if not str(e).lower().startswith(
                self.name.lower()) else str(e)) from None

    def __call__(self, *inputs, **params):
        arrays = [x.array if isinstance(x, Tensor) else x for x in inputs]
        for a in arrays:
            # a host array is one type test; a GPU array checks that all tensors agree
            if type(a) is not np.ndarray and is_gpu(a):
                check_devices(inputs)
                break
        out = self.forward(arrays, params)
        record = STATE.enabled and any(isinstance(x, Tensor) and x.requires_grad
                                       for x in inputs)
        if self.multi:
            return self.wrap_many(out, inputs, arrays, params, record)
        out = self.own_output(out, arrays)
        if self.view_fn is not None:
            t = make_view(inputs[0], out)
        else:
            t = wrap(out)
        if record and is_differentiable(out):
            t.grad_fn = self.record(inputs, arrays, params)
        return t

    def own_output(self, out, arrays):
        if self.view_fn is not None and isinstance(arrays[0], np.ndarray):
            return out  # a numpy view of input 0 (read-only only where numpy broadcasts)
        out = own(out)
        base = getattr(out, "base", None)
        for a in arrays:  # a result that is (a view of) an input array would alias it: copy
            if out is a or base is a and base is not None:
                return out.copy()
        return out

    def record(self, inputs, arrays, params, diff_outs=None, out_meta=None) -> OpNode:
        """The node for this call: saved inputs with their versions, and the edges."""
        edges, needs, versions = [], [], []
        for i, x in enumerate(inputs):
            if isinstance(x, Tensor):
                e = x.edge()
                edges.append(e)
                needs.append(e[0] is not None)
                versions.append((i, x, x.version[0]))
            else:
                edges.append((None, 0))
                needs.append(False)
        cls = self.node_cls or self.make_node_class()
        return cls(self.fn, tuple(params.items()), tuple(arrays), tuple(needs),
                   tuple(versions), tuple(edges), diff_outs, out_meta)

    def make_node_class(self) -> type:
        self.node_cls = node_class(f"{self.name}Backward0")
        return self.node_cls

    def record_binary(self, x: Tensor, y: Tensor, a, b) -> OpNode:
        """``record`` for two tensor inputs and no parameters (the arithmetic hot path)."""
        g = x.grad_fn
        ex = (g, x.output_nr) if g is not None else (
            (x.accumulator or x.grad_accumulator(), 0) if x.leaf_requires_grad else NO_EDGE)
        g = y.grad_fn
        ey = (g, y.output_nr) if g is not None else (
            (y.accumulator or y.grad_accumulator(), 0) if y.leaf_requires_grad else NO_EDGE)
        cls = self.node_cls or self.make_node_class()
        return cls(self.fn, (), (a, b), (ex[0] is not None, ey[0] is not None),
                   ((0, x, x.version[0]), (1, y, y.version[0])), (ex, ey))

    def wrap_many(self, outs, inputs, arrays, params, record):
        outs = [self.own_output(o, arrays) for o in outs]
        if self.view_fn is not None:
            ts = [make_view(inputs[0], o) for o in outs]
        else:
            ts = [wrap(o) for o in outs]
        if record:
            diff = tuple(i for i, o in enumerate(outs) if is_differentiable(o))
            if diff:
                meta = tuple((outs[i].shape, outs[i].dtype) for i in diff)
                node = self.record(inputs, arrays, params, diff, meta)
                for i in diff:
                    ts[i].grad_fn, ts[i].output_nr = node, i
        return tuple(ts)


def arrays_of(xs) -> list:
    """The arrays of a sequence of tensors (other values pass through)."""
    return [x.array if isinstance(x, Tensor) else x for x in xs]


__all__ = ["Op", "OpNode", "arrays_of", "is_differentiable"]
