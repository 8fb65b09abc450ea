"""Every primitive in the registry has an LLVM lowering: adding a primitive without one
fails here, not in a user's program.

A primitive is lowered by exactly one route: fused into a kernel (elementwise primitives
through ``lowering.ELEMENTWISE``; ``iota`` from the loop indices in
``codegen.kernel_function``; reductions; layout changes folded into views) or lowered
on its own (``opaque.OPAQUE``, control flow and calls in ``control.CONTROL``). The
primitives that ``rewrite.optimize`` removes before code generation (``name``,
``stop_gradient``, the call-like ones) are lowered too, so that no program depends on
the order of the passes; ``custom_lin`` reaches a compiled program under
``jit(jvp(custom_vjp function))`` and raises the reference interpreter's error there.
"""

from __future__ import annotations

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from backends.llvm import backend as llvm_backend
from backends.llvm.control import CONTROL
from backends.llvm.lowering import ELEMENTWISE
from backends.llvm.opaque import OPAQUE
from functorch_lite import fusion
from functorch_lite.core import PRIMITIVES
from functorch_lite.ir import ClosedJaxpr, Eqn, Jaxpr, Var
from functorch_lite.jit import jit_p
from functorch_lite.primitives import elementwise as E

# computed from the loop indices by the kernel code (codegen.kernel_function), not a table
IN_KERNEL = {E.iota_p}


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("FUNCTORCH_LITE_CACHE_DIR", "")


def test_every_primitive_has_an_llvm_lowering():
    lowered = (set(ELEMENTWISE) | set(OPAQUE) | set(CONTROL) | fusion.LAYOUT
               | fusion.REDUCTIONS | IN_KERNEL)
    missing = sorted(name for name, p in PRIMITIVES.items() if p not in lowered)
    assert not missing, f"primitives without an LLVM lowering: {missing}"


def test_fused_primitives_have_scalar_code():
    # fusion puts every elementwise-family primitive into a kernel, whose code comes
    # from the ELEMENTWISE table: an entry elsewhere would never be used
    assert fusion.ELEMENTWISE - IN_KERNEL <= set(ELEMENTWISE)
    assert not (fusion.ELEMENTWISE | fusion.LAYOUT | fusion.REDUCTIONS) & set(CONTROL)


@pytest.fixture
def unoptimized(monkeypatch):
    """Compile a program as staged: the llvm backend's pipeline without
    ``rewrite.optimize`` (no inlining, no folding)."""
    monkeypatch.setattr(llvm_backend, "optimize", lambda closed: closed)
    return llvm_backend.BACKEND.compile


@fl.custom_jvp
def _softplus(x):
    return fnp.log1p(fnp.exp(x))


_softplus.defjvp(lambda p, t: (_softplus(p[0]), t[0] * fl.nn.sigmoid(p[0])))


@fl.custom_vjp
def _clip_grad(x):
    return x * 2.0


_clip_grad.defvjp(lambda x: (x * 2.0, None), lambda r, g: (fnp.clip(g, -1, 1),))


def _tagged(x):
    y = fl.checkpoint_name(fl.lax.stop_gradient(x) * 3.0, "y")
    return fl.checkpoint(lambda a: fnp.sin(a) * y)(x)


CALLS = {
    "checkpoint, name, stop_gradient": _tagged,
    "custom_jvp_call": lambda x: _softplus(x) + 1.0,
    "custom_vjp_call": lambda x: _clip_grad(x) - x,
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_removed_primitives_compile_without_the_passes(name, unoptimized):
    f = CALLS[name]
    x = np.linspace(-1.0, 1.0, 7)
    closed = fl.make_ir(f)(x)
    staged = {e.prim.name for e in closed.eqns}
    assert set(name.split(", ")) <= staged, staged
    np.testing.assert_allclose(unoptimized(closed)(x)[0], f(x), rtol=1e-15)


def test_a_jit_equation_compiles(unoptimized):
    # staging inlines nested jits, so a jit equation is only ever built by hand
    x = np.linspace(-1.0, 1.0, 7)
    inner = fl.make_ir(lambda a: fnp.exp(a) * a)(x)
    v, w, out = Var(inner.in_avals[0]), Var(inner.out_avals[0]), Var(inner.out_avals[0])
    eqns = [Eqn(jit_p, [v], [w], {"jaxpr": inner, "name": "inner", "backend": "llvm"}),
            Eqn(E.add_p, [w, v], [out], {})]
    closed = ClosedJaxpr(Jaxpr([], [v], eqns, [out]), [])
    np.testing.assert_allclose(unoptimized(closed)(x)[0], np.exp(x) * x + x, rtol=1e-15)


def test_iota_compiles():
    f = fl.jit(lambda x: x + fl.lax.iota(np.int32, (2, 3), 1), backend="llvm")
    np.testing.assert_array_equal(f(np.zeros((2, 3), np.int32)), [[0, 1, 2]] * 2)


def test_custom_lin_raises_the_reference_error():
    # jit(jvp(custom_vjp function)) stages custom_lin (transposition never runs there)
    x = np.ones(3)
    g = lambda x: fl.jvp(_clip_grad, (x,), (x,))
    assert "custom_lin" in {e.prim.name for e in fl.make_ir(g)(x).eqns}
    for backend in ("numpy", "llvm"):
        with pytest.raises(TypeError, match="forward-mode differentiation"):
            fl.jit(g, backend=backend)(x)
