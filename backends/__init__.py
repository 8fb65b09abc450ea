"""Backend registry: ``get(name)`` and ``available()``.

A backend turns a ``ClosedJaxpr`` into a callable (``compile``) and can show the
source it generates (``lower_text``). ``numpy`` is the reference interpreter.
``llvm`` compiles to native code through llvmlite (imported on first compile) and is the
default for CPU inputs. ``cupy`` generates CUDA kernels for the GPU (CuPy imported on
first compile; ``lower_text`` needs neither CuPy nor a GPU).
"""

from __future__ import annotations

import functools
import importlib

_MODULES = {"numpy": "backends.numpy_backend", "llvm": "backends.llvm.backend",
            "cupy": "backends.cupy.backend"}
_PLANNED: dict[str, str] = {}
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
    """Names of the backends that work in this process: ``cupy`` only where CuPy imports
    and a CUDA device answers (``cuda_device_count() > 0``).

    >>> "numpy" in available()
    True
    """
    names = [n for n in _MODULES if n != "cupy"]
    if "cupy" in _MODULES and cuda_device_count() > 0:
        names.append("cupy")
    return names


@functools.cache
def cuda_device_count() -> int:
    """CUDA devices CuPy can use here: 0 without CuPy, without a driver or without a GPU
    (CuPy imports without a driver and fails only when asked). Probed once per process;
    ``cuda_device_count.cache_clear()`` probes again."""
    try:
        import cupy  # lazy: the optional GPU dependency; most processes never need it

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # ImportError, CUDARuntimeError (no driver, no device), ...
        return 0


def default_cpu() -> str:
    """The default jit backend for CPU inputs: native code through LLVM. (``numpy`` stays
    available as the reference interpreter: ``jit(f, backend="numpy")`` or
    ``FUNCTORCH_LITE_BACKEND=numpy``.)"""
    return "llvm"
