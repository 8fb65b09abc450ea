"""Counter-based, splittable pseudo-random numbers (``jax.random``'s model and names).

A key is either a typed key (``key(seed)``: a ``PRNGKeyArray`` of shape ``()``, what
current JAX code uses) or a raw ``uint32`` array of shape ``(2,)`` (``PRNGKey(seed)``, the
legacy form); every function takes both and returns keys of the kind it was given.
``key_data``/``wrap_key_data`` convert. Nothing is stateful: every sampler is a pure
function of its key, so the same key always gives the same numbers, and fresh randomness
comes from ``split``/``fold_in``. Everything is written with functorch_lite primitives on
``uint32``/``uint64`` words (add, xor, shifts, or, bitcast, iota, converts), so it works
eagerly and under ``fl.jit``, ``fl.vmap`` (e.g. over a batch of keys) and ``fl.grad`` and
gives the same bits on every backend.

The generator is Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers:
as easy as 1, 2, 3", SC'11; Random123's rotation constants), checked against the
Random123 known-answer vectors. Two layouts turn it into bits, as in JAX:

* **partitionable** (the default, JAX's default since 0.5): element ``i`` of an output of
  any shape hashes the counter pair ``(i >> 32, i & 0xFFFFFFFF)``; 32-bit values are the
  xor of the two output words, 64-bit values their concatenation, 8/16-bit values the low
  bits of the xor; ``split`` hashes the pair of each new key's index.
* **original** (JAX before 0.5, ``jax_threefry_partitionable=False``): the flattened
  counts ``iota(n)`` are cut in two halves that form the pairs, as ``threefry_2x32`` does.

``set_threefry_partitionable(False)`` (or ``FUNCTORCH_LITE_THREEFRY_PARTITIONABLE=0`` in
the environment) selects the original layout; ``threefry_partitionable(False)`` does it
for a ``with`` block. The layout is read when a function is traced, so a jitted function
keeps the layout it was first traced with.

The test suite checks the bits against ``jax.random`` in both layouts (with
``jax_enable_x64=True``). What matches exactly: ``PRNGKey``/``key`` (functorch_lite's
default integer is int64, so seeds are split into two 32-bit words as JAX does in 64-bit
mode; for seeds in ``[0, 2**31)`` that is also JAX's 32-bit-mode key), ``split``,
``fold_in``, ``bits``, ``uniform`` on [0, 1), ``bernoulli``, ``randint``, ``permutation``
and ``choice`` without ``p``. ``uniform`` with other bounds can differ by one ulp (XLA fuses
``u * (max - min) + min`` into an FMA). ``normal`` uses JAX's uniform-to-normal map
(``sqrt(2) * erfinv(u)``) with its own ``erfinv``: Giles' single-precision polynomial for
float16/float32 (the one XLA uses; values agree with JAX to a few float32 ulp) and Wichura's
AS241 rational approximation for float64 (agrees with JAX to ~1e-13). Note JAX's default
float dtype in 64-bit mode is float64, functorch_lite's is float32: pass ``dtype`` when
comparing.

>>> import functorch_lite as fl
>>> key = fl.random.key(0)
>>> k1, k2 = fl.random.split(key)
>>> fl.random.uniform(k1, (3,)).shape
(3,)
"""

from __future__ import annotations

import contextlib
import math
import operator
import os

import numpy as np

from . import core, dtypes
from . import lax as L
from . import numpy as fnp
from . import tree as tree_util
from .array import wrap

__all__ = [
    "PRNGKey", "key", "PRNGKeyArray", "key_data", "wrap_key_data", "key_impl", "clone",
    "split", "fold_in", "threefry_2x32", "random_bits", "bits", "uniform", "normal",
    "truncated_normal", "bernoulli", "randint", "permutation", "choice", "gumbel",
    "categorical", "exponential", "set_threefry_partitionable", "threefry_partitionable",
]

_U32 = np.dtype(np.uint32)
_UINT = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32),
         64: np.dtype(np.uint64)}
_MASK32 = 0xFFFFFFFF


# --------------------------------------------------------------------------- layout

_layout = {"partitionable": os.environ.get("FUNCTORCH_LITE_THREEFRY_PARTITIONABLE", "1")
           .strip().lower() not in ("0", "false", "no", "off")}


def set_threefry_partitionable(enabled: bool) -> bool:
    """Choose the bit layout (True: JAX's current default; False: JAX's original layout,
    ``jax_threefry_partitionable=False``). Returns the previous setting.

    >>> old = set_threefry_partitionable(False)
    >>> _ = set_threefry_partitionable(old)
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"set_threefry_partitionable: expected a bool, got {enabled!r}")
    prev = _layout["partitionable"]
    _layout["partitionable"] = enabled
    return prev


@contextlib.contextmanager
def threefry_partitionable(enabled: bool):
    """The bit layout ``enabled`` inside a ``with`` block.

    >>> with threefry_partitionable(False):
    ...     old_bits = bits(PRNGKey(0), (2,))
    """
    prev = set_threefry_partitionable(enabled)
    try:
        yield
    finally:
        set_threefry_partitionable(prev)


# --------------------------------------------------------------------------- helpers


def _aval(x):
    return core.get_aval(x)


def _shape(shape, name):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name}: shape must be a tuple of ints, got {shape!r} (shapes are "
                        "static: pass Python ints, not traced values)") from None


def _float_dtype(dtype, name):
    dt = dtypes.default_float if dtype is None else np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"{name}: dtype must be a floating-point dtype, got {dt.name}")
    return dt


class KeyDtype:
    """The dtype of a typed key array (``key<fry>``, as JAX prints it)."""

    name = "key<fry>"

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, KeyDtype)

    def __hash__(self):
        return hash(self.name)


_KEY_DTYPE = KeyDtype()


class PRNGKeyArray:
    """Typed PRNG keys (``key(seed)``): an array of keys with a shape of its own, holding
    ``uint32`` key data of shape ``(*shape, 2)`` (``key_data`` gives it). A pytree with the
    data as its leaf, so keys pass through ``jit``, ``vmap`` and ``scan``.

    >>> k = key(0)
    >>> k.shape, k.dtype, split(k, 3).shape
    ((), key<fry>, (3,))
    """

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = data

    @property
    def shape(self) -> tuple:
        return tuple(_aval(self._data).shape[:-1])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dtype(self) -> KeyDtype:
        return _KEY_DTYPE

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of an unsized (0-d) key array")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        if Ellipsis not in idx:
            idx = idx + (Ellipsis,)
        return PRNGKeyArray(self._data[idx + (slice(None),)] if idx[-1] is not Ellipsis
                            else self._data[idx])

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return PRNGKeyArray(L.reshape(self._data, tuple(shape) + (2,)) if -1 not in shape
                            else fnp.reshape(self._data, tuple(shape) + (2,)))

    def __repr__(self):
        data = self._data if isinstance(self._data, core.Tracer) else np.asarray(self._data)
        return f"Array({self.shape}, dtype={self.dtype}) overlaying:\n{data}"


tree_util.register_node(PRNGKeyArray, lambda k: ((k._data,), None),
                        lambda aux, ch: PRNGKeyArray(ch[0]))


def key_data(keys):
    """The ``uint32`` data of typed keys, shape ``(*keys.shape, 2)`` (raw keys pass through).

    >>> key_data(key(42))
    Array([ 0, 42], dtype=uint32)
    """
    if isinstance(keys, PRNGKeyArray):
        return keys._data
    return _check_raw(fnp.asarray(keys), "key_data", batch_ok=True)


def wrap_key_data(key_bits_array, *, impl=None) -> PRNGKeyArray:
    """Typed keys from ``uint32`` data of shape ``(..., 2)`` (the inverse of ``key_data``).

    >>> wrap_key_data(PRNGKey(0)).shape
    ()
    """
    if impl not in (None, "threefry2x32"):
        raise ValueError(f"wrap_key_data: only the 'threefry2x32' implementation exists, got "
                         f"{impl!r}")
    return PRNGKeyArray(_check_raw(fnp.asarray(key_bits_array), "wrap_key_data",
                                   batch_ok=True))


def key_impl(keys) -> str:
    """The PRNG implementation of ``keys``: always ``"threefry2x32"``."""
    return "threefry2x32"


def clone(key):
    """``key`` itself (keys are immutable values; JAX's ``clone`` exists for its Pallas/ref
    semantics)."""
    return key


def _check_raw(k, name, batch_ok=False):
    a = _aval(k)
    if a.dtype != _U32 or not a.shape or a.shape[-1] != 2 or (not batch_ok and a.ndim != 1):
        raise TypeError(f"{name}: expected PRNG key data, a uint32 array of shape (..., 2), "
                        f"got {a.dtype.name}{list(a.shape)}")
    return k


def _key_out(data, like):
    """Keys of the kind ``like`` is (typed or raw) holding ``data``."""
    return PRNGKeyArray(data) if isinstance(like, PRNGKeyArray) else data


def _check_key(key, name):
    """The key as an array (or tracer) of shape (2,) and dtype uint32."""
    if isinstance(key, PRNGKeyArray):
        if key.shape != ():
            raise TypeError(f"{name}: expected a single PRNG key, got a key array of shape "
                            f"{key.shape} (index one key, or map over them with fl.vmap)")
        return key._data
    k = fnp.asarray(key)
    a = _aval(k)
    if a.shape != (2,) or a.dtype != _U32:
        hint = ""
        if a.ndim == 2 and a.shape[-1] == 2:
            hint = (" (this looks like a batch of keys, e.g. the result of split(); index "
                    "one key, or map over them with fl.vmap)")
        raise TypeError(f"{name}: expected a PRNG key, a uint32 array of shape (2,) made by "
                        f"PRNGKey/split/fold_in, got {a.dtype.name}{list(a.shape)}{hint}")
    return k


def _key_words(key):
    """The two 32-bit words of a key as 0-d arrays."""
    k0 = L.reshape(L.slice(key, (0,), (1,)), ())
    k1 = L.reshape(L.slice(key, (1,), (2,)), ())
    return k0, k1


def _rotl32(x, d):
    return L.bitwise_or(L.shift_left(x, d), L.shift_right_logical(x, 32 - d))


_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32_hash(k0, k1, x0, x1):
    """Threefry-2x32, 20 rounds: encrypt counter pairs (x0[i], x1[i]) with key (k0, k1).

    ``k0``/``k1`` are 0-d uint32 arrays, ``x0``/``x1`` uint32 arrays of one shape."""
    shape = _aval(x0).shape
    ks = (k0, k1, L.bitwise_xor(L.bitwise_xor(k0, k1), np.asarray(0x1BD11BDA, _U32)))

    def bcast(s):
        return L.broadcast_in_dim(s, shape, ())

    x0 = L.add(x0, bcast(ks[0]))
    x1 = L.add(x1, bcast(ks[1]))
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = L.add(x0, x1)
            x1 = L.bitwise_xor(x0, _rotl32(x1, r))
        # key injection i + 1: words ks[(i+1) % 3], ks[(i+2) % 3] + (i+1)
        x0 = L.add(x0, bcast(ks[(i + 1) % 3]))
        x1 = L.add(x1, bcast(L.add(ks[(i + 2) % 3], np.asarray(i + 1, _U32))))
    return x0, x1


def threefry_2x32(key, count):
    """Apply the Threefry-2x32 block cipher keyed by ``key`` to a uint32 ``count`` array.

    The flattened counts are cut into two halves that form the pairs (padding an odd
    count with one zero), as JAX's ``threefry_2x32`` does; the result has ``count``'s
    shape.

    >>> import numpy as np
    >>> out = threefry_2x32(np.zeros(2, np.uint32), np.zeros(2, np.uint32))
    >>> [hex(int(v)) for v in out]
    ['0x6b200159', '0x99ba4efe']
    """
    key = _check_key(key, "threefry_2x32")
    count = fnp.asarray(count)
    if _aval(count).dtype != _U32:
        raise TypeError(f"threefry_2x32: count must be uint32, got {_aval(count).dtype.name}")
    shape = _aval(count).shape
    n = math.prod(shape)
    if n == 0:
        return fnp.zeros(shape, _U32)
    flat = L.reshape(count, (n,))
    odd = n % 2
    if odd:
        flat = L.concatenate([flat, L.full((1,), 0, _U32)], 0)
    half = (n + odd) // 2
    x0 = L.slice(flat, (0,), (half,))
    x1 = L.slice(flat, (half,), (2 * half,))
    k0, k1 = _key_words(key)
    y0, y1 = _threefry2x32_hash(k0, k1, x0, x1)
    out = L.concatenate([y0, y1], 0)
    if odd:
        out = L.slice(out, (0,), (n,))
    return L.reshape(out, shape)


# --------------------------------------------------------------------------- keys


def PRNGKey(seed):  # noqa: N802 - JAX's name
    """A raw key (legacy form) from an integer seed: ``[seed >> 32, seed & 0xFFFFFFFF]`` as
    uint32 words (``key(seed)`` gives the typed key holding the same data).

    ``seed`` is a Python int of any size (taken modulo 2**64, so negative seeds use
    two's complement, as JAX with 64-bit mode does) or an integer array/tracer (0-d).

    >>> PRNGKey(42)
    Array([ 0, 42], dtype=uint32)
    >>> PRNGKey(-1)
    Array([4294967295, 4294967295], dtype=uint32)
    """
    if isinstance(seed, (bool, np.bool_)) or (
            isinstance(seed, (float, np.floating))):
        raise TypeError(f"PRNGKey: seed must be an integer, got {seed!r}")
    if isinstance(seed, (int, np.integer)):
        s = int(seed) % (1 << 64)
        return wrap(np.array([s >> 32, s & _MASK32], _U32))
    s = fnp.asarray(seed)
    a = _aval(s)
    if a.shape != ():
        raise TypeError(f"PRNGKey: seed must be a scalar, got shape {a.shape}")
    if not dtypes.is_int(a.dtype):
        raise TypeError(f"PRNGKey: seed must be an integer, got {a.dtype.name}")
    if a.dtype.itemsize == 8:
        u = L.bitcast_convert_type(s, np.uint64)
        hi = L.convert(L.shift_right_logical(u, np.asarray(32, np.uint64)), _U32)
        lo = L.convert(L.bitwise_and(u, np.asarray(_MASK32, np.uint64)), _U32)
    else:
        # a narrower seed is sign-extended to 64 bits first (as a Python int would be)
        lo = L.convert(s, _U32)
        neg = L.lt(s, L.full((), 0, a.dtype)) if np.issubdtype(a.dtype, np.signedinteger) \
            else L.full((), False, np.bool_)
        hi = L.select(neg, L.full((), _MASK32, _U32), L.full((), 0, _U32))
    return L.concatenate([L.reshape(hi, (1,)), L.reshape(lo, (1,))], 0)


def key(seed, *, impl=None) -> PRNGKeyArray:
    """A typed key from an integer seed (JAX's ``jax.random.key``): the same words as
    ``PRNGKey(seed)``, as a key array of shape ``()``.

    >>> key(42)
    Array((), dtype=key<fry>) overlaying:
    [ 0 42]
    """
    if impl not in (None, "threefry2x32"):
        raise ValueError(f"key: only the 'threefry2x32' implementation exists, got {impl!r}")
    return PRNGKeyArray(PRNGKey(seed))


def _iota_2x32(shape):
    """The position of every element of ``shape`` (row-major) as a 64-bit counter, in two
    uint32 arrays (high and low words)."""
    n = math.prod(shape)
    if n >= 1 << 32:
        raise ValueError(f"random: {n} values are more than one key can generate at once "
                         "(2**32); split the key")
    lo = L.reshape(L.iota(_U32, (n,)), shape)
    return L.full(shape, 0, _U32), lo


def _hash_positions(key, shape):
    """Threefry of every element's counter pair: the partitionable layout's two words."""
    k0, k1 = _key_words(key)
    hi, lo = _iota_2x32(shape)
    return _threefry2x32_hash(k0, k1, hi, lo)


def split(key, num=2):
    """``num`` new independent keys from ``key``, stacked: shape ``(num, 2)`` for raw keys,
    ``(num,)`` for typed ones.

    ``num`` may also be a shape tuple, giving keys of shape ``(*num, 2)``.

    >>> k1, k2 = split(PRNGKey(0))
    >>> split(PRNGKey(0), 3).shape
    (3, 2)
    """
    like, key = key, _check_key(key, "split")
    shape = _shape(num, "split")
    n = math.prod(shape)
    if n == 0:
        return _key_out(fnp.zeros((*shape, 2), _U32), like)
    if _layout["partitionable"]:
        b0, b1 = _hash_positions(key, shape)
        out = L.concatenate([L.reshape(b0, (*shape, 1)), L.reshape(b1, (*shape, 1))],
                            len(shape))
    else:
        out = L.reshape(threefry_2x32(key, L.iota(_U32, (2 * n,))), (*shape, 2))
    return _key_out(out, like)


def fold_in(key, data):
    """A new key from ``key`` and an integer ``data`` (taken modulo 2**32).

    >>> k = fold_in(PRNGKey(0), 7)
    >>> bool((k != fold_in(PRNGKey(0), 8)).any())
    True
    """
    like, key = key, _check_key(key, "fold_in")
    if isinstance(data, (int, np.integer)) and not isinstance(data, (bool, np.bool_)):
        d = np.asarray(int(data) % (1 << 32), _U32)
    else:
        d = fnp.asarray(data)
        a = _aval(d)
        if a.shape != ():
            raise TypeError(f"fold_in: data must be a scalar integer, got shape {a.shape}")
        if not dtypes.is_int(a.dtype):
            raise TypeError(f"fold_in: data must be an integer, got {a.dtype.name}")
        d = L.convert(d, _U32)
    count = L.concatenate([L.full((1,), 0, _U32), L.reshape(d, (1,))], 0)
    return _key_out(threefry_2x32(key, count), like)


# --------------------------------------------------------------------------- bits


def random_bits(key, shape=(), bit_width=32):
    """Uniformly random unsigned integers of ``bit_width`` (8, 16, 32 or 64) bits.

    Partitionable layout (the default): element ``i`` hashes the counter pair
    ``(i >> 32, i & 0xFFFFFFFF)`` into words ``(b0, b1)``; 64-bit values are ``b0 << 32 |
    b1``, the others the low bits of ``b0 ^ b1``. Original layout: 32-bit words are
    ``threefry_2x32(key, iota(n))``; 64-bit values take their high words from the first
    half of a stream twice as long and their low words from the second half; 8/16-bit
    values are the little-endian pieces of 32-bit words. Both are JAX's.

    >>> random_bits(PRNGKey(0), (2,)).dtype
    dtype('uint32')
    """
    key = _check_key(key, "random_bits")
    shape = _shape(shape, "random_bits")
    if bit_width not in _UINT:
        raise ValueError(f"random_bits: bit_width must be 8, 16, 32 or 64, got {bit_width}")
    dtype = _UINT[bit_width]
    size = math.prod(shape)
    if size == 0:
        return fnp.zeros(shape, dtype)
    if _layout["partitionable"]:
        b0, b1 = _hash_positions(key, shape)
        if bit_width == 64:
            return L.bitwise_or(L.shift_left(L.convert(b0, dtype), np.asarray(32, dtype)),
                                L.convert(b1, dtype))
        return L.convert(L.bitwise_xor(b0, b1), dtype)
    nwords = -(-bit_width * size // 32)
    if nwords >= _MASK32:
        raise ValueError(f"random_bits: {size} values of {bit_width} bits are more than one "
                         "key can generate at once; split the key")
    words = threefry_2x32(key, L.iota(_U32, (nwords,)))
    if bit_width == 32:
        out = words
    elif bit_width == 64:
        hi = L.convert(L.slice(words, (0,), (size,)), dtype)
        lo = L.convert(L.slice(words, (size,), (2 * size,)), dtype)
        out = L.bitwise_or(L.shift_left(hi, np.asarray(32, dtype)), lo)
    else:
        per = 32 // bit_width
        grid = L.broadcast_in_dim(words, (nwords, per), (0,))
        shifts = L.mul(L.iota(_U32, (nwords, per), 1), np.asarray(bit_width, _U32))
        pieces = L.bitwise_and(L.shift_right_logical(grid, shifts),
                               np.asarray((1 << bit_width) - 1, _U32))
        out = L.convert(L.slice(L.reshape(pieces, (nwords * per,)), (0,), (size,)), dtype)
    return L.reshape(out, shape)


def bits(key, shape=(), dtype=None):
    """Random unsigned integers filling every bit of ``dtype`` (default uint32).

    >>> bits(PRNGKey(1), (3,), dtype="uint64").dtype
    dtype('uint64')
    """
    dt = _U32 if dtype is None else np.dtype(dtype)
    if dt.kind != "u":
        raise TypeError(f"bits: dtype must be an unsigned integer dtype, got {dt.name}")
    return random_bits(key, shape, dt.itemsize * 8)


# --------------------------------------------------------------------------- floats


def _to_dtype(x, dtype):
    if isinstance(x, (bool, int, float, np.generic)):
        return np.asarray(x, dtype)
    x = fnp.asarray(x)
    return x if _aval(x).dtype == dtype else L.convert(x, dtype)


def _unit_floats(key, shape, dtype):
    """Floats in [0, 1): random mantissa bits under the exponent of 1.0, minus 1."""
    fi = np.finfo(dtype)
    nbits, nmant = fi.bits, fi.nmant
    rng_bits = max(nbits, 8)
    ubits = random_bits(key, shape, rng_bits)
    utype = _UINT[nbits]
    if rng_bits != nbits:
        ubits = L.convert(ubits, utype)
    one_bits = np.asarray(np.array(1.0, dtype).view(utype))
    fbits = L.bitwise_or(L.shift_right_logical(ubits, np.asarray(rng_bits - nmant, utype)),
                         L.broadcast_in_dim(one_bits, shape, ()))
    return L.sub(L.bitcast_convert_type(fbits, dtype), np.asarray(1.0, dtype))


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)``.

    Each value takes ``nmant`` random bits (23 for float32; 52 for float64, drawn from
    64-bit words, i.e. two Threefry words per value) as the mantissa of a number in
    [1, 2), minus 1; then ``u * (maxval - minval) + minval`` (at least ``minval``).
    Bit-identical to ``jax.random.uniform`` on [0, 1); other bounds may differ by 1 ulp
    (XLA uses a fused multiply-add there).

    >>> u = uniform(PRNGKey(0), (1000,), minval=-1.0, maxval=1.0)
    >>> bool((u >= -1).all() and (u < 1).all())
    True
    """
    key = _check_key(key, "uniform")
    shape = _shape(shape, "uniform")
    dtype = _float_dtype(dtype, "uniform")
    lo, hi = _to_dtype(minval, dtype), _to_dtype(maxval, dtype)
    for name, v in (("minval", lo), ("maxval", hi)):
        vs = _aval(v).shape
        if len(vs) > len(shape) or np.broadcast_shapes(vs, shape) != shape:
            raise ValueError(f"uniform: {name} of shape {vs} does not broadcast to the "
                             f"requested shape {shape}")
    f = _unit_floats(key, shape, dtype)
    out = fnp.add(fnp.multiply(f, fnp.subtract(hi, lo)), lo)
    return fnp.broadcast_to(fnp.maximum(lo, out), shape)


# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), single precision.
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(coeffs, x):
    dt = _aval(x).dtype
    p = L.full_like(x, coeffs[0])
    for c in coeffs[1:]:
        p = L.add(L.mul(p, x), np.asarray(c, dt))
    return p


def _erfinv_f32(x):
    """erfinv on (-1, 1) in float32 (Giles' polynomial; relative error < 3e-7)."""
    one = np.asarray(1.0, np.float32)
    w = L.neg(L.log(L.mul(L.sub(one, x), L.add(one, x))))
    central = _horner(_GILES_CENTRAL, L.sub(w, np.asarray(2.5, np.float32)))
    tail = _horner(_GILES_TAIL, L.sub(L.sqrt(w), np.asarray(3.0, np.float32)))
    return L.mul(L.select(L.lt(w, np.asarray(5.0, np.float32)), central, tail), x)


# Wichura (1988), Algorithm AS241 (PPND16): the normal quantile to ~1e-16 relative.
_AS241 = {
    "a": (2.5090809287301226727e+3, 3.3430575583588128105e+4, 6.7265770927008700853e+4,
          4.5921953931549871457e+4, 1.3731693765509461125e+4, 1.9715909503065514427e+3,
          1.3314166789178437745e+2, 3.3871328727963666080e+0),
    "b": (5.2264952788528545610e+3, 2.8729085735721942674e+4, 3.9307895800092710610e+4,
          2.1213794301586595867e+4, 5.3941960214247511077e+3, 6.8718700749205790830e+2,
          4.2313330701600911252e+1, 1.0),
    "c": (7.7454501427834140764e-4, 2.2723844989269184583e-2, 2.4178072517745061177e-1,
          1.2704582524523683826e+0, 3.6478483247632045605e+0, 5.7694972214606914055e+0,
          4.6303378461565452959e+0, 1.4234371107496835773e+0),
    "d": (1.0507500716444168432e-9, 5.4759380849953449460e-4, 1.5198666563616457197e-2,
          1.4810397642748007459e-1, 6.8976733498510000455e-1, 1.6763848301838038494e+0,
          2.0531916266377588219e+0, 1.0),
    "e": (2.0103343992922881326e-7, 2.7115555687434875782e-5, 1.2426609473880784386e-3,
          2.6532189526576123093e-2, 2.9656057182850489123e-1, 1.7848265399172913358e+0,
          5.4637849111641143699e+0, 6.6579046435011037772e+0),
    "f": (2.0442631033899397856e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5,
          7.8686913114561325910e-4, 1.4875361290850614853e-2, 1.3692988092273580531e-1,
          5.9983220655588793769e-1, 1.0),
}


def _std_normal_from_u_f64(u):
    """sqrt(2) * erfinv(u) for float64 u in (-1, 1), i.e. the normal quantile at (1+u)/2.

    AS241 with exact arguments: p - 1/2 = u/2 in the centre and min(p, 1-p) = (1-|u|)/2
    in the tails (both exact in binary floating point), so tails keep full precision."""
    dt = np.float64
    q = L.mul(u, np.asarray(0.5, dt))
    r = L.sub(np.asarray(0.180625, dt), L.mul(q, q))
    central = L.div(L.mul(q, _horner(_AS241["a"], r)), _horner(_AS241["b"], r))
    t = L.mul(L.sub(np.asarray(1.0, dt), L.abs(u)), np.asarray(0.5, dt))
    s = L.sqrt(L.neg(L.log(t)))
    mid = L.div(_horner(_AS241["c"], L.sub(s, np.asarray(1.6, dt))),
                _horner(_AS241["d"], L.sub(s, np.asarray(1.6, dt))))
    far = L.div(_horner(_AS241["e"], L.sub(s, np.asarray(5.0, dt))),
                _horner(_AS241["f"], L.sub(s, np.asarray(5.0, dt))))
    tail = L.mul(L.select(L.le(s, np.asarray(5.0, dt)), mid, far), L.sign(u))
    return L.select(L.le(L.abs(q), np.asarray(0.425, dt)), central, tail)


def _std_normal_from_u(u, dtype):
    if dtype == np.float64:
        return _std_normal_from_u_f64(u)
    u32 = u if dtype == np.float32 else L.convert(u, np.float32)
    z = L.mul(_erfinv_f32(u32), np.asarray(math.sqrt(2.0), np.float32))
    return z if dtype == np.float32 else L.convert(z, dtype)


def normal(key, shape=(), dtype=None):
    """Standard normal floats: ``sqrt(2) * erfinv(u)`` with ``u`` uniform in (-1, 1).

    ``u`` is JAX's (``uniform(key, shape, dtype, nextafter(-1, 0), 1)``, never ±1, so
    no infinities); float16/float32 use Giles' erfinv (as XLA does; agrees with
    ``jax.random.normal`` to a few float32 ulp), float64 uses 52-bit uniforms and the
    AS241 quantile (relative error ~1e-15).

    >>> z = normal(PRNGKey(0), (2, 3))
    >>> z.shape, z.dtype
    ((2, 3), dtype('float32'))
    """
    key = _check_key(key, "normal")
    shape = _shape(shape, "normal")
    dtype = _float_dtype(dtype, "normal")
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = uniform(key, shape, dtype, lo, 1.0)
    return _std_normal_from_u(u, dtype)


def _nextafter(x, up):
    """The adjacent float to finite-or-infinite ``x`` toward +inf (``up``) or -inf."""
    a = _aval(x)
    itype = np.dtype(f"int{a.dtype.itemsize * 8}")
    b = L.bitcast_convert_type(x, itype)
    zero = L.eq(x, L.full_like(x, 0))
    pos = L.gt(x, L.full_like(x, 0))
    step = L.select(L.eq(pos, bool(up)), L.full_like(b, 1), L.full_like(b, -1))
    moved = L.bitcast_convert_type(L.add(b, step), a.dtype)
    tiny = np.asarray(np.nextafter(np.array(0, a.dtype), np.array(1 if up else -1, a.dtype)))
    return L.select(zero, L.broadcast_in_dim(tiny, a.shape, ()), moved)


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal values conditioned on ``lower < x < upper`` (inverse-CDF method).

    ``shape`` defaults to the broadcast shape of ``lower`` and ``upper``.

    >>> x = truncated_normal(PRNGKey(0), -1.0, 2.0, (1000,))
    >>> bool((x > -1).all() and (x < 2).all())
    True
    """
    key = _check_key(key, "truncated_normal")
    dtype = _float_dtype(dtype, "truncated_normal")
    lo, hi = _to_dtype(lower, dtype), _to_dtype(upper, dtype)
    bshape = np.broadcast_shapes(_aval(lo).shape, _aval(hi).shape)
    shape = bshape if shape is None else _shape(shape, "truncated_normal")
    if np.broadcast_shapes(bshape, shape) != shape:
        raise ValueError(f"truncated_normal: lower/upper of shape {bshape} do not broadcast "
                         f"to shape {shape}")
    lo, hi = fnp.broadcast_to(lo, shape), fnp.broadcast_to(hi, shape)
    cdt = np.float64 if dtype == np.float64 else np.float32
    lo_c, hi_c = L.convert(lo, cdt), L.convert(hi, cdt)
    rs2 = np.asarray(1 / math.sqrt(2.0), cdt)
    a = L.convert(L.erf(L.mul(lo_c, rs2)), dtype)
    b = L.convert(L.erf(L.mul(hi_c, rs2)), dtype)
    u = uniform(key, shape, dtype, a, b)
    # uniform clamps to >= a; keep u strictly inside (-1, 1) for the quantile
    ulo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    uhi = np.nextafter(np.array(1.0, dtype), np.array(0.0, dtype))
    u = fnp.clip(u, ulo, uhi)
    z = _std_normal_from_u(u, dtype)
    # rounding can land on (or just past) a bound: clamp to the open interval
    return fnp.clip(z, _nextafter(_stop(lo), True), _nextafter(_stop(hi), False))


def _stop(x):
    return L.stop_gradient(x) if isinstance(x, core.Tracer) else x


def exponential(key, shape=(), dtype=None):
    """Exponential(1) samples: ``-log1p(-u)`` with ``u`` uniform in [0, 1).

    >>> bool((exponential(PRNGKey(0), (100,)) >= 0).all())
    True
    """
    key = _check_key(key, "exponential")
    shape = _shape(shape, "exponential")
    dtype = _float_dtype(dtype, "exponential")
    u = uniform(key, shape, dtype)
    return L.neg(L.log1p(L.neg(u)))


def gumbel(key, shape=(), dtype=None):
    """Standard Gumbel samples: ``-log(-log(u))`` with ``u`` uniform in [tiny, 1).

    >>> gumbel(PRNGKey(0), (4,)).shape
    (4,)
    """
    key = _check_key(key, "gumbel")
    shape = _shape(shape, "gumbel")
    dtype = _float_dtype(dtype, "gumbel")
    u = uniform(key, shape, dtype, float(np.finfo(dtype).tiny), 1.0)
    return L.neg(L.log(L.neg(L.log(u))))


# --------------------------------------------------------------------------- discrete


def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability ``p`` (``uniform(key, shape) < p``).

    ``shape`` defaults to ``p``'s shape; otherwise ``p`` must broadcast to it.

    >>> b = bernoulli(PRNGKey(0), 0.3, (10000,))
    >>> b.dtype, 0.28 < float(b.mean()) < 0.32
    (dtype('bool'), True)
    """
    key = _check_key(key, "bernoulli")
    pa = fnp.asarray(p)
    dt = _aval(pa).dtype if np.issubdtype(_aval(pa).dtype, np.floating) \
        else dtypes.default_float
    pa = _to_dtype(pa, dt)
    pshape = _aval(pa).shape
    shape = pshape if shape is None else _shape(shape, "bernoulli")
    if len(pshape) > len(shape) or np.broadcast_shapes(pshape, shape) != shape:
        raise ValueError(f"bernoulli: p of shape {pshape} does not broadcast to shape {shape}")
    return fnp.less(uniform(key, shape, dt), pa)


def _clip_int(x, dtype):
    """Integer ``x`` clipped to ``dtype``'s range and converted."""
    info = np.iinfo(dtype)
    if isinstance(x, (int, np.integer)):
        return np.asarray(min(max(int(x), info.min), info.max), dtype)
    src = _aval(x).dtype
    if src == dtype:
        return x
    sinfo = np.iinfo(src)
    lo, hi = max(info.min, sinfo.min), min(info.max, sinfo.max)
    if lo > sinfo.min or hi < sinfo.max:
        x = L.max(L.min(x, L.full_like(x, hi)), L.full_like(x, lo))
    return L.convert(x, dtype)


def randint(key, shape, minval, maxval, dtype=None):
    """Integers uniform in ``[minval, maxval)`` (default dtype int64).

    Each value is ``(hi * 2**nbits + lo) mod span`` from two independent ``nbits``-bit
    words (``nbits`` = the dtype's width; 8/16-bit dtypes are sampled as int32 and
    narrowed), so the relative bias is below ``span / 2**nbits``. Bit-identical to
    ``jax.random.randint`` (bounds outside an 8/16-bit dtype are clipped first, where
    JAX wraps them to int32). ``maxval <= minval`` gives ``minval``.

    >>> r = randint(PRNGKey(0), (1000,), 0, 10)
    >>> int(r.min()) >= 0 and int(r.max()) <= 9
    True
    """
    key = _check_key(key, "randint")
    shape = _shape(shape, "randint")
    dtype = dtypes.default_int if dtype is None else np.dtype(dtype)
    if not dtypes.is_int(dtype):
        raise TypeError(f"randint: dtype must be an integer dtype, got {dtype.name}")
    if dtype.itemsize < 4:
        # sample 8/16-bit dtypes in 32 bits (far less modulo bias), then narrow
        info = np.iinfo(dtype)

        def clipped(v, hi):
            if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
                return min(max(int(v), int(info.min)), hi)
            v = fnp.asarray(v)
            if not dtypes.is_int(_aval(v).dtype):
                v = L.convert(v, dtypes.default_int)
            return fnp.clip(v, int(info.min), hi)

        wide = randint(key, shape, clipped(minval, int(info.max)),
                       clipped(maxval, int(info.max) + 1), np.int32)
        return L.convert(wide, dtype)
    nbits = dtype.itemsize * 8
    udt = _UINT[nbits]

    def as_int(v, name):
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            return int(v)
        v = fnp.asarray(v)
        if not dtypes.is_int(_aval(v).dtype):
            v = L.convert(v, dtypes.default_int)
        if len(_aval(v).shape) > len(shape) or \
                np.broadcast_shapes(_aval(v).shape, shape) != shape:
            raise ValueError(f"randint: {name} of shape {_aval(v).shape} does not broadcast "
                             f"to shape {shape}")
        return v

    mn, mx = as_int(minval, "minval"), as_int(maxval, "maxval")
    imax = int(np.iinfo(dtype).max)
    if isinstance(mx, int):
        mx_over = np.asarray(mx > imax)
    else:
        src = _aval(mx).dtype
        mx_over = L.gt(mx, L.full_like(mx, imax)) if int(np.iinfo(src).max) > imax \
            else L.full(_aval(mx).shape, False, np.bool_)
    mn, mx = _clip_int(mn, dtype), _clip_int(mx, dtype)
    mn = fnp.broadcast_to(mn, shape)
    mx = fnp.broadcast_to(mx, shape)
    mx_over = fnp.broadcast_to(mx_over, shape)

    k1, k2 = _split2(key)
    hi_bits = random_bits(k1, shape, nbits)
    lo_bits = random_bits(k2, shape, nbits)

    empty = fnp.less_equal(mx, mn)
    span = L.convert(fnp.subtract(mx, mn), udt)
    span = fnp.where(empty, np.asarray(1, udt), span)
    span = fnp.where(fnp.logical_and(mx_over, fnp.logical_not(empty)),
                     L.add(span, np.asarray(1, udt)), span)
    # span == 0 means the whole range of the dtype: the raw bits are the answer
    full = fnp.equal(span, np.asarray(0, udt))
    safe = fnp.where(full, np.asarray(1, udt), span)
    # (hi * 2**nbits + lo) mod span, with 2**nbits mod span = ((2**(nbits/2)) mod span)**2
    mult = L.rem(L.full_like(safe, 1 << (nbits // 2)), safe)
    mult = L.rem(L.mul(mult, mult), safe)
    off = L.add(L.mul(L.rem(hi_bits, safe), mult), L.rem(lo_bits, safe))
    off = L.rem(off, safe)
    off = fnp.where(full, lo_bits, off)
    return L.add(mn, L.convert(off, dtype))


def _split2(key):
    ks = split(key, 2)
    return L.reshape(L.slice(ks, (0, 0), (1, 2)), (2,)), \
        L.reshape(L.slice(ks, (1, 0), (2, 2)), (2,))


def _shuffle(key, x, axis):
    """Shuffle ``x`` along ``axis`` by stable-sorting it on random 32-bit keys; enough
    rounds that all sort keys of one round collide with probability ~ n**3 / 2**32."""
    shape = _aval(x).shape
    n = math.prod(shape)
    rounds = int(np.ceil(3 * np.log(max(1, n)) / np.log(_MASK32)))
    for _ in range(rounds):
        key, sub = _split2(key)
        order = fnp.argsort(random_bits(sub, shape, 32), axis=axis)
        x = fnp.take_along_axis(x, order, axis=axis)
    return x


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``arange(x)`` (int ``x``) or of ``x`` along ``axis``.

    With ``independent=True`` each slice along the other axes is shuffled separately.

    >>> sorted(permutation(PRNGKey(0), 5).tolist())
    [0, 1, 2, 3, 4]
    """
    key = _check_key(key, "permutation")
    if isinstance(x, (int, np.integer)):
        return _shuffle(key, fnp.arange(int(x)), 0)
    x = fnp.asarray(x)
    a = _aval(x)
    if a.ndim == 0:
        try:
            n = operator.index(x)
        except TypeError:
            raise TypeError("permutation: x must be a concrete int or an array; a traced "
                            "scalar cannot set the length") from None
        return _shuffle(key, fnp.arange(n), 0)
    axis = axis % a.ndim
    if independent or a.ndim == 1:
        return _shuffle(key, x, axis)
    idx = _shuffle(key, fnp.arange(a.shape[axis]), 0)
    return fnp.take(x, idx, axis=axis)


def choice(key, a, shape=(), replace=True, p=None, axis=0):
    """Random sample of ``a`` (or ``arange(a)`` for an int) along ``axis``.

    With ``replace=False`` the draws are distinct. ``p`` gives probabilities (inverse-CDF
    with replacement; Gumbel top-k without).

    >>> c = choice(PRNGKey(0), 10, (5,), replace=False)
    >>> len(set(c.tolist()))
    5
    """
    key = _check_key(key, "choice")
    shape = _shape(shape, "choice")
    if isinstance(a, (int, np.integer)):
        arr, n = None, int(a)
    else:
        arr = fnp.asarray(a)
        if _aval(arr).ndim == 0:
            try:
                arr, n = None, operator.index(arr)
            except TypeError:
                raise TypeError("choice: an integer a must be concrete") from None
        else:
            axis = axis % _aval(arr).ndim
            n = _aval(arr).shape[axis]
    ndraw = math.prod(shape)
    out_dtype = dtypes.default_int if arr is None else _aval(arr).dtype
    if ndraw == 0:
        return fnp.zeros(shape if arr is None else
                         _aval(arr).shape[:axis] + shape + _aval(arr).shape[axis + 1:],
                         out_dtype)
    if n <= 0:
        raise ValueError("choice: a must be greater than 0 unless no samples are taken")
    if not replace and ndraw > n:
        raise ValueError(f"choice: cannot take a larger sample ({ndraw}) than the population "
                         f"({n}) when replace=False")
    if p is None:
        if replace:
            ind = randint(key, shape, 0, n)
        else:
            ind = L.slice(permutation(key, n), (0,), (ndraw,))
    else:
        pa = fnp.asarray(p)
        if not np.issubdtype(_aval(pa).dtype, np.floating):
            pa = L.convert(pa, dtypes.default_float)
        if _aval(pa).shape != (n,):
            raise ValueError(f"choice: p must have shape ({n},), got {_aval(pa).shape}")
        if replace:
            cdf = fnp.cumsum(pa)
            total = L.slice(cdf, (n - 1,), (n,))
            u = uniform(key, shape, _aval(pa).dtype)
            r = fnp.multiply(L.reshape(total, ()), fnp.subtract(1.0, u))
            # searchsorted(cdf, r, side="left") = number of cdf entries below r
            below = fnp.less(cdf, fnp.expand_dims(r, -1))
            ind = fnp.minimum(fnp.sum(below, axis=-1), n - 1)
        else:
            g = fnp.add(gumbel(key, (n,), _aval(pa).dtype), fnp.log(pa))
            ind = L.slice(fnp.argsort(g, descending=True), (0,), (ndraw,))
        ind = L.reshape(ind, shape)
    ind = L.convert(ind, dtypes.default_int)
    if arr is None:
        return L.reshape(ind, shape)
    taken = fnp.take(arr, L.reshape(ind, (ndraw,)), axis=axis)
    s = _aval(arr).shape
    return L.reshape(taken, s[:axis] + shape + s[axis + 1:])


def categorical(key, logits, axis=-1, shape=None):
    """Category indices drawn with probabilities ``softmax(logits)`` along ``axis``
    (Gumbel-max: ``argmax(logits + gumbel)``).

    ``shape`` defaults to the batch shape (``logits``' shape without ``axis``); a longer
    shape adds leading sample dimensions.

    >>> categorical(PRNGKey(0), fnp.log(fnp.array([0.2, 0.8])), shape=(3,)).shape
    (3,)
    """
    key = _check_key(key, "categorical")
    lg = fnp.asarray(logits)
    if not np.issubdtype(_aval(lg).dtype, np.floating):
        lg = L.convert(lg, dtypes.default_float)
    lshape = _aval(lg).shape
    nd = len(lshape)
    axis = axis % nd - nd  # negative
    batch = tuple(d for i, d in enumerate(lshape) if i != nd + axis)
    if shape is None:
        shape = batch
    else:
        shape = _shape(shape, "categorical")
        if len(shape) < len(batch) or np.broadcast_shapes(batch, shape) != shape:
            raise ValueError(f"categorical: shape {shape} is not compatible with the batch "
                             f"shape {batch} of logits {lshape}")
    prefix = shape[:len(shape) - len(batch)]
    gshape = list(shape[len(shape) - len(batch):])
    gshape.insert(nd + axis, lshape[axis])
    g = gumbel(key, (*prefix, *gshape), _aval(lg).dtype)
    lg = L.reshape(lg, (1,) * len(prefix) + lshape)
    return fnp.argmax(fnp.add(g, lg), axis=axis)
