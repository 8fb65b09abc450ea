"""``Optimizer``: PyTorch's optimizer object (param groups, per-parameter state,
``zero_grad``, ``step``, ``state_dict``) around the update rules of ``functorch_lite.optim``.

A subclass names its ``functorch_lite.optim`` factory (``algorithm``) and how the factory's
state fields map to PyTorch's state keys; this base class does the rest. A step updates
each param group with one call of the factory's pure ``update`` over all of the group's
parameters that have a gradient: the same Python function is run eagerly for the first
calls and then as one ``fl.jit`` program (a fused optimizer), because staging costs more
than it saves for a couple of steps but a training loop gains several times over.

State follows PyTorch's layout, so ``state_dict()`` is PyTorch's format (state keyed by
parameter index, ``param_groups`` holding index lists) and round-trips through
``compat.save``/``compat.load``:

>>> p = compat.nn.Parameter(compat.ones(2))
>>> opt = compat.optim.Adam([p], lr=0.1)
>>> p.grad = compat.ones(2)
>>> opt.step()
>>> sorted(opt.state_dict()["state"][0])
['exp_avg', 'exp_avg_sq', 'step']
"""

from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from collections.abc import Callable
from copy import deepcopy
from typing import Any

import numpy as np

import functorch_lite as fl

from ..grad_mode import enable_grad
from ..tensor import Tensor, own, wrap

# a step program runs eagerly this many times before it is staged with ``fl.jit``: one or
# two steps (tests, a quick fine-tune) never pay the trace/compile, loops get the fused one
JIT_AFTER = 2


class _Required:
    """The default of a hyperparameter that every param group must give (``lr`` when the
    optimizer has no default)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


@functools.cache
def step_program(factory: Callable, static: tuple, dynamic: tuple, fields: tuple,
                 n: int) -> StepProgram:
    """The update of ``n`` parameters by ``factory(**dict(static), **dynamic values)``, as
    a function of flat arrays ``(*params, *grads, *state (field-major), count, lr,
    *dynamic) -> (*params, *state, count)``, with its call counter. Cached, so every
    optimizer with the same settings and parameter count shares one staged program."""
    state_cls = type(factory(lr=0.0, **dict(static)).init([np.zeros(1, np.float32)]))

    def update(*args):
        ps, gs = list(args[:n]), list(args[n:2 * n])
        per, k = {}, 2 * n
        for f in fields:
            per[f] = list(args[k:k + n])
            k += n
        opt = factory(lr=0.0, **dict(static), **dict(zip(dynamic, args[k + 2:])))
        state = state_cls(count=args[k], **per)
        new_p, new_s = opt.update(gs, state, ps, lr=args[k + 1])
        return (*new_p, *[x for f in fields for x in getattr(new_s, f)], new_s.count)

    update.__name__ = f"{factory.__name__}_step"
    return StepProgram(update)


class StepProgram:
    """An update function, run eagerly for its first ``JIT_AFTER`` calls and jitted after."""

    __slots__ = ("fn", "jitted", "calls")

    def __init__(self, fn):
        self.fn, self.jitted, self.calls = fn, None, 0

    def __call__(self, *args):
        self.calls += 1
        if self.calls <= JIT_AFTER:
            return self.fn(*args)
        if self.jitted is None:
            self.jitted = fl.jit(self.fn)
        return self.jitted(*args)


class Optimizer:
    r"""Base class of the optimizers (``torch.optim.Optimizer``).

    Args:
        params: an iterable of tensors (or of ``(name, tensor)`` pairs), or of dicts
            defining param groups: ``{"params": [...], "lr": ...}``; options a group leaves
            out take the optimizer's defaults.
        defaults: the default hyperparameters of every group.

    Subclasses set ``algorithm`` (a ``functorch_lite.optim`` factory), ``state_keys``
    (factory state field -> PyTorch state key) and implement ``factory_args(group)``.

    Example::

        >>> model = compat.nn.Linear(2, 1)
        >>> opt = compat.optim.SGD([{"params": model.weight},
        ...                         {"params": model.bias, "lr": 0.5}], lr=0.1)
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.5]
    """

    algorithm: Callable = None
    state_keys: dict = {}
    # factory arguments that become arguments of the step program (not constants of it)
    # once they keep changing, as OneCycleLR's momentum does: no retrace per step. While
    # they stay put they are constants, which keeps the arithmetic PyTorch's to the bit
    # (``1 - beta1`` computed in double, as PyTorch does, instead of in float32)
    dynamic_keys: tuple = ()

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.changes: dict = {}  # group index -> (last factory arguments, times changed)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + type(params).__name__)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"

    # -- param groups -----------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. unfreezing layers while
        fine-tuning); options it leaves out take the optimizer's defaults.

        >>> a, b = compat.nn.Parameter(compat.ones(1)), compat.nn.Parameter(compat.ones(1))
        >>> opt = compat.optim.SGD([a], lr=0.1)
        >>> opt.add_param_group({"params": [b], "lr": 0.01})
        >>> len(opt.param_groups), opt.param_groups[1]["momentum"]
        (2, 0)
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections,"
                            " but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        group = dict(param_group, params=params)
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        for other in self.param_groups:
            if ("param_names" in group) != ("param_names" in other):
                raise ValueError("all optimizer param groups should be with/without names.")
            if ids & {id(p) for p in other["params"]}:
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # -- gradients --------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to None (the default), or to
        zeros in place with ``set_to_none=False``.

        >>> p = compat.nn.Parameter(compat.ones(1)); p.grad = compat.ones(1)
        >>> compat.optim.SGD([p], lr=0.1).zero_grad(); p.grad is None
        True
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad_(False)
                g.array[...] = 0
                g.version[0] += 1

    # -- the step ---------------------------------------------------------------------
    def factory_args(self, group: dict) -> dict:
        """The ``algorithm`` factory's keyword arguments (all but ``lr``) for ``group``."""
        raise NotImplementedError

    def varying(self, kwargs: dict) -> tuple:
        """The ``dynamic_keys`` that can be program arguments with these settings (nonzero
        ones: a zero momentum removes the momentum buffer altogether)."""
        return tuple(k for k in self.dynamic_keys if kwargs.get(k))

    def algorithm_for(self, group: dict) -> Callable:
        """The ``functorch_lite.optim`` factory that updates ``group``."""
        return type(self).algorithm

    def step(self, closure: Callable | None = None):
        """Perform one optimization step over every parameter that has a gradient.

        Args:
            closure: a function that re-evaluates the model and returns the loss (needed
                by optimizers such as L-BFGS; optional here). Its result is returned.

        >>> p = compat.nn.Parameter(compat.tensor([1.0])); p.grad = compat.tensor([2.0])
        >>> compat.optim.SGD([p], lr=0.1).step(); p
        Parameter containing:
        tensor([0.8000], requires_grad=True)
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for i, group in enumerate(self.param_groups):
            self.update_group(i, group)
        return loss

    def update_group(self, index: int, group: dict) -> None:
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        factory = self.algorithm_for(group)
        kwargs = self.factory_args(group)
        full = tuple(sorted(kwargs.items()))
        fields = active_fields(factory, full)
        last, changed = self.changes.get(index, (full, 0))
        changed += last != full
        self.changes[index] = (full, changed)
        dynamic = self.varying(kwargs) if changed > 1 else ()
        static = tuple((k, v) for k, v in full if k not in dynamic)
        values = [np.asarray(kwargs[k], np.float64) for k in dynamic]
        lr = group["lr"]
        lr = np.asarray(lr.item() if isinstance(lr, Tensor) else lr, np.float64)
        by_count: dict = {}
        for p in params:
            st = self.state.get(p)
            if not st:
                st = {}
                self.init_state(p, st, factory, full, fields)
                if st or fields:  # plain SGD keeps no state at all, as PyTorch's
                    self.state[p] = st
            by_count.setdefault(self.count_of(st), []).append(p)
        # parameters are updated together when they have taken as many steps (always, unless
        # some missed a gradient on earlier steps)
        for count, ps in by_count.items():
            prog = step_program(factory, static, dynamic, fields, len(ps))
            self.run(ps, count, [lr, *values], prog, fields)

    def run(self, params: list, count: int, scalars: list, prog: StepProgram,
            fields: tuple) -> None:
        n = len(params)
        states = [self.state.get(p, {}) for p in params]
        args = [p.array for p in params]
        args += [p.grad.array for p in params]
        for f in fields:
            key = self.state_keys[f]
            for p, st in zip(params, states):
                t = st.get(key)
                # SGD's momentum buffer does not exist before its first step
                args.append(np.zeros_like(p.array) if t is None else t.array)
        args += [np.asarray(count, np.int32), *scalars]
        out = prog(*args)
        for p, new in zip(params, out[:n]):
            # in place, as PyTorch: views and tensors sharing the parameter's memory follow
            p.array[...] = new
            p.version[0] += 1
        k = n
        for f in fields:
            key = self.state_keys[f]
            for st, new in zip(states, out[k:k + n]):
                t = st.get(key)
                if t is None:
                    st[key] = wrap(own(new))
                else:
                    t.array = own(new)
            k += n
        for st in states:
            self.set_count(st, count + 1)

    def init_state(self, p: Tensor, st: dict, factory: Callable, static: tuple,
                   fields: tuple) -> None:
        """PyTorch's initial state for ``p``: ``step`` 0 and each buffer as the factory's
        ``init`` makes it (zeros, or Adagrad's initial accumulator value)."""
        init = factory(lr=0.0, **dict(static)).init([p.detach().array])
        st["step"] = wrap(np.zeros((), np.float32))
        for f in fields:
            st[self.state_keys[f]] = wrap(own(np.array(getattr(init, f)[0])))

    def count_of(self, st: dict) -> int:
        """How many steps the parameter with state ``st`` has taken."""
        return int(st["step"].item())

    def set_count(self, st: dict, count: int) -> None:
        st["step"].array[()] = count

    # -- state_dict ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's format: ``{"state": {index: {key: value}},
        "param_groups": [{..., "params": [index, ...]}]}``, parameters numbered in group
        order. The tensors are the optimizer's own (not copies).

        >>> p = compat.nn.Parameter(compat.ones(1))
        >>> compat.optim.SGD([p], lr=0.1).state_dict()["param_groups"][0]["params"]
        [0]
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(k)] if isinstance(k, Tensor) else k: v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from ``state_dict()`` (this optimizer's, or one read back with
        ``compat.load``). Groups must have the same sizes; state tensors are copied and
        cast to their parameter's dtype and device (``step`` stays as saved).

        >>> p = compat.nn.Parameter(compat.ones(1))
        >>> a, b = compat.optim.SGD([p], lr=0.1), compat.optim.SGD([p], lr=0.5)
        >>> b.load_state_dict(a.state_dict()); b.param_groups[0]["lr"]
        0.1
        """
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(self.param_groups, saved_groups):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            key = int(k) if isinstance(k, str) and k.isdigit() else k
            if key in id_map:
                p = id_map[key]
                state[p] = {name: cast_state(p, name, val) for name, val in v.items()}
            else:
                state[key] = v
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            if isinstance(s.get("betas"), list):  # JSON-like round trips give lists
                s["betas"] = tuple(s["betas"])
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups


@functools.cache
def active_fields(factory: Callable, static: tuple) -> tuple:
    """The factory's state fields in use with these settings (``momentum`` only with a
    momentum...), in the factory's order."""
    init = factory(lr=0.0, **dict(static)).init([np.zeros(1, np.float32)])
    return tuple(f for f in init._fields if f != "count" and getattr(init, f) is not None)


def cast_state(p: Tensor, name: str, value):
    """A loaded state value for parameter ``p``: tensors copied; floating ones (except
    ``step``) cast to ``p``'s dtype and device; a Python ``step`` becomes a tensor."""
    if name == "step":
        if isinstance(value, Tensor):
            return value.detach().clone()
        return wrap(np.asarray(value, np.float32).copy())
    if isinstance(value, Tensor):
        value = value.detach()
        if value.is_floating_point() and p.is_floating_point():
            return value.to(dtype=p.dtype, device=p.device, copy=True)
        return value.to(device=p.device, copy=True)
    return deepcopy(value)


def check_nonneg(**values) -> None:
    """PyTorch's argument checks: ``Invalid <name> value: <v>`` for negative values."""
    for name, v in values.items():
        if not isinstance(v, Tensor) and v < 0:
            label = "learning rate" if name == "lr" else f"{name} value"
            raise ValueError(f"Invalid {label}: {v}")


__all__ = ["Optimizer", "required"]
