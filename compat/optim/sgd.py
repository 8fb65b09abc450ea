"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov momentum, weight
decay and ``maximize`` (``torch.optim.SGD``), computed by ``functorch_lite.optim.sgd``.

>>> w = compat.nn.Parameter(compat.tensor([1.0, 2.0]))
>>> opt = compat.optim.SGD([w], lr=0.1, momentum=0.9)
>>> for _ in range(2):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> w
Parameter containing:
tensor([0.4600, 0.9200], requires_grad=True)
"""

from __future__ import annotations

import functorch_lite as fl

from .optimizer import Optimizer, check_nonneg


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (``torch.optim.SGD``).

    .. math::
        g_t = \nabla_\theta f_t(\theta_{t-1}) + \lambda \theta_{t-1}, \quad
        b_t = \mu b_{t-1} + (1 - \tau) g_t \ (b_1 = g_1), \quad
        \theta_t = \theta_{t-1} - \gamma\,(g_t + \mu b_t \text{ if nesterov else } b_t)

    Args:
        params: parameters to optimize, or dicts defining param groups.
        lr: learning rate :math:`\gamma` (default 1e-3).
        momentum: momentum factor :math:`\mu` (default 0).
        dampening: dampening for momentum :math:`\tau` (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        nesterov: use Nesterov momentum (default False).
        maximize: maximize the objective instead of minimizing (default False).
        foreach, differentiable, fused: accepted for compatibility and kept in the param
            groups; every step here is one fused update per group.

    Example::

        >>> model = compat.nn.Linear(3, 1)
        >>> optimizer = compat.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> optimizer.zero_grad()
        >>> model(compat.ones(4, 3)).pow(2).mean().backward()
        >>> optimizer.step()
    """

    algorithm = fl.optim.sgd
    state_keys = {"momentum": "momentum_buffer"}
    dynamic_keys = ("momentum",)

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        check_nonneg(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def factory_args(self, group: dict) -> dict:
        return dict(momentum=group["momentum"], dampening=group["dampening"],
                    weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                    maximize=group["maximize"])

    def varying(self, kwargs: dict) -> tuple:
        # Nesterov's rule needs the momentum as a number (the factory checks it)
        return () if kwargs["nesterov"] else super().varying(kwargs)

    # PyTorch's SGD keeps no step count: the momentum buffer appears on the first step
    # (set to the gradient), and its presence is what the update rule needs to know
    def init_state(self, p, st, factory, static, fields) -> None:
        pass

    def count_of(self, st: dict) -> int:
        return 0 if st.get("momentum_buffer") is None else 1

    def set_count(self, st: dict, count: int) -> None:
        pass


__all__ = ["SGD"]
