"""Devices: which exist here, and moving pytrees of arrays between them."""

from __future__ import annotations

import numpy as np

import backends

from . import tree as tree_util
from .api_util import as_array


def devices() -> list[str]:
    """Available devices: ``["cpu"]``, plus ``"gpu"`` where CuPy sees a GPU.

    >>> fl.devices()[0]
    'cpu'
    """
    return ["cpu"] + (["gpu"] if "cupy" in backends.available() else [])


def device_put(x, device: str | None = None):
    """Move a pytree of arrays to ``device`` ("cpu" or "gpu").

    >>> fl.device_put({"w": 1.0})["w"]
    array(1., dtype=float32)
    """
    if device in (None, "cpu"):
        return tree_util.map(lambda v: v.get() if hasattr(v, "__cuda_array_interface__")
                             else np.asarray(as_array(v)), x)
    if device == "gpu":
        if "gpu" not in devices():
            raise RuntimeError("device_put(..., 'gpu'): no GPU is available (CuPy with a CUDA "
                               "device is needed; pip install functorch_lite[gpu])")
        import cupy  # lazy: the optional GPU dependency, only needed to move data there

        return tree_util.map(lambda v: cupy.asarray(np.asarray(as_array(v))), x)
    raise ValueError(f"device_put: unknown device {device!r}; use 'cpu' or 'gpu'")
