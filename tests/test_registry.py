"""Every primitive is defined once, with all of its rules found from its registry entry."""

import functorch_lite as fl  # noqa: F401  (registers every primitive)
from functorch_lite.core import PRIMITIVES

# primitives without operands cannot be batched; custom_lin only exists inside linear programs
NO_BATCH = {"iota"}
NO_JVP = {"custom_lin"}
LINEAR = {"add", "sub", "neg", "mul", "div", "convert_element_type", "select_n", "reduce_sum",
          "broadcast_in_dim", "reshape", "transpose", "rev", "pad", "concatenate", "slice",
          "cumsum", "dot_general", "gather", "scatter", "window_patches", "window_overlap_add",
          "jit", "checkpoint", "cond", "scan", "custom_lin"}


def test_every_primitive_has_its_rules():
    for name, p in PRIMITIVES.items():
        assert p.impl is not None, name
        assert p.abstract_eval is not None, name
        if name not in NO_JVP:
            assert p.jvp is not None, f"{name} has no JVP rule"
        if name not in NO_BATCH:
            assert p.batch is not None, f"{name} has no batching rule"


def test_linear_primitives_can_be_transposed():
    missing = [n for n in LINEAR if n in PRIMITIVES and PRIMITIVES[n].transpose is None]
    assert not missing
    assert LINEAR - set(PRIMITIVES) == set()


def test_registry_is_small_and_closed():
    # fnp functions are compositions; the primitive set stays small
    assert len(PRIMITIVES) < 100
