"""The backward graph: ``Node`` (what ``tensor.grad_fn`` is) and the one kind of node every
operation records, ``OpNode``, whose backward is the core's VJP of the operation.

An operation is a pure function of arrays written with ``functorch_lite`` (``fn``) plus
hashable static parameters. Its node keeps ``fn``, the parameters, the input values and
which inputs need a gradient; ``apply`` runs ``fl.vjp`` of ``fn`` on them, staged once per
(operation, parameters, inputs needing grad, shapes, dtypes) into a cached ``fl.jit``
program. There is no second set of derivative formulas: every gradient is the core's.

This module works on arrays only; ``tensor.py`` wraps them and ``engine.py`` walks nodes.

>>> x = compat.ones(2, requires_grad=True)
>>> (x + x).grad_fn
<AddBackward0 object>
"""

from __future__ import annotations

import warnings

import numpy as np

import functorch_lite as fl
from functorch_lite.jit import RETRACE_WARN_AFTER
from functorch_lite.placement import is_gpu

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


class Node:
    """A node of the backward graph: ``grad_fn`` of a tensor that an operation produced.

    ``next_functions`` holds one ``(node, output_nr)`` pair per input of the operation
    (``(None, 0)`` for inputs that need no gradient); ``name()`` is PyTorch's name for it
    (``AddBackward0``). ``register_hook(fn)`` adds ``fn(grad_inputs, grad_outputs)`` run
    after the node; ``register_prehook(fn)`` adds ``fn(grad_outputs)`` run before it (either
    may return replacement gradients).

    >>> (compat.ones(1, requires_grad=True) * 2).grad_fn.name()
    'MulBackward0'
    """

    __slots__ = ("next_functions", "pre_hooks", "post_hooks", "tensor_hooks", "retained",
                 "metadata", "__weakref__")

    def __init__(self, next_functions=()):
        self.next_functions = next_functions
        # node hooks (PyTorch's Node API); tensor hooks per output number (register_hook on
        # the tensors this node produced) and the tensors that retain_grad, held weakly
        self.pre_hooks = self.post_hooks = self.tensor_hooks = self.retained = None
        self.metadata = None

    def name(self) -> str:
        """PyTorch's name of this node (``MulBackward0``)."""
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()} object>"

    def register_hook(self, fn):
        """Run ``fn(grad_inputs, grad_outputs)`` after this node computes its gradients.

        >>> y = compat.ones(1, requires_grad=True) * 2
        >>> h = y.grad_fn.register_hook(lambda gi, go: None); h.remove()
        """
        if self.post_hooks is None:
            self.post_hooks = []
        return RemovableHandle(self.post_hooks, fn)

    def register_prehook(self, fn):
        """Run ``fn(grad_outputs)`` before this node computes its gradients."""
        if self.pre_hooks is None:
            self.pre_hooks = []
        return RemovableHandle(self.pre_hooks, fn)

    def num_outputs(self) -> int:
        """How many outputs the operation of this node had (gradients ``apply`` takes)."""
        return 1

    def apply(self, grads: list) -> list:
        """Gradients for the inputs (one per ``next_functions`` entry, None where none)
        from gradients for the outputs (``grads``, None where none arrived)."""
        raise NotImplementedError

    def release(self) -> None:
        """Free what the node saved (after a backward without ``retain_graph``)."""


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook.

    >>> hooks = []; h = RemovableHandle(hooks, print); h.remove(); hooks
    []
    """

    __slots__ = ("hooks", "fn")

    def __init__(self, hooks: list, fn):
        self.hooks, self.fn = hooks, fn
        hooks.append(fn)

    def remove(self) -> None:
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def vjp_apply(*args, fn, params, needs, diff_outs):
    """The gradients of ``fn(*inputs, **dict(params))`` for the inputs flagged in ``needs``,
    given cotangents for its differentiable outputs; ``args`` is ``inputs + cotangents``.

    ``diff_outs`` is None for a single-output ``fn``, else the indices of its outputs that
    are differentiated (integer outputs such as indices are not). A pure function of
    arrays, so it can itself be differentiated (``create_graph=True``) and jitted.

    >>> vjp_apply(np.float32(2.0), np.float32(1.0), fn=fnp.sin, params=(), needs=(True,),
    ...           diff_outs=None)
    (Array(-0.4161468, dtype=float32),)
    """
    n = len(needs)
    inputs, cts = args[:n], args[n:]
    kw = dict(params)
    diff_idx = [i for i, need in enumerate(needs) if need]

    def f(*diff):
        full = list(inputs)
        for i, d in zip(diff_idx, diff):
            full[i] = d
        out = fn(*full, **kw)
        return out if diff_outs is None else tuple(out[i] for i in diff_outs)

    _, pull = fl.vjp(f, *[inputs[i] for i in diff_idx])
    return pull(cts[0] if diff_outs is None else tuple(cts))


# (fn, params, needs, diff_outs, backend) -> jitted vjp_apply; jit caches per shape/dtype
_PROGRAMS: dict = {}


def run_program(prog, args, lower: bool = False):
    """Call (or ``lower``) a backward program. Eager code meets many shapes (the last
    batch, sequence lengths), so a retrace per new shape is expected: jit's "traced N times"
    advice is silenced on the one call that could give it."""
    call = prog.lower if lower else prog
    if prog.trace_count != RETRACE_WARN_AFTER - 1:
        return call(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call(*args)


def backward_program(fn, params, needs, diff_outs, backend):
    """The cached jitted ``vjp_apply`` for one operation and parameters.

    Eager CPU backward uses the numpy backend: it runs the core's own rules without a
    compile step per new shape, which is what eager code (changing shapes, many small ops)
    wants; GPU arrays use the cupy backend."""
    key = (fn, params, needs, diff_outs, backend)
    prog = _PROGRAMS.get(key)
    if prog is None:
        def backward(*args):
            return vjp_apply(*args, fn=fn, params=params, needs=needs, diff_outs=diff_outs)

        backward.__name__ = f"compat_backward_{getattr(fn, '__name__', 'op')}"
        prog = _PROGRAMS[key] = fl.jit(backward, backend=backend)
    return prog


def backend_for(value) -> str:
    """The jit backend for an operation on ``value``: cupy for GPU arrays, numpy on CPU."""
    return "cupy" if is_gpu(value) else "numpy"


def zeros_for(meta):
    """A zero cotangent for an output described by ``(shape, numpy dtype)``."""
    return np.zeros(meta[0], meta[1])


class OpNode(Node):
    """The node an operation records: its backward is the core's VJP of the operation.

    ``saved`` holds the operation's inputs (arrays or Python scalars), ``versions`` holds
    ``(input index, tensor, version when saved)`` for each tensor input, ``out_meta`` the
    (shape, dtype) of each differentiable output of a multi-output operation (None for
    one output)."""

    __slots__ = ("fn", "params", "saved", "needs", "versions", "diff_outs", "out_meta")

    def __init__(self, fn, params, saved, needs, versions, next_functions, diff_outs=None,
                 out_meta=None):
        self.next_functions = next_functions
        self.pre_hooks = self.post_hooks = self.tensor_hooks = self.retained = None
        self.metadata = None
        self.fn, self.params, self.saved, self.needs = fn, params, saved, needs
        self.versions, self.diff_outs, self.out_meta = versions, diff_outs, out_meta

    def check_saved(self, cts) -> None:
        """Raise PyTorch's errors if the graph was freed, or if a saved tensor whose value
        the backward reads was modified in place since the operation ran (a tensor the
        VJP needs only the shape of -- the input of a view, of ``add`` -- may change)."""
        if self.saved is None:
            raise RuntimeError(FREED_MESSAGE)
        for i, tensor, version in self.versions:
            now = tensor.version[0]
            if now != version and self.reads_input(i, cts):
                producer = (f"output {tensor.output_nr} of {tensor.grad_fn.name()}"
                            if tensor.grad_fn is not None else "a leaf tensor")
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{tensor.type()} {list(tensor.shape)}], which "
                    f"is {producer}, is at version {now}; expected version {version} "
                    f"instead. (It was saved by {self.name()}.) Hint: compute the in-place "
                    "change out of place (x = x + y instead of x += y), or .clone() the "
                    "tensor before modifying it.")

    def reads_input(self, i: int, cts) -> bool:
        """Whether the staged backward program reads the value of input ``i``."""
        prog = backward_program(self.fn, self.params, self.needs, self.diff_outs,
                                backend_for(self.saved[0]))
        jaxpr = run_program(prog, (*self.saved, *cts), lower=True).ir.jaxpr
        var = jaxpr.invars[i]
        return any(v is var for e in jaxpr.eqns for v in e.invars) or any(
            v is var for v in jaxpr.outvars)

    def cotangents(self, grads: list) -> list:
        """The cotangents ``vjp_apply`` takes: one per differentiable output (zeros where
        no gradient arrived)."""
        if self.diff_outs is None:
            return grads
        return [grads[i] if grads[i] is not None else zeros_for(m)
                for i, m in zip(self.diff_outs, self.out_meta)]

    def num_outputs(self) -> int:
        return 1 if self.diff_outs is None else max(self.diff_outs) + 1

    def apply(self, grads: list) -> list:
        cts = self.cotangents(grads)
        self.check_saved(cts)
        prog = backward_program(self.fn, self.params, self.needs, self.diff_outs,
                                backend_for(cts[0]))
        res = iter(run_program(prog, (*self.saved, *cts)))
        return [next(res) if need else None for need in self.needs]

    def release(self) -> None:
        self.saved = None
        self.versions = ()


_NODE_CLASSES: dict = {}


def node_class(name: str) -> type:
    """The ``OpNode`` subclass named ``name`` (``"AddBackward0"``), made once, so that
    ``type(t.grad_fn).__name__`` and ``repr`` read as in PyTorch.

    >>> node_class("AddBackward0").__name__
    'AddBackward0'
    """
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = _NODE_CLASSES[name] = type(name, (OpNode,), {"__slots__": ()})
    return cls
