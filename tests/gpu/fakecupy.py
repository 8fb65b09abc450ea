"""A stand-in for CuPy, for tests on machines without a GPU.

It checks *dispatch and placement*: a ``FakeGpuArray`` holds a host numpy array (``host``)
and a device index, and behaves like a CuPy array where our code could tell the
difference:

* it exposes ``__cuda_array_interface__`` (how the library recognises GPU arrays), ``.get()``
  (a host copy), ``.device.id`` and ``.data`` (a ``MemoryPointer`` into its allocation);
* ``np.asarray(x)`` raises CuPy's ``TypeError`` (no implicit copy to the host);
* numpy ufuncs (``np.exp(x)``) and numpy functions (``np.where``, ``np.concatenate``...) run
  through ``__array_ufunc__``/``__array_function__`` only when real CuPy has a function of
  that name (``cupy_names.txt``, taken from CuPy 14's namespace); anything else fails as it
  does with CuPy;
* a host numpy array as an operand of a ufunc or a function raises CuPy's ``TypeError``
  (CuPy never copies host data implicitly); arrays on two devices raise ``ValueError``;
* reductions give 0-d arrays, not numpy scalars; arrays are mutable.

With ``install(monkeypatch, build=cuda_host.build)`` it also *emulates the runtime side*
that ``backends/cupy/runtime.py`` uses, so ``jit(backend="cupy")`` runs end to end:

* ``RawModule(code=..., options=...)``: the generated CUDA source compiled as host C++
  (its launch macros make one thread run the whole grid); every module not yet built is
  compiled in one translation unit at the first launch; ``get_function(name)`` gives a
  ``RawKernel`` called ``(grid, block, args)`` that checks the launch (grid and block 1-3
  positive ints, <= 1024 threads a block, ``args`` a tuple of one C-contiguous array per
  parameter, of the parameter's element type, on the current device, no written buffer
  overlapping another argument) and then runs the host function on the arrays' memory;
* ``cupy.ndarray(shape, dtype, memptr=..., strides=...)`` and ``arr.data + offset``: numpy
  views of the same host memory, refused when they reach outside the allocation;
* ``empty`` (and ``asarray``) memory is poisoned (every byte 0x7F: an element no kernel
  wrote shows as a huge value) and fenced by canary bytes checked after each launch (a
  kernel writing just past its buffer is caught; one writing far past it may crash);
* ``cuda.Device().attributes["MultiProcessorCount"]``; ``STATE.launches`` records
  (kernel, grid, block) in order, ``STATE.builds`` the calls of ``build``.

So the runtime's Python logic (buffers, offsets and strides, launch order, the opaque
steps' CuPy routines, control flow's host loops) and the kernels' arithmetic (as host C++)
are checked. Not checked: CUDA's thread and block semantics (one thread runs the grid, so
shared memory and ``__syncthreads`` do nothing), NVRTC itself (tests/cupy compiles the
same text to PTX with nvcc), CuPy's numerics and signatures beyond the names and the
constructor/launch signatures copied here (the routines are numpy's), streams, timing.
``tests/cupy/test_cupy_gpu.py`` and ``tests/gpu/test_real_gpu.py`` run on a real GPU.

``install(monkeypatch, devices=1, build=None)`` registers the fake as
``sys.modules["cupy"]`` for one test and resets the library's cached GPU probe.
"""

from __future__ import annotations

import ctypes
import pathlib
import re
import sys
import types
import weakref

import numpy as np

import backends

NAMES = frozenset(
    line.strip() for line in
    (pathlib.Path(__file__).with_name("cupy_names.txt")).read_text().splitlines()
    if line.strip() and not line.startswith("#"))

# what CuPy says when asked for an implicit host copy, or given a host array
NO_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
               "construct a NumPy array explicitly.")


class FakeDevice:
    """``cupy.cuda.Device``: an index; as a context manager, the current device."""

    def __init__(self, device=None):
        self.id = STATE.current[-1] if device is None else int(device)

    def __enter__(self):
        if self.id >= STATE.count:
            raise RuntimeError(f"fakecupy: no device {self.id} (there are {STATE.count})")
        STATE.current.append(self.id)
        return self

    def __exit__(self, *exc):
        STATE.current.pop()

    def synchronize(self):
        STATE.syncs += 1

    @property
    def attributes(self) -> dict[str, int]:
        return {"MultiProcessorCount": STATE.sms, "MaxThreadsPerBlock": 1024,
                "WarpSize": 32}

    def __eq__(self, other):
        return isinstance(other, FakeDevice) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class _State:
    def __init__(self):
        self.count = 1
        self.current = [0]
        self.syncs = 0
        self.sms = 132          # what Device().attributes["MultiProcessorCount"] says
        self.build = None       # host compiler: C++ source -> ctypes.CDLL (install's build=)
        self.pending: list = []  # RawModules not compiled yet
        self.modules = 0        # RawModules created
        self.builds = 0         # calls of build (compiler runs, or its cache)
        self.launches: list = []  # (kernel name, grid, block) of each launch, in order


STATE = _State()


def _refuse_host(x):
    raise TypeError(f"Unsupported type {type(x)}. {NO_IMPLICIT}")


def _unwrap(obj, devs):
    """Host data of a (nested) argument, recording the devices of the GPU arrays met."""
    if isinstance(obj, FakeGpuArray):
        devs.add(obj.device_index)
        return obj.host
    if isinstance(obj, np.ndarray):
        _refuse_host(obj)
    if type(obj) in (tuple, list):
        return type(obj)(_unwrap(v, devs) for v in obj)
    return obj


def _wrap(obj, dev):
    if isinstance(obj, np.ndarray):
        return FakeGpuArray(obj, dev)
    if isinstance(obj, np.generic) and not isinstance(obj, (np.str_, np.bytes_)):
        return FakeGpuArray(np.asarray(obj), dev)
    if type(obj) in (tuple, list):
        return type(obj)(_wrap(v, dev) for v in obj)
    return obj


def _one_device(devs):
    if len(devs) > 1:
        raise ValueError(f"fakecupy: the arrays are on different devices {sorted(devs)} "
                         "(CuPy raises for such a mix)")
    return devs.pop() if devs else STATE.current[-1]


def _call(fn, args, kwargs):
    devs: set = set()
    a = _unwrap(args, devs)
    kw = {k: _unwrap(v, devs) for k, v in kwargs.items()}
    dev = _one_device(devs)
    return _wrap(fn(*a, **kw), dev)


class FakeGpuArray:
    """An array "on GPU ``device_index``": host data behind CuPy's interface."""

    __slots__ = ("host", "device_index")
    __array_priority__ = 100

    def __init__(self, data: np.ndarray, device: int = 0):
        self.host = data
        self.device_index = int(device)

    # -- what makes it a GPU array to the library
    @property
    def __cuda_array_interface__(self):
        h = self.host
        return {"shape": h.shape, "typestr": h.dtype.str, "data": (h.ctypes.data, False),
                "version": 3, "strides": None if h.flags.c_contiguous else h.strides}

    @property
    def device(self):
        return FakeDevice(self.device_index)

    @property
    def data(self) -> MemoryPointer:
        """``cupy.ndarray.data``: a pointer to the first element, within its allocation."""
        mem, offset = _allocation(self.host)
        return MemoryPointer(mem, offset, self.device_index)

    def get(self, stream=None):
        return np.array(self.host, copy=True)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(NO_IMPLICIT)

    # -- numpy's protocols, as CuPy implements them
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc.__name__ not in NAMES:
            return NotImplemented
        out = kwargs.get("out")
        res = _call(getattr(ufunc, method), inputs, kwargs)
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return res

    def __array_function__(self, func, types, args, kwargs):
        mod = func.__module__ or ""
        sub = mod[len("numpy."):] + "." if mod.startswith("numpy.") else ""
        if sub in ("lib.", "core.", "_core."):
            sub = ""
        if sub + func.__name__ not in NAMES:
            return NotImplemented
        return _call(func, args, kwargs)

    # -- attributes and methods: numpy's, with results kept on this device
    shape = property(lambda self: self.host.shape)
    dtype = property(lambda self: self.host.dtype)
    ndim = property(lambda self: self.host.ndim)
    size = property(lambda self: self.host.size)
    strides = property(lambda self: self.host.strides)
    itemsize = property(lambda self: self.host.itemsize)
    nbytes = property(lambda self: self.host.nbytes)
    flags = property(lambda self: self.host.flags)
    T = property(lambda self: FakeGpuArray(self.host.T, self.device_index))

    def __getattr__(self, name):
        if name.startswith("__"):  # numpy's __array_interface__ & co: no host view
            raise AttributeError(name)
        attr = getattr(self.host, name)
        if not callable(attr):
            return _wrap(attr, self.device_index)

        def method(*args, **kwargs):
            devs = {self.device_index}
            a = _unwrap(args, devs)
            kw = {k: _unwrap(v, devs) for k, v in kwargs.items()}
            return _wrap(attr(*a, **kw), _one_device(devs))

        return method

    def view(self, dtype=None):
        if isinstance(dtype, type) and issubclass(dtype, np.ndarray):
            raise TypeError(f"fakecupy: view({dtype.__name__}) (CuPy views take a dtype only)")
        return FakeGpuArray(self.host.view(dtype) if dtype is not None else self.host.view(),
                            self.device_index)

    def item(self):
        return self.host.item()

    def tolist(self):
        return self.host.tolist()

    def __getitem__(self, idx):
        devs = {self.device_index}
        return _wrap(self.host[_unwrap_index(idx, devs)], _one_device(devs))

    def __setitem__(self, idx, value):
        devs = {self.device_index}
        v = value.host if isinstance(value, FakeGpuArray) else value
        if isinstance(value, FakeGpuArray):
            devs.add(value.device_index)
        self.host[_unwrap_index(idx, devs)] = v
        _one_device(devs)

    def __len__(self):
        return len(self.host)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self.host)

    def __int__(self):
        return int(self.host)

    def __float__(self):
        return float(self.host)

    def __complex__(self):
        return complex(self.host)

    def __index__(self):
        return self.host.__index__()

    __hash__ = None

    def __repr__(self):
        return f"fakecupy.array({self.host.tolist()!r}, dtype={self.host.dtype}, " \
               f"device={self.device_index})"


def _unwrap_index(idx, devs):
    if isinstance(idx, FakeGpuArray):
        devs.add(idx.device_index)
        return idx.host
    if isinstance(idx, tuple):
        return tuple(_unwrap_index(i, devs) for i in idx)
    return idx


def _install_operators():
    binary = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
              "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
              "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
              "lshift": np.left_shift, "rshift": np.right_shift, "matmul": np.matmul}
    for name, uf in binary.items():
        setattr(FakeGpuArray, f"__{name}__", lambda self, o, uf=uf: uf(self, o))
        setattr(FakeGpuArray, f"__r{name}__", lambda self, o, uf=uf: uf(o, self))
    for name, uf in {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                     "gt": np.greater, "ge": np.greater_equal}.items():
        setattr(FakeGpuArray, f"__{name}__", lambda self, o, uf=uf: uf(self, o))
    for name, uf in {"neg": np.negative, "pos": np.positive, "abs": np.absolute,
                     "invert": np.invert}.items():
        setattr(FakeGpuArray, f"__{name}__", lambda self, uf=uf: uf(self))


_install_operators()


# -- device memory and raw kernels: what backends/cupy/runtime.py calls ----------------------


GUARD = 64       # bytes of canary before and after each allocation made here
CANARY = 0xA5
POISON = 0x7F    # every byte of fresh memory: large finite values, never zeros
_guarded: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # address -> raw bytes


def _root(a: np.ndarray) -> np.ndarray:
    """The array owning ``a``'s memory (following ``.base`` through views)."""
    while True:
        b = a.base
        while b is not None and not isinstance(b, np.ndarray):
            b = getattr(b, "base", None)  # as_strided's holder and the like
        if b is None:
            return a
        a = b


def _fresh(shape, dt: np.dtype, order: str = "C") -> np.ndarray:
    """Device memory as CuPy's ``empty`` gives it, but filled with a visible pattern, so
    that an element a kernel forgets to write cannot pass for a right answer (bools:
    True), and fenced by canary bytes that ``check_fences`` verifies after each launch."""
    n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    raw = np.full(n + 2 * GUARD, CANARY, np.uint8)
    raw[GUARD:GUARD + n] = 1 if dt.kind == "b" else POISON
    _guarded[raw.ctypes.data] = raw
    flat = raw[GUARD:GUARD + n].view(dt)
    return flat.reshape(shape) if order == "C" else flat.reshape(shape[::-1]).T


def _allocation(a: np.ndarray) -> tuple[np.ndarray, int]:
    """The allocation holding ``a`` as flat bytes (a writable uint8 view, without the
    fences) and the byte offset of ``a``'s first element in it."""
    root = _root(a)
    if _guarded.get(root.ctypes.data) is root:
        mem = root[GUARD:root.size - GUARD]
    elif root.size and _extent(root) != root.nbytes:
        raise AssertionError(f"fakecupy: the array's owner (shape {root.shape}, strides "
                             f"{root.strides}) is not dense, so it is not an allocation")
    else:
        mem = np.lib.stride_tricks.as_strided(root, (root.size,), (root.itemsize,)).view(
            np.uint8)
    offset = a.ctypes.data - mem.ctypes.data if a.size else 0
    return mem, offset


def check_fences(a: np.ndarray, what: str) -> None:
    """Raise when the canary bytes around ``a``'s allocation (one made here) changed."""
    root = _root(a)
    if _guarded.get(root.ctypes.data) is root and not (
            (root[:GUARD] == CANARY).all() and (root[root.size - GUARD:] == CANARY).all()):
        raise AssertionError(f"fakecupy: {what}: memory just outside the allocation was "
                             "written (a kernel indexed past its buffer)")


def _extent(a: np.ndarray) -> int:
    lo = sum(st * (n - 1) for st, n in zip(a.strides, a.shape) if st < 0)
    hi = sum(st * (n - 1) for st, n in zip(a.strides, a.shape) if st > 0)
    return hi - lo + a.itemsize


class MemoryPointer:
    """``cupy.cuda.MemoryPointer``: an allocation (``mem``: its bytes) and a byte offset
    into it; ``ptr`` is the address. ``+``/``-`` an integer move the offset."""

    def __init__(self, mem: np.ndarray, offset: int, device_id: int = 0):
        self.mem, self.offset, self.device_id = mem, int(offset), int(device_id)

    @property
    def ptr(self) -> int:
        return self.mem.ctypes.data + self.offset

    @property
    def device(self) -> FakeDevice:
        return FakeDevice(self.device_id)

    def __add__(self, n):
        if not isinstance(n, (int, np.integer)):
            return NotImplemented
        return MemoryPointer(self.mem, self.offset + int(n), self.device_id)

    __radd__ = __add__

    def __sub__(self, n):
        return self + (-int(n))

    def __int__(self):
        return self.ptr


class _NdarrayType(type):
    """``cupy.ndarray`` is both the array type (every ``FakeGpuArray`` is an instance) and
    CuPy's constructor ``ndarray(shape, dtype=float, memptr=None, strides=None,
    order='C')``."""

    def __instancecheck__(cls, x):
        return isinstance(x, FakeGpuArray)

    def __subclasscheck__(cls, c):
        return issubclass(c, FakeGpuArray)

    def __call__(cls, shape, dtype=float, memptr=None, strides=None, order="C"):
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(
            int(n) for n in shape)
        dt = np.dtype(dtype)
        if memptr is None:
            return FakeGpuArray(_fresh(shape, dt, order), STATE.current[-1])
        if strides is None:
            strides = np.empty(shape, dt, order=order).strides if dt.itemsize else None
        strides = tuple(int(st) for st in strides)
        try:
            host = np.ndarray(shape, dt, buffer=memptr.mem, offset=memptr.offset,
                              strides=strides)
        except (TypeError, ValueError) as e:
            raise AssertionError(
                f"fakecupy: cupy.ndarray(shape={shape}, dtype={dt}, strides={strides}) at "
                f"byte {memptr.offset} of an allocation of {memptr.mem.size} bytes reaches "
                f"outside it ({e}); real CuPy would not check, and read other memory") from e
        return FakeGpuArray(host, memptr.device_id)


class ndarray(metaclass=_NdarrayType):  # noqa: N801  (CuPy's name)
    """``cupy.ndarray`` (see ``_NdarrayType``)."""


def empty(shape, dtype=float, order="C"):
    """``cupy.empty``: fresh device memory, poisoned and fenced (``_fresh``)."""
    return ndarray(shape, dtype, order=order)


# the numpy dtypes a kernel parameter of each C type accepts (float16 lives as its bits)
CTYPES = {"float": ("f4",), "double": ("f8",), "bool": ("b1",), "signed char": ("i1",),
          "short": ("i2",), "int": ("i4",), "long long": ("i8",), "unsigned char": ("u1",),
          "unsigned short": ("u2", "f2"), "unsigned int": ("u4",),
          "unsigned long long": ("u8",)}
_KERNEL_DEF = re.compile(r'(?:FL_GLOBAL|extern\s+"C"\s+__global__)\s+void\s+(\w+)\s*\(([^)]*)\)')
_PARAM = re.compile(r"^(const\s+)?([\w ]+?)\s*\*\s*(?:__restrict__\s*)?\w+$")


def kernel_params(code: str, name: str) -> list[tuple[bool, str]] | None:
    """(written?, C element type) of each pointer parameter of kernel ``name`` in ``code``,
    or None when the source defines no such kernel."""
    for m in _KERNEL_DEF.finditer(code):
        if m.group(1) == name:
            out = []
            for p in filter(None, (q.strip() for q in m.group(2).split(","))):
                pm = _PARAM.match(p)
                if pm is None:
                    raise AssertionError(f"fakecupy: kernel {name}: parameter {p!r} is not a "
                                         "pointer (the emulator passes arrays only)")
                out.append((pm.group(1) is None, pm.group(2).strip()))
            return out
    return None


class RawModule:
    """``cupy.RawModule(code=..., options=...)``: the CUDA source is compiled as host C++
    (``STATE.build``, given to ``install``) where the prelude's launch macros make one
    thread run the whole grid. Building waits for the first launch, and then every module
    created and not yet built is compiled in one translation unit (one compiler run for a
    whole test's programs): the text they share from the start (the prelude) comes once,
    each module's kernels are renamed ``fmN_<name>``."""

    def __init__(self, code=None, *, path=None, options=(), backend="nvrtc",
                 translate_cucomplex=False, enable_cooperative_groups=False,
                 name_expressions=None, jitify=None):
        if code is None or path is not None:
            raise AssertionError("fakecupy: RawModule runs CUDA source (code=) only")
        if not isinstance(options, tuple) or not all(isinstance(o, str) for o in options):
            raise TypeError(f"RawModule: options must be a tuple of str, got {options!r}")
        if STATE.build is None:
            raise AssertionError("fakecupy: kernels run only when install() is given a host "
                                 "compiler (build=cuda_host.build from tests/cupy)")
        self.code, self.options, self.backend = code, options, backend
        self.lib, self.symbols, self.error = None, {}, None
        STATE.pending.append(self)
        STATE.modules += 1

    def get_function(self, name: str) -> RawKernel:
        params = kernel_params(self.code, name)
        if params is None:
            raise CUDADriverError("CUDA_ERROR_NOT_FOUND: named symbol not found "
                                  f"(fakecupy: no kernel {name!r} in the module's source)")
        return RawKernel(self, name, params)

    def function(self, name: str):
        """The host build's entry point of kernel ``name`` (building pending modules)."""
        if self.lib is None and self.error is None:
            _build_pending(STATE.build)
        if self.error is not None:
            raise self.error
        return getattr(self.lib, self.symbols.get(name, name))


def _build_pending(build):
    mods = [m for m in STATE.pending if m.lib is None]
    STATE.pending.clear()
    if len(mods) > 1:
        text, symbols = _merge([m.code for m in mods])
        try:
            lib = build(text)
        except AssertionError:
            lib = None  # build each alone below, so the error names its module
        if lib is not None:
            for m, sym in zip(mods, symbols):
                m.lib, m.symbols = lib, sym
            STATE.builds += 1
            return
    for m in mods:
        try:
            m.lib = build(m.code)
        except AssertionError as e:  # kept for the module's own launches
            m.error = e
        STATE.builds += 1


def _merge(codes: list[str]) -> tuple[str, list[dict[str, str]]]:
    """One translation unit of ``codes``: their common leading lines (up to the first
    kernel) once, then each module's remaining text with its kernels renamed."""
    split = [c.splitlines(keepends=True) for c in codes]
    n = 0
    while all(len(ls) > n and ls[n] == split[0][n] for ls in split) and \
            not _KERNEL_DEF.search(split[0][n]) and "FL_GLOBAL void" not in split[0][n]:
        n += 1
    parts, symbols = ["".join(split[0][:n])], []
    for i, ls in enumerate(split):
        rest = "".join(ls[n:])
        names = {m.group(1) for m in _KERNEL_DEF.finditer(rest)}
        sym = {nm: f"fm{i}_{nm}" for nm in names}
        if names:
            rest = re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")\b",
                          lambda m, i=i: f"fm{i}_{m.group(1)}", rest)
        parts.append(f"\n// ---- module {i}\n" + rest)
        symbols.append(sym)
    return "".join(parts), symbols


def _dims(what: str, v) -> tuple[int, ...]:
    t = (v,) if isinstance(v, (int, np.integer)) else v
    if not isinstance(t, tuple) or not 1 <= len(t) <= 3 or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in t):
        raise AssertionError(f"fakecupy: a launch's {what} must be 1 to 3 positive ints, "
                             f"got {v!r}")
    return tuple(int(n) for n in t)


class RawKernel:
    """``cupy.RawKernel`` from ``RawModule.get_function``: ``kernel(grid, block, args)``.

    The launch is checked as CUDA would need it (grid and block 1-3 positive ints, at most
    1024 threads a block, ``args`` a tuple with one array per parameter, each of the
    parameter's element type, C-contiguous, on the current device, no written buffer
    overlapping another argument: the kernels' pointers are ``__restrict__``), then the
    host build runs the whole grid in this thread on the arrays' memory."""

    def __init__(self, module: RawModule, name: str, params):
        self.module, self.name, self.params = module, name, params

    def __call__(self, grid, block, args, *, shared_mem=0):
        g, b = _dims("grid", grid), _dims("block", block)
        if int(np.prod(b)) > 1024:
            raise AssertionError(f"fakecupy: {self.name}: block {b} has more than 1024 threads")
        if not isinstance(args, tuple):  # CuPy's Cython signature takes a tuple only
            raise TypeError(f"Argument 'args' has incorrect type (expected tuple, got "
                            f"{type(args).__name__})")
        if len(args) != len(self.params):
            raise AssertionError(f"fakecupy: {self.name} takes {len(self.params)} arrays, "
                                 f"launched with {len(args)}")
        for k, (a, (written, ct)) in enumerate(zip(args, self.params)):
            self._check(k, a, written, ct, args)
        fn = self.module.function(self.name)
        fn(*[ctypes.c_void_p(a.host.ctypes.data) for a in args])
        for k, a in enumerate(args):
            check_fences(a.host, f"{self.name} argument {k}")
        STATE.launches.append((self.name, g, b))

    def _check(self, k, a, written, ct, args):
        where = f"fakecupy: {self.name} argument {k} ({ct}*)"
        if not isinstance(a, FakeGpuArray):
            raise AssertionError(f"{where}: got {type(a).__name__}, not a GPU array")
        if ct in CTYPES and a.dtype.str[1:] not in CTYPES[ct]:
            raise AssertionError(f"{where}: got a {a.dtype} array")
        if not a.host.flags.c_contiguous:
            raise AssertionError(f"{where}: the array (strides {a.strides}) is not "
                                 "C-contiguous; the kernel indexes it densely")
        if a.device_index != STATE.current[-1]:
            raise AssertionError(f"{where}: the array is on device {a.device_index}, the "
                                 f"launch on device {STATE.current[-1]}")
        if written:
            if not a.host.flags.writeable:
                raise AssertionError(f"{where}: written, but the memory is read-only")
            for j, other in enumerate(args):
                if j != k and isinstance(other, FakeGpuArray) and a.size and other.size and \
                        np.may_share_memory(a.host, other.host):
                    raise AssertionError(f"{where}: written, and overlaps argument {j} "
                                         "(both pointers are __restrict__)")


# -- the module ---------------------------------------------------------------------------------


def asarray(a, dtype=None, order=None):
    """``cupy.asarray``: host data is copied to the current device (explicitly)."""
    if isinstance(a, FakeGpuArray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    host = np.asarray(a, dtype=dtype)
    out = _fresh(host.shape, host.dtype, "F" if order == "F" else "C")
    out[...] = host
    return FakeGpuArray(out, STATE.current[-1])


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(a, FakeGpuArray):
        out = np.array(a.host, dtype=dtype, copy=True, order=order, ndmin=ndmin)
        return FakeGpuArray(out, STATE.current[-1])
    return FakeGpuArray(np.array(a, dtype=dtype, copy=True, order=order, ndmin=ndmin),
                        STATE.current[-1])


def asnumpy(a, stream=None):
    return a.get() if isinstance(a, FakeGpuArray) else np.asarray(a)


def get_array_module(*args):
    return MODULE if any(isinstance(a, FakeGpuArray) for a in args) else np


class _Stream:
    def synchronize(self):
        STATE.syncs += 1


class _MemoryPool:
    def free_all_blocks(self):
        pass


class CUDARuntimeError(RuntimeError):
    pass


class CUDADriverError(RuntimeError):
    pass


def _device_count():
    return STATE.count


def _properties(i):
    return {"name": f"FakeGPU {i}".encode()}


class _FakeCupy(types.ModuleType):
    """``cupy``'s namespace: numpy's functions of the names CuPy has, kept on the device."""

    def __getattr__(self, name):
        if name not in NAMES or not hasattr(np, name):
            raise AttributeError(f"module 'cupy' has no attribute {name!r}")
        fn = getattr(np, name)
        if isinstance(fn, np.ufunc) or not callable(fn) or isinstance(fn, type):
            return fn  # ufuncs reach the arrays' __array_ufunc__; dtypes and constants

        def call(*args, **kwargs):
            return _call(fn, args, kwargs)

        call.__name__ = name
        return call


MODULE = _FakeCupy("cupy", __doc__)
MODULE.__file__ = __file__
MODULE.ndarray = ndarray
MODULE.empty = empty
MODULE.RawModule = RawModule
MODULE.RawKernel = RawKernel
MODULE.asarray = asarray
MODULE.array = array
MODULE.asnumpy = asnumpy
MODULE.get_array_module = get_array_module
MODULE.get_default_memory_pool = lambda: _MemoryPool()
MODULE.cuda = types.SimpleNamespace(
    Device=FakeDevice,
    MemoryPointer=MemoryPointer,
    driver=types.SimpleNamespace(CUDADriverError=CUDADriverError),
    get_current_stream=lambda: _Stream(),
    runtime=types.SimpleNamespace(getDeviceCount=_device_count,
                                  getDeviceProperties=_properties,
                                  CUDARuntimeError=CUDARuntimeError))
MODULE.linalg = types.SimpleNamespace(**{
    n[len("linalg."):]: (lambda f: lambda *a, **k: _call(f, a, k))(getattr(np.linalg, n[7:]))
    for n in NAMES if n.startswith("linalg.") and hasattr(np.linalg, n[7:])})


def _as_strided(x, shape=None, strides=None):
    """``cupy.lib.stride_tricks.as_strided`` (no ``writeable`` argument, as in CuPy)."""
    return FakeGpuArray(np.lib.stride_tricks.as_strided(x.host, shape, strides),
                        x.device_index)


MODULE.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))


def install(monkeypatch, devices: int = 1, build=None):
    """Make ``import cupy`` give the fake (``devices`` GPUs) for one test; ``build``
    (C++ source -> ``ctypes.CDLL``, e.g. tests/cupy's ``cuda_host.build``) lets
    ``RawModule`` kernels run on the host."""
    STATE.count, STATE.current, STATE.syncs = devices, [0], 0
    STATE.build, STATE.launches = build, []
    monkeypatch.setitem(sys.modules, "cupy", MODULE)
    backends.cuda_device_count.cache_clear()
    monkeypatch.setattr(backends, "cuda_device_count", _counted)
    return MODULE


def _counted():
    # the probe, uncached: tests change the device count
    return _device_count()


def gpu(x, device: int = 0) -> FakeGpuArray:
    """Host data as a fake GPU array on ``device``."""
    return FakeGpuArray(np.array(x, copy=True), device)


def on_gpu(x, device: int = 0) -> bool:
    """True when ``x`` is a fake GPU array on ``device``."""
    return isinstance(x, FakeGpuArray) and x.device_index == device
