"""``compat.linalg``: the norms everyday code reaches for (``torch.linalg.norm``,
``vector_norm``, ``matrix_norm``) and matrix products.

>>> compat.linalg.norm(compat.tensor([3.0, 4.0]))
tensor(5.)
"""

