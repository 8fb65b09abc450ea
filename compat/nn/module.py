"""``Module``: the base class of every layer and model (``torch.nn.Module``).

A Module keeps its parameters, buffers and submodules in three ordered dicts
(``_parameters``, ``_buffers``, ``_modules``, PyTorch's names, so code that peeks at them
works); assigning a ``Parameter``, a ``Module`` or (for a registered buffer name) a Tensor
to an attribute files it there. Names, ordering and ``state_dict`` keys follow PyTorch:
a module's own parameters in registration order, then its persistent buffers, then each
child's entries under ``"child."``.

Every Module subclass is also a pytree node (registered when the class is created): its
leaves are the arrays of its parameters and buffers, so ``functorch_lite``'s transforms
take a model directly and ``fl.grad(loss)(model, x, y)`` returns a model-shaped structure
of gradients, as equinox does.

>>> class Net(Module):
...     def __init__(self):
...         super().__init__()
...         self.fc = compat.nn.Linear(2, 1)
...     def forward(self, x):
...         return self.fc(x)
>>> [name for name, _ in Net().named_parameters()]
['fc.weight', 'fc.bias']
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator

import numpy as np

import functorch_lite as fl

from .. import device as device_mod
from .. import dtypes
from ..grad_mode import no_grad
from ..graph import RemovableHandle
from ..tensor import Tensor
from .parameter import Buffer, Parameter


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys the module expected but did not get, and
    the keys it got but has no entry for (PyTorch's ``_IncompatibleKeys``).

    >>> IncompatibleKeys([], [])
    <All keys matched successfully>
    """

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")

    __str__ = __repr__


def add_indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (how ``repr`` nests children)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


STATE_KEYS = frozenset({"_parameters", "_buffers", "_modules", "training"})


def same_value(a, b) -> bool:
    """``a == b`` where that is a plain truth value; otherwise identity (tensors, arrays)."""
    if a is b:
        return True
    try:
        r = a == b
    except Exception:  # noqa: BLE001 - any failure to compare means "not the same"
        return False
    return r is True or (type(r) is np.bool_ and bool(r))


class Static:
    """Pytree auxiliary data of a module: the module itself (what ``unflatten`` copies)
    and its other attributes (sizes, flags, hooks...). Two structures match when the
    modules are of the same class with equal attributes, as equinox compares static
    fields -- so a model and its gradients share a structure, while ``jit`` retraces for a
    module whose settings differ."""

    __slots__ = ("module", "attrs", "fixed")

    def __init__(self, module, fixed: tuple = ()):
        self.module = module
        self.fixed = fixed
        self.attrs = tuple((k, v) for k, v in module.__dict__.items()
                           if k not in STATE_KEYS) + fixed

    def __eq__(self, other):
        if not isinstance(other, Static):
            return False
        if other.module is self.module:
            return True
        if type(other.module) is not type(self.module) or len(other.attrs) != len(self.attrs):
            return False
        return all(ka == kb and same_value(va, vb)
                   for (ka, va), (kb, vb) in zip(self.attrs, other.attrs))

    def __hash__(self):
        return hash((type(self.module), tuple(k for k, _ in self.attrs)))


def is_leaf_buffer(b) -> bool:
    """Floating-point buffers (running statistics) are pytree leaves; integer ones
    (``num_batches_tracked``) are structure, so ``fl.grad`` over a model sees only floats."""
    return b is None or b.array.dtype.kind in "fc"


def flatten_module(m):
    """Children: the module's parameters, floating-point buffers and submodules, in that
    order; other buffers stay with the structure (compared by identity)."""
    d = m.__dict__
    p, b, c = d["_parameters"], d["_buffers"], d["_modules"]
    leaf_b = {k: v for k, v in b.items() if is_leaf_buffer(v)}
    fixed = tuple((k, v) for k, v in b.items() if k not in leaf_b)
    aux = (tuple(p), tuple(b), tuple(leaf_b), tuple(c), d["training"], Static(m, fixed))
    return (*p.values(), *leaf_b.values(), *c.values()), aux


def unflatten_module(aux, children):
    """A shallow copy of the module flattened into ``aux`` holding ``children`` instead of
    its parameters, buffers and submodules (the original is left untouched)."""
    pk, bk, leaf_bk, ck, training, static = aux
    m = object.__new__(type(static.module))
    d = m.__dict__
    d.update(static.module.__dict__)
    n, nb = len(pk), len(pk) + len(leaf_bk)
    d["_parameters"] = dict(zip(pk, children[:n]))
    given = dict(zip(leaf_bk, children[n:nb]))
    given.update(static.fixed)
    d["_buffers"] = {k: given[k] for k in bk}
    d["_modules"] = dict(zip(ck, children[nb:]))
    d["training"] = training
    return m


def hook_handle(hooks: list, fn, prepend: bool) -> RemovableHandle:
    handle = RemovableHandle(hooks, fn)
    if prepend:
        hooks.insert(0, hooks.pop())
    return handle


class Module:
    r"""Base class for all neural network modules (``torch.nn.Module``).

    Subclasses call ``super().__init__()`` first, assign layers and parameters as
    attributes, and define ``forward``; calling the module runs the forward pre-hooks,
    ``forward`` and the forward hooks.

    Example::

        >>> class Model(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(1, 4, 3)
        ...         self.fc = nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(self.conv(x).relu().mean((2, 3)))
        >>> Model()(compat.randn(8, 1, 5, 5)).shape
        torch.Size([8, 2])
    """

    training: bool
    dump_patches = False

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args} {kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        # hooks as (fn, with_kwargs) pairs, in calling order
        d["_forward_hooks"] = []
        d["_forward_pre_hooks"] = []
        d["_state_dict_hooks"] = []
        d["_load_state_dict_pre_hooks"] = []

    def __init_subclass__(cls, **kwargs):
        """Every Module subclass is a pytree node (see ``flatten_module``)."""
        super().__init_subclass__(**kwargs)
        fl.tree.register_node(cls, flatten_module, unflatten_module)

    # -- forward ----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation of the module; subclasses override it."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if not d["_forward_pre_hooks"] and not d["_forward_hooks"]:
            return self.forward(*args, **kwargs)
        return self.call_with_hooks(args, kwargs)

    def call_with_hooks(self, args: tuple, kwargs: dict):
        """``forward`` between the pre-hooks (which may replace the arguments) and the
        hooks (which may replace the output)."""
        d = self.__dict__
        for hook, with_kwargs in list(d["_forward_pre_hooks"]):
            if with_kwargs:
                r = hook(self, args, kwargs)
                if r is not None:
                    args, kwargs = r
            else:
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(d["_forward_hooks"]):
            if with_kwargs:
                r = hook(self, args, kwargs, out)
            else:
                r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None result replaces the
        positional arguments (with ``with_kwargs``: ``hook(module, args, kwargs)`` returning
        ``(args, kwargs)``). Returns a handle whose ``remove()`` unregisters it.

        >>> lin = nn.Linear(2, 2)
        >>> h = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
        >>> bool((lin(compat.ones(1, 2)) == lin.bias).all()); h.remove()
        True
        """
        return hook_handle(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; a non-None result replaces
        the output (with ``with_kwargs``: ``hook(module, args, kwargs, output)``). Returns a
        handle whose ``remove()`` unregisters it.

        >>> seen = []
        >>> h = nn.ReLU().register_forward_hook(lambda m, args, out: seen.append(out.shape))
        """
        return hook_handle(self._forward_hooks, (hook, with_kwargs), prepend)

    # -- attribute bookkeeping ----------------------------------------------------------------
    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            entries = d.get(store)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self.forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type_name(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self.forget(name)
            d["_modules"][name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type_name(value)}' as child module "
                                f"'{name}' (torch.nn.Module or None expected)")
            d["_modules"][name] = None
        elif isinstance(value, Buffer):
            if params is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self.forget(name)
            self.register_buffer(name, value, value.persistent)
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type_name(value)}' as buffer '{name}' "
                                "(torch.Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def forget(self, name: str) -> None:
        """Remove ``name`` from every store (before it is filed in one of them)."""
        d = self.__dict__
        d.pop(name, None)
        d["_parameters"].pop(name, None)
        d["_buffers"].pop(name, None)
        d["_modules"].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d.get(store, ()):
                del d[store][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = set(super().__dir__())
        for store in ("_parameters", "_buffers", "_modules"):
            keys.update(self.__dict__.get(store, ()))
        return sorted(keys)

    def check_name(self, name, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{what} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{what} name can\'t be empty string ""')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None: a declared but absent parameter, such as a missing
        bias) under ``name``.

        >>> m = nn.Module(); m.register_parameter("w", nn.Parameter(compat.ones(1)))
        >>> [n for n, _ in m.named_parameters()]
        ['w']
        """
        self.check_name(name, "parameter")
        if name in self.__dict__ and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type_name(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             "parameters must be created explicitly. To express '"
                             f"{name}' as a function of another Tensor, compute the value in "
                             "the forward() method.")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None,
                        persistent: bool = True) -> None:
        """Add a buffer: a tensor that is module state but not a parameter (BatchNorm's
        running statistics). ``persistent=False`` keeps it out of ``state_dict``.

        >>> m = nn.Module(); m.register_buffer("steps", compat.zeros(1))
        >>> list(m.state_dict())
        ['steps']
        """
        self.check_name(name, "buffer")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type_name(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (``self.name = module`` for names that are
        not identifiers).

        >>> m = nn.Module(); m.add_module("fc-1", nn.Linear(1, 1)); list(dict(m.named_children()))
        ['fc-1']
        """
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type_name(module)} is not a Module subclass")
        self.check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    # -- traversal ------------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Every module of the tree (this one first, as ``""``), depth first, with its
        dotted name; a module reached twice is listed once unless ``remove_duplicate``
        is False.

        >>> [n for n, _ in nn.Sequential(nn.Linear(1, 1), nn.ReLU()).named_modules()]
        ['', '0', '1']
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from child.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """Every module of the tree, this one first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their names (each once)."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and child not in seen:
                seen.add(child)
                yield name, child

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, child in self.named_children():
            yield child

    def named_members(self, store: str, prefix: str, recurse: bool,
                      remove_duplicate: bool):
        """``(dotted name, tensor)`` for the entries of ``store`` in the tree, each tensor
        once unless ``remove_duplicate`` is False."""
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in m.__dict__[store].items():
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs with PyTorch's dotted names and order: each module's
        parameters in registration order, children after their parent.

        >>> [n for n, _ in nn.Sequential(nn.Linear(2, 2)).named_parameters()]
        ['0.weight', '0.bias']
        """
        return self.named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters (what an optimizer takes), each once.

        >>> sum(p.numel() for p in nn.Linear(3, 2).parameters())
        8
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """``(name, buffer)`` pairs, persistent or not.

        >>> [n for n, _ in nn.BatchNorm1d(2).named_buffers()]
        ['running_mean', 'running_var', 'num_batches_tracked']
        """
        return self.named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``""`` is this module)."""
        m = self
        if target == "":
            return m
        for part in target.split("."):
            if part not in m._modules:
                raise AttributeError(f"{type(m).__name__} has no attribute `{part}`")
            m = m._modules[part]
        return m

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target``."""
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if name not in m._parameters:
            raise AttributeError(f"{type(m).__name__} has no parameter `{name}`")
        return m._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target``."""
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if name not in m._buffers:
            raise AttributeError(f"{type(m).__name__} has no buffer `{name}`")
        return m._buffers[name]

    # -- state dict ---------------------------------------------------------------------------
    def state_dict(self, *args, destination=None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """The module's state: an ordered dict from dotted names to its parameters and
        persistent buffers (detached tensors sharing memory unless ``keep_vars``), in
        PyTorch's order.

        >>> list(nn.Linear(2, 1).state_dict())
        ['weight', 'bias']
        """
        if args:  # PyTorch's deprecated positional (destination, prefix, keep_vars)
            destination, prefix, keep_vars = (list(args) + [destination, prefix,
                                                            keep_vars][len(args):])[:3]
        if destination is None:
            destination = OrderedDict()
        self.save_to_state_dict(destination, prefix, keep_vars)
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=destination, prefix=prefix + name + ".",
                                 keep_vars=keep_vars)
        for hook in self._state_dict_hooks:
            r = hook(self, destination, prefix, {})
            if r is not None:
                destination = r
        return destination

    def save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """Put this module's own parameters and persistent buffers into ``destination``."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def load_state_dict(self, state_dict, strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module (in place,
        keeping the parameter objects, so optimizers stay attached).

        Args:
            state_dict: a dict from dotted names to tensors (as ``state_dict()`` returns).
            strict: raise a ``RuntimeError`` listing missing and unexpected keys (PyTorch's
                message); otherwise return them.
            assign: make the module's entries the given tensors instead of copying.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> b.load_state_dict(a.state_dict())
        <All keys matched successfully>
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        state_dict = OrderedDict(state_dict)
        for prefix, m in self.named_modules(remove_duplicate=False):
            p = prefix + "." if prefix else ""
            for hook in m._load_state_dict_pre_hooks:
                hook(state_dict, p, {}, strict, missing, unexpected, errors)
            m.load_from_state_dict(state_dict, p, assign, missing, errors)
        expected = set(self.state_dict(keep_vars=True))
        for key in state_dict:
            if key not in expected:
                unexpected.append(key)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return IncompatibleKeys(missing, unexpected)

    def load_from_state_dict(self, state_dict: dict, prefix: str, assign: bool,
                             missing: list, errors: list) -> None:
        """Load this module's own entries from ``state_dict`` (keys under ``prefix``),
        noting missing keys and shape mismatches."""
        own = [(n, p) for n, p in self._parameters.items() if p is not None]
        own += [(n, b) for n, b in self._buffers.items()
                if b is not None and n not in self._non_persistent_buffers_set]
        for name, target in own:
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                errors.append(f'While copying the parameter named "{key}", expected '
                              f"torch.Tensor or Tensor-like object from checkpoint but "
                              f"received {type(value)}")
                continue
            if tuple(value.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{value.shape!r} from checkpoint, the shape in current model "
                              f"is {target.shape!r}.")
                continue
            if assign:
                if isinstance(target, Parameter):
                    value = Parameter(value, requires_grad=target.requires_grad)
                setattr(self, name, value)
            else:
                with no_grad():
                    target.copy_(value)

    def register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict``
        collects this module's entries (a non-None result replaces the dict)."""
        return RemovableHandle(self._state_dict_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before this module loads its entries (it may edit
        ``state_dict`` in place, e.g. to rename old keys)."""
        return RemovableHandle(self._load_state_dict_pre_hooks, hook)

    # -- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and all
        submodules (Dropout and BatchNorm behave differently); returns ``self``.

        >>> nn.Dropout().train(False).training
        False
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.__dict__["training"] = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``); returns ``self``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (``False`` freezes the module, e.g. a
        pretrained body); returns ``self``.

        >>> lin = nn.Linear(2, 2).requires_grad_(False)
        >>> any(p.requires_grad for p in lin.parameters())
        False
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default), or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g.detach_()
                g.zero_()

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on ``self``; returns
        ``self``. The usual way to run a custom initialisation.

        >>> def init(m):
        ...     if isinstance(m, nn.Linear):
        ...         nn.init.zeros_(m.weight)
        >>> float(nn.Sequential(nn.Linear(2, 2)).apply(init)[0].weight.sum())
        0.0
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- devices and dtypes -----------------------------------------------------------------------
    def map_tensors(self, fn: Callable[[Tensor], Tensor]) -> Module:
        """Replace the data of every parameter, gradient and buffer by ``fn(data)``,
        keeping the parameter objects (optimizers hold them)."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is None:
                    continue
                with no_grad():
                    new = fn(p)
                if new is not p:
                    p.data = new
                if p.grad is not None:
                    g = fn(p.grad)
                    if g is not p.grad:
                        p.grad.data = g
            for name, b in m._buffers.items():
                if b is not None:
                    m._buffers[name] = fn(b)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast the parameters and buffers: ``to(device)``, ``to(dtype)``
        (floating-point entries only), ``to(device, dtype)``, ``to(tensor)``; in place,
        returns ``self``.

        >>> nn.Linear(2, 2).to(compat.float64).weight.dtype
        torch.float64
        """
        dev, dt = None, kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dev, dt = a.device, a.dtype
            elif isinstance(a, dtypes.dtype):
                dt = a
            elif isinstance(a, (str, device_mod.device, int)) and not isinstance(a, bool):
                dev = a
        if dt is not None and not dtypes.canonical(dt).is_floating_point:
            raise TypeError("nn.Module.to only accepts floating point or complex dtypes, but "
                            f"got desired dtype={dt}")

        def convert(t: Tensor) -> Tensor:
            if dt is not None and t.is_floating_point():
                t = t.to(dt)
            if dev is not None:
                t = t.to(dev)
            return t

        return self.map_tensors(convert)

    def cuda(self, device=None) -> Module:
        """Move everything to the GPU (PyTorch's error when there is none)."""
        return self.to("cuda" if device is None else device)

    def cpu(self) -> Module:
        """Move everything to the CPU."""
        return self.to("cpu")

    def type(self, dst_type) -> Module:
        """Cast every parameter and buffer to ``dst_type``."""
        return self.map_tensors(lambda t: t.to(dst_type))

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32."""
        return self.to(dtypes.float32)

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64."""
        return self.to(dtypes.float64)

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16."""
        return self.to(dtypes.float16)

    def share_memory(self) -> Module:
        """No-op: host memory is already shareable with worker processes here."""
        return self

    # -- printing ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (subclasses override)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, child in self._modules.items():
            lines.append(f"({name}): " + add_indent(repr(child), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __setstate__(self, state):
        self.__dict__.update(state)


def type_name(value) -> str:
    """PyTorch's name for the type of a wrongly assigned value."""
    if isinstance(value, Tensor):
        return value.type()
    return type(value).__name__


fl.tree.register_node(Module, flatten_module, unflatten_module)

__all__ = ["IncompatibleKeys", "Module"]
