"""``compat.nn``: PyTorch's neural-network API (``from compat import nn``) over
``functorch_lite``: ``Module`` and ``Parameter``, the layers, the losses, ``functional``
(as ``F``), ``init`` and ``utils``. Layers compute through ``compat.nn.functional``, whose
operations are the core's functions with the core's gradients. This file only re-exports.

>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> nn.CrossEntropyLoss()(model(compat.randn(2, 4)), compat.tensor([0, 2])).shape
torch.Size([])
"""

from . import functional, init, parallel, utils
from .activation import *  # noqa: F403
from .container import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import Module
from .normalization import *  # noqa: F403
from .parameter import Buffer, Parameter
from .pooling import *  # noqa: F403
from .rnn import *  # noqa: F403
from .sparse import *  # noqa: F403
from .transformer import *  # noqa: F403
from .vision import *  # noqa: F403
