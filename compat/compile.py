"""``compat.compile``: run a module's (or function's) forward and backward as compiled
programs of the core (``fl.jit`` with its default backend: LLVM on the CPU once that is
the default, CuPy for GPU tensors), the way ``torch.compile`` is used.

How it works. The module's parameters and buffers (for a function: the tensors and
modules it refers to by name) are its *state*. Per signature -- argument structure,
shapes, dtypes, ``requires_grad`` flags, grad mode and every submodule's train/eval flag --
the call is traced once into a pure function of (state arrays, input arrays): each state
tensor holds its traced value while the Python code runs (so tied weights stay tied and
in-place buffer updates, BatchNorm's running statistics, land on the tensor that owns
them), inputs are fresh tensors around traced values. With gradients needed the
forward program is the core's linearization of that function: it returns the outputs,
the updated buffers and the residuals the backward needs; the backward program is the
transpose of the linear part (the core's VJP), reading the residuals. So the forward
runs once, never again in backward.

Calling the compiled module runs the forward program, writes changed buffers back, and
records ONE graph node whose backward runs the backward program: ``loss.backward()``
fills ``.grad`` of parameters and inputs, and ``optimizer.step()`` works as before.

Code the tracer cannot follow -- Python control flow on tensor values
(``ConcretizationError``), ``.item()`` or ``.numpy()`` in the forward, random draws
(dropout in training mode: a draw at trace time would be frozen into the program) --
runs eagerly instead, with one warning per compiled callable.

>>> model = compat.nn.Linear(3, 2)
>>> compiled = compat.compile(model)
>>> x = compat.ones(4, 3)
>>> compiled(x).sum().backward()
>>> model.weight.grad
tensor([[4., 4., 4.],
        [4., 4., 4.]])
"""

from __future__ import annotations

import inspect
import types
import warnings
from collections.abc import Callable

import numpy as np

import functorch_lite as fl
from functorch_lite.autodiff import backward_pass, linearize_flat
from functorch_lite.core import get_aval
from functorch_lite.rules import UndefinedPrimal

from . import random as crandom
from .grad_mode import STATE, no_grad
from .graph import FREED_MESSAGE, Node
from .nn.module import Module
from .tensor import Tensor, own, wrap


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic=None,
            backend: str | Callable = "inductor", mode: str | None = None,
            options: dict | None = None, disable: bool = False):
    r"""Compile ``model`` (a Module or a function of tensors): forward and backward run as
    programs compiled by the core, with the same signature and results (to float32
    rounding) as the eager code.

    Args:
        model: the module or function (None: returns a decorator).
        fullgraph: raise instead of falling back to eager when the code cannot be traced.
        dynamic: accepted for compatibility (every new shape is traced once).
        backend: a ``functorch_lite`` backend name (``"numpy"``, ``"llvm"``, ``"cupy"``) to
            force one; PyTorch's names (``"inductor"``...) use ``jit``'s default; ``"eager"``
            returns ``model`` itself.
        mode, options: accepted for compatibility.
        disable: return ``model`` unchanged.

    Returns:
        For a module, a module wrapping it (its parameters, ``state_dict`` under the
        ``_orig_mod.`` prefix, ``train``/``eval``, attributes), for a function a function.

    Example::

        >>> model = compat.nn.Sequential(compat.nn.Linear(4, 8), compat.nn.ReLU(),
        ...                              compat.nn.Linear(8, 1))
        >>> opt = compat.optim.SGD(model.parameters(), lr=0.1)
        >>> step_model = compat.compile(model)
        >>> loss = step_model(compat.ones(2, 4)).pow(2).mean()
        >>> loss.backward(); opt.step()
    """
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if disable or backend == "eager":
        return model
    fl_backend = backend if backend in ("numpy", "llvm", "cupy") else None
    if isinstance(model, Module):
        return CompiledModule(model, fullgraph, fl_backend)
    if not callable(model):
        raise RuntimeError(f"compat.compile: expected a Module or a callable, got "
                           f"{type(model).__name__}")
    compiled = Compiled(model, None, fullgraph, fl_backend)

    def run(*args, **kwargs):
        return compiled(*args, **kwargs)

    run.__name__ = getattr(model, "__name__", "compiled")
    run.__qualname__ = getattr(model, "__qualname__", run.__name__)
    run.__doc__ = getattr(model, "__doc__", None)
    run.__wrapped__ = model
    run.compiled = compiled
    return run


class CompiledModule(Module):
    """What ``compat.compile(module)`` returns (PyTorch's ``OptimizedModule``): calling it
    runs the compiled program; the original is ``_orig_mod``, whose parameters, buffers,
    ``state_dict`` (keys prefixed ``_orig_mod.``) and attributes it exposes.

    >>> m = compat.compile(compat.nn.Linear(2, 2))
    >>> m.in_features, [n for n, _ in m.named_parameters()]
    (2, ['_orig_mod.weight', '_orig_mod.bias'])
    """

    def __init__(self, module: Module, fullgraph: bool = False, backend: str | None = None):
        super().__init__()
        self._orig_mod = module
        object.__setattr__(self, "compiled", Compiled(module, module, fullgraph, backend))

    def forward(self, *args, **kwargs):
        return self.compiled(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            inner = self.__dict__.get("_modules", {}).get("_orig_mod")
            if inner is None:
                raise
            return getattr(inner, name)

    def __repr__(self):
        return f"CompiledModule({self._orig_mod!r})"


class Compiled:
    """The compiled form of ``fn`` (a module's ``__call__`` or a function): the programs
    per signature (``None`` for a signature that runs eagerly) and the warn-once flag."""

    def __init__(self, fn: Callable, module: Module | None, fullgraph: bool,
                 backend: str | None):
        self.fn, self.module, self.fullgraph, self.backend = fn, module, fullgraph, backend
        self.programs: dict = {}
        self.warned = False

    # -- what the program reads -----------------------------------------------------------
    def state(self) -> tuple[list, list]:
        """(state tensors, modules whose train/eval flags select the program)."""
        if self.module is not None:
            return module_state([self.module]), list(self.module.modules())
        modules, tensors = referenced(self.fn)
        mods = [sub for m in modules for sub in m.modules()]
        owned = module_state(modules)
        ids = {id(t) for t in owned}
        return owned + [t for t in tensors if id(t) not in ids], mods

    def __call__(self, *args, **kwargs):
        state, mods = self.state()
        leaves, tree = fl.tree.flatten((args, kwargs), is_leaf=is_tensor)
        inputs = [x for x in leaves if isinstance(x, Tensor)]
        statics = tuple(None if isinstance(x, Tensor) else x for x in leaves)
        grad = STATE.enabled
        key = (tree, statics, grad, tuple(m.training for m in mods),
               tuple((t.array.shape, t.array.dtype, t.requires_grad) for t in state),
               tuple((t.array.shape, t.array.dtype, t.requires_grad) for t in inputs))
        try:
            prog = self.programs.get(key, MISSING)
        except TypeError:  # an unhashable non-tensor argument: nothing to key a program on
            return self.eager(args, kwargs, "an argument is not hashable")
        if prog is None:
            return self.fn(*args, **kwargs)
        if prog is MISSING:
            prog = Program(self, state, inputs, leaves, tree, grad)
            try:
                out = prog.run(state, inputs)
            except Exception as e:  # noqa: BLE001 - any tracing failure means "run eagerly"
                if self.fullgraph:
                    raise
                return self.eager(args, kwargs, f"{type(e).__name__}: {e}", key)
            self.programs[key] = prog
            return out
        return prog.run(state, inputs)

    def eager(self, args, kwargs, reason: str, key=None):
        """Run ``fn`` eagerly; once it succeeds, remember the signature and warn (once)."""
        out = self.fn(*args, **kwargs)
        if key is not None:
            self.programs[key] = None
        if not self.warned:
            self.warned = True
            name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
            warnings.warn(f"compat.compile: could not trace {name} ({reason.splitlines()[0]});"
                          " running it eagerly for this signature (results are the same, "
                          "only slower)", UserWarning, stacklevel=3)
        return out


MISSING = object()


def module_state(modules) -> list:
    """Parameters then buffers of ``modules``, each tensor once."""
    seen, out = set(), []
    for m in modules:
        for t in (*m.parameters(), *m.buffers()):
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
    return out


def referenced(fn) -> tuple[list, list]:
    """The modules and tensors a function refers to by name: its closure, the globals it
    names and, for a bound method, its object's attributes (one level: a helper that reads
    other globals sees them as constants)."""
    values = []
    target = inspect.unwrap(fn)
    if isinstance(target, types.MethodType):
        values.extend(vars(target.__self__).values() if hasattr(target.__self__, "__dict__")
                      else ())
        target = target.__func__
    code = getattr(target, "__code__", None)
    if code is not None:
        values.extend(c.cell_contents for c in (target.__closure__ or ())
                      if not is_empty_cell(c))
        g = target.__globals__
        values.extend(g[n] for n in code.co_names if n in g)
    modules = [v for v in values if isinstance(v, Module)]
    tensors = [v for v in values if isinstance(v, Tensor)]
    return modules, list({id(t): t for t in tensors}.values())


def is_empty_cell(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - reading it is the test
    except ValueError:
        return True
    return False


class Program:
    """The programs of one signature: ``forward`` ((state, inputs) -> outputs, changed
    buffers and, when gradients are needed, residuals) and ``backward`` (residuals and
    output cotangents -> gradients of the inputs that require grad)."""

    def __init__(self, owner: Compiled, state: list, inputs: list, leaves: list, tree,
                 grad: bool):
        self.owner = owner
        self.tree, self.leaves = tree, leaves
        n_state = len(state)
        # positions (in state + inputs) of the values that gradients flow to
        self.diff = [i for i, t in enumerate(state + inputs)
                     if grad and t.requires_grad and t.array.dtype.kind == "f"]
        self.n_state = n_state
        self.forward = fl.jit(self.forward_flat, backend=owner.backend)
        self.backward = fl.jit(self.backward_flat, backend=owner.backend)
        # filled by the trace
        self.out_tree = self.out_static = self.out_arrays = self.mutated = None
        self.state_tensors: list = []
        self.n_out = self.n_res = 0
        self.lin = self.diff_avals = None

    # -- tracing ---------------------------------------------------------------------------
    def pure(self, state_tensors: list, args: list) -> list:
        """The user's code as a function of arrays: returns outputs then changed state."""
        owner = self.owner
        n = self.n_state
        saved = [t.array for t in state_tensors]
        try:
            for t, a in zip(state_tensors, args[:n]):
                t.array = a
            it = iter(args[n:])
            wrappers = [wrap(next(it)) if isinstance(x, Tensor) else x for x in self.leaves]
            call_args, call_kwargs = fl.tree.unflatten(self.tree, wrappers)
            rng = crandom.default_generator.rng.bit_generator.state
            with no_grad():
                out = owner.fn(*call_args, **call_kwargs)
            if crandom.default_generator.rng.bit_generator.state != rng:
                raise RuntimeError("the code draws random numbers (dropout in training "
                                   "mode?): a draw would be frozen into the program")
            leaves, out_tree = fl.tree.flatten(out, is_leaf=is_tensor)
            outs = [x.array if isinstance(x, Tensor) else x for x in leaves]
            arrays = [i for i, x in enumerate(outs) if is_traced(x)]
            static = [None if i in arrays else x for i, x in enumerate(outs)]
            now = [t.array for t in state_tensors] + [w.array for w in wrappers
                                                      if isinstance(w, Tensor)]
        finally:
            for t, a in zip(state_tensors, saved):
                t.array = a
        mutated = [i for i, (a, b) in enumerate(zip(args, now)) if a is not b]
        self.out_tree, self.out_static, self.out_arrays = out_tree, static, arrays
        self.mutated = mutated
        self.n_out = len(arrays)
        return [outs[i] for i in arrays] + [now[i] for i in mutated]

    def forward_flat(self, *args):
        state = self.state_tensors
        if not self.diff:
            return self.pure(state, list(args))
        diff = set(self.diff)

        def of_diff(*d):
            full, it = list(args), iter(d)
            for i in self.diff:
                full[i] = next(it)
            return self.pure(state, full)

        primals = [args[i] for i in self.diff]
        outs, lin = linearize_flat(of_diff, primals)
        self.lin = lin.jaxpr
        self.diff_avals = [get_aval(args[i]).strip_weak() for i in sorted(diff)]
        self.n_res = len(lin.consts)
        return [*outs, *lin.consts]

    def backward_flat(self, *args):
        res, cts = args[:self.n_res], list(args[self.n_res:])
        # changed buffers are outputs too; nothing flows back through them
        cts += [None] * len(self.mutated)
        grads = backward_pass(self.lin, list(res), [UndefinedPrimal(a) for a in
                                                    self.diff_avals], cts)
        return [fl.numpy.zeros(a.shape, a.dtype) if g is None or not hasattr(g, "shape")
                else g for g, a in zip(grads, self.diff_avals)]

    # -- running ---------------------------------------------------------------------------
    def run(self, state: list, inputs: list):
        self.state_tensors = state
        tensors = state + inputs
        outs = self.forward(*[t.array for t in tensors])
        n, m = self.n_out, len(self.mutated)
        for i, new in zip(self.mutated, outs[n:n + m]):
            t = tensors[i]
            t.array[...] = new  # in place, as the eager code would have written it
            t.version[0] += 1
        results = [wrap(own(o)) for o in outs[:n]]
        if self.diff:
            node = CompiledNode(self, outs[n + m:], [tensors[i] for i in self.diff],
                                results)
            for k, r in enumerate(results):
                if r.array.dtype.kind == "f":
                    r.grad_fn, r.output_nr = node, k
        leaves = list(self.out_static)
        for k, i in enumerate(self.out_arrays):
            leaves[i] = results[k]
        return fl.tree.unflatten(self.out_tree, leaves)


def is_traced(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.generic)


class CompiledNode(Node):
    """The single graph node of a compiled call (``CompiledFunctionBackward``, as
    PyTorch names it): its backward runs the compiled backward program on the saved
    residuals. Raises PyTorch's errors for a second backward without ``retain_graph``
    and for inputs modified in place since the forward.

    >>> y = compat.compile(compat.nn.Linear(2, 1))(compat.ones(1, 2))
    >>> y.grad_fn
    <CompiledFunctionBackward object>
    """

    __slots__ = ("program", "residuals", "versions", "out_meta")

    def __init__(self, program: Program, residuals, tensors: list, outputs: list):
        super().__init__(tuple(t.edge() for t in tensors))
        self.program, self.residuals = program, list(residuals)
        self.versions = [(t, t.version[0]) for t in tensors]
        self.out_meta = [(o.array.shape, o.array.dtype) for o in outputs]

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def num_outputs(self) -> int:
        return len(self.out_meta)

    def apply(self, grads: list) -> list:
        if self.residuals is None:
            raise RuntimeError(FREED_MESSAGE)
        if STATE.enabled:
            raise NotImplementedError("compat.compile: create_graph=True (higher-order "
                                      "gradients) through a compiled call is not supported; "
                                      "differentiate the eager module instead")
        for t, v in self.versions:
            if t.version[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.type()} {list(t.shape)}] is at version "
                    f"{t.version[0]}; expected version {v} instead. (It was saved by "
                    "CompiledFunctionBackward.)")
        cts = [np.zeros(s, d) if g is None else g for g, (s, d) in zip(grads, self.out_meta)]
        return list(self.program.backward(*self.residuals, *cts))

    def release(self) -> None:
        self.residuals = None


__all__ = ["compile", "CompiledModule"]
