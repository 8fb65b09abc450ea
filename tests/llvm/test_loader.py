"""Placing compiled objects in memory without LLVM (``backends/llvm/loader.py``): the
code it loads computes what LLVM's own loader's does, objects it cannot handle are
refused (the compiler then falls back to MCJIT), and a process whose programs are all in
the disk cache never imports llvmlite.binding."""

from __future__ import annotations

import ctypes
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from backends.llvm import compiler, loader
from backends.llvm.codegen import generate
from functorch_lite.fusion import fuse
from functorch_lite.rewrite import optimize

ROOT = pathlib.Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not loader.supported(), reason="x86-64 Linux only")


def _program(f, *args):
    """The generated module of ``f``'s program."""
    closed = fl.make_ir(f)(*args)
    jaxpr, _ = optimize(closed).hoist_consts()
    mod = generate(fuse(jaxpr))
    return mod


def _run_main(address, arrays, arena_bytes):
    arena = np.zeros(max(arena_bytes, 1), np.uint8)
    bufs = list(arrays) + [arena]
    ptrs = (ctypes.c_void_p * len(bufs))(*[b.__array_interface__["data"][0] for b in bufs])
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)(ptrs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loaded_code_matches_llvms_loader(dtype):
    # the GEMM library (an external symbol), the math library's constants, a reduction,
    # a copy
    def f(a, b):
        return fnp.tanh(a @ b) * 2.0, fnp.sum(fnp.exp(a), axis=0), b.T

    a = np.linspace(-1, 1, 6 * 5).reshape(6, 5).astype(dtype)
    b = np.linspace(-2, 1, 5 * 7).reshape(5, 7).astype(dtype)
    mod = _program(f, a, b)
    m, tm = compiler.optimise(mod.text)
    obj = tm.emit_object(m)
    provided = {s: compiler.library(lib).address(s) for s, lib in mod.libraries.items()}
    assert provided  # the product calls the GEMM library
    ours = loader.load(obj, provided)
    import llvmlite.binding as llvm  # LLVM's own loader, the reference here

    for s, addr in provided.items():
        llvm.add_symbol(s, addr)
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), compiler.target_machine())
    engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    results = []
    for address in (ours.address("fl_main"), engine.get_function_address("fl_main")):
        outs = [np.full(v.aval.shape, np.nan, v.aval.dtype) for v in mod.layout.outputs]
        _run_main(address, [a, b] + outs, mod.layout.arena_bytes)
        results.append(outs)
    for x, y in zip(*results):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(results[0][0], np.tanh(a @ b) * 2, rtol=1e-5)


def test_what_it_cannot_load_is_refused():
    with pytest.raises(loader.Unsupported):
        loader.load(b"not an object file at all, but long enough to be read as one" * 2, {})
    mod = _program(lambda x: x + 1.0, np.ones(3, np.float32))
    m, tm = compiler.optimise(mod.text)
    obj = bytearray(tm.emit_object(m))
    obj[18] = 183  # e_machine: AArch64
    with pytest.raises(loader.Unsupported):
        loader.load(bytes(obj), {})


def test_unresolved_symbols_are_refused():
    text = ("declare void @fl_no_such_symbol_anywhere()\n"
            "define void @f() {\n  call void @fl_no_such_symbol_anywhere()\n  ret void\n}\n")
    m, tm = compiler.optimise(text)
    with pytest.raises(loader.Unresolved, match="fl_no_such_symbol_anywhere"):
        loader.load(tm.emit_object(m), {})


_SCRIPT = """
import sys
import numpy as np
import functorch_lite as fl
import functorch_lite.numpy as fnp
f = fl.jit(lambda w, x: fnp.sum(fnp.tanh(x @ w), axis=1), backend="llvm")
out = f(np.ones((4, 3), np.float32), np.ones((2, 4), np.float32))
print(repr(np.asarray(out).tolist()), "llvmlite.binding" in sys.modules)
"""


def test_a_warm_process_never_starts_llvm(tmp_path):
    env = dict(os.environ, FUNCTORCH_LITE_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.rsplit(maxsplit=1)
            for _ in range(2)]
    (cold_out, cold_llvm), (warm_out, warm_llvm) = runs
    assert cold_out == warm_out
    assert cold_llvm == "True" and warm_llvm == "False"
