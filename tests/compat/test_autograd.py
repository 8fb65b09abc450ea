"""compat autograd: gradients of the operations against central finite differences and
closed forms, and the engine's rules (accumulation, hooks, retain_graph, freed graphs,
version counters, non-scalar backward, grad modes, leaves, autograd.grad, Function)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import compat as torch

R = np.random.RandomState(0)


def finite_difference(f, arrays, eps=1e-6):
    """Gradients of ``sum(f(*tensors) * w)`` for a fixed random ``w``, by central
    differences in float64."""
    def value(*arrs):
        with torch.no_grad():
            out = f(*[torch.from_numpy(a) for a in arrs])
        return float((np.asarray(out.numpy()) * weights(out.shape)).sum())

    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            hi = [x.copy() for x in arrays]
            lo = [x.copy() for x in arrays]
            hi[i][idx] += eps
            lo[i][idx] -= eps
            g[idx] = (value(*hi) - value(*lo)) / (2 * eps)
        grads.append(g)
    return grads


def weights(shape):
    return np.cos(np.arange(int(np.prod(shape))).reshape(shape) + 1.0)


def autograd_grads(f, arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = f(*ts)
    out.backward(torch.from_numpy(weights(out.shape)))
    return [t.grad.numpy() for t in ts]


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


def real(*shape):
    return R.randn(*shape)


CASES = {
    "add": (lambda a, b: a + b, [real(2, 3), real(3)]),
    "sub_scalar": (lambda a: 2.0 - a, [real(3)]),
    "mul": (lambda a, b: a * b, [real(2, 3), real(2, 1)]),
    "div": (lambda a, b: a / b, [real(3), pos(3)]),
    "pow": (lambda a: a ** 3, [real(4)]),
    "pow_tensor": (lambda a, b: a ** b, [pos(3), real(3)]),
    "exp_log": (lambda a: torch.log(a.exp() + 1), [real(4)]),
    "sqrt_rsqrt": (lambda a: a.sqrt() + a.rsqrt(), [pos(4)]),
    "trig": (lambda a: a.sin() * a.cos() + a.tanh() + a.atan(), [real(4)]),
    "sigmoid_relu": (lambda a: torch.sigmoid(a) + torch.relu(a) * 2, [real(5)]),
    "erf": (lambda a: torch.erf(a), [real(3)]),
    "abs_clamp": (lambda a: a.abs().clamp(0.2, 1.5), [real(6)]),
    "where": (lambda a, b: torch.where(a > 0, a, b), [real(5), real(5)]),
    "maximum": (lambda a, b: torch.maximum(a, b), [real(4), real(4)]),
    "sum_dim": (lambda a: a.sum(dim=1, keepdim=True) * a, [real(2, 3)]),
    "mean": (lambda a: a.mean(0), [real(3, 2)]),
    "std_var": (lambda a: a.std(1) + a.var(0).sum(), [real(3, 4)]),
    "prod": (lambda a: a.prod(1), [pos(2, 3)]),
    "max_dim": (lambda a: a.max(dim=1).values, [real(3, 4)]),
    "amax": (lambda a: a.amax(0), [real(3, 4)]),
    "logsumexp": (lambda a: torch.logsumexp(a, dim=1), [real(2, 3)]),
    "softmax": (lambda a: torch.softmax(a, dim=1), [real(2, 3)]),
    "log_softmax": (lambda a: torch.log_softmax(a, dim=0), [real(3, 2)]),
    "norm": (lambda a: a.norm(dim=1), [real(2, 3)]),
    "cumsum_cumprod": (lambda a: a.cumsum(1) + a.cumprod(1), [pos(2, 3)]),
    "matmul": (lambda a, b: a @ b, [real(2, 3), real(3, 4)]),
    "bmm": (lambda a, b: torch.bmm(a, b), [real(2, 2, 3), real(2, 3, 2)]),
    "einsum": (lambda a, b: torch.einsum("ij,jk->ik", a, b), [real(2, 3), real(3, 2)]),
    "outer": (lambda a, b: torch.outer(a, b), [real(3), real(2)]),
    "view_permute": (lambda a: a.view(3, 2).permute(1, 0).reshape(-1), [real(2, 3)]),
    "transpose_t": (lambda a: a.t() @ a, [real(2, 3)]),
    "expand_repeat": (lambda a: a.expand(2, 3) + a.repeat(2, 1), [real(1, 3)]),
    "squeeze": (lambda a: a.unsqueeze(0).squeeze(), [real(3)]),
    "slicing": (lambda a: a[1:, ::2] * a[0, 0], [real(3, 4)]),
    "advanced_index": (lambda a: a[[0, 2, 2]] + a[a[:, 0] > -10][:, 1:2].sum(), [real(3, 2)]),
    "cat_stack": (lambda a, b: torch.cat([a, torch.stack([b, b]).sum(0)]), [real(2), real(2)]),
    "chunk_split": (lambda a: a.chunk(2)[1] * a.split([1, 3])[1][:2], [real(4)]),
    "gather": (lambda a: a.gather(1, torch.tensor([[2, 0], [1, 1]])), [real(2, 3)]),
    "scatter": (lambda a, b: a.scatter(0, torch.tensor([2, 0]), b), [real(3), real(2)]),
    "index_select": (lambda a: a.index_select(0, torch.tensor([1, 1, 0])), [real(2, 2)]),
    "masked_fill": (lambda a: a.masked_fill(torch.tensor([True, False, True]), 0.5) * a,
                    [real(3)]),
    "flip_roll": (lambda a: a.flip(0) * a.roll(1), [real(4)]),
    "topk_sort": (lambda a: a.topk(2).values.sum() + a.sort(descending=True).values,
                  [real(4)]),
    "tril": (lambda a: a.tril() + a.triu(1) * 2, [real(3, 3)]),
    "lerp_addcmul": (lambda a, b: torch.lerp(a, b, 0.3) + torch.addcmul(a, a, b, value=2),
                     [real(3), real(3)]),
    "clone": (lambda a: a.clone() * a, [real(3)]),
    "setitem": (lambda a, b: _setitem(a, b), [real(4), real(2)]),
    "inplace_mul": (lambda a, b: (a * 1).mul_(b).add_(a), [real(3), real(3)]),
    "view_inplace": (lambda a: _view_inplace(a), [real(2, 3)]),
}


def _setitem(a, b):
    y = a * 1
    y[1:3] = b * b
    return y


def _view_inplace(a):
    y = a * 1
    y[0].mul_(3)
    y.t()[1].add_(y[1, 0])
    return y * y


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(name):
    f, arrays = CASES[name]
    got = autograd_grads(f, arrays)
    want = finite_difference(f, arrays)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_closed_forms():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x ** 2).sum().backward()
    assert x.grad.tolist() == [2, 4, 6]
    x.grad = None
    torch.sigmoid(x).sum().backward()
    s = 1 / (1 + np.exp(-np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(x.grad.numpy(), s * (1 - s), rtol=1e-6)
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = torch.tensor([1.0, -1.0])
    (w @ v).sum().backward()  # d/dW sum(W v) = 1 v^T
    assert w.grad.tolist() == [[1, -1], [1, -1]]
    m = torch.tensor([[1.0, 5.0, 5.0]], requires_grad=True)
    m.max(dim=1).values.sum().backward()  # the selected (first) maximum gets it all
    assert m.grad.tolist() == [[0, 1, 0]]
    m.grad = None
    m.amax().backward()  # amax shares it between ties
    assert m.grad.tolist() == [[0, 0.5, 0.5]]


# --------------------------------------------------------------------------- engine rules


def test_accumulation_and_zeroing():
    x = torch.ones(2, requires_grad=True)
    for _ in range(3):
        (x * 2).sum().backward()
    assert x.grad.tolist() == [6, 6]
    g = x.grad
    (x * x).sum().backward()
    assert x.grad is g and g.tolist() == [8, 8]
    x.grad.zero_()
    assert x.grad.tolist() == [0, 0]


def test_shared_gradients_do_not_alias():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(1)
    assert b.grad.tolist() == [1, 1]


def test_non_scalar_backward_needs_gradient():
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        y.backward()
    y.backward(torch.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [2, 4, 6]
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(torch.ones(2))


def test_retain_graph_and_freed_graph_error():
    x = torch.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [8]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_version_counter_error():
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    z = y.sin()  # sin's backward reads y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; "
                                           "expected version 0"):
        z.sum().backward()
    # views share their base's counter: the product saved y[0], which the assignment changes
    y = x * 1
    y[0] = y[0] * y[0]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # add's backward reads no values: changing its input afterwards is fine, as in PyTorch
    y2 = x * 2
    z2 = y2 + 1
    y2.mul_(5)
    z2.sum().backward()
    assert x.grad.tolist() == [2, 2, 2]


def test_hooks():
    x = torch.ones(2, requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 3
    y.register_hook(lambda g: g * 10)  # non-leaf: changes what flows on
    y.sum().backward()
    assert seen == [[30, 30]] and x.grad.tolist() == [30, 30]
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert len(seen) == 1 and x.grad.tolist() == [3, 3]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        torch.ones(1).register_hook(lambda g: g)


def test_retain_grad_and_leaf_rules():
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    z = y * 3
    y.retain_grad()
    z.sum().backward()
    assert y.grad.tolist() == [3, 3] and z.grad is None
    assert x.is_leaf and not y.is_leaf and y.retains_grad
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0].mul_(2)
    with torch.no_grad():
        x.add_(1)
    assert x.tolist() == [2, 2] and x.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        torch.ones(1).sum().backward()


def test_grad_modes():
    x = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        assert not (x * 2).requires_grad
        with torch.enable_grad():
            assert (x * 2).requires_grad
    assert torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    try:
        assert not torch.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        torch.set_grad_enabled(True)
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()

    @torch.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and torch.is_grad_enabled()
    with torch.inference_mode():
        assert not (x + 1).requires_grad
    d = x.detach()
    assert not d.requires_grad and d.numpy() is x.detach().numpy()


def test_graph_structure():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2)
    y = (a * b + a).sum()
    assert y.grad_fn.name() == "SumBackward0"
    (add, _), = y.grad_fn.next_functions
    assert type(add).__name__ == "AddBackward0"
    (mul, _), (acc, _) = add.next_functions
    assert mul.name() == "MulBackward0" and acc.name() == "AccumulateGrad"
    assert acc.variable is a
    assert mul.next_functions[1] == (None, 0)
    assert (a > 0).grad_fn is None and not (a > 0).requires_grad
    values, indices = a.max(0)
    assert values.grad_fn is not None and indices.grad_fn is None


def test_autograd_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([3.0], requires_grad=True)
    (gx,) = torch.autograd.grad((x * x).sum(), x)
    assert gx.tolist() == [2, 4] and x.grad is None
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        torch.autograd.grad((x * 2).sum(), [x, y])
    gx, gy = torch.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gx.tolist() == [2, 2] and gy is None
    h = x * 3
    (gh,) = torch.autograd.grad((h * h).sum(), h)  # a non-leaf input
    assert gh.tolist() == [6, 12]


def test_create_graph_higher_order():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.tolist() == [3, 12] and g.requires_grad
    (h,) = torch.autograd.grad(g.sum(), x)
    assert h.tolist() == [6, 12]
    x.grad = None
    y = (x.sin() * x).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    g.sum().backward()  # d/dx (sin x + x cos x) = 2 cos x - x sin x
    xv = np.array([1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-6)


def test_custom_function():
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    x = torch.tensor([2.0], requires_grad=True)
    y = Cube.apply(x)
    assert type(y.grad_fn).__name__ == "CubeBackward"
    (y * 2).sum().backward()
    assert x.grad.tolist() == [24]


def unbroadcast(g, shape):
    """Sum a broadcast gradient back to ``shape`` (the closed form of broadcasting)."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


@given(st.sampled_from([(3,), (2, 3), (1, 3), (2, 1)]),
       st.sampled_from([(3,), (2, 3), (1,), ()]),
       st.sampled_from([np.float32, np.float64]))
def test_broadcast_gradients(sa, sb, dt):
    a = np.asarray(R.randn(*sa), dt)
    b = np.asarray(R.randn(*sb), dt)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out = ta * tb + ta
    out.backward(torch.ones_like(out))
    full = np.broadcast_shapes(sa, sb)
    np.testing.assert_allclose(ta.grad.numpy(), unbroadcast(np.broadcast_to(b, full) + 1, sa),
                               rtol=1e-5)
    np.testing.assert_allclose(tb.grad.numpy(), unbroadcast(np.broadcast_to(a, full), sb),
                               rtol=1e-5)
    assert ta.grad.dtype is ta.dtype and tb.grad.shape == tb.shape


def test_cast_gradient_keeps_input_dtype():
    x = torch.ones(2, requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype is torch.float32 and x.grad.tolist() == [3, 3]
