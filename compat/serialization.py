"""``compat.save`` / ``compat.load``: checkpoints as safetensors files, never pickle.

Layout. Every Tensor (and numpy array) in the saved object is one safetensors tensor; the
object's structure, with each tensor replaced by a reference to its name, is JSON in the
file's metadata (``__metadata__["compat"]``, beside ``"format": "pt"``). Tensor names are the
object's key paths joined with dots, so a state dict ``{"fc.weight": t, ...}`` is stored under
exactly its keys and any safetensors reader (``safetensors.torch.load_file``, PyTorch's
included) gets it back unchanged; a file from another writer, without our metadata, loads as a
dict of Tensors. The same tensor object saved twice is stored once and comes back as one.

The structure is JSON where each non-scalar node is tagged by its type::

    null / true / 3 / 2.5 / "text"    None, bool, int, float (finite), str
    [a, b]                            list
    {"tuple": [a, b]}                 tuple (namedtuples come back as plain tuples)
    {"dict": [[key, value], ...]}     dict in insertion order; keys str or int
    {"float": "nan" | "inf" | "-inf"} non-finite float
    {"tensor": name, "requires_grad": true, "device": "cuda:0"}   (both extras optional)
    {"ndarray": name}                 numpy array (loads as numpy)

Loading never runs code from the file: the tensor bytes are parsed by the ``safetensors``
package and the structure by ``json``; anything malformed raises :class:`SerializationError`.
Writes are atomic: a temporary file in the target's directory, fsync, then ``os.replace``.

>>> import compat as torch, io
>>> buf = io.BytesIO()
>>> torch.save({"w": torch.ones(2), "step": 3, "betas": (0.9, 0.999)}, buf)
>>> _ = buf.seek(0)
>>> out = torch.load(buf)
>>> out["w"], out["step"], out["betas"]
(tensor([1., 1.]), 3, (0.9, 0.999))
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Callable
from typing import IO, Any

import numpy as np
import safetensors
import safetensors.numpy

from compat.device import canonical, device, gpu_available
from compat.tensor import Tensor, as_tensor, from_numpy

FORMAT_VERSION = 1
_META_KEY = "compat"
_TO_NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
             "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
             "BOOL": "?", "C64": "<c8"}
_SAVEABLE = ("Tensors, numpy arrays, dicts with str or int keys, lists, tuples, None, bool, "
             "int, float and str")

FileLike = str | os.PathLike | IO[bytes]
MapLocation = str | device | dict | Callable | None


class SerializationError(RuntimeError):
    """A file that ``compat.load`` cannot read: truncated, corrupt, not safetensors, or an
    object that ``compat.save`` cannot store.

    >>> issubclass(SerializationError, RuntimeError)
    True
    """


# --------------------------------------------------------------------------------- saving


class _Encoder:
    """Turns an object into (JSON tree, {name: numpy array})."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.names: dict[int, str] = {}  # id(tensor) -> name, so shared tensors stay shared
        self.keep: list = []             # keeps the ids above alive while encoding

    def name_for(self, obj: Any, path: str) -> tuple[str, bool]:
        if id(obj) in self.names:
            return self.names[id(obj)], False
        base = path or "tensor"
        name, k = base, 1
        while name in self.arrays:
            name, k = f"{base}.{k}", k + 1
        self.names[id(obj)] = name
        self.keep.append(obj)
        return name, True

    def encode(self, obj: Any, path: str) -> Any:
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return self.encode(obj.item(), path)
        if isinstance(obj, Tensor):
            name, new = self.name_for(obj, path)
            if new:
                self.arrays[name] = np.asarray(obj.numpy(force=True), order="C")
            node: dict[str, Any] = {"tensor": name}
            if obj.requires_grad:
                node["requires_grad"] = True
            if obj.device.type != "cpu":
                node["device"] = str(obj.device)
            return node
        if isinstance(obj, np.ndarray):
            name, new = self.name_for(obj, path)
            if new:
                self.arrays[name] = np.asarray(obj, order="C")
            return {"ndarray": name}
        if isinstance(obj, list):
            return [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise SerializationError(
                        f"compat.save: dict key {k!r} at {path or 'the top level'} is a "
                        f"{type(k).__name__}; keys must be str or int")
                items.append([k, self.encode(v, _join(path, k))])
            return {"dict": items}
        raise SerializationError(
            f"compat.save cannot store a {type(obj).__name__} at {path or 'the top level'}: "
            f"it saves {_SAVEABLE} (no pickling). Save a state_dict() instead of a module, "
            "or convert the value (e.g. .tolist(), str()).")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SerializationError(f"Parent directory {directory} does not exist (saving to "
                                 f"{path}); create it first, e.g. os.makedirs(...)")
    while True:
        tmp = os.path.join(directory,
                           f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save(obj: Any, f: FileLike) -> None:
    """Save ``obj`` (a state dict, a tensor, nested dicts/lists/tuples of them and plain
    Python values) to the path or binary file ``f`` as a safetensors file.

    Args:
        obj: what to save: Tensors, numpy arrays, dicts with str or int keys (optimizer
            state dicts), lists, tuples, None, bool, int, float, str.
        f: a path (written atomically) or a writable binary file object.

    Unlike ``torch.save`` it does not pickle: modules, optimizers and other objects are
    refused with a message; save their ``state_dict()``.

    >>> import compat as torch, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.pt")
    >>> torch.save({"weight": torch.zeros(2, 2)}, path)
    >>> torch.load(path)["weight"].shape
    torch.Size([2, 2])
    """
    enc = _Encoder()
    try:
        tree = enc.encode(obj, "")
    except RecursionError:
        raise SerializationError("compat.save: the object is nested too deeply (or contains "
                                 "itself)") from None
    meta = {"format": "pt",
            _META_KEY: json.dumps({"version": FORMAT_VERSION, "tree": tree},
                                  separators=(",", ":"), allow_nan=False)}
    try:
        data = safetensors.numpy.save(enc.arrays, metadata=meta)
    except Exception as e:  # e.g. a dtype safetensors has no code for (complex128)
        raise SerializationError(f"compat.save: safetensors cannot store these tensors ({e}); "
                                 "convert them to a supported dtype first") from None
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, data)
    else:
        f.write(data)


# -------------------------------------------------------------------------------- loading


def _read(f: FileLike) -> tuple[bytes, str]:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return fh.read(), os.fspath(f)
    return f.read(), getattr(f, "name", "<file object>")


def _not_safetensors_hint(data: bytes) -> str:
    if data[:4] == b"PK\x03\x04":
        return (" It looks like a zip archive, the format of PyTorch's torch.save (pickle): "
                "compat never unpickles; convert it once in PyTorch with "
                "safetensors.torch.save_file(torch.load(path), new_path).")
    if data[:1] == b"\x80" and data[1:2] in bytes(range(2, 6)):
        return (" It looks like a Python pickle: compat never unpickles (that could run "
                "code); re-save it as safetensors where it was made.")
    return ""


def _parse(data: bytes, name: str) -> tuple[dict[str, np.ndarray], list[str], dict]:
    """(arrays by name, names in file order, metadata) of a safetensors file's bytes."""
    try:
        entries = safetensors.deserialize(data)
    except Exception as e:  # the package's SafetensorError (or a panic) on any bad input
        raise SerializationError(f"compat.load: {name} is not a valid safetensors file "
                                 f"({e}); it is truncated, corrupt or of another format."
                                 + _not_safetensors_hint(data)) from None
    header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    metadata = header.pop("__metadata__", None) or {}
    arrays = {}
    for key, info in entries:
        code = info["dtype"]
        if code == "BF16":  # numpy has no bfloat16: widen exactly to float32
            bits = np.frombuffer(info["data"], "<u2").astype(np.uint32) << 16
            arrays[key] = bits.view(np.float32).reshape(info["shape"])
            continue
        if code not in _TO_NUMPY:
            raise SerializationError(f"compat.load: tensor {key!r} in {name} has dtype {code}, "
                                     "which compat has no tensor type for")
        dt = np.dtype(_TO_NUMPY[code])
        arrays[key] = np.frombuffer(info["data"], dt).reshape(info["shape"]).astype(
            dt.newbyteorder("="))
    return arrays, list(header), metadata


class _Decoder:
    """Rebuilds the saved object from the JSON tree and the arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], place: Callable[[Tensor, str], Tensor]):
        self.arrays = arrays
        self.place = place
        self.made: dict[tuple[str, str], Any] = {}

    def array(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise ValueError(f"it refers to a tensor {name!r} that the file does not hold")
        return self.arrays[name]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or not node:
            raise ValueError(f"unexpected node {node!r:.80}")
        tag = next(iter(node))
        value = node[tag]
        if tag == "tuple" and isinstance(value, list):
            return tuple(self.decode(v) for v in value)
        if tag == "dict" and isinstance(value, list):
            out = {}
            for item in value:
                if not (isinstance(item, list) and len(item) == 2
                        and isinstance(item[0], (str, int)) and not isinstance(item[0], bool)):
                    raise ValueError(f"malformed dict item {item!r:.80}")
                out[item[0]] = self.decode(item[1])
            return out
        if tag == "float" and value in ("nan", "inf", "-inf"):
            return float(value)
        if tag in ("tensor", "ndarray") and isinstance(value, str):
            key = (tag, value)
            if key not in self.made:
                self.made[key] = self.leaf(tag, value, node)
            return self.made[key]
        raise ValueError(f"unknown node {node!r:.80}")

    def leaf(self, tag: str, name: Any, node: dict) -> Any:
        arr = self.array(name)
        if tag == "ndarray":
            return arr
        t = self.place(from_numpy(arr), str(node.get("device", "cpu")))
        if node.get("requires_grad") is True and t.dtype.is_floating_point:
            t.requires_grad_(True)
        return t


def _placer(map_location: MapLocation) -> Callable[[Tensor, str], Tensor]:
    """How to place a loaded CPU tensor saved on ``location`` (PyTorch's map_location)."""

    def restore(t: Tensor, location: str) -> Tensor:
        if location != "cpu" and canonical(location).type == "cuda" and not gpu_available():
            raise SerializationError(
                "Attempting to deserialize object on a CUDA device but "
                "torch.cuda.is_available() is False. If you are running on a CPU-only "
                "machine, please use torch.load with map_location=torch.device('cpu') to map "
                f"your storages to the CPU. (compat.load: a tensor was saved on {location}; "
                "map_location='cpu' works too)")
        return t if location == "cpu" else as_tensor(t, device=location)

    if map_location is None:
        return restore
    if isinstance(map_location, (str, device)):
        target = canonical(map_location)
        return lambda t, location: t if target.type == "cpu" else as_tensor(t, device=target)
    if isinstance(map_location, dict):
        return lambda t, location: restore(t, str(map_location.get(location, location)))
    if callable(map_location):
        def call(t: Tensor, location: str) -> Tensor:
            out = map_location(t, location)
            return restore(t, location) if out is None else out
        return call
    raise TypeError(f"map_location should be None, a str, a compat.device, a dict or a "
                    f"callable; got {type(map_location).__name__}")


def load(f: FileLike, map_location: MapLocation = None, *,
         weights_only: bool | None = None) -> Any:
    """Load what :func:`save` wrote (or any safetensors file, as a dict of Tensors).

    Args:
        f: a path or a readable binary file object.
        map_location: where tensors go: ``None`` (where they were saved), ``"cpu"``/a
            device (all of them there), a dict mapping saved locations to new ones
            (``{"cuda:0": "cpu"}``), or ``fn(tensor, saved_location) -> tensor``.
        weights_only: accepted for PyTorch compatibility; loading is always weights-only
            safe here (no code from the file ever runs).

    Raises :class:`SerializationError` for a truncated, corrupt or foreign file.

    >>> import compat as torch, io
    >>> buf = io.BytesIO(); torch.save([torch.arange(3), None], buf); _ = buf.seek(0)
    >>> torch.load(buf, map_location="cpu")
    [tensor([0, 1, 2]), None]
    """
    data, name = _read(f)
    arrays, order, metadata = _parse(data, name)
    place = _placer(map_location)
    if _META_KEY not in metadata:  # another writer's file: a flat dict of tensors
        return {key: place(from_numpy(arrays[key]), "cpu") for key in order}
    try:
        doc = json.loads(metadata[_META_KEY])
        if not isinstance(doc, dict) or "tree" not in doc:
            raise ValueError("no structure tree")
        if doc.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {doc.get('version')!r} is not {FORMAT_VERSION}; "
                             "it was written by another compat version")
        decoder = _Decoder(arrays, place)
        out = decoder.decode(doc["tree"])
        unused = set(arrays) - {n for _, n in decoder.made}
        if unused:
            raise ValueError(f"tensors {sorted(unused)[:5]} are not referenced by its structure")
    except (ValueError, TypeError, KeyError, RecursionError) as e:
        raise SerializationError(f"compat.load: the structure metadata of {name} is corrupt "
                                 f"({e}); the tensors can still be read with "
                                 "safetensors.numpy.load_file") from None
    return out
