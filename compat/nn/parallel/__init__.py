"""``compat.nn.parallel`` (``torch.nn.parallel``): ``DistributedDataParallel`` (one model
replica per MPI rank, gradients averaged during backward) and ``DataParallel`` (one
device: the module itself).

>>> from compat import nn
>>> nn.parallel.DataParallel(nn.Linear(2, 1)).module
Linear(in_features=2, out_features=1, bias=True)
"""

from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
