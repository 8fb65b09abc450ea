"""``AdamW`` (``torch.optim.AdamW``): Adam with decoupled weight decay, computed by
``functorch_lite.optim.adamw``.

>>> w = compat.nn.Parameter(compat.tensor([1.0]))
>>> opt = compat.optim.AdamW([w], lr=0.1, weight_decay=0.5)
>>> w.grad = compat.tensor([3.0]); opt.step()
>>> w      # 1 * (1 - 0.1 * 0.5) - 0.1
Parameter containing:
tensor([0.8500], requires_grad=True)
"""

from __future__ import annotations

from .adam import Adam


class AdamW(Adam):
    r"""AdamW (``torch.optim.AdamW``): before each Adam step the weights decay as
    :math:`\theta \leftarrow \theta (1 - \gamma \lambda)` instead of the penalty being
    added to the gradient.

    Args:
        params: parameters to optimize, or dicts defining param groups.
        lr: learning rate (default 1e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: term added to the denominator (default 1e-8).
        weight_decay: decoupled weight decay :math:`\lambda` (default 1e-2).
        amsgrad: use AMSGrad (default False).
        maximize: maximize the objective (default False).
        foreach, capturable, differentiable, fused: accepted and kept in the param groups.

    Example::

        >>> model = compat.nn.Linear(3, 1)
        >>> optimizer = compat.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        >>> model(compat.ones(2, 3)).sum().backward()
        >>> optimizer.step()
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


__all__ = ["AdamW"]
