"""Devices: which exist here, and moving pytrees of arrays between them.

Devices are named by strings: ``"cpu"``, ``"gpu"`` (the current GPU) and ``"gpu:N"``.
Host arrays are ``Array``; GPU arrays are CuPy arrays (``placement`` says where a value
lives). Where no GPU answers, only ``"cpu"`` exists.
"""

from __future__ import annotations

import backends

from . import tree as tree_util
from .api_util import as_array
from .array import plain, wrap
from .placement import device_name, is_gpu, put


def devices() -> list[str]:
    """Available devices: ``["cpu"]``, plus ``"gpu"`` where CuPy sees a GPU (``device_put``
    also takes ``"gpu:N"`` for the N-th of several).

    >>> fl.devices()[0]
    'cpu'
    """
    return ["cpu"] + (["gpu"] if backends.cuda_device_count() > 0 else [])


def gpu_index(device: str) -> int:
    """The GPU index a device name means: ``"gpu"`` (the current GPU), ``"gpu:N"``,
    ``"cuda"``/``"cuda:N"`` as PyTorch spells it. Raises a ``ValueError`` for other names
    and a ``RuntimeError`` when that GPU does not exist here.

    >>> gpu_index("cpu")
    Traceback (most recent call last):
    ValueError: device_put: unknown device 'cpu' ...
    """
    kind, _, idx = str(device).partition(":")
    if kind not in ("gpu", "cuda") or (idx and not idx.isdigit()):
        raise ValueError(f"device_put: unknown device {device!r}; use 'cpu', 'gpu' or "
                         "'gpu:N'")
    count = backends.cuda_device_count()
    if count == 0:
        raise RuntimeError(f"device_put(..., {device!r}): no GPU is available (CuPy with a "
                           "CUDA device is needed: pip install functorch_lite[gpu]); "
                           "fl.devices() lists the devices here")
    if not idx:
        import cupy  # lazy: the optional GPU dependency, present once a GPU answered

        return int(cupy.cuda.Device().id)
    if int(idx) >= count:
        raise RuntimeError(f"device_put(..., {device!r}): there are {count} GPUs here "
                           f"(gpu:0 to gpu:{count - 1})")
    return int(idx)


def device_put(x, device: str | None = None):
    """Move a pytree of arrays to ``device``: ``"cpu"`` (or None) gives host ``Array``\\ s,
    ``"gpu"``/``"gpu:N"`` CuPy arrays on that GPU. An array already there is returned as it
    is (no copy). Python scalars become arrays (weakly typed on the host).

    >>> fl.device_put({"w": 1.0})["w"]
    Array(1., dtype=float32, weak_type=True)
    >>> fl.device_put(fnp.ones(2), "cpu").device
    'cpu'
    """
    if device is None or device == "cpu":
        return tree_util.map(lambda v: wrap(v.get() if is_gpu(v) else as_array(v)), x)
    idx = gpu_index(device)
    return tree_util.map(lambda v: put(v if is_gpu(v) else plain(as_array(v)), idx), x)


def device_of(x) -> str:
    """The device holding the array ``x``: ``"cpu"`` or ``"gpu:N"`` (JAX arrays report it
    as ``x.device``; ``Array.device`` is ``"cpu"``, CuPy arrays have CuPy's own
    ``.device``).

    >>> fl.device_of(fnp.ones(2))
    'cpu'
    """
    return device_name(x)


def block_until_ready(x):
    """Wait until every array in the pytree ``x`` is computed, and return ``x``.

    numpy work is finished when a call returns; GPU arrays are waited on.

    >>> fl.block_until_ready({"w": fnp.ones(2)})["w"].shape
    (2,)
    """
    def wait(v):
        fn = getattr(v, "block_until_ready", None)
        if callable(fn):
            fn()
        elif is_gpu(v):
            import cupy  # lazy: the optional GPU dependency, only present with GPU arrays

            cupy.cuda.get_current_stream().synchronize()
        return v

    tree_util.map(wait, x)
    return x


def device_get(x):
    """The pytree ``x`` with its arrays as host numpy arrays (GPU arrays are copied back).

    >>> type(fl.device_get(fnp.ones(2))).__name__
    'ndarray'
    """
    return tree_util.map(lambda v: v.get() if is_gpu(v) else plain(v), x)
