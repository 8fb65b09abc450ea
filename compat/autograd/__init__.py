"""``compat.autograd``: grad mode, the backward graph and engine, ``grad``/``backward``,
``Variable`` (PyTorch's old name for Tensor) and ``Function`` (user-defined backward).

>>> x = compat.tensor([3.0], requires_grad=True)
>>> compat.autograd.grad((x * x).sum(), x)
(tensor([6.]),)
"""

from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .graph import Node
