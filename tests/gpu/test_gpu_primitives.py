"""Every primitive's reference implementation runs on (fake) GPU arrays, stays there and
gives numpy's numbers.

The operands come from real calls: a set of programs runs eagerly on the host once with
every ``impl`` recording what it was given and what it returned; each recorded call is
then replayed through ``bind`` with its arrays on the fake GPU (``fakecupy``). A primitive
the programs never reach fails ``test_programs_reach_every_primitive``, so a new primitive
needs a line here. This checks dispatch and placement (no host copy, numpy's functions
found under CuPy's names), not CUDA.
"""

from __future__ import annotations

import fakecupy
import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import lax
from functorch_lite.core import PRIMITIVES
from functorch_lite.scipy import special

# primitives whose eager impl is not a reference computation on arrays: `jit` runs a
# backend's compiled program (the cupy backend's tests cover GPU inputs), `custom_lin`
# exists only inside linear programs and raises when evaluated
NOT_REPLAYED = {"jit": "runs a compiled program (tests/cupy)",
                "custom_lin": "only inside linear programs"}
PER_PRIMITIVE = 3  # recorded calls replayed per primitive


@fl.custom_jvp
def _softplus(x):
    return fnp.log1p(fnp.exp(x))


_softplus.defjvp(lambda p, t: (_softplus(p[0]), t[0] * fl.nn.sigmoid(p[0])))


@fl.custom_vjp
def _clip_grad(x):
    return x * 2.0


_clip_grad.defvjp(lambda x: (x * 2.0, None), lambda r, g: (fnp.clip(g, -1, 1),))


def _programs():
    """Eager programs that between them bind every primitive (host inputs)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.9, 0.9, (3, 4)).astype(np.float32)
    pos = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    i = rng.integers(-8, 8, (3, 4)).astype(np.int32)
    img = rng.normal(size=(2, 1, 5, 5)).astype(np.float32)
    ker = rng.normal(size=(3, 1, 3, 3)).astype(np.float32)
    for f in (fnp.exp, fnp.log1p, fnp.expm1, fnp.tanh, fnp.sin, fnp.cos, fnp.tan, fnp.arcsin,
              fnp.arccos, fnp.arctan, fnp.sinh, fnp.cosh, fnp.arcsinh, fnp.arctanh, fnp.abs,
              fnp.sign, fnp.floor, fnp.ceil, fnp.round, fnp.isfinite, fnp.negative,
              fl.nn.sigmoid, lax.rsqrt, special.erf, special.erfc, special.gammaln,
              special.digamma):
        f(x)
    fnp.log(pos), fnp.sqrt(pos), fnp.arccosh(pos + 1.0)
    for f in (fnp.add, fnp.subtract, fnp.multiply, fnp.divide, fnp.fmod, fnp.power,
              fnp.maximum, fnp.minimum, fnp.arctan2, fnp.equal, fnp.not_equal, fnp.less,
              fnp.less_equal, fnp.greater, fnp.greater_equal):
        f(x, pos)
    lax.div(i, np.full_like(i, 3)), x * 2.0, 3.0 - x
    for f in (fnp.bitwise_and, fnp.bitwise_or, fnp.bitwise_xor):
        f(i, i + 3)
    fnp.invert(i)
    s = np.full_like(i, 2)
    lax.shift_left(i, s), lax.shift_right_logical(i, s), lax.shift_right_arithmetic(i, s)
    fnp.where(x > 0, x, pos), x.astype(np.float64), lax.bitcast_convert_type(x, np.int32)
    lax.iota(np.int32, 5), fl.stop_gradient(x)
    fnp.sum(x, axis=1), fnp.max(x, axis=0), fnp.min(x), fnp.prod(pos, axis=1)
    fnp.all(x > 0, axis=1), fnp.any(x > 0), fnp.argmax(x, axis=1), fnp.argmin(x, axis=0)
    fnp.cumsum(x, axis=1), fnp.argsort(x, axis=1), lax.cumsum(x, axis=0, reverse=True)
    fnp.reshape(x, (4, 3)), fnp.transpose(x), fnp.flip(x, 1), fnp.pad(x, ((1, 0), (0, 2)))
    lax.pad(x, ((0, 0, 1), (1, -1, 0))), fnp.concatenate([x, pos])
    lax.slice(x, (1, 0), (3, 4), (1, 2)), fnp.broadcast_to(x[0], (2, 3, 4))
    x[np.array([2, 0])], fnp.take(x, i % 4)
    fnp.asarray(x).at[np.array([0, 2])].set(pos[:2]), fnp.asarray(x).at[1].add(1.0)
    fnp.asarray(x).at[np.array([0, 0])].multiply(pos[:2])
    fnp.asarray(x).at[:, 1].max(0.5), fnp.asarray(x).at[2].min(-0.5)
    fnp.dot(x, pos.T), fnp.einsum("bij,bjk->bik", x[None], pos.T[None])
    fl.nn.conv(img, ker, padding=1), fl.nn.max_pool(img, (2, 2), (1, 1))
    fl.grad(lambda a: fnp.sum(fl.nn.conv(a, ker, stride=2) ** 2))(img)
    fl.grad(lambda a: fnp.sum(fl.nn.conv(a, ker) ** 2))(img)
    lax.cond(np.int32(1), lambda a: a * 2.0, lambda a: a - 1.0, x)
    lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 1.5), (np.int32(0), x))
    lax.scan(lambda c, r: (c + r, c * r), x[0], x)
    fl.checkpoint(lambda a: fnp.sin(a) * fl.checkpoint_name(a * 2.0, "y"))(x)
    _softplus(x), _clip_grad(x)
    fl.grad(lambda a: fnp.sum(_clip_grad(a)))(x)


@pytest.fixture(scope="module")
def recorded():
    """{primitive name: [(args, params, host result)]} from one run of ``_programs``."""
    calls: dict = {}
    originals = {}

    def recorder(p, impl):
        def rec(*args, **params):
            out = impl(*args, **params)
            got = calls.setdefault(p.name, [])
            if len(got) < PER_PRIMITIVE:
                got.append((args, params, out))
            return out
        return rec

    for p in PRIMITIVES.values():
        originals[p] = p.impl
        p.impl = recorder(p, p.impl)
    try:
        _programs()
    finally:
        for p, impl in originals.items():
            p.impl = impl
    return calls


def test_programs_reach_every_primitive(recorded):
    missing = sorted(set(PRIMITIVES) - set(recorded) - set(NOT_REPLAYED))
    assert not missing, f"no recorded call of {missing}: add a use to _programs"


def _to_gpu(v):
    if isinstance(v, np.ndarray):
        return fakecupy.gpu(np.asarray(v))
    if isinstance(v, np.generic):
        return fakecupy.gpu(np.asarray(v))
    return v


@pytest.mark.parametrize("name", sorted(set(PRIMITIVES) - set(NOT_REPLAYED)))
def test_impl_on_gpu_arrays_matches_host(name, recorded, monkeypatch):
    fakecupy.install(monkeypatch)
    prim = PRIMITIVES[name]
    assert recorded.get(name), f"{name} was not recorded"
    for args, params, host in recorded[name]:
        out = prim.bind(*[_to_gpu(a) for a in args], **params)
        outs, hosts = (out, host) if prim.multiple_results else ([out], [host])
        # with no array operand (iota; max of two scalars) there is nothing on a GPU
        gpu = any(isinstance(a, (np.ndarray, np.generic)) for a in args)
        for o, h in zip(outs, hosts):
            assert fakecupy.on_gpu(o) == gpu, f"{name} returned {type(o).__name__}"
            got = o.get() if gpu else np.asarray(o)
            assert got.dtype == np.asarray(h).dtype, name
            np.testing.assert_array_equal(got, np.asarray(h), err_msg=name)
