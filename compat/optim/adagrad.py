"""``Adagrad`` (``torch.optim.Adagrad``), computed by ``functorch_lite.optim.adagrad``.

>>> w = compat.nn.Parameter(compat.tensor([1.0]))
>>> opt = compat.optim.Adagrad([w], lr=0.5)
>>> w.grad = compat.tensor([2.0]); opt.step()
>>> w      # 1 - 0.5 * 2 / sqrt(4)
Parameter containing:
tensor([0.5000], requires_grad=True)
"""

from __future__ import annotations

import functorch_lite as fl

from .optimizer import Optimizer, active_fields, check_nonneg


class Adagrad(Optimizer):
    r"""Adagrad (``torch.optim.Adagrad``): :math:`s_t = s_{t-1} + g_t^2`,
    :math:`\theta_t = \theta_{t-1} - \frac{\gamma}{1 + (t-1)\eta}\, g_t / (\sqrt{s_t} +
    \epsilon)`.

    As in PyTorch, the state (``step`` 0 and ``sum`` at ``initial_accumulator_value``) is
    created for every parameter when the optimizer is built.

    Args:
        params: parameters to optimize, or dicts defining param groups.
        lr: learning rate (default 1e-2).
        lr_decay: learning rate decay :math:`\eta` (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of :math:`s` (default 0).
        eps: term added to the denominator (default 1e-10).
        maximize: maximize the objective (default False).
        foreach, differentiable, fused: accepted and kept in the param groups.

    Example::

        >>> model = compat.nn.Linear(3, 1)
        >>> optimizer = compat.optim.Adagrad(model.parameters(), lr=0.1)
        >>> model(compat.ones(2, 3)).sum().backward()
        >>> optimizer.step()
    """

    algorithm = fl.optim.adagrad
    state_keys = {"sum": "sum"}

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_nonneg(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                     initial_accumulator_value=initial_accumulator_value, epsilon=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            static = tuple(sorted(self.factory_args(group).items()))
            fields = active_fields(fl.optim.adagrad, static)
            for p in group["params"]:
                self.init_state(p, self.state[p], fl.optim.adagrad, static, fields)

    def factory_args(self, group: dict) -> dict:
        return dict(lr_decay=group["lr_decay"], eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    initial_accumulator_value=group["initial_accumulator_value"],
                    maximize=group["maximize"])


__all__ = ["Adagrad"]
