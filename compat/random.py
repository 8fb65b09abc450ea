"""Random numbers: ``manual_seed``, ``Generator``, ``rand``/``randn``/``randint``/
``randperm``, their ``*_like`` forms, ``normal``, ``bernoulli``, ``multinomial``, and the
in-place samplers (``uniform_``, ``normal_``, ``bernoulli_``, ``random_``,
``exponential_``) that ``nn.init`` and data loading use.

Eager sampling draws from numpy's PCG64 stream of a ``Generator`` (the default one unless
``generator=`` is given): fast, and reproducible from ``manual_seed`` -- the same seed gives
the same tensors in every run. (The streams are not PyTorch's, so values differ from
PyTorch's for the same seed.) Code that needs randomness inside ``functorch_lite``
transforms uses ``functorch_lite.random`` keys; ``Generator.next_key()`` derives one.

>>> g = compat.Generator().manual_seed(0)
>>> a = compat.rand(2, generator=g)
>>> b = compat.rand(2, generator=compat.Generator().manual_seed(0))
>>> bool((a == b).all())
True
"""

from __future__ import annotations

import secrets

import numpy as np

import functorch_lite as fl

from . import device as device_mod
from . import dtypes
from .ops.creation import finish, float_dtype
from .ops.inplace import check_inplace
from .ops.shape import sizes_arg
from .tensor import Tensor, own, wrap


class Generator:
    """A random number stream (``torch.Generator``): seed it with ``manual_seed`` and pass
    it as ``generator=`` to sampling functions, samplers and ``DataLoader``.

    ``rng`` is the underlying ``numpy.random.Generator``.

    >>> compat.Generator().manual_seed(1).initial_seed()
    1
    """

    def __init__(self, device="cpu"):
        self.device = device_mod.canonical(device)
        self.seed_value = 67280421310721  # PyTorch's default seed, for a familiar value
        self.rng = np.random.Generator(np.random.PCG64(self.seed_value))

    def manual_seed(self, seed) -> Generator:
        """Restart the stream from ``seed``; returns the generator."""
        seed = int(seed)
        if seed < 0:
            seed += 1 << 64  # PyTorch accepts negative seeds as their two's complement
        self.seed_value = seed
        self.rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        s = secrets.randbits(63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed the stream last started from."""
        return self.seed_value

    def get_state(self) -> Tensor:
        """The stream's state as a uint8 tensor (restore it with ``set_state``)."""
        st = self.rng.bit_generator.state
        words = [st["state"]["state"], st["state"]["inc"], st["has_uint32"], st["uinteger"],
                 self.seed_value]
        raw = b"".join(int(w).to_bytes(16, "little") for w in words)
        return wrap(np.frombuffer(raw, np.uint8).copy())

    def set_state(self, new_state: Tensor) -> Generator:
        """Restore a state from ``get_state``."""
        raw = bytes(np.asarray(new_state.numpy(force=True), np.uint8))
        w = [int.from_bytes(raw[i:i + 16], "little") for i in range(0, 80, 16)]
        bg = np.random.PCG64()
        bg.state = {"bit_generator": "PCG64", "state": {"state": w[0], "inc": w[1]},
                    "has_uint32": w[2], "uinteger": w[3]}
        self.rng = np.random.Generator(bg)
        self.seed_value = w[4]
        return self

    def next_key(self):
        """A ``functorch_lite.random`` key drawn from this stream (for traced code)."""
        return fl.random.PRNGKey(int(self.rng.integers(0, 2 ** 31 - 1)))


default_generator = Generator()


def rng_of(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).rng


def manual_seed(seed) -> Generator:
    """Seed the default generator (and so every sampling function without
    ``generator=``); returns it.

    >>> _ = compat.manual_seed(0); a = compat.randn(3)
    >>> _ = compat.manual_seed(0); bool((a == compat.randn(3)).all())
    True
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator nondeterministically; returns the seed.

    >>> isinstance(compat.seed(), int)
    True
    """
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's seed.

    >>> _ = compat.manual_seed(5); compat.initial_seed()
    5
    """
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state.

    >>> s = compat.get_rng_state(); a = compat.rand(1)
    >>> compat.set_rng_state(s); bool(compat.rand(1) == a)
    True
    """
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Restore the default generator's state.

    >>> s = compat.get_rng_state(); a = compat.randn(2)
    >>> compat.set_rng_state(s); bool((compat.randn(2) == a).all())
    True
    """
    default_generator.set_state(new_state)


# --------------------------------------------------------------------------- sampling


def rand(*size, generator: Generator | None = None, dtype=None, device=None,
         requires_grad: bool = False, out=None, layout=None, pin_memory: bool = False) -> Tensor:
    """Uniform samples from ``[0, 1)`` of shape ``size``.

    >>> compat.rand(2, 3).shape
    torch.Size([2, 3])
    """
    dt = float_dtype(dtype)
    a = uniform_array(rng_of(generator), sizes_arg(size), dt)
    return finish(a, device, requires_grad, out)


def uniform_array(rng, shape, dt):
    if dt in (np.float32, np.float64):
        return rng.random(shape, dtype=dt)
    return rng.random(shape).astype(dt)


def normal_array(rng, shape, dt):
    if dt in (np.float32, np.float64):
        return rng.standard_normal(shape, dtype=dt)
    return rng.standard_normal(shape).astype(dt)


def randn(*size, generator: Generator | None = None, dtype=None, device=None,
          requires_grad: bool = False, out=None, layout=None, pin_memory: bool = False) -> Tensor:
    """Standard normal samples of shape ``size``.

    >>> compat.randn(4).dtype
    torch.float32
    """
    a = normal_array(rng_of(generator), sizes_arg(size), float_dtype(dtype))
    return finish(a, device, requires_grad, out)


def randint(low, high=None, size=None, *, generator: Generator | None = None, dtype=None,
            device=None, requires_grad: bool = False, out=None, layout=None) -> Tensor:
    """Integers uniform in ``[low, high)`` of shape ``size`` (``randint(high, size)`` takes
    ``low = 0``); int64 unless ``dtype`` is given.

    >>> compat.randint(0, 10, (3,)).dtype
    torch.int64
    """
    if size is None:
        if high is None or isinstance(high, (int, np.integer)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    dt = dtypes.to_numpy(dtype) if dtype is not None else np.dtype(np.int64)
    a = rng_of(generator).integers(int(low), int(high), sizes_arg((size,)), dtype=np.int64)
    return finish(a.astype(dt, copy=False), device, requires_grad, out)


def randperm(n: int, *, generator: Generator | None = None, dtype=None, device=None,
             requires_grad: bool = False, out=None, layout=None,
             pin_memory: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1``.

    >>> sorted(compat.randperm(4).tolist())
    [0, 1, 2, 3]
    """
    dt = dtypes.to_numpy(dtype) if dtype is not None else np.dtype(np.int64)
    return finish(rng_of(generator).permutation(int(n)).astype(dt), device, requires_grad,
                  out)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None, generator: Generator | None = None) -> Tensor:
    """Uniform ``[0, 1)`` samples shaped like ``input``.

    >>> compat.rand_like(compat.zeros(2, 2, dtype=compat.float64)).dtype
    torch.float64
    """
    dt = dtypes.to_numpy(dtype) if dtype is not None else input.array.dtype
    return finish(uniform_array(rng_of(generator), input.array.shape, dt),
                  device or input.device, requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None, generator: Generator | None = None) -> Tensor:
    """Standard normal samples shaped like ``input``.

    >>> compat.randn_like(compat.zeros(2, 3)).shape
    torch.Size([2, 3])
    """
    dt = dtypes.to_numpy(dtype) if dtype is not None else input.array.dtype
    return finish(normal_array(rng_of(generator), input.array.shape, dt),
                  device or input.device, requires_grad)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, device=None,
                 requires_grad: bool = False, memory_format=None) -> Tensor:
    """Integers in ``[low, high)`` shaped like ``input`` (``randint_like(x, high)``).

    >>> compat.randint_like(compat.zeros(3, dtype=compat.long), 1).tolist()
    [0, 0, 0]
    """
    if high is None:
        low, high = 0, low
    dt = dtypes.to_numpy(dtype) if dtype is not None else input.array.dtype
    a = default_generator.rng.integers(int(low), int(high), input.array.shape)
    return finish(a.astype(dt), device or input.device, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator: Generator | None = None,
           dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """Normal samples with the given ``mean`` and ``std`` (numbers or tensors, broadcast).

    >>> compat.normal(2.0, 0.0, size=(2,))
    tensor([2., 2.])
    """
    m = mean.numpy(force=True) if isinstance(mean, Tensor) else mean
    s = std.numpy(force=True) if isinstance(std, Tensor) else std
    shape = sizes_arg((size,)) if size is not None else np.broadcast_shapes(np.shape(m),
                                                                             np.shape(s))
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    dt = dtypes.to_numpy(dtype) if dtype is not None else (
        like.array.dtype if like is not None else dtypes.default_float_numpy())
    z = normal_array(rng_of(generator), shape, dt)
    return finish((z * np.asarray(s, dt) + np.asarray(m, dt)).astype(dt, copy=False), device,
                  requires_grad, out)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None,
              out=None) -> Tensor:
    """1 with probability ``input`` (elementwise; or the number ``p``), else 0.

    >>> compat.bernoulli(compat.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    probs = np.asarray(input.numpy(force=True)) if p is None else np.full(input.array.shape, p)
    u = rng_of(generator).random(probs.shape)
    return finish((u < probs).astype(input.array.dtype), input.device, False, out)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Indices sampled from the (unnormalised) weights in each row of ``input``.

    >>> compat.multinomial(compat.tensor([0.0, 1.0]), 1)
    tensor([1])
    """
    w = np.asarray(input.numpy(force=True), np.float64)
    rows = w.reshape(-1, w.shape[-1])
    rng = rng_of(generator)
    out = np.empty((rows.shape[0], num_samples), np.int64)
    for i, row in enumerate(rows):
        if np.any(row < 0) or not np.isfinite(row).all() or row.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0, "
                               "negative or non-finite entries)")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        out[i] = rng.choice(row.size, num_samples, replace=replacement, p=row / row.sum())
    return finish(out.reshape(w.shape[:-1] + (num_samples,)), input.device)


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Poisson samples with rates ``input``.

    >>> compat.poisson(compat.zeros(3))
    tensor([0., 0., 0.])
    """
    lam = np.asarray(input.numpy(force=True))
    return finish(rng_of(generator).poisson(lam).astype(input.array.dtype), input.device)


# --------------------------------------------------------------------------- in place


def fill_sampled(t: Tensor, a: np.ndarray) -> Tensor:
    """Write the samples ``a`` into ``t`` (in place, as PyTorch's ``*_`` samplers)."""
    check_inplace(t)
    if isinstance(t.array, np.ndarray):
        t.array[...] = a
    else:
        t.array = own(device_mod.put(a.astype(t.array.dtype), t.device))
    t.version[0] += 1
    return t


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *,
             generator: Generator | None = None) -> Tensor:
    """Fill with uniform samples from ``[a, b)``.

    >>> bool((compat.empty(5).uniform_(2, 3) >= 2).all())
    True
    """
    u = uniform_array(rng_of(generator), self.array.shape, np.dtype(np.float64))
    return fill_sampled(self, a + (b - a) * u)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: Generator | None = None) -> Tensor:
    """Fill with normal samples of the given ``mean`` and ``std``."""
    z = normal_array(rng_of(generator), self.array.shape, np.dtype(np.float64))
    return fill_sampled(self, mean + std * z)


def bernoulli_(self: Tensor, p=0.5, *, generator: Generator | None = None) -> Tensor:
    """Fill with 1 with probability ``p`` (a number or tensor), else 0."""
    probs = p.numpy(force=True) if isinstance(p, Tensor) else p
    u = rng_of(generator).random(self.array.shape)
    return fill_sampled(self, (u < probs).astype(np.float64))


def random_(self: Tensor, from_=0, to=None, *, generator: Generator | None = None) -> Tensor:
    """Fill with integers uniform in ``[from_, to)`` (``random_(to)``; with no bound, up to
    the largest integer the dtype holds exactly, capped at 2**63)."""
    if to is None:
        if from_ and from_ > 0:
            from_, to = 0, from_
        else:
            dt = self.array.dtype
            to = 2 ** (np.finfo(dt).nmant + 1) if dt.kind == "f" else (
                2 if dt == np.bool_ else int(np.iinfo(dt).max) + 1)
            to = min(to, 2 ** 63 - 1)
    a = rng_of(generator).integers(int(from_), int(to), self.array.shape, dtype=np.int64)
    return fill_sampled(self, a)


def exponential_(self: Tensor, lambd: float = 1.0, *,
                 generator: Generator | None = None) -> Tensor:
    """Fill with exponential samples of rate ``lambd``."""
    return fill_sampled(self, rng_of(generator).exponential(1.0 / lambd, self.array.shape))


def geometric_(self: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    """Fill with geometric samples (trials until the first success)."""
    return fill_sampled(self, rng_of(generator).geometric(p, self.array.shape))


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *,
                generator: Generator | None = None) -> Tensor:
    """Fill with samples whose log is normal(mean, std)."""
    return fill_sampled(self, rng_of(generator).lognormal(mean, std, self.array.shape))


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *,
            generator: Generator | None = None) -> Tensor:
    """Fill with Cauchy samples."""
    return fill_sampled(self, median + sigma * rng_of(generator).standard_cauchy(
        self.array.shape))


INPLACE_SAMPLERS = {"uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_,
                    "random_": random_, "exponential_": exponential_,
                    "geometric_": geometric_, "log_normal_": log_normal_, "cauchy_": cauchy_}

__all__ = [
    "Generator", "bernoulli", "default_generator", "get_rng_state", "initial_seed",
    "manual_seed", "multinomial", "normal", "poisson", "rand", "rand_like", "randint",
    "randint_like", "randn", "randn_like", "randperm", "seed", "set_rng_state",
]
