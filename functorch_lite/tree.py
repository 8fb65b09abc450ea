"""Pytrees: nested tuples, lists, dicts (sorted keys), None, namedtuples and registered classes.

>>> leaves, treedef = flatten({"b": (1, 2), "a": [3]})
>>> leaves
[3, 1, 2]
>>> unflatten(treedef, [x * 10 for x in leaves])
{'a': [30], 'b': (10, 20)}
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import functools
from collections.abc import Callable
from typing import Any

__all__ = ["flatten", "unflatten", "map", "leaves", "structure", "register_node",
           "register_node_with_keys", "register_node_class", "register_dataclass",
           "PyTreeDef", "all_leaves", "transpose", "reduce", "all", "flatten_with_path",
           "leaves_with_path", "map_with_path", "keystr", "DictKey", "SequenceKey",
           "GetAttrKey", "FlattenedIndexKey", "Partial"]

# cls -> (flatten, unflatten, flatten_with_keys or None)
_registry: dict[type, tuple[Callable, Callable, Callable | None]] = {}


def register_node(cls: type, flatten_fn: Callable, unflatten_fn: Callable,
                  flatten_with_keys_fn: Callable | None = None) -> type:
    """Register ``cls`` as an inner node.

    ``flatten_fn(obj) -> (children, aux_data)``; ``unflatten_fn(aux_data, children) -> obj``
    (JAX's ``register_pytree_node`` convention). ``aux_data`` must be hashable.
    ``flatten_with_keys_fn(obj) -> ((key, child) pairs, aux_data)`` names the children in
    paths (default: ``FlattenedIndexKey(i)``).

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> _ = register_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
    """
    _registry[cls] = (flatten_fn, unflatten_fn, flatten_with_keys_fn)
    return cls


def register_node_with_keys(cls: type, flatten_with_keys_fn: Callable, unflatten_fn: Callable,
                            flatten_fn: Callable | None = None) -> type:
    """Register ``cls`` with a flatten function that names each child (JAX's
    ``register_pytree_with_keys``): ``flatten_with_keys_fn(obj) -> ((key, child)..., aux)``.

    >>> class P:
    ...     def __init__(self, a): self.a = a
    >>> _ = register_node_with_keys(P, lambda p: (((GetAttrKey("a"), p.a),), None),
    ...                             lambda aux, ch: P(*ch))
    """
    if flatten_fn is None:
        def flatten_fn(obj):
            pairs, aux = flatten_with_keys_fn(obj)
            return [c for _, c in pairs], aux
    return register_node(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)


def register_node_class(cls: type) -> type:
    """Class decorator: ``obj.tree_flatten() -> (children, aux)`` and the classmethod
    ``cls.tree_unflatten(aux, children)`` define the node (JAX's
    ``register_pytree_node_class``).

    >>> @register_node_class
    ... class Box:
    ...     def __init__(self, v): self.v = v
    ...     def tree_flatten(self): return (self.v,), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children): return cls(*children)
    """
    return register_node(cls, lambda obj: obj.tree_flatten(), cls.tree_unflatten)


def register_dataclass(cls: type, data_fields=None, meta_fields=None, drop_fields=()) -> type:
    """Register a dataclass: ``data_fields`` are children (default: all fields not in
    ``meta_fields``), ``meta_fields`` are static auxiliary data, ``drop_fields`` are left
    out (they must have defaults). Usable as a decorator.

    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class Params:
    ...     w: object
    ...     b: object
    """
    meta_fields = tuple(meta_fields or ())
    if data_fields is None:
        data_fields = [f.name for f in dataclasses.fields(cls)
                       if f.name not in meta_fields and f.name not in drop_fields
                       and f.metadata.get("static") is not True]
        meta_fields += tuple(f.name for f in dataclasses.fields(cls)
                             if f.metadata.get("static") is True and f.name not in meta_fields)
    data_fields = tuple(data_fields)

    def flat(obj):
        return [getattr(obj, n) for n in data_fields], tuple(getattr(obj, n) for n in meta_fields)

    def flat_keys(obj):
        pairs = [(GetAttrKey(n), getattr(obj, n)) for n in data_fields]
        return pairs, tuple(getattr(obj, n) for n in meta_fields)

    def unflat(aux, children):
        kw = dict(zip(data_fields, children))
        kw.update(zip(meta_fields, aux))
        return cls(**kw)

    return register_node(cls, flat, unflat, flat_keys)


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


# The recursive walks below are module-level functions handed their accumulator, not
# closures: a closure that calls itself is a reference cycle, and it would keep the
# leaves it collected (large arrays) alive until the cyclic garbage collector ran.


def _flatten(x, is_leaf, leaves: list) -> PyTreeDef:
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF
    node = children(x)
    if node is None:
        leaves.append(x)
        return _LEAF
    kind, aux, ch = node
    return PyTreeDef(kind, aux, [_flatten(c, is_leaf, leaves) for c in ch])


def flatten(tree, is_leaf: Callable[[Any], bool] | None = None):
    """Flatten to ``(leaves, treedef)``; None counts as an empty node, as in JAX."""
    leaves: list = []
    td = _flatten(tree, is_leaf, leaves)
    return leaves, td


def _unflatten(td: PyTreeDef, it):
    if td.kind is None:
        return next(it)
    ch = [_unflatten(c, it) for c in td.children]
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


def unflatten(treedef: PyTreeDef, leaves):
    """Rebuild a tree of structure ``treedef`` from ``leaves``."""
    it = iter(leaves)
    try:
        out = _unflatten(treedef, it)
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


# --------------------------------------------------------------------------- paths


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """A position in a tuple or list: ``[0]``."""

    idx: int

    def __str__(self):
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """A dict key: ``['a']``."""

    key: Any

    def __str__(self):
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """An attribute (namedtuple or dataclass field): ``.name``."""

    name: str

    def __str__(self):
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """The i-th child of a registered node that does not name its children."""

    key: int

    def __str__(self):
        return f"[<flat index {self.key}>]"


def keyed_children(x):
    """(node kind, aux data, [(key, child)]) or None for a leaf: ``children`` with the key
    that names each child in a path."""
    node = children(x)
    if node is None:
        return None
    kind, aux, ch = node
    if kind is tuple or kind is list:
        keys = [SequenceKey(i) for i in range(len(ch))]
    elif kind is dict or kind is collections.OrderedDict:
        keys = [DictKey(k) for k in aux]
    elif kind is collections.defaultdict:
        keys = [DictKey(k) for k in aux[1]]
    elif kind in _registry:
        with_keys = _registry[kind][2]
        if with_keys is not None:
            pairs, _ = with_keys(x)
            keys = [k for k, _ in pairs]
        else:
            keys = [FlattenedIndexKey(i) for i in range(len(ch))]
    elif _is_namedtuple(x):
        keys = [GetAttrKey(f) for f in kind._fields]
    else:
        keys = []
    return kind, aux, list(zip(keys, ch))


def flatten_with_path(tree, is_leaf: Callable[[Any], bool] | None = None):
    """``([(path, leaf)...], treedef)``; a path is a tuple of keys (``keystr`` prints it).

    >>> pairs, _ = flatten_with_path({"a": [1, 2]})
    >>> [(keystr(p), v) for p, v in pairs]
    [("['a'][0]", 1), ("['a'][1]", 2)]
    """
    out: list = []
    _flatten_with_path(tree, (), is_leaf, out)
    return out, structure(tree, is_leaf)


def _flatten_with_path(x, path, is_leaf, out: list) -> None:
    if is_leaf is not None and is_leaf(x):
        out.append((path, x))
        return
    node = keyed_children(x)
    if node is None:
        out.append((path, x))
        return
    for k, c in node[2]:
        _flatten_with_path(c, path + (k,), is_leaf, out)


def leaves_with_path(tree, is_leaf=None) -> list:
    return flatten_with_path(tree, is_leaf)[0]


def map_with_path(f: Callable, tree, *rest, is_leaf=None):
    """``map`` where ``f`` also receives each leaf's path first.

    >>> map_with_path(lambda p, v: keystr(p) + "=" + str(v), {"a": 1})
    {'a': "['a']=1"}
    """
    pairs, td = flatten_with_path(tree, is_leaf)
    others = []
    for r in rest:
        rl, rtd = flatten(r, is_leaf)
        if rtd != td:
            raise ValueError(f"tree.map_with_path: tree structures differ: {td} vs {rtd}")
        others.append(rl)
    return unflatten(td, [f(p, v, *xs) for (p, v), *xs in zip(pairs, *others)])


def keystr(path, *, simple: bool = False, separator: str = "") -> str:
    """A path as text: ``"['a'][0].w"`` (``simple=True``: the bare keys, joined by
    ``separator``)."""
    if not simple:
        return separator.join(str(k) for k in path)
    parts = []
    for k in path:
        v = next(iter(dataclasses.asdict(k).values())) if dataclasses.is_dataclass(k) else k
        parts.append(str(v))
    return separator.join(parts)


# --------------------------------------------------------------------------- whole-tree ops


def transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose):
    """Turn a tree of structure ``outer(inner)`` into one of structure ``inner(outer)``
    (``inner_treedef=None``: take it from the first outer child).

    >>> outer, inner = structure([0, 0]), structure((0, 0))
    >>> transpose(outer, inner, [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    if inner_treedef is None:
        kids = [c for _, c in _outer_children(outer_treedef, pytree_to_transpose)]
        if not kids:
            raise ValueError("tree.transpose: inner_treedef=None needs a non-empty outer tree")
        inner_treedef = structure(kids[0])
    flat, td = flatten(pytree_to_transpose)
    n_in, n_out = inner_treedef.num_leaves, outer_treedef.num_leaves
    expected = structure(unflatten(outer_treedef, [unflatten(inner_treedef, [0] * n_in)] * n_out))
    if td != expected:
        raise TypeError(f"tree.transpose: the tree has structure {td}, not the outer "
                        f"structure {outer_treedef} holding inner structures {inner_treedef}")
    rows = [flat[i * n_in:(i + 1) * n_in] for i in range(n_out)]
    return unflatten(inner_treedef, [unflatten(outer_treedef, col) for col in zip(*rows)])


def _outer_children(outer_treedef, tree):
    """The subtrees of ``tree`` sitting where ``outer_treedef`` has leaves."""
    out: list = []
    _outer_walk(outer_treedef, tree, out)
    return out


def _outer_walk(td, x, out: list) -> None:
    if td.kind is None:
        out.append((td, x))
        return
    for c, sub in zip(td.children, children(x)[2]):
        _outer_walk(c, sub, out)


_NO_INITIAL = object()


def reduce(function: Callable, tree, initializer=_NO_INITIAL, is_leaf=None):
    """``functools.reduce`` over the leaves.

    >>> reduce(lambda a, b: a + b, {"x": 1, "y": [2, 3]})
    6
    """
    lv = leaves(tree, is_leaf)
    if initializer is _NO_INITIAL:
        return functools.reduce(function, lv)
    return functools.reduce(function, lv, initializer)


def all(tree, is_leaf=None) -> bool:  # noqa: A001 - jax.tree's name
    """Whether every leaf is truthy.

    >>> all([True, (1, 2)])
    True
    """
    return builtins.all(bool(x) for x in leaves(tree, is_leaf))


class Partial(functools.partial):
    """A ``functools.partial`` that is a pytree: its bound arguments are leaves and the
    function is static, so it can be passed to (and returned from) transforms.

    >>> add3 = Partial(lambda a, b: a + b, 3)
    >>> map(lambda v: v * 10, add3)(1)
    31
    """

    def __new__(cls, func, *args, **kwargs):
        if isinstance(func, functools.partial):
            # flatten nested partials, so the function (aux data) is a plain callable
            args, kwargs = func.args + args, {**func.keywords, **kwargs}
            func = func.func
        return super().__new__(cls, func, *args, **kwargs)


register_node(Partial, lambda p: ((p.args, p.keywords), p.func),
              lambda func, ch: Partial(func, *ch[0], **ch[1]))
