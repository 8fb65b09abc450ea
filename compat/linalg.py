"""``compat.linalg``: the norms everyday code reaches for (``torch.linalg.norm``,
``vector_norm``, ``matrix_norm``) and matrix products.

>>> compat.linalg.norm(compat.tensor([3.0, 4.0]))
tensor(5.)
"""

from .ops.linalg import cross, matmul, matrix_norm, vdot, vector_norm
from .ops.linalg import linalg_norm as norm

__all__ = ["cross", "matmul", "matrix_norm", "norm", "vdot", "vector_norm"]
