"""Pytrees: nested tuples, lists, dicts (sorted keys), None, namedtuples and registered classes.

>>> leaves, treedef = flatten({"b": (1, 2), "a": [3]})
>>> leaves
[3, 1, 2]
>>> unflatten(treedef, [x * 10 for x in leaves])
{'a': [30], 'b': (10, 20)}
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["flatten", "unflatten", "map", "leaves", "structure", "register_node",
           "register_dataclass", "PyTreeDef", "all_leaves"]

_registry: dict[type, tuple[Callable, Callable]] = {}


def register_node(cls: type, flatten_fn: Callable, unflatten_fn: Callable) -> type:
    """Register ``cls`` as an inner node.

    ``flatten_fn(obj) -> (children, aux_data)``; ``unflatten_fn(aux_data, children) -> obj``
    (JAX's ``register_pytree_node`` convention). ``aux_data`` must be hashable.

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> _ = register_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
    """
    _registry[cls] = (flatten_fn, unflatten_fn)
    return cls


def register_dataclass(cls: type, data_fields=None, meta_fields=()) -> type:
    """Register a dataclass: ``data_fields`` are children (default: all fields not in
    ``meta_fields``), ``meta_fields`` are static auxiliary data. Usable as a decorator."""
    if data_fields is None:
        data_fields = [f.name for f in dataclasses.fields(cls) if f.name not in meta_fields]
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)

    def flat(obj):
        return [getattr(obj, n) for n in data_fields], tuple(getattr(obj, n) for n in meta_fields)

    def unflat(aux, children):
        kw = dict(zip(data_fields, children))
        kw.update(zip(meta_fields, aux))
        return cls(**kw)

    return register_node(cls, flat, unflat)


class PyTreeDef:
    """The structure of a pytree: node type, auxiliary data and child structures."""

    __slots__ = ("kind", "aux", "children", "num_leaves", "_hash")

    def __init__(self, kind, aux, children):
        self.kind = kind
        self.aux = aux
        self.children = tuple(children)
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in self.children)
        self._hash = None

    def __eq__(self, other):
        return (isinstance(other, PyTreeDef) and self.kind is other.kind
                and self.aux == other.aux and self.children == other.children)

    def __hash__(self):
        if self._hash is None:
            self._hash = hash((id(self.kind), _hashable(self.aux), self.children))
        return self._hash

    def __repr__(self):
        if self.kind is None:
            return "*"
        if self.kind is type(None):
            return "None"
        inner = ", ".join(map(repr, self.children))
        if self.kind is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        if self.kind is list:
            return f"[{inner}]"
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.aux, self.children)) + "}"
        return f"{self.kind.__name__}({inner})"

    def unflatten(self, leaves):
        return unflatten(self, leaves)


def _hashable(aux):
    try:
        hash(aux)
        return aux
    except TypeError:
        return repr(aux)


_LEAF = PyTreeDef(None, None, ())


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def children(x):
    """(node kind, aux data, children) or None for a leaf."""
    t = type(x)
    if t is tuple or t is list:
        return t, None, x
    if t is dict:
        keys = sorted(x.keys(), key=_sort_key)
        return dict, tuple(keys), [x[k] for k in keys]
    if x is None:
        return type(None), None, ()
    if t is collections.OrderedDict:  # insertion order, as in JAX
        return t, tuple(x.keys()), list(x.values())
    if t is collections.defaultdict:
        keys = sorted(x.keys(), key=_sort_key)
        return t, (x.default_factory, tuple(keys)), [x[k] for k in keys]
    if t in _registry:
        ch, aux = _registry[t][0](x)
        return t, aux, list(ch)
    if _is_namedtuple(x):
        return t, None, tuple(x)
    return None


def _sort_key(k):
    return (type(k).__name__, k) if not isinstance(k, (int, float)) else ("", k)


def flatten(tree, is_leaf: Callable[[Any], bool] | None = None):
    """Flatten to ``(leaves, treedef)``; None counts as an empty node, as in JAX."""
    leaves: list = []

    def rec(x):
        if is_leaf is not None and is_leaf(x):
            leaves.append(x)
            return _LEAF
        node = children(x)
        if node is None:
            leaves.append(x)
            return _LEAF
        kind, aux, ch = node
        return PyTreeDef(kind, aux, [rec(c) for c in ch])

    td = rec(tree)
    return leaves, td


def unflatten(treedef: PyTreeDef, leaves):
    """Rebuild a tree of structure ``treedef`` from ``leaves``."""
    it = iter(leaves)

    def rec(td):
        if td.kind is None:
            return next(it)
        ch = [rec(c) for c in td.children]
        k = td.kind
        if k is tuple:
            return tuple(ch)
        if k is list:
            return ch
        if k is dict:
            return dict(zip(td.aux, ch))
        if k is type(None):
            return None
        if k is collections.OrderedDict:
            return collections.OrderedDict(zip(td.aux, ch))
        if k is collections.defaultdict:
            return collections.defaultdict(td.aux[0], zip(td.aux[1], ch))
        if k in _registry:
            return _registry[k][1](td.aux, ch)
        return k(*ch)  # namedtuple

    try:
        out = rec(treedef)
    except StopIteration:
        raise ValueError(f"unflatten: too few leaves for tree structure {treedef} "
                         f"({treedef.num_leaves} needed)") from None
    rest = sum(1 for _ in it)
    if rest:
        raise ValueError(f"unflatten: {rest} leaves left over for tree structure {treedef}")
    return out


def leaves(tree, is_leaf=None) -> list:
    return flatten(tree, is_leaf)[0]


def structure(tree, is_leaf=None) -> PyTreeDef:
    return flatten(tree, is_leaf)[1]


def all_leaves(iterable) -> bool:
    return all(structure(x) == _LEAF for x in iterable)


def map(f: Callable, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise over ``tree`` and trees ``rest`` of the same structure.

    >>> map(lambda a, b: a + b, (1, [2]), (10, [20]))
    (11, [22])
    """
    lv, td = flatten(tree, is_leaf)
    others = []
    for r in rest:
        rl, rtd = flatten(r, is_leaf)
        if rtd != td:
            raise ValueError(f"tree.map: tree structures differ: {td} vs {rtd}")
        others.append(rl)
    return unflatten(td, [f(*xs) for xs in zip(lv, *others)])


_DICTS = (dict, collections.OrderedDict, collections.defaultdict)


def prefix_broadcast(prefix, tree, what="in_axes", is_leaf=None):
    """Expand a pytree ``prefix`` of ``tree`` so it has one entry per leaf of ``tree``."""
    out: list = []

    def rec(p, t):
        if p is None or children(p) is None:
            out.extend([p] * len(leaves(t, is_leaf)))
            return
        pk, pa, pch = children(p)
        node = children(t)
        if node is None or node[0] is not pk or (pk in _DICTS and pa != node[1]) or \
                len(pch) != len(node[2]):
            raise ValueError(f"{what} {p!r} does not match the argument structure "
                             f"{structure(t, is_leaf)}")
        for a, b in zip(pch, node[2]):
            rec(a, b)

    rec(prefix, tree)
    return out
