"""Every primitive in the registry has a CuPy-backend lowering: adding a primitive without
one fails here, not in a user's program on a GPU.

A primitive is lowered by exactly one route: fused into a kernel (elementwise ones
through ``lowering.ELEMENTWISE``, ``iota`` from the loop index in ``codegen``,
reductions, layout changes folded into views), run by a CuPy routine
(``opaque.OPAQUE``), or run as host control flow around compiled programs
(``control.CONTROL``, which also calls the call-like primitives)."""

from __future__ import annotations

from backends.cupy.control import CONTROL
from backends.cupy.lowering import ELEMENTWISE
from backends.cupy.opaque import OPAQUE
from functorch_lite import fusion
from functorch_lite.core import PRIMITIVES
from functorch_lite.primitives import elementwise as E

IN_KERNEL = {E.iota_p}  # computed from the loop indices by codegen, not a table


def test_every_primitive_has_a_cupy_lowering():
    lowered = (set(ELEMENTWISE) | set(OPAQUE) | set(CONTROL) | fusion.LAYOUT
               | fusion.REDUCTIONS | IN_KERNEL)
    missing = sorted(name for name, p in PRIMITIVES.items() if p not in lowered)
    assert not missing, f"primitives without a CuPy lowering: {missing}"


def test_fused_primitives_have_scalar_code_and_one_route():
    assert fusion.ELEMENTWISE - IN_KERNEL <= set(ELEMENTWISE)
    assert not set(OPAQUE) & set(CONTROL)
    assert not (fusion.ELEMENTWISE | fusion.LAYOUT | fusion.REDUCTIONS) & (set(OPAQUE)
                                                                            | set(CONTROL))
