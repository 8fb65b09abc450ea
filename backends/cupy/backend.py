"""The ``cupy`` backend object: ``compile`` a closed program into a callable running on
the GPU, and ``lower_text`` to show the CUDA source it generates (no GPU and no CuPy
needed for that).

Pipeline (the llvm backend's, up to the code): ``rewrite.optimize`` (inlining, folding,
algebra, CSE, DCE), constants become leading inputs, ``functorch_lite.fusion`` groups the
program into kernels, ``codegen`` writes one CUDA module (every kernel of the program),
``runtime`` compiles it with NVRTC through ``cupy.RawModule`` (cached by source text) and
runs the steps. Nested programs (control flow) are compiled the same way.

>>> text = BACKEND.lower_text(fl.make_ir(lambda x: x + 1.0)(np.ones(3, np.float32)))
>>> "__global__" in text or "FL_GLOBAL" in text
True
"""

from __future__ import annotations

import re

from functorch_lite.fusion import fuse
from functorch_lite.ir import ClosedJaxpr
from functorch_lite.rewrite import optimize, refuse_like_reference

from .codegen import Launch, Module, generate
from .control import CONTROL, nested
from .opaque import OPAQUE
from .runtime import Program


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name) or "main"


class CupyBackend:
    """The ``cupy`` backend: ``compile`` gives a callable running a program on CuPy arrays
    (CuPy imported then), ``lower_text`` its CUDA source (no CuPy or GPU needed).

    >>> closed = fl.make_ir(lambda x: fnp.exp(x) * 2.0)(fl.ShapeDtypeStruct((4,), "float32"))
    >>> '__global__' in BACKEND.lower_text(closed)  # doctest: +SKIP
    True
    """

    name = "cupy"
    device = "gpu"

    def _module(self, closed: ClosedJaxpr, name: str):
        refuse_like_reference(closed)
        jaxpr, consts = optimize(closed).hoist_consts()
        prog = fuse(jaxpr)
        return generate(prog, _ident(name)), prog, consts

    def compile(self, closed: ClosedJaxpr, name: str = "main", nested: bool = False):
        """A callable running ``closed`` on the GPU; it takes numpy or CuPy arrays and
        returns CuPy arrays (new ones; with ``nested``, the body of a control-flow step,
        results may be its arguments)."""
        mod, prog, consts = self._module(closed, name)
        return Program(mod, prog, consts, name,
                       lambda sub: self.compile(sub, f"{name}_sub", nested=True), nested)

    def lower_text(self, closed: ClosedJaxpr, name: str = "main") -> str:
        """The CUDA source of the program exactly as it is compiled, after a comment
        listing the steps (kernel launches, and which routine runs each other step);
        nested programs (control flow) follow, each the same way."""
        mod, prog, _ = self._module(closed, name)
        return describe(mod, name) + mod.source + "".join(
            "\n" + self.lower_text(sub, f"{_ident(name)}_sub{i}")
            for i, sub in enumerate(s for st in mod.steps if not isinstance(st, Launch)
                                    for s in nested(st.step.eqn)))


def describe(mod: Module, name: str) -> str:
    """The step list of ``mod`` as C++ comments."""
    lines = [f"// functorch_lite cupy backend: program `{name}`", "// steps:"]
    for s in mod.steps:
        if isinstance(s, Launch):
            grid = (f"{s.elements} elements" if s.elements else f"{s.blocks} blocks")
            lines.append(f"//   kernel {s.name} over {grid}")
        else:
            e = s.step.eqn
            routine = (CONTROL.get(e.prim) or OPAQUE.get(e.prim) or ("no lowering",))[0]
            lines.append(f"//   {e.prim.name}: {routine}")
    return "\n".join(lines) + "\n"


BACKEND = CupyBackend()
