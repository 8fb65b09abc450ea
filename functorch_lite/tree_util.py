"""``jax.tree_util``'s names at the same path, over ``functorch_lite.tree``.

>>> from functorch_lite import tree_util
>>> tree_util.tree_map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
{'a': 2, 'b': (4, 6)}
"""

from __future__ import annotations

from .tree import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    Partial,
    PyTreeDef,
    SequenceKey,
    all_leaves,
    flatten,
    flatten_with_path,
    keystr,
    leaves,
    leaves_with_path,
    map,
    map_with_path,
    reduce,
    register_dataclass,
    register_node,
    register_node_class,
    register_node_with_keys,
    structure,
    transpose,
    unflatten,
)
from .tree import all as tree_all

__all__ = [
    "tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure", "tree_map",
    "tree_map_with_path", "tree_flatten_with_path", "tree_leaves_with_path", "tree_transpose",
    "tree_reduce", "tree_all", "register_pytree_node", "register_pytree_node_class",
    "register_pytree_with_keys", "register_pytree_with_keys_class", "register_dataclass",
    "keystr", "DictKey", "SequenceKey", "GetAttrKey", "FlattenedIndexKey", "PyTreeDef",
    "Partial", "all_leaves", "treedef_is_leaf", "treedef_children",
]

tree_flatten = flatten
tree_unflatten = unflatten
tree_leaves = leaves
tree_structure = structure
tree_map = map
tree_map_with_path = map_with_path
tree_flatten_with_path = flatten_with_path
tree_leaves_with_path = leaves_with_path
tree_transpose = transpose
tree_reduce = reduce
register_pytree_node = register_node
register_pytree_node_class = register_node_class
register_pytree_with_keys = register_node_with_keys


def register_pytree_with_keys_class(cls: type) -> type:
    """Class decorator: ``obj.tree_flatten_with_keys() -> ((key, child)..., aux)`` and the
    classmethod ``cls.tree_unflatten(aux, children)``.

    >>> @register_pytree_with_keys_class
    ... class Box:
    ...     def __init__(self, v): self.v = v
    ...     def tree_flatten_with_keys(self): return ((GetAttrKey("v"), self.v),), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children): return cls(*children)
    """
    return register_node_with_keys(cls, lambda obj: obj.tree_flatten_with_keys(),
                                   cls.tree_unflatten)


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether ``treedef`` is the structure of a single leaf.

    >>> treedef_is_leaf(tree_structure(1.0)), treedef_is_leaf(tree_structure((1.0,)))
    (True, False)
    """
    return treedef.kind is None


def treedef_children(treedef: PyTreeDef) -> list:
    """The structures of the children of the root node.

    >>> treedef_children(tree_structure((1, [2, 3])))
    [*, [*, *]]
    """
    return list(treedef.children)

