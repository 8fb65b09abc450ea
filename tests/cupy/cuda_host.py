"""Compilers for the CuPy backend's GPU-less checks: host C++ (the generated scalar code
and kernel bodies built as a shared library, called through ctypes) and ``nvcc -ptx``.
Each finder returns None where the tool is missing, so the tests skip with a reason."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy as np

BUILD_DIR = os.path.join(tempfile.gettempdir(), "functorch_lite-cupy-host")

# ctypes argument type of a pointer to each dtype's memory representation
POINTER = ctypes.c_void_p


def host_compiler() -> str | None:
    """A C++ compiler for the host (g++, c++ or clang++), or None."""
    for name in ("g++", "c++", "clang++"):
        path = shutil.which(name)
        if path:
            return path
    return None


def nvcc() -> str | None:
    return shutil.which("nvcc")


def build(source: str, opt: str = "-O1") -> ctypes.CDLL:
    """Compile ``source`` (C++ with ``extern "C"`` functions) into a shared library once per
    text (cached under ``BUILD_DIR``) and load it. No fast-math: IEEE semantics."""
    os.makedirs(BUILD_DIR, exist_ok=True)
    key = hashlib.sha256((opt + source).encode()).hexdigest()[:20]
    lib = os.path.join(BUILD_DIR, f"h{key}.so")
    if not os.path.exists(lib):
        src = os.path.join(BUILD_DIR, f"h{key}.cpp")
        with open(src, "w") as f:
            f.write(source)
        tmp = f"{lib}.{os.getpid()}"
        r = subprocess.run([host_compiler(), opt, "-std=c++17", "-shared", "-fPIC",
                            "-fno-fast-math", "-ffp-contract=off", "-w", src, "-o", tmp],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"host compile of {src} failed:\n{r.stderr[-3000:]}"
        os.replace(tmp, lib)
    return ctypes.CDLL(lib)


def ptx(sources: list[str], arch: str) -> None:
    """Compile each of ``sources`` (complete CUDA modules) to PTX for ``arch`` in one nvcc
    call per batch; raises ``AssertionError`` with nvcc's message on failure."""
    with tempfile.TemporaryDirectory() as d:
        files = []
        for i, s in enumerate(sources):
            p = os.path.join(d, f"k{i}.cu")
            with open(p, "w") as f:
                f.write(s)
            files.append(p)
        r = subprocess.run([nvcc(), "-ptx", f"-arch={arch}", "-std=c++17", "--output-directory", d,
                            *files], capture_output=True, text=True)
        assert r.returncode == 0, f"nvcc -arch={arch} failed:\n{r.stderr[-4000:]}"


def address(a: np.ndarray) -> int:
    return a.ctypes.data
