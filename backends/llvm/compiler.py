"""From LLVM IR text to a callable address: optimise for the host CPU at -O3, emit an
object file, load it. Objects are cached in memory and on disk.

The disk cache lives under ``FUNCTORCH_LITE_CACHE_DIR`` (default: the user cache
directory; an empty string turns it off). An entry is keyed on the IR text, the host
CPU and the llvmlite version, and carries a checksum of its bytes, so a corrupt or
foreign entry is rebuilt, never loaded. Entries are written atomically.

A warm start never touches LLVM: the key's CPU part comes from ``/proc/cpuinfo`` where
there is one (LLVM's host name and features elsewhere), and cached objects are placed
in memory by ``loader`` (x86-64 Linux; LLVM's MCJIT elsewhere), so llvmlite is imported
only when something must be compiled.

>>> addr = compile_ir(text).address("fl_main")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
import threading
import time

from . import loader

MAGIC = b"FLOBJ1\n"
_lock = threading.Lock()
_state: dict = {}
_memory: dict[str, bytes] = {}


def _llvm():
    """llvmlite.binding, initialised once (imported on first compile, not at import time)."""
    if "llvm" not in _state:
        import llvmlite.binding as llvm  # lazy: only compiling needs LLVM

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _state["cpu"] = llvm.get_host_cpu_name()
        _state["features"] = llvm.get_host_cpu_features().flatten()
        _state["target"] = llvm.Target.from_default_triple()
        _state["llvm"] = llvm
    return _state["llvm"]


def symbol_address(name: str) -> int:
    """An external symbol's address among the libraries loaded in this process (0 when
    there is none).

    >>> symbol_address("memcpy") != 0
    True
    """
    return loader.process_symbol(name)


_CPU_KEYS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags",
             "Features", "CPU implementer", "CPU architecture", "CPU variant", "CPU part",
             "CPU revision")


def _host() -> str:
    """What compiled code depends on besides its IR: the CPU (its identity and features as
    the OS reports them, or LLVM's name and features for it) and the LLVM release."""
    if "host" not in _state:
        import llvmlite  # the package alone (its version): cheap, unlike llvmlite.binding

        cpu = ""
        try:
            with open("/proc/cpuinfo") as f:
                block = f.read().split("\n\n", 1)[0]
            cpu = "\n".join(ln for ln in block.splitlines()
                            if ln.split(":", 1)[0].strip() in _CPU_KEYS)
        except OSError:
            pass
        if not cpu:
            _llvm()
            cpu = f"{_state['cpu']}\n{_state['features']}"
        _state["host"] = f"{platform.machine()}\n{cpu}\nllvmlite {llvmlite.__version__}"
    return _state["host"]


def vector_bytes() -> int:
    """The width in bytes of this host's widest vector registers code may use (64 with
    AVX-512, 32 with AVX2, else 16), which sets tile shapes; any value is correct.

    >>> vector_bytes() in (16, 32, 64)
    True
    """
    words = set(_host().replace(",", " ").split())
    if words & {"avx512f", "+avx512f"}:
        return 64
    if words & {"avx2", "+avx2"}:
        return 32
    return 16


def target_machine():
    """A new LLVM target machine for this host (an MCJIT engine takes ownership of one)."""
    _llvm()
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
    h = hashlib.sha256()
    for part in (text, _host()):
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


def optimise(text: str, speed: int = 3):
    """Parse, verify and optimise (-O``speed``, vectorizers on) the module; returns it
    and its target machine."""
    llvm = _llvm()
    mod = llvm.parse_assembly(text)
    mod.verify()
    tm = target_machine()
    pto = llvm.create_pipeline_tuning_options(speed_level=speed)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod, tm


class Compiled:
    """A loaded object: ``address(name)`` of its functions, alive as long as this is.

    Placed by ``loader`` where it can (no LLVM needed), else by an MCJIT engine."""

    def __init__(self, obj: bytes, externals, provided=None):
        addrs = dict(provided or {})
        for sym in externals:
            addrs[sym] = symbol_address(sym)
            if not addrs[sym]:
                raise RuntimeError(f"llvm backend: external symbol {sym} is not available in "
                                   "this process")
        self.engine = None
        try:
            self.code = loader.load(obj, addrs)
            return
        except loader.Unsupported:
            pass
        llvm = _llvm()
        for sym, addr in (provided or {}).items():
            llvm.add_symbol(sym, addr)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target_machine())
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.engine.finalize_object()

    def address(self, name: str) -> int:
        if self.engine is None:
            return self.code.address(name)
        return self.engine.get_function_address(name)


def compile_ir(text: str, externals=(), log=None, speed: int = 3,
               libraries=None) -> Compiled:
    """Compile (or fetch from the caches) the module ``text`` at -O``speed``.
    ``externals`` are symbols of this process's libraries it calls; ``libraries`` maps
    symbols it calls to the module text defining them (see ``library``)."""
    libs = [library(lib) for lib in (libraries or {}).values()]
    provided = {sym: lib.address(sym) for sym, lib in zip(libraries or {}, libs)}
    with _lock:
        key = cache_key(f"; -O{speed}\n{text}")
        obj = _memory.get(key)
        source = "memory cache"
        if obj is None:
            obj = _read_cached(key)
            source = "disk cache"
        if obj is None:
            t0 = time.perf_counter()
            mod, tm = optimise(text, speed)
            obj = tm.emit_object(mod)
            _write_cached(key, obj)
            source = f"compiled in {time.perf_counter() - t0:.3f}s"
        _memory[key] = obj
        if log is not None:
            log(source)
        compiled = Compiled(obj, externals, provided)
        compiled.libraries = libs  # the code it calls lives as long as it does
        return compiled


_libraries: dict[str, Compiled] = {}
_libraries_lock = threading.Lock()

LIBRARY_SPEED = 2  # -O2: a library's loops are written for speed already; -O3 doubles
#                    its compile time (a cold start pays it once) for the same code speed


def library(text: str) -> Compiled:
    """A module other modules call into (the GEMM), loaded once per process and cached on
    disk like any program.

    >>> library("define void @f() {\n  ret void\n}\n").address("f") != 0  # doctest: +SKIP
    True
    """
    with _libraries_lock:  # one copy per process, even when threads ask at once
        hit = _libraries.get(text)
        if hit is None:
            hit = _libraries[text] = compile_ir(text, speed=LIBRARY_SPEED)
        return hit


def assembly(text: str) -> str:
    """The optimised module as host assembly (for inspection and tests)."""
    with _lock:
        mod, tm = optimise(text)
        return tm.emit_assembly(mod)
