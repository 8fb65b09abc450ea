"""Containers and shape-only layers: ``Sequential``, ``ModuleList``, ``ModuleDict``,
``ParameterList``, ``ParameterDict``, ``Identity``, ``Flatten``, ``Unflatten``.

Children of ``Sequential`` and ``ModuleList`` are named ``"0"``, ``"1"``..., so their
parameters are ``"0.weight"`` and so on, as in PyTorch.

>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> model(compat.ones(3, 4)).shape, len(model), type(model[:2]).__name__
(torch.Size([3, 2]), 3, 'Sequential')
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from ..ops import shape
from ..tensor import Tensor
from .module import Module
from .parameter import Parameter


def index_of(idx, n: int) -> int:
    """``idx`` as a position in ``[0, n)``; PyTorch's IndexError otherwise."""
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range")
    return idx % n


class Sequential(Module):
    r"""A chain of modules: ``forward`` feeds the input to the first and each output to the
    next. Built from modules in order, or from an ``OrderedDict`` naming them.

    Indexing gives a module; slicing gives a ``Sequential`` of the slice.

    Example::

        >>> model = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
        >>> [name for name, _ in model.named_parameters()]
        ['fc.weight', 'fc.bias']
    """

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[index_of(idx, len(self))]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[index_of(idx, len(self))]
        setattr(self, key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        if isinstance(idx, slice):
            for key in keys[idx]:
                del self._modules[key]
        else:
            del self._modules[keys[index_of(idx, len(self))]]
        # renumber, as PyTorch does, so the names stay 0..n-1
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(self._modules.values())}

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __add__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return Sequential(*self, *other)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns ``self``."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, sequential: Iterable[Module]) -> Sequential:
        """Append every module of ``sequential``; returns ``self``."""
        for m in sequential:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index``; returns ``self``."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        mods = list(self._modules.values())
        mods.insert(index % (n + 1) if index < 0 else index, module)
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(mods)}
        return self

    def pop(self, key: int) -> Module:
        """Remove and return the module at position ``key``."""
        m = self[key]
        del self[key]
        return m

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    r"""A list of modules, registered as children ``"0"``, ``"1"``... (a plain Python list
    would hide them from ``parameters()`` and ``state_dict``).

    Example::

        >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
        >>> len(list(layers.parameters()))
        6
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(index_of(idx, len(self)))]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, str(index_of(idx, len(self))), module)

    def __delitem__(self, idx) -> None:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[index_of(idx, len(self))]
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(mods)}

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns ``self``."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of ``modules``; returns ``self``."""
        if not isinstance(modules, Iterable) or isinstance(modules, Module) and not isinstance(
                modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend should be called with an iterable, but got "
                            + type(modules).__name__)
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        self.__dict__["_modules"] = {}
        for m in mods:
            self.append(m)

    def pop(self, key: int) -> Module:
        """Remove and return the module at position ``key``."""
        m = self[key]
        del self[key]
        return m

    def __repr__(self):
        # PyTorch folds runs of identical children ("(0-2): 3 x Linear(...)")
        lines, mods = [], list(self._modules.items())
        i = 0
        while i < len(mods):
            j = i
            while j + 1 < len(mods) and repr(mods[j + 1][1]) == repr(mods[i][1]):
                j += 1
            text = repr(mods[i][1]).replace("\n", "\n  ")
            if j > i:
                lines.append(f"({mods[i][0]}-{mods[j][0]}): {j - i + 1} x {text}")
            else:
                lines.append(f"({mods[i][0]}): {text}")
            i = j + 1
        if not lines:
            return "ModuleList()"
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    r"""A dict of modules, registered as children under their keys (insertion order).

    Example::

        >>> heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
        >>> list(heads.keys()), heads["reg"].out_features
        (['cls', 'reg'], 1)
    """

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module."""
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove and return the module under ``key``."""
        return self._modules.pop(key)

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules) -> None:
        """Add the modules of a mapping or of ``(key, module)`` pairs."""
        items = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in items:
            self[key] = module


class ParameterList(Module):
    r"""A list of parameters, registered as ``"0"``, ``"1"``... (tensors are wrapped as
    Parameters).

    Example::

        >>> ps = nn.ParameterList([nn.Parameter(compat.ones(2)) for _ in range(2)])
        >>> [n for n, _ in ps.named_parameters()]
        ['0', '1']
    """

    def __init__(self, values: Iterable | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(index_of(idx, len(self)))]

    def __setitem__(self, idx: int, param) -> None:
        setattr(self, str(index_of(idx, len(self))), as_parameter(param))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value) -> ParameterList:
        """Add a parameter at the end; returns ``self``."""
        self.register_parameter(str(len(self)), as_parameter(value))
        return self

    def extend(self, values: Iterable) -> ParameterList:
        """Append every value; returns ``self``."""
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): Parameter containing: [{p.type()} of size "
                         f"{'x'.join(map(str, p.shape))}]" for k, p in self._parameters.items())


class ParameterDict(Module):
    r"""A dict of parameters, registered under their keys (tensors are wrapped as
    Parameters).

    Example::

        >>> pd = nn.ParameterDict({"scale": nn.Parameter(compat.ones(1))})
        >>> list(pd.keys())
        ['scale']
    """

    def __init__(self, parameters: Mapping | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str):
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def update(self, values) -> None:
        """Add the entries of a mapping or of ``(key, value)`` pairs."""
        items = values.items() if isinstance(values, Mapping) else values
        for key, v in items:
            self[key] = v


def as_parameter(value):
    """Tensors become Parameters (as ParameterList/Dict do); None and Parameters pass."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class Identity(Module):
    r"""Returns its input unchanged (any constructor arguments are ignored); a placeholder,
    e.g. to drop a pretrained model's head.

    Example::

        >>> nn.Identity(54, unused="x")(compat.ones(2)).shape
        torch.Size([2])
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    r"""Flattens dims ``start_dim`` through ``end_dim`` into one
    (:math:`(N, *) \to (N, \prod *)` by default).

    Example::

        >>> nn.Flatten()(compat.ones(32, 1, 5, 5)).shape
        torch.Size([32, 25])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return shape.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    r"""Expands dim ``dim`` into the shape ``unflattened_size``.

    Example::

        >>> nn.Unflatten(1, (2, 5, 5))(compat.ones(2, 50)).shape
        torch.Size([2, 2, 5, 5])
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return shape.unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


__all__ = ["Flatten", "Identity", "ModuleDict", "ModuleList", "ParameterDict",
           "ParameterList", "Sequential", "Unflatten"]
