"""``jax.ad_checkpoint``'s names at the same path: ``checkpoint``, ``checkpoint_name``,
``checkpoint_policies`` and ``remat``.

>>> from functorch_lite.ad_checkpoint import checkpoint_name
"""

from .checkpoint import checkpoint, checkpoint_name, checkpoint_policies, remat

__all__ = ["checkpoint", "checkpoint_name", "checkpoint_policies", "remat"]
