"""``compat.backends``: the flags scripts set on PyTorch's backends (``cudnn.benchmark``,
``cudnn.deterministic``) and ``mps.is_available()`` -- accepted, with no effect here.

>>> compat.backends.mps.is_available()
False
"""

from __future__ import annotations

import types

cudnn = types.SimpleNamespace(benchmark=False, deterministic=False, enabled=True,
                              allow_tf32=True, is_available=lambda: False)
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cuda = types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False))
