"""``compat.nn.functional`` (``import compat.nn.functional as F``): PyTorch's functional
neural-network vocabulary. Every differentiable function is an ``Op`` over a pure
``functorch_lite`` function of arrays (``functorch_lite.nn`` where it has the math), so
eager results and gradients are the core's, and the same code traces under its
transforms. This file only re-exports; the families live in the submodules.

>>> F.relu(compat.tensor([-1.0, 1.0]))
tensor([0., 1.])
"""

from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .distance import *  # noqa: F403
from .dropout import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403
from .sparse import *  # noqa: F403
from .vision import *  # noqa: F403
