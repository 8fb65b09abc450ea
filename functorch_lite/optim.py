"""Optimizers as pure functions (optax-style objects, PyTorch's update rules).

Each factory (``sgd``, ``adam``, ``adamw``, ``rmsprop``, ``adagrad``) returns an
:class:`Optimizer` with

* ``init(params) -> state``: the state is a pytree (NamedTuples) of arrays; the step
  counter is an int32 array, so ``init`` and ``update`` can be jitted;
* ``update(grads, state, params, *, lr=None) -> (new_params, new_state)``: one step of
  the corresponding ``torch.optim`` algorithm (default ``foreach=False`` arithmetic,
  same order of operations), over any pytree of parameters. ``lr`` overrides the
  learning rate for this step (a float or a scalar array, e.g. from a scheduler; pass an
  array under ``jit`` to avoid retracing when it changes).

``lr`` given to a factory may be a number or a schedule ``lr(count) -> scalar`` called
with the number of updates already applied (0 on the first update), optax's convention.
Scalar factors that PyTorch computes in Python double precision (bias corrections, the
decayed Adagrad rate) are computed in float64 here and then cast to each parameter's
dtype, so float32 results agree with PyTorch to float32 rounding.

>>> import functorch_lite as fl, functorch_lite.numpy as fnp
>>> opt = fl.optim.sgd(0.1)
>>> params = {"w": fnp.array([1.0, 2.0])}
>>> state = opt.init(params)
>>> params, state = opt.update({"w": fnp.array([1.0, 1.0])}, state, params)
>>> params["w"]
Array([0.9, 1.9], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import core
from . import lax as L
from . import numpy as fnp
from . import tree as tree_util

__all__ = ["Optimizer", "sgd", "adam", "adamw", "rmsprop", "adagrad",
           "SGDState", "AdamState", "RMSpropState", "AdagradState",
           "global_norm", "clip_by_global_norm", "apply_updates"]


class Optimizer(NamedTuple):
    """An optimizer: ``init(params) -> state`` and
    ``update(grads, state, params, *, lr=None) -> (new_params, new_state)``.

    ``hyperparams`` records the arguments it was built with.

    >>> opt = sgd(0.01, momentum=0.9)
    >>> opt.hyperparams["momentum"]
    0.9
    """

    init: Callable
    update: Callable
    hyperparams: dict


class SGDState(NamedTuple):
    """``count`` (int32 updates applied) and the momentum buffers (None without
    momentum)."""

    count: Any
    momentum: Any = None


class AdamState(NamedTuple):
    """``count``, first and second moments, and the running max of the second moment
    (``amsgrad`` only)."""

    count: Any
    exp_avg: Any
    exp_avg_sq: Any
    max_exp_avg_sq: Any = None


class RMSpropState(NamedTuple):
    """``count``, mean square, mean gradient (``centered`` only) and momentum buffers
    (``momentum`` > 0 only)."""

    count: Any
    square_avg: Any
    grad_avg: Any = None
    momentum: Any = None


class AdagradState(NamedTuple):
    """``count`` and the accumulated squared gradients."""

    count: Any
    sum: Any


# --------------------------------------------------------------------------- helpers


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check(name, cond, msg):
    if not cond:
        raise ValueError(f"{name}: {msg}")


def _check_nonneg(name, **vals):
    for k, v in vals.items():
        if _is_number(v) and v < 0:
            raise ValueError(f"{name}: invalid {k} value {v!r} (must be >= 0)")


def _check_lr(name, lr):
    if not (callable(lr) or _is_number(lr) or core.is_array_like(lr)):
        raise TypeError(f"{name}: lr must be a number, a scalar array or a schedule "
                        f"lr(count), got {type(lr).__name__}")
    if _is_number(lr) and lr < 0:
        raise ValueError(f"{name}: invalid learning rate {lr!r} (must be >= 0)")


def _check_beta(name, k, v):
    if _is_number(v) and not 0.0 <= v < 1.0:
        raise ValueError(f"{name}: invalid {k} value {v!r} (must be in [0, 1))")


def _zeros_tree(params):
    return tree_util.map(lambda p: fnp.zeros_like(fnp.asarray(p)), params)


def _full_tree(params, value):
    return tree_util.map(lambda p: fnp.full_like(fnp.asarray(p), value), params)


def _leaves(tree, treedef, what, name):
    leaves, td = tree_util.flatten(tree)
    if td != treedef:
        raise ValueError(f"{name}.update: {what} has structure {td}, but params have "
                         f"structure {treedef}")
    return leaves


def _as_leaf(x):
    return fnp.asarray(x)


def _dtype(x):
    return core.get_aval(x).dtype


def _scalar(v, like):
    """A scalar hyperparameter for arithmetic with leaf ``like``: Python numbers stay
    weakly typed; arrays are cast to the leaf's dtype (so float64 scalars never promote a
    float32 parameter)."""
    if _is_number(v):
        return float(v)
    v = fnp.asarray(v)
    dt = _dtype(like)
    return v if _dtype(v) == dt else L.convert(v, dt)


def _lr_value(lr, count, override):
    if override is not None:
        return override
    if callable(lr):
        return lr(count)
    return lr


def _f64(x):
    """A number or scalar array as float64 (for bias corrections computed in double)."""
    if _is_number(x):
        return np.float64(x)
    return fnp.asarray(x, np.float64)


def _count0(count):
    return fnp.asarray(count)


def _new_count(count):
    return fnp.add(count, np.asarray(1, np.int32))


def _zero_count():
    return np.zeros((), np.int32)


def _add_wd(g, p, wd):
    if _is_number(wd) and wd == 0:
        return g
    return fnp.add(g, fnp.multiply(p, _scalar(wd, p)))


# --------------------------------------------------------------------------- SGD


def sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0, maximize=False):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``.

    ``d = g + weight_decay * p``; with momentum the buffer is ``d`` on the first step and
    ``momentum * buf + (1 - dampening) * d`` afterwards; the step uses ``buf`` (or
    ``d + momentum * buf`` with ``nesterov``); ``p -= lr * step``.

    >>> opt = sgd(0.1, momentum=0.9)
    >>> p = fnp.array([1.0]); s = opt.init(p)
    >>> p, s = opt.update(fnp.array([1.0]), s, p)
    >>> p, s = opt.update(fnp.array([1.0]), s, p)
    >>> p        # 1 - 0.1 * 1 - 0.1 * (0.9 + 1)
    Array([0.71], dtype=float32)
    """
    _check_lr("sgd", lr)
    _check_nonneg("sgd", momentum=momentum, weight_decay=weight_decay)
    if nesterov and (not _is_number(momentum) or momentum <= 0 or dampening != 0):
        raise ValueError("sgd: Nesterov momentum requires a momentum and zero dampening")
    use_momentum = not (_is_number(momentum) and momentum == 0)
    hp = dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
              dampening=dampening, maximize=maximize)

    def init(params):
        return SGDState(_zero_count(), _zeros_tree(params) if use_momentum else None)

    def update(grads, state, params, *, lr=None):
        leaves_p, td = tree_util.flatten(params)
        leaves_g = _leaves(grads, td, "grads", "sgd")
        count = _count0(state.count)
        rate = _lr_value(hp["lr"], count, lr)
        bufs = _leaves(state.momentum, td, "state.momentum", "sgd") if use_momentum \
            else [None] * len(leaves_p)
        first = fnp.equal(count, 0)
        new_p, new_b = [], []
        for p, g, buf in zip(leaves_p, leaves_g, bufs):
            p, g = _as_leaf(p), _as_leaf(g)
            if maximize:
                g = fnp.negative(g)
            d = _add_wd(g, p, weight_decay)
            if use_momentum:
                mom = _scalar(momentum, p)
                later = fnp.add(fnp.multiply(buf, mom),
                                fnp.multiply(d, _scalar(1.0 - dampening, p)
                                             if _is_number(dampening)
                                             else fnp.subtract(1.0, _scalar(dampening, p))))
                buf = fnp.where(first, d, later)
                d = fnp.add(d, fnp.multiply(buf, mom)) if nesterov else buf
                new_b.append(buf)
            new_p.append(fnp.subtract(p, fnp.multiply(d, _scalar(rate, p))))
        params_out = tree_util.unflatten(td, new_p)
        mom_out = tree_util.unflatten(td, new_b) if use_momentum else None
        return params_out, SGDState(_new_count(count), mom_out)

    return Optimizer(init, update, hp)


# --------------------------------------------------------------------------- Adam / AdamW


def _adam_like(name, lr, b1, b2, eps, weight_decay, decoupled, amsgrad, maximize):
    _check_lr(name, lr)
    _check_beta(name, "b1", b1)
    _check_beta(name, "b2", b2)
    _check_nonneg(name, eps=eps, weight_decay=weight_decay)
    hp = dict(lr=lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
              maximize=maximize)

    def init(params):
        return AdamState(_zero_count(), _zeros_tree(params), _zeros_tree(params),
                         _zeros_tree(params) if amsgrad else None)

    def update(grads, state, params, *, lr=None):
        leaves_p, td = tree_util.flatten(params)
        leaves_g = _leaves(grads, td, "grads", name)
        ms = _leaves(state.exp_avg, td, "state.exp_avg", name)
        vs = _leaves(state.exp_avg_sq, td, "state.exp_avg_sq", name)
        vmaxs = _leaves(state.max_exp_avg_sq, td, "state.max_exp_avg_sq", name) if amsgrad \
            else [None] * len(leaves_p)
        count = _count0(state.count)
        rate = _lr_value(hp["lr"], count, lr)
        t = fnp.astype(_new_count(count), np.float64)
        bc1 = fnp.subtract(1.0, fnp.power(_f64(b1), t))
        bc2_sqrt = fnp.sqrt(fnp.subtract(1.0, fnp.power(_f64(b2), t)))
        step_size = fnp.divide(_f64(rate), bc1)
        out_p, out_m, out_v, out_vmax = [], [], [], []
        for p, g, m, v, vmax in zip(leaves_p, leaves_g, ms, vs, vmaxs):
            p, g = _as_leaf(p), _as_leaf(g)
            if maximize:
                g = fnp.negative(g)
            if decoupled:
                if not (_is_number(weight_decay) and weight_decay == 0):
                    decay = fnp.subtract(1.0, fnp.multiply(_f64(rate), _f64(weight_decay)))
                    p = fnp.multiply(p, _scalar(decay, p))
            else:
                g = _add_wd(g, p, weight_decay)
            m = fnp.add(m, fnp.multiply(fnp.subtract(g, m), _scalar(1.0 - b1, p)
                                        if _is_number(b1) else
                                        fnp.subtract(1.0, _scalar(b1, p))))
            v = fnp.add(fnp.multiply(v, _scalar(b2, p)),
                        fnp.multiply(fnp.multiply(g, g), _scalar(1.0 - b2, p)
                                     if _is_number(b2) else
                                     fnp.subtract(1.0, _scalar(b2, p))))
            second = v
            if amsgrad:
                vmax = fnp.maximum(vmax, v)
                second = vmax
                out_vmax.append(vmax)
            denom = fnp.add(fnp.divide(fnp.sqrt(second), _scalar(bc2_sqrt, p)),
                            _scalar(eps, p))
            p = fnp.subtract(p, fnp.multiply(fnp.divide(m, denom), _scalar(step_size, p)))
            out_p.append(p)
            out_m.append(m)
            out_v.append(v)
        new_state = AdamState(_new_count(count), tree_util.unflatten(td, out_m),
                              tree_util.unflatten(td, out_v),
                              tree_util.unflatten(td, out_vmax) if amsgrad else None)
        return tree_util.unflatten(td, out_p), new_state

    return Optimizer(init, update, hp)


def adam(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
         maximize=False):
    """Adam, as ``torch.optim.Adam`` (L2 penalty: ``weight_decay * p`` is added to the
    gradient).

    ``m = m + (1 - b1)(g - m)``, ``v = b2 v + (1 - b2) g²``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``; ``amsgrad`` uses the
    running maximum of ``v``.

    >>> opt = adam(0.1)
    >>> p = fnp.array([1.0]); s = opt.init(p)
    >>> p, s = opt.update(fnp.array([3.0]), s, p)   # the first step moves by ~lr
    >>> p
    Array([0.9], dtype=float32)
    """
    return _adam_like("adam", lr, b1, b2, eps, weight_decay, False, amsgrad, maximize)


def adamw(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False,
          maximize=False):
    """AdamW, as ``torch.optim.AdamW``: decoupled decay ``p *= 1 - lr * weight_decay``
    before the Adam step.

    >>> opt = adamw(0.1, weight_decay=0.5)
    >>> p = fnp.array([1.0]); s = opt.init(p)
    >>> p, s = opt.update(fnp.array([3.0]), s, p)   # 1 * (1 - 0.05) - 0.1
    >>> p
    Array([0.85], dtype=float32)
    """
    return _adam_like("adamw", lr, b1, b2, eps, weight_decay, True, amsgrad, maximize)


# --------------------------------------------------------------------------- RMSprop


def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0,
            maximize=False):
    """RMSprop, as ``torch.optim.RMSprop``.

    ``s = alpha s + (1 - alpha) g²``; ``avg = sqrt(s) + eps`` (``centered``: ``sqrt(s -
    ḡ²) + eps`` with ``ḡ`` the running mean gradient); ``p -= lr g / avg``, or with
    momentum ``buf = momentum buf + g / avg``, ``p -= lr buf``.

    >>> opt = rmsprop(0.01, alpha=0.9)
    >>> p = fnp.array([1.0]); s = opt.init(p)
    >>> p, s = opt.update(fnp.array([2.0]), s, p)   # 1 - 0.01 * 2 / sqrt(0.1 * 4)
    >>> round(float(p[0]), 6)
    0.968377
    """
    _check_lr("rmsprop", lr)
    _check_nonneg("rmsprop", alpha=alpha, eps=eps, momentum=momentum,
                  weight_decay=weight_decay)
    use_momentum = not (_is_number(momentum) and momentum == 0)
    hp = dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered,
              weight_decay=weight_decay, maximize=maximize)

    def init(params):
        return RMSpropState(_zero_count(), _zeros_tree(params),
                            _zeros_tree(params) if centered else None,
                            _zeros_tree(params) if use_momentum else None)

    def update(grads, state, params, *, lr=None):
        leaves_p, td = tree_util.flatten(params)
        leaves_g = _leaves(grads, td, "grads", "rmsprop")
        sqs = _leaves(state.square_avg, td, "state.square_avg", "rmsprop")
        gavs = _leaves(state.grad_avg, td, "state.grad_avg", "rmsprop") if centered \
            else [None] * len(leaves_p)
        bufs = _leaves(state.momentum, td, "state.momentum", "rmsprop") if use_momentum \
            else [None] * len(leaves_p)
        count = _count0(state.count)
        rate = _lr_value(hp["lr"], count, lr)
        out_p, out_s, out_ga, out_b = [], [], [], []
        for p, g, sq, ga, buf in zip(leaves_p, leaves_g, sqs, gavs, bufs):
            p, g = _as_leaf(p), _as_leaf(g)
            if maximize:
                g = fnp.negative(g)
            g = _add_wd(g, p, weight_decay)
            one_m = _scalar(1.0 - alpha, p) if _is_number(alpha) \
                else fnp.subtract(1.0, _scalar(alpha, p))
            sq = fnp.add(fnp.multiply(sq, _scalar(alpha, p)),
                         fnp.multiply(fnp.multiply(g, g), one_m))
            out_s.append(sq)
            if centered:
                ga = fnp.add(ga, fnp.multiply(fnp.subtract(g, ga), one_m))
                out_ga.append(ga)
                avg = fnp.sqrt(fnp.subtract(sq, fnp.multiply(ga, ga)))
            else:
                avg = fnp.sqrt(sq)
            avg = fnp.add(avg, _scalar(eps, p))
            if use_momentum:
                buf = fnp.add(fnp.multiply(buf, _scalar(momentum, p)), fnp.divide(g, avg))
                out_b.append(buf)
                p = fnp.subtract(p, fnp.multiply(buf, _scalar(rate, p)))
            else:
                p = fnp.subtract(p, fnp.multiply(fnp.divide(g, avg), _scalar(rate, p)))
            out_p.append(p)
        new_state = RMSpropState(_new_count(count), tree_util.unflatten(td, out_s),
                                 tree_util.unflatten(td, out_ga) if centered else None,
                                 tree_util.unflatten(td, out_b) if use_momentum else None)
        return tree_util.unflatten(td, out_p), new_state

    return Optimizer(init, update, hp)


# --------------------------------------------------------------------------- Adagrad


def adagrad(lr=1e-2, eps=1e-10, weight_decay=0.0, lr_decay=0.0, initial_accumulator_value=0.0,
            maximize=False):
    """Adagrad, as ``torch.optim.Adagrad``.

    ``s += g²``; ``p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)`` at step t.

    >>> opt = adagrad(0.5)
    >>> p = fnp.array([1.0]); s = opt.init(p)
    >>> p, s = opt.update(fnp.array([2.0]), s, p)   # 1 - 0.5 * 2 / 2
    >>> p
    Array([0.5], dtype=float32)
    """
    _check_lr("adagrad", lr)
    _check_nonneg("adagrad", eps=eps, weight_decay=weight_decay, lr_decay=lr_decay,
                  initial_accumulator_value=initial_accumulator_value)
    hp = dict(lr=lr, eps=eps, weight_decay=weight_decay, lr_decay=lr_decay,
              initial_accumulator_value=initial_accumulator_value, maximize=maximize)

    def init(params):
        return AdagradState(_zero_count(), _full_tree(params, initial_accumulator_value))

    def update(grads, state, params, *, lr=None):
        leaves_p, td = tree_util.flatten(params)
        leaves_g = _leaves(grads, td, "grads", "adagrad")
        sums = _leaves(state.sum, td, "state.sum", "adagrad")
        count = _count0(state.count)
        rate = _lr_value(hp["lr"], count, lr)
        clr = fnp.divide(_f64(rate), fnp.add(1.0, fnp.multiply(fnp.astype(count, np.float64),
                                                                _f64(lr_decay))))
        out_p, out_s = [], []
        for p, g, s in zip(leaves_p, leaves_g, sums):
            p, g = _as_leaf(p), _as_leaf(g)
            if maximize:
                g = fnp.negative(g)
            g = _add_wd(g, p, weight_decay)
            s = fnp.add(s, fnp.multiply(g, g))
            std = fnp.add(fnp.sqrt(s), _scalar(eps, p))
            p = fnp.subtract(p, fnp.multiply(fnp.divide(g, std), _scalar(clr, p)))
            out_p.append(p)
            out_s.append(s)
        return tree_util.unflatten(td, out_p), AdagradState(_new_count(count),
                                                            tree_util.unflatten(td, out_s))

    return Optimizer(init, update, hp)


# --------------------------------------------------------------------------- utilities


def global_norm(tree):
    """The L2 norm of all leaves of ``tree`` together (computed in each leaf's dtype,
    accumulated in the promoted dtype).

    >>> float(global_norm({"a": fnp.array([3.0]), "b": fnp.array([4.0])}))
    5.0
    """
    leaves = [fnp.asarray(x) for x in tree_util.leaves(tree)]
    if not leaves:
        return np.zeros((), np.float32)
    total = None
    for x in leaves:
        s = fnp.sum(fnp.multiply(x, x))
        total = s if total is None else fnp.add(total, s)
    return fnp.sqrt(total)


def clip_by_global_norm(max_norm):
    """A function ``clip(grads) -> grads`` that rescales a gradient pytree so its global
    L2 norm is at most ``max_norm``, as ``torch.nn.utils.clip_grad_norm_`` does
    (``g * min(1, max_norm / (norm + 1e-6))``).

    >>> clip = clip_by_global_norm(1.0)
    >>> g = clip({"w": fnp.array([3.0, 4.0])})
    >>> [round(float(v), 4) for v in g["w"]]
    [0.6, 0.8]
    """
    if _is_number(max_norm) and max_norm < 0:
        raise ValueError(f"clip_by_global_norm: max_norm must be >= 0, got {max_norm}")

    def clip(grads):
        norm = global_norm(grads)
        coef = fnp.minimum(fnp.divide(max_norm, fnp.add(norm, 1e-6)), 1.0)

        def scale(g):
            g = fnp.asarray(g)
            return fnp.multiply(g, _scalar(coef, g))

        return tree_util.map(scale, grads)

    return clip


def apply_updates(params, updates):
    """``params + updates`` leafwise (optax's helper, for hand-written update rules).

    >>> apply_updates({"w": fnp.array([1.0])}, {"w": fnp.array([-0.5])})["w"]
    Array([0.5], dtype=float32)
    """
    return tree_util.map(lambda p, u: fnp.add(p, u), params, updates)
