"""Devices: which exist here, and moving pytrees of arrays between them."""

from __future__ import annotations

import numpy as np

import backends

from . import tree as tree_util
from .api_util import as_array
from .array import plain, wrap


def devices() -> list[str]:
    """Available devices: ``["cpu"]``, plus ``"gpu"`` where CuPy sees a GPU.

    >>> fl.devices()[0]
    'cpu'
    """
    return ["cpu"] + (["gpu"] if "cupy" in backends.available() else [])


def device_put(x, device: str | None = None):
    """Move a pytree of arrays to ``device`` ("cpu" or "gpu").

    >>> fl.device_put({"w": 1.0})["w"]
    Array(1., dtype=float32, weak_type=True)
    """
    if device in (None, "cpu"):
        return tree_util.map(lambda v: wrap(v.get() if hasattr(v, "__cuda_array_interface__")
                                            else as_array(v)), x)
    if device == "gpu":
        if "gpu" not in devices():
            raise RuntimeError("device_put(..., 'gpu'): no GPU is available (CuPy with a CUDA "
                               "device is needed; pip install functorch_lite[gpu])")
        import cupy  # lazy: the optional GPU dependency, only needed to move data there

        return tree_util.map(lambda v: cupy.asarray(np.asarray(as_array(v))), x)
    raise ValueError(f"device_put: unknown device {device!r}; use 'cpu' or 'gpu'")


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
        elif hasattr(v, "__cuda_array_interface__"):
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
    def get(v):
        if hasattr(v, "__cuda_array_interface__"):
            return v.get()
        return plain(v)

    return tree_util.map(get, x)
