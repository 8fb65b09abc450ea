"""``jax.scipy``'s names at the same path: ``functorch_lite.scipy.special`` and
``functorch_lite.scipy.stats`` (``norm``). Every function is built from primitives, so it
works eagerly and under ``jit``, ``grad`` and ``vmap``.

>>> from functorch_lite.scipy.special import logsumexp
"""

from . import special, stats

__all__ = ["special", "stats"]
