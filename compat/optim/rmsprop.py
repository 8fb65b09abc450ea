"""``RMSprop`` (``torch.optim.RMSprop``), with momentum and the centered variant, computed
by ``functorch_lite.optim.rmsprop``.

>>> w = compat.nn.Parameter(compat.tensor([1.0]))
>>> opt = compat.optim.RMSprop([w], lr=0.01, alpha=0.9)
>>> w.grad = compat.tensor([2.0]); opt.step()
>>> round(w.item(), 6)      # 1 - 0.01 * 2 / sqrt(0.1 * 4)
0.968377
"""

from __future__ import annotations

import functorch_lite as fl

from .optimizer import Optimizer, check_nonneg


class RMSprop(Optimizer):
    r"""RMSprop (``torch.optim.RMSprop``):
    :math:`v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2`, and
    :math:`\theta_t = \theta_{t-1} - \gamma g_t / (\sqrt{v_t} + \epsilon)`; ``centered``
    subtracts the squared running mean gradient from :math:`v_t`, ``momentum`` keeps a
    buffer :math:`b_t = \mu b_{t-1} + g_t / (\sqrt{v_t} + \epsilon)` and steps by it.

    Args:
        params: parameters to optimize, or dicts defining param groups.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: term added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by the estimated variance of the gradient (default False).
        maximize: maximize the objective (default False).
        capturable, foreach, differentiable: accepted and kept in the param groups.

    Example::

        >>> model = compat.nn.Linear(3, 1)
        >>> optimizer = compat.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
        >>> model(compat.ones(2, 3)).sum().backward()
        >>> optimizer.step()
    """

    algorithm = fl.optim.rmsprop
    state_keys = {"square_avg": "square_avg", "grad_avg": "grad_avg",
                  "momentum": "momentum_buffer"}
    dynamic_keys = ("momentum",)

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_nonneg(lr=lr, epsilon=eps, momentum=momentum, weight_decay=weight_decay,
                     alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def factory_args(self, group: dict) -> dict:
        return dict(alpha=group["alpha"], eps=group["eps"], momentum=group["momentum"],
                    centered=group["centered"], weight_decay=group["weight_decay"],
                    maximize=group["maximize"])


__all__ = ["RMSprop"]
