"""``compat.optim``: PyTorch's optimizers (``from compat import optim``) -- ``SGD``,
``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad`` -- and ``lr_scheduler``. Their arithmetic is
``functorch_lite.optim``'s; each step updates a param group with one fused program. This
file only re-exports.

>>> model = compat.nn.Linear(2, 1)
>>> optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
