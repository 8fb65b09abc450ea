"""Devices: ``compat.device`` ("cpu", "cuda[:n]"), where arrays live, and moving them.

CPU tensors hold numpy arrays; CUDA tensors hold CuPy arrays, available only where CuPy sees
a GPU (``compat.cuda.is_available()``). Moving data goes through ``functorch_lite``'s
``device_put``, so the core decides what a GPU array is.

>>> compat.device("cuda:1"), str(compat.device("cpu"))
(device(type='cuda', index=1), 'cpu')
"""

from __future__ import annotations

import functorch_lite as fl
from functorch_lite.placement import is_gpu


class device:  # noqa: N801 - PyTorch's name
    """Where a tensor's data lives (``torch.device``): ``device("cpu")``,
    ``device("cuda")``, ``device("cuda:0")`` or ``device("cuda", 0)``.

    >>> compat.device("cuda", 0).index
    0
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # torch.device(0) is cuda:0
        elif ":" in type:
            type, _, idx = type.partition(":")
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index "
                                   f"was passed explicitly: {type}:{idx}")
            index = int(idx)
        if type == "gpu":
            type = "cuda"
        if type not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps, meta device type at start of "
                               f"device string: {type}")
        self.type, self.index = type, index

    def __repr__(self):
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return (isinstance(other, device) and self.type == other.type
                and self.index == other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __enter__(self):  # ``with torch.device("cpu"):`` sets the default device
        _previous.append(get_default_device())
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        set_default_device(_previous.pop())


CPU = device("cpu")

# mutable process state: set_default_device changes where creation functions allocate;
# `with device(...)` blocks keep the defaults they replaced (devices themselves are values)
_default = {"device": CPU}
_previous: list = []


def gpu_available() -> bool:
    """True when CuPy sees a GPU (what ``compat.cuda.is_available()`` reports)."""
    return "gpu" in fl.devices()


def canonical(d) -> device:
    """A ``device`` for any spelling (None means the default device).

    >>> canonical("cpu") is CPU
    True
    """
    if d is None:
        return _default["device"]
    if d is CPU or d == "cpu":
        return CPU
    return d if isinstance(d, device) else device(d)


def holds(d: device, array) -> bool:
    """Whether ``array`` already lives on ``d`` (``cuda`` without an index means the
    current GPU, 0 here, as a tensor's ``.cuda()`` reads it).

    >>> holds(device("cuda"), compat.ones(2).array)
    False
    """
    here = device_of(array)
    return here.type == d.type and (d.index is None or d.index == here.index
                                    or (here.type == "cpu" and d.index == 0))


def device_of(array) -> device:
    """The device an array lives on: CUDA for CuPy arrays, CPU otherwise."""
    if is_gpu(array):
        return device("cuda", int(getattr(getattr(array, "device", None), "id", 0)))
    return CPU


def put(array, d: device):
    """``array`` on device ``d`` (the array itself when it is already there).

    Raises PyTorch's error for CUDA when no GPU is available."""
    if d.type == "cpu":
        # a writable host copy (a tensor's data is its own)
        return fl.device_get(array) if is_gpu(array) else array
    if d.type == "cuda":
        if not gpu_available():
            raise RuntimeError("Torch not compiled with CUDA enabled (compat: no GPU is "
                               "visible to CuPy, so CUDA tensors are unavailable; "
                               "compat.cuda.is_available() is False)")
        if holds(d, array):
            return array
        return fl.device_put(array, "gpu" if d.index is None else f"gpu:{d.index}")
    raise RuntimeError(f"compat: device type {d.type!r} is not supported (cpu and cuda are)")


def get_default_device() -> device:
    """The device creation functions allocate on (cpu unless changed).

    >>> compat.get_default_device()
    device(type='cpu')
    """
    return _default["device"]


def set_default_device(d) -> None:
    """Set the device creation functions allocate on (``torch.set_default_device``).

    >>> compat.set_default_device("cpu")
    """
    d = canonical(d) if d is not None else CPU
    if d.type == "cuda" and not gpu_available():
        put(None, d)  # raises PyTorch's "not compiled with CUDA" error
    _default["device"] = d
