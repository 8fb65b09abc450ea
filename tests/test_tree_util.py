"""``functorch_lite.tree_util`` (JAX's names) and the new ``fl.tree`` functions: key paths,
transpose, reduce, all, Partial, class and keyed registration; used under transforms."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import tree_util as tu

Point = collections.namedtuple("Point", ["x", "y"])


@tu.register_pytree_node_class
class Affine:
    """A JAX-style pytree class: children w and b, static name."""

    def __init__(self, w, b, name="affine"):
        self.w, self.b, self.name = w, b, name

    def __call__(self, x):
        return x @ self.w + self.b

    def tree_flatten(self):
        return (self.w, self.b), self.name

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children, name=aux)


@tu.register_dataclass
@dataclasses.dataclass
class Params:
    scale: object
    shift: object
    label: str = dataclasses.field(default="p", metadata={"static": True})


class Cell:
    def __init__(self, h, c):
        self.h, self.c = h, c


tu.register_pytree_with_keys(
    Cell, lambda cell: (((tu.GetAttrKey("h"), cell.h), (tu.GetAttrKey("c"), cell.c)), None),
    lambda aux, ch: Cell(*ch))


def test_jax_names_are_the_tree_functions():
    t = {"a": [1, 2], "b": (3, Point(4, 5))}
    leaves, td = tu.tree_flatten(t)
    assert leaves == [1, 2, 3, 4, 5]
    assert tu.tree_unflatten(td, leaves) == t
    assert tu.tree_leaves(t) == leaves and tu.tree_structure(t) == td
    assert tu.tree_map(lambda v: v * 2, t) == {"a": [2, 4], "b": (6, Point(8, 10))}
    assert tu.tree_reduce(lambda a, b: a + b, t) == 15
    assert tu.tree_reduce(lambda a, b: a + b, t, 100) == 115
    assert tu.tree_all([True, (1, 2)]) and not tu.tree_all([True, (0,)])
    assert tu.treedef_is_leaf(tu.tree_structure(1.0))
    assert len(tu.treedef_children(td)) == 2
    assert tu.all_leaves([1, 2.0])


def test_paths_and_keystr():
    t = {"a": [10, Point(1, 2)], "p": Params(3.0, 4.0), "cell": Cell(5, 6), "f": Affine(7, 8)}
    pairs, td = tu.tree_flatten_with_path(t)
    assert [v for _, v in pairs] == tu.tree_leaves(t)
    assert [tu.keystr(p) for p, _ in pairs] == [
        "['a'][0]", "['a'][1].x", "['a'][1].y", "['cell'].h", "['cell'].c",
        "['f'][<flat index 0>]", "['f'][<flat index 1>]", "['p'].scale", "['p'].shift"]
    assert tu.keystr(pairs[1][0], simple=True, separator="/") == "a/1/x"
    assert td == tu.tree_structure(t)
    assert [tu.keystr(p) for p, _ in tu.tree_leaves_with_path([1, (2,)])] == ["[0]", "[1][0]"]
    out = tu.tree_map_with_path(lambda p, v, w: f"{tu.keystr(p)}={v + w}", {"u": 1}, {"u": 2})
    assert out == {"u": "['u']=3"}
    assert fl.tree.flatten_with_path is tu.tree_flatten_with_path
    assert str(tu.DictKey("k")) == "['k']" and str(tu.SequenceKey(2)) == "[2]"
    assert str(tu.GetAttrKey("w")) == ".w" and str(tu.FlattenedIndexKey(0)) == "[<flat index 0>]"


def test_transpose_swaps_outer_and_inner_structure():
    outer = fl.tree.structure([0, 0, 0])
    inner = fl.tree.structure({"a": 0, "b": 0})
    t = [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]
    want = {"a": [1, 3, 5], "b": [2, 4, 6]}
    assert fl.tree.transpose(outer, inner, t) == want
    assert tu.tree_transpose(outer, None, t) == want  # inner inferred
    with pytest.raises(TypeError, match="tree.transpose"):
        fl.tree.transpose(outer, fl.tree.structure((0, 0)), t)


def test_registered_classes_flow_through_transforms():
    rng = np.random.default_rng(0)
    layer = Affine(rng.normal(size=(3, 2)).astype(np.float32), np.zeros(2, np.float32))
    x = rng.normal(size=(4, 3)).astype(np.float32)
    loss = lambda m, x: fnp.sum(m(x) ** 2)
    g = fl.grad(loss)(layer, x)
    assert isinstance(g, Affine) and g.name == "affine"
    np.testing.assert_allclose(g.w, 2 * x.T @ (x @ layer.w), rtol=1e-5)
    gj = fl.jit(fl.grad(loss))(layer, x)
    np.testing.assert_allclose(gj.b, g.b, rtol=1e-6)
    p = Params(np.float32(2.0), np.float32(1.0), label="q")
    out = fl.vmap(lambda p, v: p.scale * v + p.shift, in_axes=(None, 0))(p, np.arange(3.0))
    np.testing.assert_allclose(out, 2 * np.arange(3.0) + 1)
    assert tu.tree_structure(p) != tu.tree_structure(Params(1.0, 1.0, label="r"))  # static


def test_partial_is_a_pytree_that_transforms_accept():
    scale = tu.Partial(fnp.multiply, np.float32(3.0))
    assert tu.tree_leaves(scale) == [np.float32(3.0)]
    apply = fl.jit(lambda f, x: f(x))
    np.testing.assert_allclose(apply(scale, np.ones(2, np.float32)), [3.0, 3.0])
    g = fl.grad(lambda f, x: f(x))(tu.Partial(fnp.multiply, np.float32(3.0)), np.float32(2.0))
    assert isinstance(g, tu.Partial) and float(g.args[0]) == 2.0
    nested = tu.Partial(tu.Partial(fnp.add, 1.0), 2.0)
    assert nested.func is fnp.add and nested() == 3.0
