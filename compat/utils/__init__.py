"""``compat.utils``: ``compat.utils.data`` (datasets, samplers, DataLoader).

>>> from compat.utils.data import DataLoader
>>> len(DataLoader(list(range(10)), batch_size=4))
3
"""

from compat.utils import data
