"""Readers for the on-disk formats of the classic image data sets, as numpy arrays.

* :func:`read_idx`: the IDX files of MNIST and Fashion-MNIST (raw or gzip-compressed);
* :func:`read_cifar_batch`: the python-pickle batches of CIFAR-10, decoded by a small
  stack machine that knows only the opcodes and the handful of numpy constructors those
  files use. Nothing in a file is ever called or imported: a pickle that asks for anything
  else is rejected with :class:`FormatError`, so a hostile file cannot run code.

>>> import numpy as np, io, gzip
>>> raw = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])      # a 1-d uint8 IDX file
>>> read_idx(io.BytesIO(raw))
array([7, 8, 9], dtype=uint8)
"""

from __future__ import annotations

import gzip
import io
import os
import pickletools
import re
from typing import IO, Any

import numpy as np


class FormatError(ValueError):
    """A data file is truncated, corrupt or not of the expected format.

    >>> issubclass(FormatError, ValueError)
    True
    """


# ---------------------------------------------------------------------------------------------
# IDX (http://yann.lecun.com/exdb/mnist/): magic 0 0 <type> <ndim>, ndim big-endian uint32
# sizes, then the data in C order, big-endian.

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(source: str | os.PathLike | IO[bytes]) -> tuple[bytes, str]:
    """The whole content of a path or binary file object, gunzipped when it is gzip."""
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(name, "rb") as f:
            data = f.read()
    else:
        name = getattr(source, "name", "<file object>")
        data = source.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise FormatError(f"{name}: broken gzip stream ({e}); download the file again") from e
    return data, str(name)


def read_idx(source: str | os.PathLike | IO[bytes]) -> np.ndarray:
    """Read an IDX file (``train-images-idx3-ubyte`` and friends, raw or ``.gz``).

    Returns a native-endian numpy array with the file's shape and element type.

    >>> import io
    >>> read_idx(io.BytesIO(bytes([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 5, 6])))
    array([[5, 6]], dtype=uint8)
    """
    data, name = _read_bytes(source)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise FormatError(f"{name}: not an IDX file (bad magic number {data[:4]!r}); expected "
                          "the uncompressed or .gz MNIST files such as train-images-idx3-ubyte")
    ndim = data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise FormatError(f"{name}: IDX header truncated ({len(data)} bytes for {ndim} sizes)")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - start != expected:
        raise FormatError(f"{name}: IDX data holds {len(data) - start} bytes but its header "
                          f"promises shape {shape} of {dtype.name} ({expected} bytes); the "
                          "file is truncated or corrupt, download it again")
    return np.frombuffer(data, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


# ---------------------------------------------------------------------------------------------
# CIFAR batches: a restricted pickle reader. The files are dicts of str/bytes keys holding a
# uint8 ndarray, lists of ints and lists of str/bytes; numpy pickles an ndarray either as
# _reconstruct(ndarray, (0,), b'b') + BUILD(state) or (protocol 5) as _frombuffer(buf, dtype,
# shape, order), and a dtype as dtype('u1', False, True) + BUILD(state). Python 3 writes bytes
# under protocol 2 as _codecs.encode(str, 'latin1'). These are the only globals understood;
# they are never imported, only recognised by name.

_RECONSTRUCT, _NDARRAY, _DTYPE, _ENCODE, _FROMBUFFER = (
    "reconstruct", "ndarray", "dtype", "encode", "frombuffer")
_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
    ("_codecs", "encode"): _ENCODE,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
}
# plain numeric dtypes only: no object arrays, no structured or string dtypes
_SAFE_DTYPE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f[248])$")
_MAX_DEPTH = 64


class _Global:
    """A recognised global, by its role (never the object itself)."""

    def __init__(self, role: str):
        self.role = role


class _PendingArray:
    """An ndarray made by _reconstruct and still waiting for its BUILD state."""

    array: np.ndarray | None = None


class _Mark:
    """The MARK opcode's stack marker."""


def _dtype(name: Any) -> np.dtype:
    if not isinstance(name, str) or not _SAFE_DTYPE.match(name):
        raise FormatError(f"refusing array dtype {name!r}: only plain numeric dtypes are read")
    return np.dtype(name)


def _array(raw: Any, dtype: Any, shape: Any, fortran: bool) -> np.ndarray:
    if isinstance(raw, str):  # a Python-2 str read with latin-1, as torchvision reads it
        raw = raw.encode("latin-1")
    if not isinstance(raw, (bytes, bytearray)) or not isinstance(dtype, np.dtype):
        raise FormatError("malformed ndarray in pickle: expected raw bytes and a dtype")
    if not (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise FormatError(f"malformed ndarray shape {shape!r} in pickle")
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(raw):
        raise FormatError(f"ndarray of shape {shape} and dtype {dtype} does not match its "
                          f"{len(raw)} data bytes: the file is truncated or corrupt")
    arr = np.frombuffer(bytes(raw), dtype).reshape(shape, order="F" if fortran else "C")
    return arr.astype(dtype.newbyteorder("="))


def _reduce(func: Any, args: Any) -> Any:
    role = func.role if isinstance(func, _Global) else None
    if not isinstance(args, tuple):
        raise FormatError("malformed REDUCE in pickle: arguments are not a tuple")
    if role == _RECONSTRUCT and len(args) == 3 and getattr(args[0], "role", None) == _NDARRAY:
        return _PendingArray()
    if role == _DTYPE and len(args) == 3:
        return _dtype(args[0])
    if role == _ENCODE and len(args) == 2 and isinstance(args[0], str) and args[1] == "latin1":
        return args[0].encode("latin-1")
    if role == _FROMBUFFER and len(args) == 4 and args[3] in ("C", "F"):
        return _array(args[0], args[1], args[2], args[3] == "F")
    raise FormatError(f"refusing pickle call {role or func!r}{args!r:.60}: not a CIFAR batch")


def _build(obj: Any, state: Any) -> Any:
    if isinstance(obj, np.dtype):
        if not (isinstance(state, tuple) and len(state) >= 2 and state[1] in "<>|="):
            raise FormatError("malformed dtype state in pickle")
        return obj.newbyteorder(state[1]) if state[1] in "<>" else obj
    if isinstance(obj, _PendingArray) and isinstance(state, tuple) and len(state) == 5:
        _, shape, dtype, fortran, raw = state
        obj.array = _array(raw, dtype, shape, bool(fortran))
        return obj
    raise FormatError("refusing pickle BUILD on anything but an ndarray or a dtype")


def _resolve(value: Any) -> Any:
    return value.array if isinstance(value, _PendingArray) else value


def _pop_mark(stack: list) -> list:
    for i in range(len(stack) - 1, -1, -1):
        if isinstance(stack[i], _Mark):
            items = stack[i + 1:]
            del stack[i:]
            return [_resolve(v) for v in items]
    raise FormatError("malformed pickle: no MARK on the stack")


_ATOMS = {"SHORT_BINSTRING", "BINSTRING", "SHORT_BINBYTES", "BINBYTES", "BINBYTES8",
          "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "BYTEARRAY8", "BININT", "BININT1",
          "BININT2", "LONG1", "BINFLOAT"}
_CONSTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_NOOPS = {"PROTO", "FRAME"}


def _step(name: str, arg: Any, stack: list, memo: dict) -> None:
    """Run one opcode of the restricted machine."""
    if name in _ATOMS:
        stack.append(arg)
    elif name in _CONSTS:
        stack.append(_CONSTS[name])
    elif name == "MARK":
        stack.append(_Mark())
    elif name in ("BINPUT", "LONG_BINPUT"):
        memo[arg] = stack[-1]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in ("BINGET", "LONG_BINGET"):
        if arg not in memo:
            raise FormatError(f"malformed pickle: memo entry {arg} read before it was written")
        stack.append(memo[arg])
    elif name == "EMPTY_DICT":
        stack.append({})
    elif name == "EMPTY_LIST":
        stack.append([])
    elif name == "EMPTY_TUPLE":
        stack.append(())
    elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        n = int(name[-1])
        items = [_resolve(v) for v in stack[len(stack) - n:]]
        del stack[len(stack) - n:]
        stack.append(tuple(items))
    elif name == "TUPLE":
        stack.append(tuple(_pop_mark(stack)))
    elif name == "APPEND":
        value = _resolve(stack.pop())
        _container(stack, list).append(value)
    elif name == "APPENDS":
        items = _pop_mark(stack)
        _container(stack, list).extend(items)
    elif name in ("SETITEM", "SETITEMS"):
        items = [_resolve(stack.pop()), _resolve(stack.pop())][::-1] if name == "SETITEM" \
            else _pop_mark(stack)
        target = _container(stack, dict)
        for k, v in zip(items[::2], items[1::2]):
            if not isinstance(k, (str, bytes, int)):
                raise FormatError(f"refusing dict key of type {type(k).__name__} in pickle")
            target[k] = v
    elif name == "GLOBAL":
        module, _, qualname = arg.partition(" ")
        stack.append(_global(module, qualname))
    elif name == "STACK_GLOBAL":
        qualname, module = stack.pop(), stack.pop()
        stack.append(_global(module, qualname))
    elif name == "REDUCE":
        args = stack.pop()
        stack.append(_reduce(stack.pop(), args))
    elif name == "BUILD":
        state = stack.pop()
        stack.append(_build(stack.pop(), state))
    else:
        raise FormatError(f"refusing pickle opcode {name}: this reader only understands the "
                          "plain dicts, lists and numpy arrays of a CIFAR batch")


def _container(stack: list, kind: type) -> Any:
    if not stack or not isinstance(stack[-1], kind):
        raise FormatError(f"malformed pickle: no {kind.__name__} to add items to")
    return stack[-1]


def _global(module: Any, qualname: Any) -> _Global:
    role = _GLOBALS.get((module, qualname))
    if role is None:
        raise FormatError(f"refusing pickle global {module}.{qualname}: a CIFAR batch only "
                          "refers to numpy's array constructors")
    return _Global(role)


def read_pickle_safely(source: str | os.PathLike | IO[bytes]) -> Any:
    """Decode a pickle made only of dicts, lists, tuples, str/bytes, numbers and numeric
    numpy arrays -- the shape of CIFAR's batch files -- without importing or calling
    anything named in it (no ``pickle.load``). Anything else raises :class:`FormatError`.

    >>> import pickle, numpy as np
    >>> blob = pickle.dumps({"labels": [3, 1], "data": np.zeros((2, 3), np.uint8)}, protocol=2)
    >>> out = read_pickle_safely(io.BytesIO(blob))
    >>> out["labels"], out["data"].shape
    ([3, 1], (2, 3))
    """
    data, name = _read_bytes(source)
    stack: list = []
    memo: dict = {}
    try:
        for opcode, arg, _ in pickletools.genops(io.BytesIO(data)):
            if opcode.name == "STOP":
                if len(stack) != 1:
                    raise FormatError("malformed pickle: stack not balanced at STOP")
                return _resolve(stack[0])
            if opcode.name not in _NOOPS:
                _step(opcode.name, arg, stack, memo)
            if len(stack) > 1_000_000:
                raise FormatError("pickle stack grows without bound")
    except FormatError as e:
        raise FormatError(f"{name}: {e}") from None
    except (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise FormatError(f"{name}: truncated or corrupt pickle ({e})") from None
    raise FormatError(f"{name}: truncated pickle (no STOP opcode)")


def _str_keys(d: dict) -> dict:
    return {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in d.items()}


def read_cifar_batch(source: str | os.PathLike | IO[bytes]) -> dict:
    """One CIFAR-10 batch file (``data_batch_1`` ... ``test_batch``) as a dict with str keys:
    ``data`` (uint8, N x 3072), ``labels`` (list of int) and whatever else it holds.

    >>> import pickle, numpy as np
    >>> blob = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [7]})
    >>> read_cifar_batch(io.BytesIO(blob))["labels"]
    [7]
    """
    out = read_pickle_safely(source)
    if not isinstance(out, dict):
        raise FormatError(f"a CIFAR batch is a dict; this pickle holds a {type(out).__name__}")
    return _str_keys(out)
