"""Reductions and orderings: ``sum``, ``mean``, ``prod``, ``std``/``var`` (PyTorch's
``correction``/``unbiased``), ``max``/``min`` in their three forms, ``amax``/``amin``,
``argmax``/``argmin``, ``all``/``any``, ``logsumexp``, ``softmax``/``log_softmax``,
``cumsum``/``cumprod``, ``norm``, ``median``, ``sort``/``argsort``/``topk``/``kthvalue``,
``unique``, ``count_nonzero``.

``max(x, dim)`` and friends return ``(values, indices)`` named tuples; the values are a
gather at the indices, so the gradient goes to the selected element, as in PyTorch.

>>> x = compat.tensor([[1.0, 5.0], [3.0, 2.0]])
>>> x.sum(), x.max(dim=1).indices, x.std(dim=0)
(tensor(11.), tensor([1, 0]), tensor([1.4142, 2.1213]))
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp

from .. import dtypes
from ..tensor import Tensor, wrap, wrap_dim
from .dispatch import Op
from .inplace import write_out
from .pointwise import maximum, minimum
from .shape import cat, stack

# --------------------------------------------------------------------------- helpers


def dims_of(dim, ndim: int):
    """``dim`` (None, an int, or a sequence) as a sorted tuple of axes, or None for all."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        return tuple(sorted(wrap_dim(int(d), ndim) for d in dim))
    return (wrap_dim(int(dim), ndim),)


def result(name: str, fields=("values", "indices")):
    """A named tuple type like ``torch.return_types.max``."""
    return namedtuple(name, fields)


MaxResult, MinResult = result("max"), result("min")
SortResult, TopkResult = result("sort"), result("topk")
KthvalueResult, MedianResult, ModeResult = result("kthvalue"), result("median"), result("mode")
StdMeanResult = result("std_mean", ("std", "mean"))

# --------------------------------------------------------------------------- sums


def sum_fn(x, dims, keepdim, dtype):
    return fnp.sum(x, axis=dims, dtype=dtype, keepdims=keepdim)


sum_op = Op(sum_fn, "Sum")


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,  # noqa: A001
        out: Tensor | None = None) -> Tensor:
    """Sum of elements over ``dim`` (an int or tuple; all when None). Integer and bool
    tensors sum in int64.

    .. math:: \\text{out} = \\sum_i x_i

    Args:
        input: the tensor.
        dim: dimension(s) to reduce.
        keepdim: keep reduced dimensions with size 1.
        dtype: accumulate and return in this dtype.

    >>> compat.tensor([[1, 2], [3, 4]]).sum(dim=0)
    tensor([4, 6])
    """
    res = sum_op(input, dims=dims_of(dim, input.dim()), keepdim=bool(keepdim),
                 dtype=None if dtype is None else dtypes.to_numpy(dtype))
    return res if out is None else write_out(out, res, "sum")


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum treating NaN as zero.

    >>> compat.tensor([1.0, float('nan'), 3.0]).nansum()
    tensor(4.)
    """
    return sum(input.nan_to_num(0.0, float("inf"), float("-inf")) if input.is_floating_point()
               else input, dim, keepdim, dtype=dtype)


def mean_fn(x, dims, keepdim, dtype):
    return fnp.mean(x, axis=dims, dtype=dtype, keepdims=keepdim)


mean_op = Op(mean_fn, "Mean")


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
         out: Tensor | None = None) -> Tensor:
    """Mean of elements over ``dim`` (all when None); needs a floating (or ``dtype``) input.

    >>> compat.tensor([1.0, 2.0, 6.0]).mean()
    tensor(3.)
    """
    if dtype is None and input.array.dtype.kind not in "fc":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {input.dtype.name.title()}")
    res = mean_op(input, dims=dims_of(dim, input.dim()), keepdim=bool(keepdim),
                  dtype=None if dtype is None else dtypes.to_numpy(dtype))
    return res if out is None else write_out(out, res, "mean")


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean ignoring NaN elements.

    >>> compat.tensor([1.0, float('nan'), 3.0]).nanmean()
    tensor(2.)
    """
    keep = ~input.isnan()
    return nansum(input, dim, keepdim, dtype=dtype) / sum(keep, dim, keepdim)


def prod_fn(x, dims, keepdim, dtype):
    return fnp.prod(x, axis=dims, dtype=dtype, keepdims=keepdim)


prod_op = Op(prod_fn, "Prod")


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of elements over ``dim`` (all when None).

    >>> compat.tensor([1.0, 2.0, 3.0]).prod()
    tensor(6.)
    """
    return prod_op(input, dims=dims_of(dim, input.dim()), keepdim=bool(keepdim),
                   dtype=None if dtype is None else dtypes.to_numpy(dtype))


def var_fn(x, dims, correction, keepdim):
    return fnp.var(x, axis=dims, ddof=correction, keepdims=keepdim)


def std_fn(x, dims, correction, keepdim):
    return fnp.std(x, axis=dims, ddof=correction, keepdims=keepdim)


var_op = Op(var_fn, "Var")
std_op = Op(std_fn, "Std")


def correction_of(dim, unbiased, correction):
    """PyTorch's overloads: ``std(x, unbiased)``, ``std(x, dim, unbiased)``,
    ``std(x, dim, correction=c)``; returns ``(dim, correction)``."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, float(correction) if not float(correction).is_integer() else int(correction)


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over ``dim``: ``sum((x - mean)^2) / (N - correction)``, Bessel-corrected
    (``correction=1``, or ``unbiased=True``) by default.

    >>> compat.tensor([1.0, 2.0, 3.0, 4.0]).var(), compat.tensor([1.0, 3.0]).var(unbiased=False)
    (tensor(1.6667), tensor(1.))
    """
    dim, c = correction_of(dim, unbiased, correction)
    return var_op(input, dims=dims_of(dim, input.dim()), correction=c, keepdim=bool(keepdim))


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation over ``dim`` (``sqrt`` of ``var``; Bessel-corrected by default).

    >>> compat.tensor([1.0, 3.0]).std()
    tensor(1.4142)
    """
    dim, c = correction_of(dim, unbiased, correction)
    return std_op(input, dims=dims_of(dim, input.dim()), correction=c, keepdim=bool(keepdim))


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(var, mean)`` over ``dim``.

    >>> compat.var_mean(compat.tensor([1.0, 3.0]))
    (tensor(2.), tensor(2.))
    """
    d, _ = correction_of(dim, unbiased, correction)
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, d, keepdim))


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(std, mean)`` over ``dim``.

    >>> compat.std_mean(compat.tensor([1.0, 3.0]))
    std_mean(std=tensor(1.4142), mean=tensor(2.))
    """
    d, _ = correction_of(dim, unbiased, correction)
    return StdMeanResult(std(input, dim, unbiased, keepdim, correction=correction),
                         mean(input, d, keepdim))


def logsumexp_fn(x, dims, keepdim):
    return fl.nn.logsumexp(x, axis=dims, keepdims=keepdim)


logsumexp_op = Op(logsumexp_fn, "Logsumexp")


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))``, computed stably.

    >>> compat.logsumexp(compat.tensor([0.0, 0.0]), dim=0)
    tensor(0.6931)
    """
    return logsumexp_op(input, dims=dims_of(dim, input.dim()), keepdim=bool(keepdim))


def softmax_fn(x, dim):
    return fl.nn.softmax(x, axis=dim)


def log_softmax_fn(x, dim):
    return fl.nn.log_softmax(x, axis=dim)


softmax_op = Op(softmax_fn, "Softmax")
log_softmax_op = Op(log_softmax_fn, "LogSoftmax")


def softmax(input: Tensor, dim: int | None = None, dtype=None, **kwargs) -> Tensor:
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``.

    .. math:: \\text{softmax}(x)_i = \\frac{\\exp(x_i)}{\\sum_j \\exp(x_j)}

    >>> compat.softmax(compat.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    x = input if dtype is None else input.to(dtype)
    return softmax_op(x, dim=implicit_dim(dim, x.dim()))


def log_softmax(input: Tensor, dim: int | None = None, dtype=None, **kwargs) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably.

    >>> compat.log_softmax(compat.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    x = input if dtype is None else input.to(dtype)
    return log_softmax_op(x, dim=implicit_dim(dim, x.dim()))


def implicit_dim(dim, ndim: int) -> int:
    """PyTorch's (deprecated) default dim for softmax when none is given."""
    if dim is None:
        return 0 if ndim in (0, 1, 3) else 1
    return wrap_dim(dim, ndim)


def cumsum_fn(x, dim, dtype):
    return fnp.cumsum(x, axis=dim, dtype=dtype)


cumsum_op = Op(cumsum_fn, "Cumsum")


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative sums along ``dim``.

    >>> compat.tensor([1, 2, 3]).cumsum(0)
    tensor([1, 3, 6])
    """
    return cumsum_op(input, dim=wrap_dim(dim, input.dim()),
                     dtype=None if dtype is None else dtypes.to_numpy(dtype))


def cumprod_fn(x, dim):
    xs = fnp.moveaxis(x, dim, 0)

    def step(carry, v):
        c = fnp.multiply(carry, v)
        return c, c

    _, out = fl.lax.scan(step, fnp.ones_like(xs[0]), xs)
    return fnp.moveaxis(out, 0, dim)


cumprod_op = Op(cumprod_fn, "Cumprod")


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative products along ``dim``.

    >>> compat.tensor([1.0, 2.0, 3.0]).cumprod(0)
    tensor([1., 2., 6.])
    """
    x = input if dtype is None else input.to(dtype)
    if x.numel() == 0:
        return x.clone()
    return cumprod_op(x, dim=wrap_dim(dim, x.dim()))


def norm_fn(x, p, dims, keepdim):
    a = fnp.abs(x)
    if p == "fro" or p == 2:
        return fnp.sqrt(fnp.sum(fnp.multiply(a, a), axis=dims, keepdims=keepdim))
    if p == float("inf"):
        return fnp.max(a, axis=dims, keepdims=keepdim)
    if p == float("-inf"):
        return fnp.min(a, axis=dims, keepdims=keepdim)
    if p == 0:
        return fnp.sum(fnp.astype(fnp.not_equal(x, 0), x.dtype), axis=dims, keepdims=keepdim)
    if p == 1:
        return fnp.sum(a, axis=dims, keepdims=keepdim)
    return fnp.power(fnp.sum(fnp.power(a, p), axis=dims, keepdims=keepdim), 1.0 / p)


norm_op = Op(norm_fn, "Norm")


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The ``p``-norm over ``dim`` (all elements when None): ``(sum |x|^p)^(1/p)``, with
    ``"fro"`` (= 2), ``inf``, ``-inf`` and 0 (count of nonzeros).

    >>> compat.tensor([3.0, 4.0]).norm()
    tensor(5.)
    """
    x = input if dtype is None else input.to(dtype)
    p = 2 if p is None else p
    return norm_op(x, p=p if isinstance(p, str) else float(p), dims=dims_of(dim, x.dim()),
                   keepdim=bool(keepdim))


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """``norm(input - other, p)``.

    >>> compat.dist(compat.tensor([0.0, 0.0]), compat.tensor([3.0, 4.0]))
    tensor(5.)
    """
    return norm(input - other, p)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim``: ``x[i + 1] - x[i]``.

    >>> compat.tensor([1, 4, 9]).diff()
    tensor([3, 5])
    """
    d = wrap_dim(dim, input.dim())
    x = input
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, input, append) if p is not None]
        x = cat(parts, d)
    for _ in range(n):
        m = x.array.shape[d]
        x = x.narrow(d, 1, m - 1) - x.narrow(d, 0, m - 1)
    return x


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of nonzero elements over ``dim``.

    >>> compat.count_nonzero(compat.tensor([0, 1, 2]))
    tensor(2)
    """
    return sum(input != 0, dim)


# --------------------------------------------------------------------------- max / min


def amax_fn(x, dims, keepdim):
    return fnp.max(x, axis=dims, keepdims=keepdim)


def amin_fn(x, dims, keepdim):
    return fnp.min(x, axis=dims, keepdims=keepdim)


amax_op = Op(amax_fn, "Amax")
amin_op = Op(amin_fn, "Amin")


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (all when empty); the gradient is shared among ties.

    >>> compat.tensor([[1, 5], [3, 2]]).amax(1)
    tensor([5, 3])
    """
    check_nonempty(input, "amax")
    return amax_op(input, dims=dims_of(dim, input.dim()), keepdim=bool(keepdim))


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (all when empty); the gradient is shared among ties.

    >>> compat.tensor([[1, 5], [3, 2]]).amin(0)
    tensor([1, 2])
    """
    check_nonempty(input, "amin")
    return amin_op(input, dims=dims_of(dim, input.dim()), keepdim=bool(keepdim))


def check_nonempty(input: Tensor, name: str) -> None:
    if input.numel() == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")


def select_along(x, idx, dim, keepdim):
    """``x`` at the integer positions ``idx`` (reduced shape) along ``dim``."""
    v = fnp.take_along_axis(x, fnp.expand_dims(idx, dim), axis=dim)
    return v if keepdim else fnp.squeeze(v, axis=dim)


def max_dim_fn(x, dim, keepdim):
    idx = fnp.argmax(x, axis=dim)
    return select_along(x, idx, dim, keepdim), (fnp.expand_dims(idx, dim) if keepdim else idx)


def min_dim_fn(x, dim, keepdim):
    idx = fnp.argmin(x, axis=dim)
    return select_along(x, idx, dim, keepdim), (fnp.expand_dims(idx, dim) if keepdim else idx)


max_dim_op = Op(max_dim_fn, "Max", multi=True)
min_dim_op = Op(min_dim_fn, "Min", multi=True)
max_all_op = Op(amax_fn, "Max")
min_all_op = Op(amin_fn, "Min")


def max(input: Tensor, dim=None, keepdim: bool = False, *, out=None):  # noqa: A001
    """The largest element; with ``dim``, ``(values, indices)`` along it; with a tensor
    ``other`` in place of ``dim``, the elementwise ``maximum``.

    >>> x = compat.tensor([[1, 5], [3, 2]])
    >>> x.max(), x.max(dim=0)
    (tensor(5), max(values=tensor([3, 5]), indices=tensor([1, 0])))
    """
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        check_nonempty(input, "max")
        return max_all_op(input, dims=None, keepdim=False)
    d = wrap_dim(dim, input.dim())
    return MaxResult(*max_dim_op(input, dim=d, keepdim=bool(keepdim)))


def min(input: Tensor, dim=None, keepdim: bool = False, *, out=None):  # noqa: A001
    """The smallest element; with ``dim``, ``(values, indices)``; with a tensor, the
    elementwise ``minimum``.

    >>> compat.tensor([[1, 5], [3, 2]]).min(dim=1)
    min(values=tensor([1, 2]), indices=tensor([0, 1]))
    """
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        check_nonempty(input, "min")
        return min_all_op(input, dims=None, keepdim=False)
    d = wrap_dim(dim, input.dim())
    return MinResult(*min_dim_op(input, dim=d, keepdim=bool(keepdim)))


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False) -> tuple:
    """``(amin, amax)`` over ``dim``.

    >>> compat.aminmax(compat.tensor([3, 1, 2]))
    aminmax(min=tensor(1), max=tensor(3))
    """
    return result("aminmax", ("min", "max"))(amin(input, () if dim is None else dim, keepdim),
                                             amax(input, () if dim is None else dim, keepdim))


def argmax_fn(x, dim, keepdim):
    return fnp.argmax(x, axis=dim, keepdims=keepdim)


def argmin_fn(x, dim, keepdim):
    return fnp.argmin(x, axis=dim, keepdims=keepdim)


argmax_op = Op(argmax_fn, "Argmax")
argmin_op = Op(argmin_fn, "Argmin")


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened tensor when ``dim`` is None).

    >>> compat.tensor([[1, 5], [3, 2]]).argmax(), compat.tensor([[1, 5], [3, 2]]).argmax(1)
    (tensor(1), tensor([1, 0]))
    """
    return argmax_op(input, dim=None if dim is None else wrap_dim(dim, input.dim()),
                     keepdim=bool(keepdim))


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (of the flattened tensor when ``dim`` is None).

    >>> compat.tensor([[1, 5], [3, 2]]).argmin(1)
    tensor([0, 1])
    """
    return argmin_op(input, dim=None if dim is None else wrap_dim(dim, input.dim()),
                     keepdim=bool(keepdim))


def all_fn(x, dims, keepdim):
    return fnp.all(x, axis=dims, keepdims=keepdim)


def any_fn(x, dims, keepdim):
    return fnp.any(x, axis=dims, keepdims=keepdim)


all_op = Op(all_fn, "All")
any_op = Op(any_fn, "Any")


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True if every element (over ``dim``) is nonzero.

    >>> compat.tensor([1, 0]).all(), compat.tensor([1, 0]).any()
    (tensor(False), tensor(True))
    """
    return all_op(input, dims=dims_of(dim, input.dim()), keepdim=bool(keepdim))


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True if some element (over ``dim``) is nonzero.

    >>> compat.tensor([0, 0, 1]).any()
    tensor(True)
    """
    return any_op(input, dims=dims_of(dim, input.dim()), keepdim=bool(keepdim))


# --------------------------------------------------------------------------- orderings


def sort_fn(x, dim, descending):
    idx = fnp.argsort(x, axis=dim, descending=descending)
    return fnp.take_along_axis(x, idx, axis=dim), idx


sort_op = Op(sort_fn, "Sort", multi=True)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` sorted along ``dim`` (ascending unless ``descending``; ties
    keep their order).

    >>> compat.tensor([3, 1, 2]).sort()
    sort(values=tensor([1, 2, 3]), indices=tensor([1, 2, 0]))
    """
    if input.dim() == 0:
        return SortResult(input.clone(), wrap(np.zeros((), np.int64)))
    return SortResult(*sort_op(input, dim=wrap_dim(dim, input.dim()),
                               descending=bool(descending)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``.

    >>> compat.tensor([3, 1, 2]).argsort(descending=True)
    tensor([0, 2, 1])
    """
    return sort(input, dim, descending)[1]


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along dim 0.

    >>> compat.msort(compat.tensor([[3, 1], [1, 2]]))
    tensor([[1, 1],
            [3, 2]])
    """
    return sort(input, 0)[0]


def topk_fn(x, k, dim, largest):
    idx = fnp.argsort(x, axis=dim, descending=largest)
    idx = fnp.moveaxis(fnp.moveaxis(idx, dim, -1)[..., :k], -1, dim)
    return fnp.take_along_axis(x, idx, axis=dim), idx


topk_op = Op(topk_fn, "Topk", multi=True)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) elements along ``dim``, sorted, with their indices.

    >>> compat.tensor([1, 5, 3, 4]).topk(2)
    topk(values=tensor([5, 4]), indices=tensor([1, 3]))
    """
    d = wrap_dim(dim, input.dim())
    n = input.array.shape[d] if input.dim() else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range (k={k}, size {n} at dim {d})")
    return TopkResult(*topk_op(input, k=int(k), dim=d, largest=bool(largest)))


def kthvalue_fn(x, k, dim, keepdim):
    idx = fnp.argsort(x, axis=dim)
    i = fnp.take(idx, k - 1, axis=dim)
    return select_along(x, i, dim, keepdim), (fnp.expand_dims(i, dim) if keepdim else i)


kthvalue_op = Op(kthvalue_fn, "Kthvalue", multi=True)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element along ``dim`` (1-based) and its index.

    >>> compat.tensor([3, 1, 2]).kthvalue(2)
    kthvalue(values=tensor(2), indices=tensor(2))
    """
    return KthvalueResult(*kthvalue_op(input, k=int(k), dim=wrap_dim(dim, input.dim()),
                                       keepdim=bool(keepdim)))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (PyTorch does not average the two middle values); with ``dim``,
    ``(values, indices)``.

    >>> compat.tensor([1.0, 4.0, 2.0, 3.0]).median()
    tensor(2.)
    """
    if dim is None:
        flat = input.reshape(-1)
        return kthvalue(flat, (flat.numel() + 1) // 2, 0)[0]
    d = wrap_dim(dim, input.dim())
    return MedianResult(*kthvalue(input, (input.array.shape[d] + 1) // 2, d, keepdim))


def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-quantiles along ``dim`` (all elements when None), linear interpolation.

    >>> compat.quantile(compat.tensor([1.0, 2.0, 3.0, 4.0]), 0.5)
    tensor(2.5000)
    """
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, x.dim())
    s = sort(x, d)[0]
    n = s.array.shape[d]
    qs = q.tolist() if isinstance(q, Tensor) else q
    scalar = not isinstance(qs, (list, tuple))
    outs = []
    for qq in ([qs] if scalar else qs):
        pos = qq * (n - 1)
        lo, hi = int(np.floor(pos)), int(np.ceil(pos))
        a, b = s.select(d, lo), s.select(d, hi)
        v = a + (b - a) * (pos - lo)
        outs.append(v.unsqueeze(d) if keepdim else v)
    if scalar:
        return outs[0]
    return stack(outs, 0)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements (sorted), optionally with the inverse indices and the counts.
    The result's size depends on the data, so it is computed eagerly (no gradient).

    >>> compat.tensor([2, 1, 2]).unique()
    tensor([1, 2])
    """
    a = input.numpy(force=True)
    res = np.unique(a, return_inverse=return_inverse, return_counts=return_counts, axis=dim)
    if not (return_inverse or return_counts):
        return wrap(np.ascontiguousarray(res))
    out = [wrap(np.ascontiguousarray(r)) for r in res]
    if return_inverse:
        out[1] = wrap(np.ascontiguousarray(res[1].reshape(a.shape if dim is None else -1)
                                           .astype(np.int64)))
    return tuple(out)


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """Collapse runs of equal consecutive elements (flattened input).

    >>> compat.unique_consecutive(compat.tensor([1, 1, 2, 1]))
    tensor([1, 2, 1])
    """
    a = input.numpy(force=True).reshape(-1)
    if a.size == 0:
        keep = np.zeros(0, bool)
    else:
        keep = np.concatenate([[True], a[1:] != a[:-1]])
    vals = wrap(np.ascontiguousarray(a[keep]))
    extra = []
    if return_inverse:
        extra.append(wrap(np.cumsum(keep) - 1))
    if return_counts:
        starts = np.flatnonzero(keep)
        extra.append(wrap(np.diff(np.append(starts, a.size)).astype(np.int64)))
    return (vals, *extra) if extra else vals


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest among ties) and an index of it.

    >>> compat.tensor([1, 2, 2, 3]).mode()
    mode(values=tensor(2), indices=tensor(2))
    """
    a = input.numpy(force=True)
    d = wrap_dim(dim, a.ndim)
    moved = np.moveaxis(a, d, -1)
    vals = np.empty(moved.shape[:-1], a.dtype)
    idx = np.empty(moved.shape[:-1], np.int64)
    for pos in np.ndindex(*moved.shape[:-1]):
        row = moved[pos]
        u, c = np.unique(row, return_counts=True)
        v = u[np.argmax(c)]
        vals[pos], idx[pos] = v, np.flatnonzero(row == v)[-1]
    if keepdim:
        vals, idx = np.expand_dims(vals, d), np.expand_dims(idx, d)
    return ModeResult(wrap(vals), wrap(idx))


__all__ = [
    "all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "argsort", "count_nonzero",
    "cumprod", "cumsum", "diff", "dist", "kthvalue", "log_softmax", "logsumexp", "max", "mean",
    "median", "min", "mode", "msort", "nanmean", "nansum", "norm", "prod", "quantile", "sort",
    "softmax", "std", "std_mean", "sum", "topk", "unique", "unique_consecutive", "var",
    "var_mean",
]
