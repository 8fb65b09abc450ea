"""functorch_lite.random: Threefry known answers, key algebra, distributions, jit/vmap.

Statistical checks use fixed keys (deterministic) and bounds of about 5 standard errors,
so they fail only if the distribution is wrong.
"""

import math
import os
import subprocess
import sys
from statistics import NormalDist

import numpy as np
import pytest
from helpers import assert_jit_equal
from hypothesis import given
from hypothesis import strategies as st

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import random as R

KEY = R.PRNGKey(0)


def _u32(*v):
    return np.array(v, np.uint32)


# --------------------------------------------------------------------------- threefry


@pytest.mark.parametrize("key,ctr,expected", [
    ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
])
def test_threefry_random123_known_answers(key, ctr, expected):
    out = R.threefry_2x32(_u32(*key), _u32(*ctr))
    assert out.dtype == np.uint32 and out.shape == (2,)
    assert [int(v) for v in out] == list(expected)
    # the same under jit (staged program) and as one row of a vmapped batch
    assert [int(v) for v in fl.jit(R.threefry_2x32)(_u32(*key), _u32(*ctr))] == list(expected)
    batch = fl.vmap(R.threefry_2x32, in_axes=(None, 0))(_u32(*key), np.stack([_u32(*ctr)] * 3))
    assert (batch == np.array(expected, np.uint32)).all()


def test_threefry_pairs_halves_and_pads_odd_counts():
    k = _u32(0x13198A2E, 0x03707344)
    # counts [a, b, c, d] are hashed as pairs (a, c) and (b, d)
    out = R.threefry_2x32(k, _u32(0x243F6A88, 7, 0x85A308D3, 9))
    assert [int(out[0]), int(out[2])] == [0xC4923A9C, 0x483DF7A0]
    # an odd count is padded with a zero: [x] hashes the pair (x, 0)
    one = R.threefry_2x32(_u32(0, 0), _u32(0))
    assert int(one[0]) == 0x6B200159
    assert R.threefry_2x32(k, np.zeros((0,), np.uint32)).shape == (0,)
    assert R.threefry_2x32(k, np.zeros((2, 3), np.uint32)).shape == (2, 3)


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize("seed,words", [
    (0, (0, 0)), (42, (0, 42)), (-1, (0xFFFFFFFF, 0xFFFFFFFF)),
    (2**32 + 5, (1, 5)), (2**63 - 1, (0x7FFFFFFF, 0xFFFFFFFF)), (-(2**40), (0xFFFFFF00, 0)),
    (2**64 + 3, (0, 3)),
])
def test_prngkey_words(seed, words):
    k = R.PRNGKey(seed)
    assert k.dtype == np.uint32 and k.shape == (2,)
    assert tuple(int(v) for v in k) == words
    # a traced seed gives the same key (int64 and sign-extended int32 seeds)
    if -(2**63) <= seed < 2**63:
        assert np.array_equal(fl.jit(R.PRNGKey)(np.int64(seed)), k)
    if -(2**31) <= seed < 2**31:
        assert np.array_equal(fl.jit(R.PRNGKey)(np.int32(seed)), k)


def test_prngkey_rejects_bad_seeds():
    with pytest.raises(TypeError, match="integer"):
        R.PRNGKey(1.5)
    with pytest.raises(TypeError, match="scalar"):
        R.PRNGKey(np.arange(2))


def test_same_key_same_bits_and_split_streams_differ():
    a = R.random_bits(KEY, (1000,))
    assert np.array_equal(a, R.random_bits(R.PRNGKey(0), (1000,)))
    ks = R.split(KEY, 4)
    assert ks.shape == (4, 2) and ks.dtype == np.uint32
    streams = [R.random_bits(k, (1000,)) for k in ks] + [a]
    for i in range(len(streams)):
        for j in range(i + 1, len(streams)):
            # independent 32-bit streams agree on ~1000 / 2**32 positions
            assert np.mean(streams[i] == streams[j]) < 0.01
    # split is deterministic, the default is 2, and shape tuples work
    assert np.array_equal(R.split(KEY), R.split(KEY, 2))
    assert np.array_equal(R.split(KEY, (2, 2)).reshape(4, 2), ks)
    assert len({tuple(k) for k in R.split(KEY, 100).tolist()}) == 100


def test_fold_in():
    ks = [R.fold_in(KEY, d) for d in range(50)]
    assert len({tuple(k.tolist()) for k in ks}) == 50
    assert np.array_equal(R.fold_in(KEY, 3), R.fold_in(R.PRNGKey(0), 3))
    assert not np.array_equal(R.fold_in(KEY, 3), R.fold_in(R.PRNGKey(1), 3))
    # data is taken modulo 2**32; traced data and numpy ints agree with Python ints
    assert np.array_equal(R.fold_in(KEY, 2**32 + 3), ks[3])
    assert np.array_equal(fl.jit(R.fold_in)(KEY, np.int64(7)), ks[7])
    batched = fl.vmap(R.fold_in, in_axes=(None, 0))(KEY, np.arange(5))
    assert np.array_equal(batched, np.stack(ks[:5]))


def test_bad_keys_are_rejected():
    with pytest.raises(TypeError, match="PRNG key"):
        R.normal(np.zeros(2, np.int64), (3,))
    with pytest.raises(TypeError, match="batch of keys"):
        R.uniform(R.split(KEY, 3), (3,))


# --------------------------------------------------------------------------- bits


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64"])
def test_bits_dtypes_and_layout(dtype):
    # JAX's original (non-partitionable) layout, behind the flag since the default changed
    with R.threefry_partitionable(False):
        _check_original_layout(dtype)


def _check_original_layout(dtype):
    b = R.bits(KEY, (3, 5), dtype)
    assert b.dtype == np.dtype(dtype) and b.shape == (3, 5)
    w = np.dtype(dtype).itemsize * 8
    if w == 32:
        # threefry(key, iota(15)): counts (i, i + 8) form the pairs, 15 padded with a 0
        src = R.threefry_2x32(KEY, np.arange(15, dtype=np.uint32))
        assert np.array_equal(b.ravel(), src)
    elif w < 32:
        # little-endian pieces of threefry(key, iota(n_words))
        n_words = -(-15 * w // 32)
        src = R.threefry_2x32(KEY, np.arange(n_words, dtype=np.uint32))
        assert np.array_equal(b.ravel(), src.view(dtype)[:15])
    else:
        src = R.threefry_2x32(KEY, np.arange(30, dtype=np.uint32)).astype(np.uint64)
        assert np.array_equal(b.ravel(), (src[:15] << np.uint64(32)) | src[15:])
    # every bit position is set about half the time
    big = R.bits(KEY, (4000,), dtype)
    frac = [np.mean((big >> np.array(i, big.dtype)) & np.array(1, big.dtype)) for i in range(w)]
    assert max(abs(f - 0.5) for f in frac) < 5 * 0.5 / math.sqrt(4000)


def test_bits_rejects_signed_dtype():
    with pytest.raises(TypeError):
        R.bits(KEY, (2,), np.int32)


# --------------------------------------------------------------------------- uniform / normal


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_moments(dtype):
    n = 100_000
    u = R.uniform(KEY, (n,), dtype)
    assert u.dtype == dtype and u.shape == (n,)
    assert u.min() >= 0 and u.max() < 1
    se_mean = math.sqrt(1 / 12 / n)
    assert abs(u.mean() - 0.5) < 5 * se_mean
    # Var(U) = 1/12; the sample variance has standard error sqrt(1/180/n)
    assert abs(u.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / n)
    # 10-bin histogram, chi-square with 9 dof: mean 9, sd ~4.2
    counts = np.bincount((u * 10).astype(int), minlength=10)
    chi2 = ((counts - n / 10) ** 2 / (n / 10)).sum()
    assert chi2 < 9 + 6 * math.sqrt(18)


def test_uniform_is_the_mantissa_construction():
    bits32 = R.random_bits(KEY, (64,))
    expect = ((bits32 >> 9) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1)
    assert np.array_equal(R.uniform(KEY, (64,)), expect)
    bits64 = R.random_bits(KEY, (64,), 64)
    expect64 = ((bits64 >> np.uint64(12)) | np.uint64(0x3FF0000000000000)).view(np.float64) - 1
    assert np.array_equal(R.uniform(KEY, (64,), np.float64), expect64)
    # float64 values use 52 random bits: far more distinct values than float32 has in [0,1)
    u = R.uniform(KEY, (1000,), np.float64)
    assert np.mean(u * 2**23 != np.floor(u * 2**23)) > 0.99


def test_uniform_range_broadcast_and_errors():
    lo = np.array([-1.0, 0.0, 10.0], np.float32)
    u = R.uniform(KEY, (2000, 3), minval=lo, maxval=lo + 2)
    assert u.shape == (2000, 3)
    assert (u >= lo).all() and (u < lo + 2).all()
    assert np.allclose(u.mean(0), lo + 1, atol=0.05)
    assert R.uniform(KEY).shape == () and R.uniform(KEY, 4).shape == (4,)
    with pytest.raises(ValueError, match="broadcast"):
        R.uniform(KEY, (2,), minval=np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="floating"):
        R.uniform(KEY, (2,), np.int32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_moments(dtype):
    n = 100_000
    z = R.normal(KEY, (n,), dtype)
    assert z.dtype == dtype and np.isfinite(z).all()
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    # skewness 0 and kurtosis 3 (standard errors sqrt(6/n) and sqrt(24/n))
    zs = z.astype(np.float64)
    assert abs(np.mean(zs**3)) < 5 * math.sqrt(15 / n)
    assert abs(np.mean(zs**4) - 3) < 5 * math.sqrt(96 / n)
    # tail probability P(|z| > 2) = 0.0455
    p = 2 * NormalDist().cdf(-2)
    assert abs(np.mean(np.abs(zs) > 2) - p) < 5 * math.sqrt(p * (1 - p) / n)


def _quantile_ref(u):
    """Phi^-1((1 + u) / 2) for float64 u, accurate in both tails and near 0."""
    nd = NormalDist()
    return np.array([v * math.sqrt(math.pi / 2) if abs(v) < 1e-9  # Taylor; error ~ v**3
                     else math.copysign(-nd.inv_cdf((1 - abs(v)) / 2), v) for v in u])


def test_normal_is_the_quantile_of_the_uniform():
    """normal(key) = Phi^-1((1 + u) / 2) with u = uniform(key, lo=nextafter(-1, 0), hi=1)."""
    for dtype, tol in [(np.float32, 2e-6), (np.float64, 1e-13)]:
        lo = np.nextafter(dtype(-1), dtype(0))
        u = R.uniform(KEY, (5000,), dtype, lo, 1.0).astype(np.float64)
        z = R.normal(KEY, (5000,), dtype).astype(np.float64)
        # the reference in a tail-exact form: Phi^-1((1 - |u|) / 2), mirrored
        ref = _quantile_ref(u)
        np.testing.assert_allclose(z, ref, rtol=tol, atol=tol)
    # extreme uniforms stay finite and accurate, float64 included
    for dtype in (np.float32, np.float64):
        eps = np.finfo(dtype).eps
        u = np.array([-1 + eps / 2, -1 + eps, -0.5, -1e-30, 0.0, 1e-30, 0.3, 1 - eps], dtype)
        z = fl.jit(lambda u: R._std_normal_from_u(u, np.dtype(u.dtype)))(u).astype(np.float64)
        ref = _quantile_ref(u.astype(np.float64))
        assert np.isfinite(z).all()
        np.testing.assert_allclose(z, ref, rtol=2e-6 if dtype == np.float32 else 1e-14,
                                   atol=1e-35)


def test_float64_normal_accuracy_against_erf():
    z = R.normal(R.PRNGKey(5), (2000,), np.float64)
    u = R.uniform(R.PRNGKey(5), (2000,), np.float64, np.nextafter(-1.0, 0.0), 1.0)
    central = np.abs(u) < 0.99
    back = np.array([math.erf(v / math.sqrt(2)) for v in z[central]])
    np.testing.assert_allclose(back, u[central], rtol=0, atol=2e-15)


def test_truncated_normal():
    n = 50_000
    x = R.truncated_normal(KEY, -1.0, 2.0, (n,))
    assert x.dtype == np.float32 and (x > -1).all() and (x < 2).all()
    nd = NormalDist()
    a, b = -1.0, 2.0
    z = nd.cdf(b) - nd.cdf(a)
    mean = (nd.pdf(a) - nd.pdf(b)) / z
    var = 1 + (a * nd.pdf(a) - b * nd.pdf(b)) / z - mean**2
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n)
    assert abs(x.var() - var) < 0.02
    # array bounds, float64, and a narrow interval far in the tail stay inside the bounds
    lo = np.array([0.0, 3.0], np.float64)
    y = R.truncated_normal(KEY, lo, lo + 0.5, (1000, 2), np.float64)
    assert y.dtype == np.float64 and (y > lo).all() and (y < lo + 0.5).all()
    t = R.truncated_normal(KEY, 5.0, 5.001, (100,))
    assert (t > 5.0).all() and (t < 5.001).all()


def test_exponential_and_gumbel():
    n = 100_000
    e = R.exponential(KEY, (n,))
    assert (e >= 0).all() and abs(e.mean() - 1) < 5 / math.sqrt(n)
    g = R.gumbel(KEY, (n,)).astype(np.float64)
    assert np.isfinite(g).all()
    euler = 0.5772156649015329
    assert abs(g.mean() - euler) < 5 * math.sqrt(math.pi**2 / 6 / n)
    assert abs(g.var() - math.pi**2 / 6) < 0.05


# --------------------------------------------------------------------------- discrete


def test_bernoulli():
    n = 100_000
    for p in (0.5, 0.1, 0.93):
        b = R.bernoulli(KEY, p, (n,))
        assert b.dtype == np.bool_
        assert abs(b.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    ps = np.array([0.0, 0.25, 1.0], np.float32)
    b = R.bernoulli(KEY, ps)  # shape from p
    assert b.shape == (3,)
    many = R.bernoulli(KEY, ps, (20_000, 3))
    assert not many[:, 0].any() and many[:, 2].all()
    assert abs(many[:, 1].mean() - 0.25) < 0.02
    assert R.bernoulli(KEY).shape == ()
    with pytest.raises(ValueError, match="broadcast"):
        R.bernoulli(KEY, ps, (2,))


def test_randint_range_and_uniformity():
    n = 100_000
    r = R.randint(KEY, (n,), 3, 13)
    assert r.dtype == np.int64 and r.min() == 3 and r.max() == 12
    counts = np.bincount(r - 3, minlength=10)
    chi2 = ((counts - n / 10) ** 2 / (n / 10)).sum()
    assert chi2 < 9 + 6 * math.sqrt(18)
    # negative and huge spans, small dtypes, array bounds, empty range
    neg = R.randint(KEY, (1000,), -(2**40), -(2**40) + 5)
    assert neg.min() >= -(2**40) and neg.max() < -(2**40) + 5
    big = R.randint(KEY, (10_000,), 0, 2**62)
    assert abs(big.astype(np.float64).mean() / 2**62 - 0.5) < 5 * math.sqrt(1 / 12 / 10_000)
    for dt in (np.int8, np.uint8, np.int16, np.int32, np.uint32):
        s = R.randint(KEY, (5000,), 0, 100, dt)
        assert s.dtype == dt and s.min() == 0 and s.max() == 99
    full8 = R.randint(KEY, (5000,), 0, 256, np.uint8)
    assert full8.min() == 0 and full8.max() == 255
    lo = np.array([0, 10, 100])
    arr = R.randint(KEY, (2000, 3), lo, lo + 3)
    assert (arr >= lo).all() and (arr < lo + 3).all()
    assert (R.randint(KEY, (10,), 5, 5) == 5).all() and (R.randint(KEY, (10,), 5, 2) == 5).all()
    with pytest.raises(TypeError):
        R.randint(KEY, (2,), 0, 3, np.float32)


@given(st.integers(-(2**40), 2**40), st.integers(1, 2**20))
def test_randint_property_in_range(lo, span):
    r = R.randint(R.PRNGKey(lo), (64,), lo, lo + span)
    assert r.min() >= lo and r.max() < lo + span


@given(st.integers(1, 300), st.integers(0, 2**31 - 1))
def test_permutation_is_a_permutation(n, seed):
    p = R.permutation(R.PRNGKey(seed), n)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(n))


def test_permutation_covers_and_shuffles_arrays():
    # every element visits every position: first-position frequency over 2000 keys
    keys = R.split(KEY, 2000)
    first = np.array([int(R.permutation(k, 5)[0]) for k in keys[:100]])
    assert set(first.tolist()) == set(range(5))
    batched = fl.vmap(lambda k: R.permutation(k, 5))(keys)
    counts = np.bincount(batched[:, 0], minlength=5)
    chi2 = ((counts - 400) ** 2 / 400).sum()
    assert chi2 < 4 + 6 * math.sqrt(8)
    assert len({tuple(row) for row in batched.tolist()}) > 100  # of 120 possible
    x = np.arange(12.0).reshape(4, 3)
    px = R.permutation(KEY, x)
    assert sorted(px[:, 0].tolist()) == [0, 3, 6, 9]
    assert all(row.tolist() in x.tolist() for row in px)  # rows move intact
    ind = R.permutation(KEY, x, axis=1, independent=True)
    assert all(sorted(r) == sorted(o) for r, o in zip(ind.tolist(), x.tolist()))
    big = R.permutation(KEY, 5000)  # two sorting rounds
    assert np.array_equal(np.sort(big), np.arange(5000))
    assert R.permutation(KEY, 1).tolist() == [0]


def test_choice():
    n = 50_000
    c = R.choice(KEY, 5, (n,))
    assert c.dtype == np.int64 and c.min() == 0 and c.max() == 4
    assert np.abs(np.bincount(c) / n - 0.2).max() < 5 * math.sqrt(0.16 / n)
    for seed in range(20):
        u = R.choice(R.PRNGKey(seed), 10, (10,), replace=False)
        assert sorted(u.tolist()) == list(range(10))
        v = R.choice(R.PRNGKey(seed), 50, (7,), replace=False)
        assert len(set(v.tolist())) == 7
    p = np.array([0.1, 0.0, 0.6, 0.3], np.float32)
    w = R.choice(KEY, 4, (n,), p=p)
    freq = np.bincount(w, minlength=4) / n
    assert freq[1] == 0
    assert np.abs(freq - p).max() < 5 * math.sqrt(0.25 / n)
    nr = [R.choice(R.PRNGKey(s), 4, (3,), replace=False, p=p).tolist() for s in range(50)]
    assert all(len(set(r)) == 3 and 1 not in r for r in nr)
    a = np.arange(20.0).reshape(4, 5)
    rows = R.choice(KEY, a, (2, 3))
    assert rows.shape == (2, 3, 5) and all(r.tolist() in a.tolist() for r in rows.reshape(6, 5))
    cols = R.choice(KEY, a, (3,), replace=False, axis=1)
    assert cols.shape == (4, 3) and len(set(cols[0].tolist())) == 3
    with pytest.raises(ValueError, match="larger sample"):
        R.choice(KEY, 3, (4,), replace=False)
    with pytest.raises(ValueError, match="shape"):
        R.choice(KEY, 3, (2,), p=np.ones(4, np.float32) / 4)


def test_categorical():
    n = 50_000
    probs = np.array([0.2, 0.5, 0.3], np.float32)
    c = R.categorical(KEY, np.log(probs), shape=(n,))
    assert c.shape == (n,) and c.dtype == np.int64
    assert np.abs(np.bincount(c, minlength=3) / n - probs).max() < 5 * math.sqrt(0.25 / n)
    logits = np.log(np.array([[0.9, 0.1], [0.05, 0.95]], np.float32))
    d = R.categorical(KEY, logits, shape=(20_000, 2))
    assert abs(d[:, 0].mean() - 0.1) < 0.01 and abs(d[:, 1].mean() - 0.95) < 0.01
    assert R.categorical(KEY, logits).shape == (2,)
    e = R.categorical(KEY, logits.T, axis=0, shape=(20_000, 2))
    assert abs(e[:, 0].mean() - 0.1) < 0.01
    assert (R.categorical(KEY, np.array([-np.inf, 0.0, -np.inf], np.float32), shape=(50,))
            == 1).all()


# --------------------------------------------------------------------------- transforms


SAMPLERS = {
    "split": lambda k: R.split(k, 3),
    "fold_in": lambda k: R.fold_in(k, 11),
    "bits8": lambda k: R.bits(k, (5,), np.uint8),
    "uniform": lambda k: R.uniform(k, (7,), minval=-1.0, maxval=2.0),
    "uniform64": lambda k: R.uniform(k, (2, 3), np.float64),
    "normal": lambda k: R.normal(k, (3,)),
    "normal0d": lambda k: R.normal(k),
    "normal64": lambda k: R.normal(k, (4,), np.float64),
    "truncated_normal": lambda k: R.truncated_normal(k, -1.0, 0.5, (4,)),
    "bernoulli": lambda k: R.bernoulli(k, 0.3, (6,)),
    "randint": lambda k: R.randint(k, (6,), -3, 9),
    "randint8": lambda k: R.randint(k, (6,), 0, 10, np.int8),
    "permutation": lambda k: R.permutation(k, 8),
    "permutation2d": lambda k: R.permutation(k, fnp.arange(12.0).reshape(4, 3)),
    "choice": lambda k: R.choice(k, 10, (3,), replace=False),
    "choice_p": lambda k: R.choice(k, 4, (5,), p=fnp.array([0.1, 0.2, 0.3, 0.4])),
    "gumbel": lambda k: R.gumbel(k, (4,)),
    "categorical": lambda k: R.categorical(k, fnp.zeros((2, 3)), shape=(4, 2)),
    "exponential": lambda k: R.exponential(k, (3,)),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_jit_and_vmap_match_eager(name, jit_backend):
    f = SAMPLERS[name]
    eager = f(KEY)
    # bit for bit, but for the ulp of a backend's own math library (helpers.JIT_ULPS)
    assert_jit_equal(fl.jit(f)(KEY), eager, jit_backend)
    keys = R.split(R.PRNGKey(7), 4)
    stacked = np.stack([f(k) for k in keys])
    batched = fl.vmap(f)(keys)
    assert batched.dtype == stacked.dtype and np.array_equal(batched, stacked)
    assert_jit_equal(fl.jit(fl.vmap(f))(keys), stacked, jit_backend)


def test_key_plumbing_inside_jit():
    @fl.jit
    def step(key, x):
        key, sub = R.split(key)
        return key, x + R.normal(sub, x.shape)

    key, x = R.PRNGKey(1), np.zeros(3, np.float32)
    k_eager, sub = R.split(R.PRNGKey(1))
    k2, y = step(key, x)
    assert np.array_equal(k2, k_eager) and np.array_equal(y, R.normal(sub, (3,)))


def test_grad_through_reparameterised_samples():
    # d/dmu sum(mu + sigma * z) = n and d/dsigma = sum(z)
    z = R.normal(KEY, (10,))
    g = fl.grad(lambda ms: fnp.sum(ms[0] + ms[1] * R.normal(KEY, (10,))))(
        np.array([0.5, 2.0], np.float32))
    np.testing.assert_allclose(g, [10.0, z.sum()], rtol=1e-5)


# --------------------------------------------------------------------------- JAX oracle


@pytest.fixture
def jax64():
    """jax with 64-bit types and the original (non-partitionable) threefry layout, and
    ours in the same layout; the global config is restored afterwards so other tests see
    JAX's (and our) defaults."""
    jax = pytest.importorskip("jax")
    names = ("jax_enable_x64", "jax_threefry_partitionable")
    old = {n: getattr(jax.config, n) for n in names}
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_threefry_partitionable", False)
    try:
        with R.threefry_partitionable(False):
            yield jax
    finally:
        for n, v in old.items():
            jax.config.update(n, v)


def test_bits_match_jax(jax64):
    jax = jax64
    jr = jax.random
    for seed in (0, 42, -7, 2**40 + 3):
        assert np.array_equal(np.asarray(jr.PRNGKey(seed)), R.PRNGKey(seed))
    kj = jr.PRNGKey(3)
    k = R.PRNGKey(3)
    assert np.array_equal(np.asarray(jr.split(kj, 5)), R.split(k, 5))
    assert np.array_equal(np.asarray(jr.fold_in(kj, 123)), R.fold_in(k, 123))
    for shape in [(), (3, 5)]:
        for dt in ("uint8", "uint16", "uint32", "uint64"):
            assert np.array_equal(np.asarray(jr.bits(kj, shape, dt)), R.bits(k, shape, dt))
        for dt in ("float16", "float32", "float64"):
            assert np.array_equal(np.asarray(jr.uniform(kj, shape, dt)), R.uniform(k, shape, dt))
    assert np.array_equal(np.asarray(jr.randint(kj, (500,), -5, 1000)),
                          R.randint(k, (500,), -5, 1000))
    assert np.array_equal(np.asarray(jr.randint(kj, (500,), 0, 100, "int8")),
                          R.randint(k, (500,), 0, 100, np.int8))
    assert np.array_equal(np.asarray(jr.bernoulli(kj, np.float32(0.3), (500,))),
                          R.bernoulli(k, np.float32(0.3), (500,)))
    for n in (1, 10, 3000):
        assert np.array_equal(np.asarray(jr.permutation(kj, n)), R.permutation(k, n))
    assert np.array_equal(np.asarray(jr.choice(kj, 10, (4,), replace=False)),
                          R.choice(k, 10, (4,), replace=False))


def test_floats_close_to_jax(jax64):
    jax = jax64
    jr = jax.random
    kj, k = jr.PRNGKey(11), R.PRNGKey(11)
    # XLA fuses floats * (max - min) + min into one FMA: at most 1 ulp apart
    a = np.asarray(jr.uniform(kj, (1000,), "float32", -2.0, 3.0))
    np.testing.assert_allclose(R.uniform(k, (1000,), np.float32, -2.0, 3.0), a, rtol=3e-7,
                               atol=3e-7)
    n32 = np.asarray(jr.normal(kj, (20_000,), "float32"))
    np.testing.assert_allclose(R.normal(k, (20_000,)), n32, rtol=2e-5, atol=2e-6)
    n64 = np.asarray(jr.normal(kj, (20_000,), "float64"))
    np.testing.assert_allclose(R.normal(k, (20_000,), np.float64), n64, rtol=1e-12, atol=1e-14)
    g = np.asarray(jr.gumbel(kj, (1000,), "float32"))
    np.testing.assert_allclose(R.gumbel(k, (1000,)), g, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- partitionable layout


def _words(key, shape):
    """The two Threefry words of every element's counter pair (i >> 32, i & 0xFFFFFFFF)."""
    n = math.prod(shape)
    return R.threefry_2x32(key, np.concatenate([np.zeros(n, np.uint32),
                                                np.arange(n, dtype=np.uint32)])).reshape(2, n)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64"])
def test_default_layout_is_partitionable(dtype):
    # threefry_2x32 on [0,...,0, 0,1,...,n-1] hashes exactly the pairs (0, i)
    b0, b1 = _words(KEY, (3, 5))
    got = R.bits(KEY, (3, 5), dtype)
    if dtype == "uint64":
        want = (b0.astype(np.uint64) << np.uint64(32)) | b1
    else:
        want = (b0 ^ b1).astype(dtype)
    assert np.array_equal(got.ravel(), want)
    # an element's bits depend on its position only: a bigger draw extends a smaller one
    assert np.array_equal(R.bits(KEY, (20,), dtype)[:15], got.ravel())
    s0, s1 = _words(KEY, (4,))
    assert np.array_equal(R.split(KEY, 4), np.stack([s0, s1], axis=1))
    assert np.array_equal(R.split(KEY, (2, 2)).reshape(4, 2), R.split(KEY, 4))


def test_layout_flag_and_context():
    assert R.set_threefry_partitionable(True) is True  # the default
    new = R.bits(KEY, (8,))
    with R.threefry_partitionable(False):
        old = R.bits(KEY, (8,))
        assert np.array_equal(old, R.threefry_2x32(KEY, np.arange(8, dtype=np.uint32)))
    assert not np.array_equal(old, new)
    assert np.array_equal(R.bits(KEY, (8,)), new)  # restored
    with pytest.raises(TypeError, match="bool"):
        R.set_threefry_partitionable(1)
    # the environment variable picks the layout at import
    code = ("import numpy as np, functorch_lite as fl; k = fl.random.PRNGKey(0); "
            "print(bool(np.array_equal(fl.random.bits(k, (4,)), "
            "fl.random.threefry_2x32(k, np.arange(4, dtype=np.uint32)))))")
    env = dict(os.environ, FUNCTORCH_LITE_THREEFRY_PARTITIONABLE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "True"


def test_default_bits_match_jax_default():
    jax = pytest.importorskip("jax")
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        assert jax.config.jax_threefry_partitionable  # JAX's own default since 0.5
        jr = jax.random
        kj, k = jr.PRNGKey(3), R.PRNGKey(3)
        # (fold_in and the samplers over bits are layout-independent: test_bits_match_jax)
        assert np.array_equal(np.asarray(jr.split(kj, (2, 3))), R.split(k, (2, 3)))
        for dt in ("uint8", "uint32", "uint64"):
            assert np.array_equal(np.asarray(jr.bits(kj, (3, 5), dt)), R.bits(k, (3, 5), dt))
        assert np.array_equal(np.asarray(jr.uniform(kj, (7,), "float32")),
                              R.uniform(k, (7,), np.float32))
        assert np.array_equal(np.asarray(jr.randint(kj, (300,), -5, 1000)),
                              R.randint(k, (300,), -5, 1000))
        assert np.array_equal(np.asarray(jr.permutation(kj, 50)), R.permutation(k, 50))
        tk = jr.key(7)
        assert np.array_equal(np.asarray(jr.key_data(jr.split(tk, 3))),
                              R.key_data(R.split(R.key(7), 3)))
        np.testing.assert_allclose(R.normal(R.key(7), (100,)),
                                   np.asarray(jr.normal(tk, (100,), "float32")),
                                   rtol=2e-5, atol=2e-6)
    finally:
        jax.config.update("jax_enable_x64", old)


# --------------------------------------------------------------------------- typed keys


def test_typed_keys():
    k = R.key(42)
    assert isinstance(k, R.PRNGKeyArray) and k.shape == () and str(k.dtype) == "key<fry>"
    assert np.array_equal(R.key_data(k), R.PRNGKey(42))
    assert R.key_impl(k) == "threefry2x32" and R.clone(k) is k
    ks = R.split(k, 4)
    assert isinstance(ks, R.PRNGKeyArray) and ks.shape == (4,) and len(ks) == 4
    assert np.array_equal(R.key_data(ks), R.split(R.PRNGKey(42), 4))
    a, b = R.split(k)  # unpacking iterates over the key array
    assert np.array_equal(R.key_data(a), R.split(R.PRNGKey(42))[0])
    assert isinstance(R.fold_in(k, 1), R.PRNGKeyArray)
    assert np.array_equal(R.key_data(R.fold_in(k, 1)), R.fold_in(R.PRNGKey(42), 1))
    # samplers take typed and raw keys alike
    assert np.array_equal(R.normal(a, (3,)), R.normal(R.key_data(a), (3,)))
    assert np.array_equal(R.key_data(R.wrap_key_data(R.key_data(ks))), R.key_data(ks))
    assert R.wrap_key_data(np.zeros((2, 3, 2), np.uint32)).shape == (2, 3)
    assert ks.reshape(2, 2).shape == (2, 2) and ks[::2].shape == (2,)
    assert "key<fry>" in repr(k)
    with pytest.raises(TypeError, match="single PRNG key"):
        R.normal(ks, (2,))
    with pytest.raises(TypeError, match="uint32 array of shape"):
        R.wrap_key_data(np.zeros(3, np.int32))


def test_typed_keys_pass_through_transforms():
    k = R.key(0)
    ks = R.split(k, 3)
    eager = np.stack([R.normal(kk, (2,)) for kk in ks])
    np.testing.assert_array_equal(fl.vmap(lambda kk: R.normal(kk, (2,)))(ks), eager)
    np.testing.assert_array_equal(fl.jit(lambda kk: R.normal(kk, (2,)))(ks[1]), eager[1])
    out = fl.jit(lambda kk: R.split(kk))(k)
    assert isinstance(out, R.PRNGKeyArray) and out.shape == (2,)

    def step(carry, _):
        carry, sub = R.split(carry)
        return carry, R.uniform(sub)

    last, draws = fl.lax.scan(step, k, None, length=3)
    assert isinstance(last, R.PRNGKeyArray) and draws.shape == (3,)
    kk, u = k, []
    for _ in range(3):
        kk, sub = R.split(kk)
        u.append(R.uniform(sub))
    np.testing.assert_array_equal(draws, u)
