"""``compat.autograd``: ``backward``, ``grad``, grad mode, ``Function`` (user-written
backward), ``Variable`` (PyTorch's old name for a tensor) and the graph node type.

>>> x = compat.tensor([3.0], requires_grad=True)
>>> compat.autograd.grad((x * x).sum(), x)
(tensor([6.]),)
"""

from ..grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ..graph import Node
from . import engine, function, functional
from .engine import backward, grad
from .function import (
    Function,
    FunctionCtx,
    Variable,
    detect_anomaly,
    once_differentiable,
    set_detect_anomaly,
)
