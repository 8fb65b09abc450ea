"""Indexing: ``x[idx]`` and ``x[idx] = v`` with PyTorch's (numpy's) rules, ``gather``,
``scatter``/``scatter_add``/``scatter_reduce``, ``index_select``, ``index_add``/
``index_fill``/``index_copy``/``index_put``, ``masked_fill``, ``masked_select``, ``take``,
``take_along_dim``, ``nonzero``/``argwhere``.

Basic indexing (ints, slices, ``None``, ``...``) gives a view sharing memory with ``x``;
indexing with tensors or lists copies. Boolean masks become integer indices first (their
count decides the result's size, so they are read eagerly). Updates are ``fnp.at(...)``
expressions, so their gradients are the core's.

>>> x = compat.arange(6).view(2, 3)
>>> x[1], x[:, [0, 2]], x[x > 3]
(tensor([3, 4, 5]), tensor([[0, 2],
        [3, 5]]), tensor([4, 5]))
"""

from __future__ import annotations

import builtins

import numpy as np

import functorch_lite.numpy as fnp
from functorch_lite.placement import is_gpu

from ..tensor import Tensor, own, wrap, wrap_dim
from .dispatch import Op
from .inplace import assign, check_inplace, inplace, needs_graph, snapshot

# --------------------------------------------------------------------------- index specs
# An index is encoded as a hashable spec (Python 3.11 slices are unhashable) with the
# integer index arrays passed separately as operation inputs: ("s", start, stop, step) for a
# slice, "..." for Ellipsis, None, an int, or ("a", k) for the k-th index array.


def encode(idx, dims: int):
    """(spec, index arrays) for a user index; bool masks become integer index arrays."""
    items = idx if isinstance(idx, tuple) else (idx,)
    spec, arrays = [], []
    for it in items:
        if isinstance(it, Tensor):
            it = it.array if not is_gpu(it.array) else \
                np.asarray(it.numpy(force=True))
        if isinstance(it, builtins.slice):
            if it.step is not None and int(it.step) <= 0:
                raise ValueError("step must be greater than zero")
            spec.append(("s", None if it.start is None else int(it.start),
                         None if it.stop is None else int(it.stop),
                         None if it.step is None else int(it.step)))
        elif it is Ellipsis:
            spec.append("...")
        elif it is None:
            spec.append(None)
        elif isinstance(it, (bool, np.bool_)):
            if not it:
                raise IndexError("compat: indexing with the constant False is not supported")
            spec.append(None)  # x[True] adds a dimension, as x[None]
        elif isinstance(it, (int, np.integer)):
            spec.append(int(it))
        else:
            a = it if isinstance(it, np.ndarray) or not isinstance(it, (list, tuple)) \
                else np.asarray(unwrap_list(it))
            if isinstance(a, np.ndarray) and a.dtype == np.bool_:
                for nz in np.nonzero(a):
                    arrays.append(nz.astype(np.int64))
                    spec.append(("a", len(arrays) - 1))
                continue
            if isinstance(a, np.ndarray) and a.dtype.kind not in "iu":
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
            arrays.append(a if not isinstance(a, np.ndarray) else a.astype(np.int64, copy=False))
            spec.append(("a", len(arrays) - 1))
    return tuple(spec), arrays


def unwrap_list(x):
    if isinstance(x, Tensor):
        return x.numpy(force=True)
    if isinstance(x, (list, tuple)):
        return [unwrap_list(e) for e in x]
    return x


def decode(spec, arrays) -> tuple:
    out = []
    for s in spec:
        if s == "...":
            out.append(Ellipsis)
        elif isinstance(s, tuple) and s[0] == "s":
            out.append(builtins.slice(s[1], s[2], s[3]))
        elif isinstance(s, tuple) and s[0] == "a":
            out.append(arrays[s[1]])
        else:
            out.append(s)
    return tuple(out)


def is_basic(spec) -> bool:
    return builtins.all(not (isinstance(s, tuple) and s[0] == "a") for s in spec)


def getitem_fn(x, *arrays, spec):
    return fnp.getitem(x, decode(spec, arrays))


def getitem_numpy(x, *arrays, spec):
    return x[decode(spec, arrays)]


slice_view_op = Op(getitem_fn, "Slice", view_fn=getitem_numpy)
index_op = Op(getitem_fn, "Index")


def getitem(self: Tensor, idx) -> Tensor:
    """``self[idx]``: a view for ints/slices/None/Ellipsis, a copy for tensor, list or
    mask indices.

    >>> compat.tensor([[1, 2], [3, 4]])[:, 1]
    tensor([2, 4])
    """
    spec, arrays = encode(idx, self.dim())
    try:
        if is_basic(spec):
            return slice_view_op(self, spec=spec)
        return index_op(self, *arrays, spec=spec)
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {list(self.array.shape)})") from None


def setitem_fn(x, v, *arrays, spec):
    return fnp.at(x)[decode(spec, arrays)].set(fnp.astype(v, x.dtype))


index_put_op = Op(setitem_fn, "IndexPut")


def setitem(self: Tensor, idx, value) -> None:
    """``self[idx] = value`` in place (``value`` broadcast and converted to this dtype).

    >>> x = compat.zeros(3); x[1:] = 5; x
    tensor([0., 5., 5.])
    """
    spec, arrays = encode(idx, self.dim())
    v = value if isinstance(value, Tensor) else wrap(own(np.asarray(unwrap_list(value))))
    if needs_graph(self, v):
        check_inplace(self)
        result = index_put_op(snapshot(self), v, *arrays, spec=spec)
        assign(self, result)
        return
    check_inplace(self)
    a = self.array
    if isinstance(a, np.ndarray) and isinstance(v.array, np.ndarray):
        try:
            a[decode(spec, arrays)] = v.array
        except (ValueError, IndexError) as e:
            raise type(e)(f"{e} (assigning a value of shape {list(v.array.shape)} into a "
                          f"tensor of shape {list(a.shape)})") from None
    else:
        self.array = setitem_fn(a, v.array, *arrays, spec=spec)
    self.version[0] += 1


def index_put_fn(x, v, *arrays, spec, accumulate):
    ref = fnp.at(x)[decode(spec, arrays)]
    v = fnp.astype(v, x.dtype)
    return ref.add(v) if accumulate else ref.set(v)


index_put_acc_op = Op(index_put_fn, "IndexPut")


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """``input`` with ``input[indices] = values`` (or ``+=`` with ``accumulate``; repeated
    indices then add up), out of place.

    >>> compat.zeros(3).index_put((compat.tensor([0, 0]),), compat.tensor(1.0),
    ...                           accumulate=True)
    tensor([2., 0., 0.])
    """
    spec, arrays = encode(tuple(indices), input.dim())
    v = values if isinstance(values, Tensor) else wrap(own(np.asarray(values)))
    return index_put_acc_op(input, v, *arrays, spec=spec, accumulate=bool(accumulate))


def index_put_(self: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``."""
    return inplace(self, lambda t: index_put(t, indices, values, accumulate), values)


# --------------------------------------------------------------------------- gather/scatter


def coords(index_shape, dim, idx):
    """Full coordinates for ``x.at[...]`` from a gather/scatter ``index`` along ``dim``."""
    nd = len(index_shape)
    out = []
    for d in range(nd):
        if d == dim:
            out.append(idx)
        else:
            shape = [1] * nd
            shape[d] = index_shape[d]
            out.append(np.arange(index_shape[d]).reshape(shape))
    return tuple(out)


def gather_fn(x, idx, dim):
    return fnp.getitem(x, coords(idx.shape, dim, idx))


gather_op = Op(gather_fn, "Gather")


def check_index(input: Tensor, dim: int, index: Tensor, name: str) -> int:
    d = wrap_dim(dim, input.dim())
    if index.dim() != input.dim() and not (index.dim() <= 1 and input.dim() <= 1):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input "
                           f"tensor ({name}: index {list(index.array.shape)}, input "
                           f"{list(input.array.shape)})")
    if index.array.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    return d


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index``:
    ``out[i][j] = input[index[i][j]][j]`` for ``dim=0``.

    >>> compat.gather(compat.tensor([[1, 2], [3, 4]]), 1, compat.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    d = check_index(input, dim, index, "gather")
    return gather_op(input, index, dim=d)


def scatter_fn(x, idx, src, dim, reduce):
    if not isinstance(src, (int, float, bool)):
        if fnp.ndim(src) > 0:  # the part of src the index covers
            src = fnp.getitem(src, tuple(builtins.slice(0, n) for n in idx.shape))
        src = fnp.astype(src, x.dtype)
    ref = fnp.at(x)[coords(idx.shape, dim, idx)]
    if reduce is None:
        return ref.set(src)
    if reduce in ("add", "sum"):
        return ref.add(src)
    if reduce in ("multiply", "prod"):
        return ref.multiply(src)
    if reduce == "amax":
        return ref.max(src)
    if reduce == "amin":
        return ref.min(src)
    raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")


scatter_op = Op(scatter_fn, "Scatter")


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """``input`` with values from ``src`` (or the number ``value``) written at ``index``
    along ``dim``: ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``; ``reduce`` "add" or
    "multiply" combines instead.

    >>> compat.zeros(3).scatter(0, compat.tensor([2, 0]), compat.tensor([5.0, 7.0]))
    tensor([7., 0., 5.])
    """
    d = check_index(input, dim, index, "scatter")
    if src is None:
        src = value
    if isinstance(src, Tensor):
        return scatter_op(input, index, src, dim=d, reduce=reduce)
    return scatter_op(input, index, np.asarray(src, input.array.dtype), dim=d, reduce=reduce)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``scatter`` that adds: repeated indices accumulate.

    >>> compat.zeros(2).scatter_add(0, compat.tensor([1, 1]), compat.tensor([1.0, 2.0]))
    tensor([0., 3.])
    """
    return scatter(input, dim, index, src, reduce="add")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """``scatter`` combining with ``reduce`` ("sum", "prod", "amax", "amin", "mean").

    >>> src = compat.tensor([1.0, 5.0, 2.0])
    >>> compat.zeros(2).scatter_reduce(0, compat.tensor([0, 0, 1]), src, "amax")
    tensor([5., 2.])
    """
    d = check_index(input, dim, index, "scatter_reduce")
    base = input
    if not include_self:
        ident = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
        base = scatter(input, d, index, value=ident)
    if reduce == "mean":
        total = scatter_op(base, index, src, dim=d, reduce="sum")
        count = scatter_op(wrap(np.ones(input.array.shape, input.array.dtype)) if include_self
                           else wrap(np.zeros(input.array.shape, input.array.dtype)), index,
                           np.ones(index.array.shape, input.array.dtype), dim=d, reduce="sum")
        count.array = np.maximum(count.array, 1)
        res = total / count
        return res if input.array.dtype.kind == "f" else res.floor().to(input.dtype)
    return scatter_op(base, index, src, dim=d, reduce=reduce)


def index_select_fn(x, idx, dim):
    return fnp.take(x, idx, axis=dim)


index_select_op = Op(index_select_fn, "IndexSelect")


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` along ``dim`` at the 1-d ``index``.

    >>> compat.tensor([[1, 2], [3, 4]]).index_select(0, compat.tensor([1]))
    tensor([[3, 4]])
    """
    if index.dim() > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    return index_select_op(input, index.reshape(-1), dim=wrap_dim(dim, input.dim()))


def index_update_fn(x, idx, src, dim, mode, alpha):
    pos = (builtins.slice(None),) * dim + (idx,)
    ref = fnp.at(x)[pos]
    if mode == "add":
        return ref.add(fnp.multiply(src, alpha) if alpha != 1 else src)
    return ref.set(fnp.astype(src, x.dtype))


index_update_op = Op(index_update_fn, "IndexUpdate")


def index_add(input: Tensor, dim: int, index: Tensor, source, *, alpha=1) -> Tensor:
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (repeats add up).

    >>> compat.zeros(3).index_add(0, compat.tensor([0, 0]), compat.tensor([1.0, 2.0]))
    tensor([3., 0., 0.])
    """
    return index_update_op(input, index, source, dim=wrap_dim(dim, input.dim()), mode="add",
                           alpha=alpha)


def index_copy(input: Tensor, dim: int, index: Tensor, source) -> Tensor:
    """``input`` with ``source``'s slices copied to ``index`` along ``dim``.

    >>> compat.zeros(3).index_copy(0, compat.tensor([2]), compat.tensor([5.0]))
    tensor([0., 0., 5.])
    """
    return index_update_op(input, index, source, dim=wrap_dim(dim, input.dim()), mode="set",
                           alpha=1)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """``input`` with ``value`` at ``index`` along ``dim``.

    >>> compat.zeros(3).index_fill(0, compat.tensor([0, 2]), 1.5)
    tensor([1.5000, 0.0000, 1.5000])
    """
    v = value if isinstance(value, Tensor) else np.asarray(value, input.array.dtype)
    return index_update_op(input, index, v, dim=wrap_dim(dim, input.dim()), mode="set",
                           alpha=1)


def masked_fill_fn(x, mask, value):
    return fnp.where(mask, fnp.astype(value, x.dtype), x)


masked_fill_op = Op(masked_fill_fn, "MaskedFill")


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a number or 0-d tensor) where the bool ``mask`` is true.

    >>> compat.zeros(3).masked_fill(compat.tensor([True, False, True]), 1.5)
    tensor([1.5000, 0.0000, 1.5000])
    """
    if mask.array.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype}")
    v = value if isinstance(value, Tensor) else np.asarray(value, input.array.dtype)
    return masked_fill_op(input, mask, v)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is true, as a 1-d tensor.

    >>> compat.tensor([1, 2, 3]).masked_select(compat.tensor([True, False, True]))
    tensor([1, 3])
    """
    shape = np.broadcast_shapes(input.array.shape, mask.array.shape)
    x = input.expand(shape) if tuple(input.array.shape) != shape else input
    m = np.broadcast_to(np.asarray(mask.numpy(force=True)), shape)
    return getitem(x, wrap(np.ascontiguousarray(m)))


def take_fn(x, idx):
    return fnp.take(fnp.ravel(x), idx)


take_op = Op(take_fn, "Take")


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (shaped like ``index``).

    >>> compat.take(compat.tensor([[1, 2], [3, 4]]), compat.tensor([0, 3]))
    tensor([1, 4])
    """
    return take_op(input, index)


def take_along_fn(x, idx, dim):
    return fnp.take_along_axis(x, idx, axis=dim)


take_along_op = Op(take_along_fn, "TakeAlongDim")


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Values at ``indices`` along ``dim`` (broadcasting the other dims); flattened when
    ``dim`` is None.

    >>> compat.take_along_dim(compat.tensor([[10, 20], [30, 40]]), compat.tensor([[1], [0]]), 1)
    tensor([[20],
            [30]])
    """
    if dim is None:
        return take(input, indices.reshape(-1))
    return take_along_op(input, indices, dim=wrap_dim(dim, input.dim()))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the nonzero elements: an (N, ndim) int64 tensor, or a tuple of 1-d
    tensors with ``as_tuple``. Data-dependent, so computed eagerly.

    >>> compat.tensor([0, 3, 0, 4]).nonzero()
    tensor([[1],
            [3]])
    """
    nz = np.nonzero(np.atleast_1d(input.numpy(force=True)))
    if as_tuple:
        return tuple(wrap(np.ascontiguousarray(i.astype(np.int64))) for i in nz)
    return wrap(np.ascontiguousarray(np.stack(nz, axis=-1).astype(np.int64)))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the (N, ndim) indices of nonzero elements.

    >>> compat.argwhere(compat.tensor([[0, 1], [2, 0]]))
    tensor([[0, 1],
            [1, 0]])
    """
    return nonzero(input)


def inplace_variant(fn):
    """``x.fn_(...)``: ``fn`` written into ``x``."""

    def method(self, *args, **kwargs):
        return inplace(self, lambda t: fn(t, *args, **kwargs), *args, *kwargs.values())

    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


scatter_ = inplace_variant(scatter)
scatter_add_ = inplace_variant(scatter_add)
scatter_reduce_ = inplace_variant(scatter_reduce)
index_add_ = inplace_variant(index_add)
index_copy_ = inplace_variant(index_copy)
index_fill_ = inplace_variant(index_fill)
masked_fill_ = inplace_variant(masked_fill)

__all__ = [
    "argwhere", "gather", "index_add", "index_copy", "index_fill", "index_put",
    "index_select", "masked_fill", "masked_select", "nonzero", "scatter", "scatter_add",
    "scatter_reduce", "take", "take_along_dim",
]
