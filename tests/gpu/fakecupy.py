"""A stand-in for CuPy, for tests on machines without a GPU.

It checks *dispatch and placement*, not CUDA: a ``FakeGpuArray`` holds a host numpy array
and a device index, and behaves like a CuPy array where our code could tell the
difference:

* it exposes ``__cuda_array_interface__`` (how the library recognises GPU arrays), ``.get()``
  (a host copy) and ``.device.id``;
* ``np.asarray(x)`` raises CuPy's ``TypeError`` (no implicit copy to the host);
* numpy ufuncs (``np.exp(x)``) and numpy functions (``np.where``, ``np.concatenate``...) run
  through ``__array_ufunc__``/``__array_function__`` only when real CuPy has a function of
  that name (``cupy_names.txt``, taken from CuPy 14's namespace); anything else fails as it
  does with CuPy;
* a host numpy array as an operand of a ufunc or a function raises CuPy's ``TypeError``
  (CuPy never copies host data implicitly); arrays on two devices raise ``ValueError``;
* reductions give 0-d arrays, not numpy scalars; arrays are mutable.

The numbers are numpy's, computed on the host. Nothing here runs a kernel or checks CUDA
code (``tests/cupy/`` compiles that; ``tests/gpu/test_real_gpu.py`` runs on a real GPU).

``install(monkeypatch, devices=1)`` registers the fake as ``sys.modules["cupy"]`` for one
test and resets the library's cached GPU probe.
"""

from __future__ import annotations

import pathlib
import sys
import types

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


STATE = _State()


def _refuse_host(x):
    raise TypeError(f"Unsupported type {type(x)}. {NO_IMPLICIT}")


def _unwrap(obj, devs):
    """Host data of a (nested) argument, recording the devices of the GPU arrays met."""
    if isinstance(obj, FakeGpuArray):
        devs.add(obj.device_index)
        return obj.data
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

    __slots__ = ("data", "device_index")
    __array_priority__ = 100

    def __init__(self, data: np.ndarray, device: int = 0):
        self.data = data
        self.device_index = int(device)

    # -- what makes it a GPU array to the library
    @property
    def __cuda_array_interface__(self):
        return {"shape": self.data.shape, "typestr": self.data.dtype.str,
                "data": (self.data.ctypes.data, False), "version": 3, "strides": None}

    @property
    def device(self):
        return FakeDevice(self.device_index)

    def get(self, stream=None):
        return np.array(self.data, copy=True)

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
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    strides = property(lambda self: self.data.strides)
    itemsize = property(lambda self: self.data.itemsize)
    nbytes = property(lambda self: self.data.nbytes)
    flags = property(lambda self: self.data.flags)
    T = property(lambda self: FakeGpuArray(self.data.T, self.device_index))

    def __getattr__(self, name):
        if name.startswith("__"):  # numpy's __array_interface__ & co: no host view
            raise AttributeError(name)
        attr = getattr(self.data, name)
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
        return FakeGpuArray(self.data.view(dtype) if dtype is not None else self.data.view(),
                            self.device_index)

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __getitem__(self, idx):
        devs = {self.device_index}
        return _wrap(self.data[_unwrap_index(idx, devs)], _one_device(devs))

    def __setitem__(self, idx, value):
        devs = {self.device_index}
        v = value.data if isinstance(value, FakeGpuArray) else value
        if isinstance(value, FakeGpuArray):
            devs.add(value.device_index)
        self.data[_unwrap_index(idx, devs)] = v
        _one_device(devs)

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self.data)

    def __int__(self):
        return int(self.data)

    def __float__(self):
        return float(self.data)

    def __complex__(self):
        return complex(self.data)

    def __index__(self):
        return self.data.__index__()

    __hash__ = None

    def __repr__(self):
        return f"fakecupy.array({self.data.tolist()!r}, dtype={self.data.dtype}, " \
               f"device={self.device_index})"


def _unwrap_index(idx, devs):
    if isinstance(idx, FakeGpuArray):
        devs.add(idx.device_index)
        return idx.data
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


# -- the module ---------------------------------------------------------------------------------


def asarray(a, dtype=None, order=None):
    """``cupy.asarray``: host data is copied to the current device (explicitly)."""
    if isinstance(a, FakeGpuArray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return FakeGpuArray(np.array(a, dtype=dtype, order=order or "K", copy=True),
                        STATE.current[-1])


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(a, FakeGpuArray):
        out = np.array(a.data, dtype=dtype, copy=True, order=order, ndmin=ndmin)
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
MODULE.ndarray = FakeGpuArray
MODULE.asarray = asarray
MODULE.array = array
MODULE.asnumpy = asnumpy
MODULE.get_array_module = get_array_module
MODULE.get_default_memory_pool = lambda: _MemoryPool()
MODULE.cuda = types.SimpleNamespace(
    Device=FakeDevice,
    get_current_stream=lambda: _Stream(),
    runtime=types.SimpleNamespace(getDeviceCount=_device_count,
                                  getDeviceProperties=_properties,
                                  CUDARuntimeError=CUDARuntimeError))
MODULE.linalg = types.SimpleNamespace(**{
    n[len("linalg."):]: (lambda f: lambda *a, **k: _call(f, a, k))(getattr(np.linalg, n[7:]))
    for n in NAMES if n.startswith("linalg.") and hasattr(np.linalg, n[7:])})


def _as_strided(x, shape=None, strides=None):
    """``cupy.lib.stride_tricks.as_strided`` (no ``writeable`` argument, as in CuPy)."""
    return FakeGpuArray(np.lib.stride_tricks.as_strided(x.data, shape, strides),
                        x.device_index)


MODULE.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))


def install(monkeypatch, devices: int = 1):
    """Make ``import cupy`` give the fake (``devices`` GPUs) for one test."""
    STATE.count, STATE.current, STATE.syncs = devices, [0], 0
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
