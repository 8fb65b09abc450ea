"""``compat.utils.data`` (``torch.utils.data``): datasets, samplers, collation and the
DataLoader with optional worker processes.

>>> import compat as torch
>>> from compat.utils.data import DataLoader, TensorDataset
>>> loader = DataLoader(TensorDataset(torch.arange(6.0), torch.arange(6)), batch_size=4)
>>> [y.tolist() for _, y in loader]
[[0, 1, 2, 3], [4, 5]]
"""

from compat.utils.data.collate import default_collate, default_convert
from compat.utils.data.dataloader import DataLoader
from compat.utils.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from compat.utils.data.distributed import DistributedSampler
from compat.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)
from compat.utils.data.worker import WorkerInfo, get_worker_info
