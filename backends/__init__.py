"""Backend registry: ``get(name)`` and ``available()``.

A backend turns a ``ClosedJaxpr`` into a callable (``compile``) and can show the
source it generates (``lower_text``). ``numpy`` is the reference interpreter.
``llvm`` compiles to native code through llvmlite (imported on first compile) and is the
default for CPU inputs. The ``cupy`` (GPU) code generator plugs into this same interface;
until it is built, asking for it raises a clear error.
"""

from __future__ import annotations

import importlib

_MODULES = {"numpy": "backends.numpy_backend", "llvm": "backends.llvm.backend"}
_PLANNED = {
    "cupy": "the CuPy GPU backend is not built yet (it is tracked in its own issue); "
            "use backend='numpy'",
}
_loaded: dict = {}


class BackendUnavailableError(RuntimeError):
    pass


def get(name: str):
    """Return the backend object called ``name`` ("numpy" | "llvm" | "cupy")."""
    if name in _loaded:
        return _loaded[name]
    if name in _MODULES:
        mod = importlib.import_module(_MODULES[name])
        _loaded[name] = mod.BACKEND
        return mod.BACKEND
    if name in _PLANNED:
        raise BackendUnavailableError(_PLANNED[name])
    choices = sorted(_MODULES) + sorted(_PLANNED)
    raise ValueError(f"unknown backend {name!r}; choose one of {choices}")


def available() -> list[str]:
    """Names of the backends that work in this process."""
    return [n for n in _MODULES]


def default_cpu() -> str:
    """The default jit backend for CPU inputs: native code through LLVM. (``numpy`` stays
    available as the reference interpreter: ``jit(f, backend="numpy")`` or
    ``FUNCTORCH_LITE_BACKEND=numpy``.)"""
    return "llvm"
