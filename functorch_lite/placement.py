"""Where a concrete value lives, and the array module that computes on it.

Concrete values are numpy arrays (``Array`` on the CPU) or CuPy arrays (on a GPU). A
primitive's reference implementation computes with the array module of its operands:
``array_module(*xs)`` is numpy, or cupy when an operand is a GPU array (anything exposing
``__cuda_array_interface__``). CuPy is imported only then, never when this module loads.
Most numpy calls in the implementations (``np.exp(x)``, ``np.where``...) reach CuPy through
numpy's ``__array_ufunc__``/``__array_function__`` protocols; what creates or converts
arrays (``np.asarray``, ``np.zeros``...) goes through this module instead, so GPU data stays
on its GPU.

GPU results are CuPy arrays, as CuPy makes them: unlike ``Array`` they are mutable and
never weakly typed (JAX's immutability is not imposed on them).

Placement follows JAX: host values (numpy arrays, ``Array``, Python scalars) used together
with GPU arrays in one primitive are copied to that GPU, as JAX commits uncommitted values
to the device of the others; GPU arrays on two different GPUs in one primitive raise
(``same_device``). ``compat`` follows PyTorch instead and refuses any mix of devices.

>>> array_module(np.ones(2)) is np
True
>>> device_name(np.ones(2))
'cpu'
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_gpu", "array_module", "as_ndarray", "device_id", "device_name", "put",
           "same_device", "to_host"]


def is_gpu(x) -> bool:
    """True for an array held on a GPU (a CuPy array: it has ``__cuda_array_interface__``).

    >>> is_gpu(np.ones(2))
    False
    """
    return hasattr(type(x), "__cuda_array_interface__")


def array_module(*xs):
    """The array module computing on ``xs``: ``numpy``, or ``cupy`` when one is a GPU array.

    >>> array_module(np.ones(2), 3.0).__name__
    'numpy'
    """
    for x in xs:
        t = type(x)
        if t is not np.ndarray and hasattr(t, "__cuda_array_interface__"):
            import cupy  # lazy: the optional GPU dependency, only present with GPU arrays

            return cupy
    return np


def as_ndarray(x):
    """``x`` as an array on its own device: ``np.asarray`` for host values (a numpy scalar
    becomes a 0-d array, an ``Array`` a plain view), GPU arrays unchanged.

    >>> type(as_ndarray(np.float32(1.0))).__name__
    'ndarray'
    """
    if type(x) is np.ndarray or hasattr(type(x), "__cuda_array_interface__"):
        return x
    return np.asarray(x)


def device_id(x) -> int | None:
    """The GPU index holding ``x``, or None for host values.

    >>> device_id(np.ones(2)) is None
    True
    """
    if not hasattr(type(x), "__cuda_array_interface__"):
        return None
    dev = getattr(x, "device", None)
    return int(getattr(dev, "id", 0))


def device_name(x) -> str:
    """``"cpu"`` or ``"gpu:N"``: the device holding ``x``, as error messages name it.

    >>> device_name(2.0)
    'cpu'
    """
    i = device_id(x)
    return "cpu" if i is None else f"gpu:{i}"


def put(x, device: int | None):
    """``x`` on GPU ``device`` (an index), or on the host when ``device`` is None. A value
    already there is returned as it is; host values go through ``np.asarray`` first.

    >>> put(np.ones(2), None).tolist()
    [1.0, 1.0]
    """
    if device is None:
        return to_host(x)
    if device_id(x) == device:
        return x
    import cupy  # lazy: the optional GPU dependency, only needed to place data on a GPU

    with cupy.cuda.Device(device):
        if is_gpu(x):
            return cupy.array(x, copy=True)  # peer copy between GPUs
        return cupy.asarray(np.asarray(x))


def to_host(x):
    """A host (numpy) array with ``x``'s values: GPU arrays are copied back (``.get()``),
    host values pass through ``as_ndarray``.

    >>> to_host(np.float64(2.0)).shape
    ()
    """
    return x.get() if is_gpu(x) else as_ndarray(x)


def same_device(name: str, values: list) -> list:
    """``values`` (the operands of primitive ``name``, some on a GPU) all on that GPU: host
    values are copied there (JAX's placement of uncommitted values); GPU arrays on two
    different GPUs raise a ``ValueError`` naming ``name`` and the devices.

    >>> same_device("add", [np.ones(2), 1.0])[0].tolist()
    [1.0, 1.0]
    """
    ids = {i for i in map(device_id, values) if i is not None}
    if len(ids) > 1:
        shapes = ", ".join(f"{getattr(v, 'shape', ())} on {device_name(v)}" for v in values)
        raise ValueError(
            f"{name}: operands live on different GPUs ({shapes}); move them to one device "
            "first, e.g. fl.device_put(x, 'gpu:0')")
    if not ids:
        return values
    dev = ids.pop()
    return [put(v, dev) if isinstance(v, (np.ndarray, np.generic)) else v for v in values]
