"""From LLVM IR text to a callable address: optimise for the host CPU at -O3, emit an
object file, load it into an MCJIT engine. Objects are cached in memory and on disk.

The disk cache lives under ``FUNCTORCH_LITE_CACHE_DIR`` (default: the user cache
directory; an empty string turns it off). An entry is keyed on the IR text, the CPU
name and features, and the llvmlite version, and carries a checksum of its bytes, so a
corrupt or foreign entry is rebuilt, never loaded. Entries are written atomically.

>>> addr = compile_ir(text).address("fl_main")  # doctest: +SKIP
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
import threading
import time

import numpy as np

MAGIC = b"FLOBJ1\n"
_lock = threading.Lock()
_state: dict = {}
_memory: dict[str, bytes] = {}


def _llvm():
    """llvmlite.binding, initialised once (imported on first compile, not at import time)."""
    if "llvm" not in _state:
        import llvmlite  # lazy: import of functorch_lite stays fast; only compiling needs it
        import llvmlite.binding as llvm  # lazy: as above

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _state["version"] = llvmlite.__version__
        _state["cpu"] = llvm.get_host_cpu_name()
        _state["features"] = llvm.get_host_cpu_features().flatten()
        _state["target"] = llvm.Target.from_default_triple()
        _load_blas(llvm)
        _state["llvm"] = llvm
    return _state["llvm"]


def _load_blas(llvm) -> None:
    """Make the OpenBLAS that numpy ships resolvable by symbol name (not by address)."""
    libs = os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs")
    found = sorted(glob.glob(os.path.join(libs, "libscipy_openblas*.so*")))
    _state["blas"] = found[0] if found else None
    if found:
        llvm.load_library_permanently(found[0])


def _target_machine():
    return _state["target"].create_target_machine(
        cpu=_state["cpu"], features=_state["features"], opt=3, codemodel="jitdefault")


def cache_dir() -> str | None:
    """The on-disk object cache directory, or None when caching is turned off."""
    d = os.environ.get("FUNCTORCH_LITE_CACHE_DIR")
    if d is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                               ".cache")
        d = os.path.join(base, "functorch_lite")
    return d or None


def cache_key(text: str) -> str:
    _llvm()
    h = hashlib.sha256()
    for part in (text, _state["cpu"], _state["features"], _state["version"]):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _read_cached(key: str) -> bytes | None:
    d = cache_dir()
    if d is None:
        return None
    try:
        with open(os.path.join(d, key + ".o"), "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 32:
        return None
    digest, obj = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    return obj if hashlib.sha256(obj).digest() == digest else None


def _write_cached(key: str, obj: bytes) -> None:
    d = cache_dir()
    if d is None:
        return
    try:
        os.makedirs(d, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".o")
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(obj).digest() + obj)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(d, key + ".o"))
    except OSError:
        pass  # a read-only or full cache directory only costs a recompile


def optimise(text: str):
    """Parse, verify and optimise (-O3, vectorizers on) the module; returns it."""
    llvm = _llvm()
    mod = llvm.parse_assembly(text)
    mod.verify()
    tm = _target_machine()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod, tm


class Compiled:
    """A loaded object: ``address(name)`` of its functions, alive as long as this is."""

    def __init__(self, obj: bytes, externals):
        llvm = _llvm()
        for sym in externals:
            if not llvm.address_of_symbol(sym):
                raise RuntimeError(f"llvm backend: external symbol {sym} is not available in "
                                   "this process (numpy's OpenBLAS was not found)")
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine())
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.engine.finalize_object()

    def address(self, name: str) -> int:
        return self.engine.get_function_address(name)


def compile_ir(text: str, externals=(), log=None) -> Compiled:
    """Compile (or fetch from the caches) the module ``text``."""
    with _lock:
        key = cache_key(text)
        obj = _memory.get(key)
        source = "memory cache"
        if obj is None:
            obj = _read_cached(key)
            source = "disk cache"
        if obj is None:
            t0 = time.perf_counter()
            mod, tm = optimise(text)
            obj = tm.emit_object(mod)
            _write_cached(key, obj)
            source = f"compiled in {time.perf_counter() - t0:.3f}s"
        _memory[key] = obj
        if log is not None:
            log(source)
        return Compiled(obj, externals)


def assembly(text: str) -> str:
    """The optimised module as host assembly (for inspection and tests)."""
    with _lock:
        mod, tm = optimise(text)
        return tm.emit_assembly(mod)
