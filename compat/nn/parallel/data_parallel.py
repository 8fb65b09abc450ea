"""``DataParallel``: PyTorch splits a batch over the GPUs of one process; compat drives one
device per process, so the wrapper runs the module as it is (scripts written for it run
unchanged; use ``DistributedDataParallel`` under ``mpiexec`` to train on several workers).

>>> import compat as torch
>>> m = DataParallel(torch.nn.Linear(3, 2)); m(torch.ones(4, 3)).shape
torch.Size([4, 2])
"""

from __future__ import annotations

from ..module import Module


class DataParallel(Module):
    """Wrap ``module`` (``.module``); ``forward`` calls it. ``device_ids``,
    ``output_device`` and ``dim`` are accepted for PyTorch's signature: with one device
    there is nothing to split. State-dict keys gain the ``module.`` prefix, as PyTorch's.

    >>> import compat as torch
    >>> list(DataParallel(torch.nn.Linear(1, 1)).state_dict())
    ['module.weight', 'module.bias']
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
