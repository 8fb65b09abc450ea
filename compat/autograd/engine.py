"""The backward pass: walk the graph from the outputs in topological order, run each node's
backward (the core's VJP), accumulate into leaves' ``.grad`` -- ``Tensor.backward``,
``autograd.backward`` and ``autograd.grad``.

Nodes run once all their consumers have contributed (reverse topological order of a
depth-first walk, so deep graphs need no recursion). Tensor hooks run on the gradient for
their tensor before it is used; ``retain_grad`` tensors keep theirs. Without
``retain_graph`` each node frees what it saved, so a second backward through it raises
PyTorch's error. With ``create_graph`` the backward itself is recorded: each node's VJP runs
as an operation on tensors (``vjp_apply`` is a pure function, so the core differentiates it
again), which gives higher-order gradients.

>>> x = compat.tensor([2.0], requires_grad=True)
>>> (g,) = compat.autograd.grad(x ** 3, x, create_graph=True)
>>> compat.autograd.grad(g, x)
(tensor([12.]),)
"""

from __future__ import annotations

import threading

import numpy as np

import functorch_lite.numpy as fnp

from ..grad_mode import STATE
from ..graph import OpNode, vjp_apply
from ..ops.dispatch import Op
from ..tensor import AccumulateGrad, Size, Tensor, own, wrap


def topological_order(roots) -> list:
    """Nodes reachable from ``roots``, each before every node it feeds gradients to
    (the reverse of a depth-first post-order; iterative, so deep graphs are fine)."""
    seen, post = set(), []
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.next_functions))]
        while stack:
            node, it = stack[-1]
            for nxt, _ in it:
                if nxt is not None and nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(nxt.next_functions)))
                    break
            else:
                stack.pop()
                post.append(node)
    post.reverse()
    return post


def root_gradient(t: Tensor, g, create_graph: bool):
    """The starting gradient for output ``t``: ``g`` checked against its shape, or ones for
    a scalar output."""
    if g is None:
        if int(np.prod(t.array.shape, dtype=np.int64)) != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return wrap(np.ones(t.array.shape, t.array.dtype)) if create_graph else \
            np.ones(t.array.shape, t.array.dtype)
    if not isinstance(g, Tensor):
        g = wrap(own(np.asarray(g, dtype=t.array.dtype)))
    if tuple(g.array.shape) != tuple(t.array.shape):
        raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                           f"{Size(g.array.shape)!r} and output[0] has a shape of "
                           f"{Size(t.array.shape)!r}.")
    return g if create_graph else g.array


def run_tensor_hooks(node, nr: int, g, create_graph: bool):
    """Apply the hooks registered on the tensor that is output ``nr`` of ``node``, then
    store the gradient of ``retain_grad`` tensors."""
    hooks = node.tensor_hooks
    if hooks:
        for h in list(hooks.get(nr, ())):
            r = h(g.array if create_graph else g)
            if r is not None:
                g = wrap(r) if create_graph and not isinstance(r, Tensor) else r
    retained = node.retained
    if retained:
        ref = retained.get(nr)
        t = ref() if ref is not None else None
        if t is not None:
            arr = g.array if create_graph else g
            if t.grad is None:
                t.grad = g if create_graph else wrap(own(unshared(arr)))
            else:
                t.accumulate_grad(arr)
    return g


def unshared(g):
    """A copy of a concrete gradient array that someone else also holds (traced values
    and GPU arrays are never written in place, so they are shared as they are)."""
    return np.array(g) if isinstance(g, np.ndarray) else g


def add_grads(a, b, create_graph: bool):
    if create_graph:
        return a + b
    return fnp.add(a, b)


def vjp_op_for(node: OpNode) -> Op:
    """The operation computing ``node``'s backward on tensors (for ``create_graph``)."""
    return Op(vjp_apply, f"{node.name()[:-len('Backward0')]}Backward", multi=True)


def differentiable_apply(node: OpNode, grads: list) -> list:
    """``node``'s backward recorded as an operation, so its result can be differentiated."""
    cts = node.cotangents([g.array if isinstance(g, Tensor) else g for g in grads])
    node.check_saved(cts)
    inputs = []
    for value, (nxt, nr) in zip(node.saved, node.next_functions):
        if isinstance(nxt, AccumulateGrad):
            inputs.append(nxt.variable)
        elif nxt is not None:
            inputs.append(saved_tensor(value, nxt, nr))
        else:
            inputs.append(value)
    ct_tensors = []
    for i, c in enumerate(cts):
        src = grads[node.diff_outs[i]] if node.diff_outs is not None else grads[0]
        ct_tensors.append(src if isinstance(src, Tensor) else wrap(c))
    outs = vjp_op_for(node)(*inputs, *ct_tensors, fn=node.fn, params=node.params,
                            needs=node.needs, diff_outs=node.diff_outs)
    res = iter(outs)
    return [next(res) if need else None for need in node.needs]


def saved_tensor(value, node, nr) -> Tensor:
    t = wrap(value)
    t.grad_fn, t.output_nr = node, nr
    return t


# per thread, one list of callbacks per backward pass running (a hook may run a backward)
CALLBACKS = threading.local()


def queue_callback(callback) -> None:
    """Run ``callback()`` once the backward pass now running has walked the whole graph
    (PyTorch's ``Variable._execution_engine.queue_callback``): how work a hook started
    during backward (``DistributedDataParallel``'s bucket all-reduces) is finished.

    >>> x = compat.ones(1, requires_grad=True); order = []
    >>> def hook(g):
    ...     queue_callback(lambda: order.append("end")); order.append("hook")
    >>> _ = x.register_hook(hook)
    >>> (x * 2).sum().backward(); order
    ['hook', 'end']
    """
    stack = getattr(CALLBACKS, "stack", None)
    if not stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    stack[-1].append(callback)


def execute(roots: list, root_grads: list, retain_graph: bool, create_graph: bool,
            inputs=None, accumulate: bool = True):
    """``walk`` the graph, then run the callbacks queued meanwhile (``queue_callback``)."""
    stack = getattr(CALLBACKS, "stack", None)
    if stack is None:
        stack = CALLBACKS.stack = []
    stack.append([])
    try:
        captured = walk(roots, root_grads, retain_graph, create_graph, inputs, accumulate)
        pending = stack[-1]
        while pending:  # a callback may queue another
            pending.pop(0)()
    finally:
        stack.pop()
    return captured


def walk(roots: list, root_grads: list, retain_graph: bool, create_graph: bool,
         inputs=None, accumulate: bool = True):
    """Run the backward pass from ``roots`` (``(node, output_nr)`` pairs) seeded with
    ``root_grads``; with ``inputs`` (edges), return the gradients reaching them instead of
    accumulating into leaves that are not among them."""
    buffers: dict = {}
    for (node, nr), g in zip(roots, root_grads):
        buf = buffers.setdefault(node, {})
        buf[nr] = g if nr not in buf else add_grads(buf[nr], g, create_graph)
    order = topological_order([n for n, _ in roots])
    captures = {} if inputs is None else {e: i for i, e in enumerate(inputs)}
    captured = [None] * (0 if inputs is None else len(inputs))
    needed = None
    if inputs is not None:
        targets = {n for n, _ in inputs}
        needed = set()
        for node in reversed(order):
            if node in targets or any(n in needed for n, _ in node.next_functions):
                needed.add(node)
    handed = set()  # ids of arrays given out: a second receiver gets a copy (no aliasing)
    for node in order:
        buf = buffers.pop(node, None)
        if buf is None or (needed is not None and node not in needed):
            continue
        for nr in list(buf):
            g = run_tensor_hooks(node, nr, buf[nr], create_graph)
            buf[nr] = g
            idx = captures.get((node, nr))
            if idx is not None:
                captured[idx] = g
        if isinstance(node, AccumulateGrad):
            g = buf.get(0)
            if g is not None and accumulate and (inputs is None or (node, 0) in captures):
                if create_graph:
                    if node.variable.grad is None:
                        node.variable.grad = g
                    else:
                        node.variable.grad = node.variable.grad + g
                else:
                    if id(g) in handed:
                        g = unshared(g)
                    handed.add(id(g))
                    node.variable.accumulate_grad(g)
                for h in list(node.post_accumulate_hooks or ()):
                    h(node.variable)
            continue
        grads = [buf.get(i) for i in range(node.num_outputs())]
        if node.pre_hooks:
            for h in node.pre_hooks:
                r = h(tuple(wrap(g) if g is not None and not isinstance(g, Tensor) else g
                            for g in grads))
                if r is not None:
                    grads = [x.array if isinstance(x, Tensor) and not create_graph else x
                             for x in r]
        if create_graph and isinstance(node, OpNode):
            in_grads = differentiable_apply(node, grads)
        else:
            in_grads = node.apply(grads)
        if node.post_hooks:
            for h in node.post_hooks:
                r = h(tuple(wrap(g) if g is not None and not isinstance(g, Tensor) else g
                            for g in in_grads),
                      tuple(wrap(g) if g is not None and not isinstance(g, Tensor) else g
                            for g in grads))
                if r is not None:
                    in_grads = [x.array if isinstance(x, Tensor) and not create_graph else x
                                for x in r]
        if not retain_graph:
            node.release()
        for (nxt, nr), g in zip(node.next_functions, in_grads):
            if nxt is None or g is None:
                continue
            if not create_graph:
                if id(g) in handed:
                    g = unshared(g)
                handed.add(id(g))
            nbuf = buffers.setdefault(nxt, {})
            nbuf[nr] = g if nr not in nbuf else add_grads(nbuf[nr], g, create_graph)
    return captured


def as_tuple(x) -> tuple:
    if x is None:
        return ()
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def prepare(tensors, grad_tensors, create_graph):
    tensors = as_tuple(tensors)
    grads = as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} gradients for {len(tensors)} tensors")
    roots, root_grads = [], []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        roots.append(t.edge())
        root_grads.append(root_gradient(t, g, create_graph))
    return roots, root_grads


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    Args:
        tensors: outputs to differentiate (a tensor or a sequence).
        grad_tensors: the gradient of each output (None for scalar outputs: 1).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the backward, so gradients can be differentiated again.
        inputs: accumulate only into these leaves.

    >>> x = compat.tensor([1.0, 2.0], requires_grad=True)
    >>> compat.autograd.backward(x * 3, compat.ones(2)); x.grad
    tensor([3., 3.])
    """
    retain = create_graph if retain_graph is None else retain_graph
    roots, root_grads = prepare(tensors, grad_tensors, create_graph)
    edges = None if inputs is None else [t.edge() for t in as_tuple(inputs)]
    with _grad_mode(create_graph):
        execute(roots, root_grads, retain, create_graph, edges)


class _grad_mode:  # noqa: N801 - a tiny context manager, local to the engine
    """Grad mode during backward: on only when recording it (``create_graph``)."""

    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = self.mode

    def __exit__(self, *exc):
        STATE.enabled = self.prev


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs`` (returned, not accumulated).

    Args:
        outputs: tensor(s) to differentiate.
        inputs: tensor(s) to differentiate with respect to.
        grad_outputs: the gradient of each output (None for scalar outputs).
        retain_graph: keep the graph (default: ``create_graph``).
        create_graph: record the backward, for higher-order derivatives.
        allow_unused: return None for inputs the outputs do not depend on (else an error).
        materialize_grads: zeros instead of None for unused inputs.

    >>> x = compat.tensor([1.0, 2.0], requires_grad=True)
    >>> compat.autograd.grad((x ** 2).sum(), x)
    (tensor([2., 4.]),)
    """
    if is_grads_batched:
        raise NotImplementedError("compat.autograd.grad: is_grads_batched is not supported; "
                                  "use compat.func.vmap over compat.func.vjp")
    retain = create_graph if retain_graph is None else retain_graph
    ins = as_tuple(inputs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots, root_grads = prepare(outputs, grad_outputs, create_graph)
    edges = [t.edge() for t in ins]
    with _grad_mode(create_graph):
        got = execute(roots, root_grads, retain, create_graph, edges, accumulate=False)
    out = []
    for t, g in zip(ins, got):
        if g is None:
            if materialize_grads:
                out.append(wrap(np.zeros(t.array.shape, t.array.dtype)))
                continue
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            out.append(None)
        else:
            out.append(g if isinstance(g, Tensor) else wrap(own(unshared(g))))
    return tuple(out)


def tensor_backward(self: Tensor, gradient=None, retain_graph: bool | None = None,
                    create_graph: bool = False, inputs=None) -> None:
    """Compute the gradient of this tensor with respect to graph leaves, accumulating it
    into their ``.grad``.

    Args:
        gradient: the gradient of this tensor (needed unless it has one element).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the backward, for higher-order derivatives.
        inputs: accumulate only into these leaves.

    >>> x = compat.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward(); x.grad
    tensor([2., 4.])
    """
    backward(self, None if gradient is None else (gradient,), retain_graph, create_graph,
             inputs)
