"""``fl.lax``: functions that bind one primitive each (like ``jax.lax``), plus structured
control flow.

Unlike ``functorch_lite.numpy`` these do not promote dtypes; for convenience a Python
scalar (or 0-d value) operand takes the other operand's dtype and shape. The binders are
defined next to their primitives (``functorch_lite/primitives/``) and re-exported here;
``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan`` and ``map`` come from
``functorch_lite/control/``.

>>> fl.lax.add(np.float32(1), 2.0)
Array(3., dtype=float32)
"""

from .control import cond, fori_loop, map, scan, switch, while_loop  # noqa: F401
from .primitives import *  # noqa: F403  (every binder: the list is primitives.__all__)
