"""``compat.cuda``: whether a GPU is usable (CuPy must see one) and the seeding and
synchronisation calls scripts make. Without a GPU, ``is_available()`` is False and moving a
tensor to ``"cuda"`` raises PyTorch's error.

>>> compat.cuda.is_available() in (True, False)
True
"""

from __future__ import annotations

from . import random
from .device import gpu_available


def is_available() -> bool:
    """True when CuPy sees a CUDA device."""
    return gpu_available()


def device_count() -> int:
    """Number of usable CUDA devices (0 or 1 here)."""
    return 1 if gpu_available() else 0


def current_device() -> int:
    """Index of the current CUDA device."""
    if not gpu_available():
        raise RuntimeError("Torch not compiled with CUDA enabled (compat: no GPU is visible)")
    return 0


def get_device_name(device=None) -> str:
    """Name of the CUDA device."""
    current_device()
    import cupy  # lazy: the optional GPU dependency, imported only when a GPU is used

    return cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()


def manual_seed(seed: int) -> None:
    """Seed the CUDA generator: compat samples on the host, so this seeds the default
    generator (as ``compat.manual_seed``)."""
    random.manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """``manual_seed`` for every device."""
    random.manual_seed(seed)


def synchronize(device=None) -> None:
    """Wait for GPU work to finish (a no-op without a GPU)."""
    if gpu_available():
        import cupy  # lazy: the optional GPU dependency, imported only when a GPU is used

        cupy.cuda.Device().synchronize()


def empty_cache() -> None:
    """Release cached GPU memory (CuPy's pool) back to the device."""
    if gpu_available():
        import cupy  # lazy: the optional GPU dependency, imported only when a GPU is used

        cupy.get_default_memory_pool().free_all_blocks()


def is_bf16_supported() -> bool:
    return False
