"""Structured control flow: ``cond``/``switch``, ``while_loop``, ``fori_loop``, ``scan``,
``map``.

``cond``, ``while`` and ``scan`` are primitives that carry their bodies as jaxprs, each
with rules for the transforms, in its own module (``cond``, ``while_loop``, ``scan``);
``fori_loop`` builds on ``scan`` (static bounds) or ``while_loop`` (traced bounds), and
``common`` holds what they share.

* ``cond``: JVP, batching (a batched predicate runs every branch and selects per lane)
  and reverse mode (partial evaluation, then transposing branch by branch).
* ``while_loop``: JVP and batching (a batched predicate loops while any lane is active);
  no reverse mode, whose trip count must be static: use ``fori_loop`` with Python-int
  bounds or ``scan``.
* ``scan``: JVP, partial evaluation (loop-invariant residuals are hoisted out of the loop),
  transpose (a reversed scan) and batching.

Weakly typed loop carries (``init=0.0``) adopt the dtype the body returns for them, and
weakly typed branch outputs join the other branches' dtype, as in JAX.
"""

from .cond import cond, cond_p, switch
from .fori_loop import fori_loop
from .scan import map, scan, scan_p
from .while_loop import while_loop, while_p

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map",
           "cond_p", "while_p", "scan_p"]
