"""Grad mode: whether operations record the autograd graph (``no_grad``, ``enable_grad``,
``set_grad_enabled``, ``inference_mode``), per thread as in PyTorch.

>>> x = compat.ones(2, requires_grad=True)
>>> with compat.no_grad():
...     (x * 2).requires_grad
False
"""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True  # the class attribute is every new thread's starting value


# per thread, as PyTorch's; read on every operation, so a plain attribute of one object
STATE = _State()


def is_grad_enabled() -> bool:
    """True when operations record the graph for backward.

    >>> compat.is_grad_enabled()
    True
    """
    return STATE.enabled


def _set(mode: bool) -> None:
    STATE.enabled = bool(mode)


class _GradMode:
    """Shared shape of the grad-mode context managers: usable as ``with`` and as a
    decorator (a fresh context per call, so nested and recursive uses restore properly)."""

    mode = True

    def __new__(cls, *args, **kwargs):
        # ``@no_grad`` without parentheses (as recent PyTorch allows) decorates at once
        if cls in (no_grad, enable_grad) and len(args) == 1 and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __init__(self, orig_func=None):
        self.prev = []

    def __enter__(self):
        self.prev.append(is_grad_enabled())
        _set(self.mode)
        return self

    def __exit__(self, *exc):
        _set(self.prev.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Context manager and decorator that turns off graph recording.

    Results computed inside have ``requires_grad=False`` even when their inputs require it;
    use it for evaluation and for in-place parameter updates.

    >>> with compat.no_grad():
    ...     y = compat.ones(2, requires_grad=True) * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Context manager and decorator that turns graph recording back on inside ``no_grad``.

    >>> with compat.no_grad(), compat.enable_grad():
    ...     (compat.ones(1, requires_grad=True) * 2).requires_grad
    True
    """

    mode = True


class inference_mode(_GradMode):  # noqa: N801 - PyTorch's name
    """``no_grad`` (compat has no separate inference tensors); ``inference_mode(False)``
    leaves grad mode unchanged.

    >>> with compat.inference_mode():
    ...     compat.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool = True):
        super().__init__()
        self.active = bool(mode)

    def __enter__(self):
        self.prev.append(is_grad_enabled())
        if self.active:
            _set(False)
        return self

    def __call__(self, fn):
        if not callable(fn):  # @inference_mode(False) style is handled by __init__
            raise TypeError("inference_mode: expected a function to decorate")
        active = self.active

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(active):
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradMode):  # noqa: N801 - PyTorch's name
    """Turn graph recording on or off: as a call it takes effect at once
    (``torch.set_grad_enabled(False)``); as a context manager it restores on exit.

    >>> with compat.set_grad_enabled(False):
    ...     compat.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool):
        super().__init__()
        self.mode = bool(mode)
        # applied immediately, as in PyTorch; __enter__ re-applies after saving the old mode
        self.prev.append(is_grad_enabled())
        _set(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self.prev.pop())
        return False

    def __call__(self, fn):
        mode = self.mode
        _set(self.prev.pop())  # used as a decorator: undo the immediate effect

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return set_grad_enabled(self.mode)
