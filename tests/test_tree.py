"""Pytree tests: flatten/unflatten round trips, node kinds, registration, tree.map."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import tree

Point = collections.namedtuple("Point", ["x", "y"])


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __eq__(self, other):
        return type(other) is Pair and self.a == other.a and self.b == other.b


tree.register_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))


class Tagged:
    """A registered node with auxiliary (static) data."""

    def __init__(self, tag, value):
        self.tag, self.value = tag, value


tree.register_node(Tagged, lambda t: ((t.value,), t.tag), lambda tag, ch: Tagged(tag, ch[0]))


@dataclasses.dataclass
class Layer:
    w: object
    b: object
    name: str = "layer"


tree.register_dataclass(Layer, data_fields=["w", "b"], meta_fields=["name"])


@tree.register_dataclass
@dataclasses.dataclass
class Both:
    p: object
    q: object


# --------------------------------------------------------------------------- flatten/unflatten


def test_flatten_orders_and_round_trips():
    t = {"b": (1, [2, None]), "a": Point(3, {"z": 4, "c": 5}), "e": Pair(6, (7,))}
    leaves, td = tree.flatten(t)
    assert leaves == [3, 5, 4, 1, 2, 6, 7]  # dict keys sorted, namedtuple fields in order
    back = tree.unflatten(td, leaves)
    assert back == t
    assert type(back["a"]) is Point and isinstance(back["b"][1], list)
    assert tree.leaves(t) == leaves and tree.structure(t) == td
    assert td.num_leaves == 7


def test_none_is_an_empty_node():
    leaves, td = tree.flatten([None, 1, (None,)])
    assert leaves == [1]
    assert tree.unflatten(td, [9]) == [None, 9, (None,)]
    assert tree.flatten(None)[0] == []
    assert tree.unflatten(tree.structure(None), []) is None


def test_leaves_are_arrays_and_scalars():
    a = np.arange(3)
    leaves, td = tree.flatten((a, 2.0, "s"))
    assert leaves[0] is a and leaves[1] == 2.0 and leaves[2] == "s"
    assert tree.structure(a) == tree.structure(5)
    assert tree.flatten(())[0] == [] and tree.flatten({})[0] == []


def test_dict_keys_sorted_and_mixed_key_types():
    leaves, td = tree.flatten({"b": 1, "a": 2, "c": 3})
    assert leaves == [2, 1, 3]
    leaves, td = tree.flatten({1: "x", 0: "y", 2: "z"})
    assert leaves == ["y", "x", "z"]
    assert tree.unflatten(td, ["Y", "X", "Z"]) == {0: "Y", 1: "X", 2: "Z"}
    # mixed key types do not crash and round-trip
    mixed = {1: "a", "k": "b", 0: "c"}
    l2, td2 = tree.flatten(mixed)
    assert tree.unflatten(td2, l2) == mixed


def test_ordered_and_default_dicts_are_nodes():
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    leaves, td = tree.flatten(od)
    assert leaves == [1, 2]  # insertion order
    back = tree.unflatten(td, [10, 20])
    assert type(back) is collections.OrderedDict and list(back.items()) == [("b", 10), ("a", 20)]
    dd = collections.defaultdict(list, {"b": 1, "a": 2})
    leaves, td = tree.flatten(dd)
    assert leaves == [2, 1]
    back = tree.unflatten(td, [20, 10])
    assert type(back) is collections.defaultdict and back.default_factory is list
    assert dict(back) == {"a": 20, "b": 10}
    # they work as parameter containers under grad
    g = fl.grad(lambda p: fnp.sum(p["w"] ** 2) + p["b"])(
        collections.OrderedDict([("w", np.ones(2, np.float32)), ("b", np.float32(1.0))]))
    assert type(g) is collections.OrderedDict
    np.testing.assert_allclose(g["w"], [2.0, 2.0])


def test_registered_class_and_aux_data():
    leaves, td = tree.flatten(Pair(1, (2, 3)))
    assert leaves == [1, 2, 3]
    assert tree.unflatten(td, [4, 5, 6]) == Pair(4, (5, 6))
    t1, t2 = Tagged("x", 1), Tagged("y", 1)
    assert tree.structure(t1) != tree.structure(t2)  # aux data is part of the structure
    back = tree.unflatten(tree.structure(t1), [7])
    assert back.tag == "x" and back.value == 7
    assert tree.map(lambda v: v * 10, Pair(1, 2)) == Pair(10, 20)


def test_register_dataclass():
    layer = Layer(np.ones(2), np.zeros(1), "dense")
    leaves, td = tree.flatten(layer)
    assert len(leaves) == 2 and leaves[0] is layer.w
    back = tree.unflatten(td, [1, 2])
    assert back == Layer(1, 2, "dense")
    assert tree.structure(Layer(0, 0, "a")) != tree.structure(Layer(0, 0, "b"))
    assert tree.leaves(Both(1, [2, 3])) == [1, 2, 3]
    # under transforms: grad returns the same dataclass, jit accepts and returns it
    p = Layer(np.array([1.0, 2.0], np.float32), np.array([0.5], np.float32), "dense")
    g = fl.grad(lambda q: fnp.sum(q.w * 3.0) + fnp.sum(q.b ** 2))(p)
    assert isinstance(g, Layer) and g.name == "dense"
    np.testing.assert_allclose(g.w, [3.0, 3.0])
    np.testing.assert_allclose(g.b, [1.0])
    out = fl.jit(lambda q: Layer(q.w * 2, q.b, q.name))(p)
    assert isinstance(out, Layer) and out.name == "dense"
    np.testing.assert_allclose(out.w, [2.0, 4.0])


def test_is_leaf():
    t = (1, (2, 3), [4, (5, 6)])
    leaves, td = tree.flatten(t, is_leaf=lambda x: isinstance(x, tuple) and len(x) == 2)
    assert leaves == [1, (2, 3), 4, (5, 6)]
    assert tree.unflatten(td, leaves) == t


nested = st.recursive(
    st.integers(-5, 5) | st.none(),
    lambda children: (st.lists(children, max_size=3)
                      | st.lists(children, max_size=3).map(tuple)
                      | st.dictionaries(st.text("abc", min_size=1, max_size=2), children,
                                        max_size=3)
                      | st.tuples(children, children).map(lambda p: Point(*p))),
    max_leaves=10)


@given(nested)
def test_round_trip_hypothesis(t):
    leaves, td = tree.flatten(t)
    assert tree.unflatten(td, leaves) == t
    assert all(x is not None for x in leaves)
    doubled = tree.map(lambda v: v * 2, t)
    assert tree.leaves(doubled) == [v * 2 for v in leaves]
    assert tree.structure(doubled) == td and hash(tree.structure(doubled)) == hash(td)


# --------------------------------------------------------------------------- map


def test_map_multiple_trees():
    a = {"x": (1, [2]), "y": 3}
    b = {"x": (10, [20]), "y": 30}
    c = {"x": (100, [200]), "y": 300}
    assert tree.map(lambda p, q, r: p + q + r, a, b, c) == {"x": (111, [222]), "y": 333}
    assert tree.map(lambda v: v, None) is None


def test_map_structure_mismatch_errors():
    with pytest.raises(ValueError, match="structure"):
        tree.map(lambda p, q: p + q, (1, [2]), (10, (20,)))
    with pytest.raises(ValueError, match="structure"):
        tree.map(lambda p, q: p + q, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="structure"):
        tree.map(lambda p, q: p + q, [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="structure"):
        tree.map(lambda p, q: p + q, Point(1, 2), (1, 2))


def test_unflatten_wrong_leaf_count():
    td = tree.structure((1, 2))
    with pytest.raises(ValueError, match="too few"):
        tree.unflatten(td, [1])
    with pytest.raises(ValueError, match="left over"):
        tree.unflatten(td, [1, 2, 3])


def test_structure_repr_and_equality():
    td = tree.structure({"a": (1, [2]), "b": None, "c": Point(1, 2)})
    r = repr(td)
    assert "'a'" in r and "Point" in r and "None" in r
    assert tree.structure((1, 2)) == tree.structure((3, 4))
    assert tree.structure((1, 2)) != tree.structure([1, 2])
    assert tree.structure((1,)) != tree.structure(((1,),))
