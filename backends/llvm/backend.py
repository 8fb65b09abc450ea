"""The ``llvm`` backend object: ``compile`` a closed program into a native callable and
``lower_text`` to show the LLVM IR it generates.

Pipeline: the shared passes simplify the program (``rewrite.optimize``: inlining,
folding, algebra, CSE, DCE), its constants become leading inputs,
``functorch_lite.fusion`` groups it into kernels, ``codegen`` writes one LLVM module,
``compiler`` turns it into machine code (cached), ``runtime`` runs it in one call.
"""

from __future__ import annotations

import os
import sys

from functorch_lite.fusion import fuse
from functorch_lite.ir import ClosedJaxpr
from functorch_lite.rewrite import optimize, refuse_like_reference

from .codegen import generate
from .compiler import compile_ir
from .runtime import Program


def _log_enabled() -> bool:
    return os.environ.get("FUNCTORCH_LITE_LOG_COMPILES", "") not in ("", "0")


class LlvmBackend:
    name = "llvm"
    device = "cpu"
    donates = True  # compile(donate=...): outputs may be written into donated inputs

    def _module(self, closed: ClosedJaxpr, name: str, donate=()):
        refuse_like_reference(closed)
        jaxpr, consts = optimize(closed).hoist_consts()
        prog = fuse(jaxpr)
        return generate(prog, name, [len(consts) + i for i in donate]), consts

    def compile(self, closed: ClosedJaxpr, name: str = "main", donate: tuple[int, ...] = ()):
        """A callable running ``closed`` natively on numpy arrays, returning its outputs.
        ``donate``: inputs whose buffers outputs may be written into (the callable then
        takes ``donated=`` per call, see ``runtime.Program``)."""
        mod, consts = self._module(closed, name, donate)

        def log(source):
            if _log_enabled():
                print(f"[functorch_lite] llvm: program `{name}` "
                      f"({len(mod.text.splitlines())} lines of IR): {source}", file=sys.stderr)

        compiled = compile_ir(mod.text, mod.externals, log, libraries=mod.libraries)
        return Program(compiled, mod.layout, mod.outvars, consts, mod.hidden, name,
                       mod.aliases)

    def lower_text(self, closed: ClosedJaxpr, name: str = "main") -> str:
        """The LLVM IR of the whole program (before LLVM's own optimisation)."""
        return self._module(closed, name)[0].text


BACKEND = LlvmBackend()
