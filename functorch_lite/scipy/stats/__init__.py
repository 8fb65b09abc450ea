"""``jax.scipy.stats``'s names at the same path (``norm`` so far).

>>> from functorch_lite.scipy.stats import norm
"""

from . import norm

__all__ = ["norm"]
