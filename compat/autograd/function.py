"""``autograd.Function``: operations whose backward the user writes (PyTorch's extension
API), plus ``Variable`` and the anomaly-mode switches old scripts call.

The user's ``backward`` is their own formula for their own operation; compat's built-in
operations never use this path (their gradients are the core's).

>>> class Square(compat.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return 2 * x * g
>>> x = compat.tensor([3.0], requires_grad=True)
>>> Square.apply(x).backward(); x.grad
tensor([6.])
"""

from __future__ import annotations

import numpy as np

from ..grad_mode import STATE, no_grad
from ..graph import FREED_MESSAGE, Node
from ..tensor import Tensor, own, wrap


class FunctionCtx:
    """The ``ctx`` of a custom Function: what forward saves for backward."""

    def __init__(self):
        self.to_save = ()
        self.saved_versions = ()
        self.needs_input_grad = ()
        self.non_differentiable = set()
        self.dirty = set()
        self.materialize_grads = True
        self.freed = False

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` for backward (checked against in-place changes)."""
        self.to_save = tensors
        self.saved_versions = tuple(t.version[0] if isinstance(t, Tensor) else None
                                    for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self.freed:
            raise RuntimeError(FREED_MESSAGE)
        for t, v in zip(self.to_save, self.saved_versions):
            if isinstance(t, Tensor) and t.version[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.type()} {list(t.shape)}] is at version "
                    f"{t.version[0]}; expected version {v} instead.")
        return tuple(self.to_save)

    def mark_non_differentiable(self, *tensors) -> None:
        self.non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self.dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class FunctionNode(Node):
    """The graph node of one call of a custom Function: runs the user's ``backward``."""

    __slots__ = ("function", "ctx", "out_meta")

    def __init__(self, function, ctx, next_functions, out_meta):
        super().__init__(next_functions)
        self.function, self.ctx, self.out_meta = function, ctx, out_meta

    def num_outputs(self) -> int:
        return len(self.out_meta)

    def apply(self, grads):
        ctx = self.ctx
        gs = []
        for g, (shape, dtype) in zip(grads, self.out_meta):
            if g is None:
                gs.append(wrap(np.zeros(shape, dtype)) if ctx.materialize_grads else None)
            else:
                gs.append(g if isinstance(g, Tensor) else wrap(own(np.array(g))))
        res = self.function.backward(ctx, *gs)
        res = res if isinstance(res, tuple) else (res,)
        if len(res) < len(self.next_functions):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {len(self.next_functions)}, got "
                               f"{len(res)})")
        out = []
        for r, (nxt, _) in zip(res, self.next_functions):
            if nxt is None or r is None:
                out.append(None)
            elif STATE.enabled:  # create_graph: keep tensors so the graph continues
                out.append(r)
            else:
                out.append(r.array if isinstance(r, Tensor) else np.asarray(r))
        return out

    def release(self):
        self.ctx.freed = True


class Function:
    """Base class of operations with a user-written backward (``torch.autograd.Function``):
    define static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` (or
    ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``) and call ``apply``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("define forward(ctx, *args) as a staticmethod")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("define backward(ctx, *grad_outputs) as a staticmethod")

    setup_context = None

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            if cls.setup_context is not None:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        record = STATE.enabled and any(ctx.needs_input_grad)
        outs = out if isinstance(out, tuple) else (out,)
        if record:
            edges = tuple(a.edge() if isinstance(a, Tensor) else (None, 0) for a in args)
            meta = tuple((o.array.shape, o.array.dtype) if isinstance(o, Tensor) else ((), None)
                         for o in outs)
            node_cls = node_type(cls)
            node = node_cls(cls, ctx, edges, meta)
            fresh = []
            for i, o in enumerate(outs):
                if isinstance(o, Tensor) and o.is_floating_point() and \
                        id(o) not in ctx.non_differentiable:
                    if o.grad_fn is not None or o.leaf_requires_grad or any(
                            o is a for a in args):
                        o = o.view_as(o)  # an input returned as is: a new tensor for the graph
                    o.grad_fn, o.output_nr = node, i
                fresh.append(o)
            outs = tuple(fresh)
        return outs if isinstance(out, tuple) else outs[0]


_NODE_TYPES: dict = {}


def node_type(function_cls) -> type:
    """The ``FunctionNode`` subclass named after the Function (``MyReluBackward``)."""
    t = _NODE_TYPES.get(function_cls)
    if t is None:
        t = _NODE_TYPES[function_cls] = type(f"{function_cls.__name__}Backward",
                                             (FunctionNode,), {"__slots__": ()})
    return t


def once_differentiable(fn):
    """Decorator for ``backward`` methods (PyTorch's); backward here runs without grad
    recording unless ``create_graph`` is set, so it is accepted as is."""
    return fn


def Variable(data, requires_grad: bool = False, volatile: bool = False):  # noqa: N802
    """PyTorch's old wrapper: returns the tensor itself (``requires_grad`` set if asked).

    >>> x = compat.ones(1); compat.autograd.Variable(x) is x
    True
    """
    t = data if isinstance(data, Tensor) else wrap(own(np.asarray(data)))
    if requires_grad:
        t.requires_grad_(True)
    return t


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Anomaly detection (a no-op here: errors already name the operation)."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> detect_anomaly:
    """Turn anomaly detection on or off (a no-op here)."""
    return detect_anomaly(check_nan)
