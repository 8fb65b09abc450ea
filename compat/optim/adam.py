"""``Adam`` (``torch.optim.Adam``), computed by ``functorch_lite.optim.adam`` (or
``adamw`` with ``decoupled_weight_decay=True``).

>>> w = compat.nn.Parameter(compat.tensor([1.0]))
>>> opt = compat.optim.Adam([w], lr=0.1)
>>> w.grad = compat.tensor([3.0]); opt.step()
>>> w      # the first Adam step moves each weight by about lr
Parameter containing:
tensor([0.9000], requires_grad=True)
"""

from __future__ import annotations

import functorch_lite as fl

from .optimizer import Optimizer, check_nonneg


class Adam(Optimizer):
    r"""Adam (``torch.optim.Adam``): with bias-corrected moments
    :math:`m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t`,
    :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2`,

    .. math::
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}
                   \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    Args:
        params: parameters to optimize, or dicts defining param groups.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages of the gradient and its square
            (default (0.9, 0.999)).
        eps: term added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        amsgrad: use the running maximum of :math:`v_t` (AMSGrad; default False).
        maximize: maximize the objective (default False).
        decoupled_weight_decay: decay the weights directly, as AdamW (default False).
        foreach, capturable, differentiable, fused: accepted and kept in the param groups.

    Example::

        >>> model = compat.nn.Linear(3, 1)
        >>> optimizer = compat.optim.Adam(model.parameters(), lr=1e-3)
        >>> model(compat.ones(2, 3)).sum().backward()
        >>> optimizer.step()
    """

    algorithm = fl.optim.adam
    state_keys = {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq",
                  "max_exp_avg_sq": "max_exp_avg_sq"}
    dynamic_keys = ("b1", "b2")

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        check_nonneg(lr=lr, epsilon=eps, weight_decay=weight_decay)
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def factory_args(self, group: dict) -> dict:
        b1, b2 = group["betas"]
        return dict(b1=float(b1), b2=float(b2), eps=group["eps"],
                    weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
                    maximize=group["maximize"])

    def algorithm_for(self, group: dict):
        return fl.optim.adamw if group.get("decoupled_weight_decay") else fl.optim.adam


__all__ = ["Adam"]
