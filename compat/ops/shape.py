"""Shape operations: views (``view``, ``reshape``, ``permute``, ``transpose``, ``unsqueeze``,
``squeeze``, ``expand``, ``movedim``, ``narrow``, ``unbind``, ``split``/``chunk``) and copies
(``cat``, ``stack``, ``flatten``, ``repeat``, ``flip``, ``roll``, ``tril``/``triu``...).

Views are numpy views of their input for concrete arrays, so they share memory (and the
version counter) with it as in PyTorch; their ``fn`` (a ``functorch_lite.numpy`` function)
defines them for tracing and for the VJP.

>>> x = compat.arange(6).view(2, 3)
>>> x.t().shape, compat.cat([x, x], dim=1).shape
(torch.Size([3, 2]), torch.Size([2, 6]))
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence

import numpy as np

import functorch_lite.numpy as fnp

from ..tensor import Size, Tensor, wrap_dim
from .dispatch import Op

# --------------------------------------------------------------------------- helpers


def sizes_arg(args) -> tuple:
    """Sizes given as ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(torch.Size(...))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = args[0]
    return tuple(int(s) for s in args)


def infer_shape(shape: tuple, numel: int, op: str, old_shape) -> tuple:
    """``shape`` with its one ``-1`` resolved; PyTorch's error when it does not fit."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {tuple(old_shape)})")
    return shape


def dims_arg(dims, ndim: int) -> tuple:
    return tuple(wrap_dim(int(d), ndim) for d in dims)


# --------------------------------------------------------------------------- views


def reshape_fn(x, shape):
    return fnp.reshape(x, shape)


def view_numpy(x, shape):
    v = x.view()
    try:
        v.shape = shape
    except AttributeError:
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (at least one "
            f"dimension spans across two contiguous subspaces): input shape {x.shape}, "
            f"requested {shape}. Use .reshape(...) instead.") from None
    return v


view_op = Op(reshape_fn, "View", view_fn=view_numpy)
reshape_op = Op(reshape_fn, "UnsafeView")  # the copying reshape of non-contiguous data


def view(input: Tensor, *shape) -> Tensor:
    """A view of ``input`` with another shape (one size may be -1); it shares memory, so
    the data must be laid out compatibly (``reshape`` copies when it is not).

    >>> compat.arange(6).view(2, -1)
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list, Size)):
        return input.to(shape[0])  # view(dtype) reinterprets in PyTorch; converting is rarer
    s = infer_shape(sizes_arg(shape), input.numel(), "view", input.array.shape)
    return view_op(input, shape=s)


def reshape(input: Tensor, *shape) -> Tensor:
    """``input`` with another shape (one size may be -1): a view when the memory layout
    allows, else a copy.

    >>> compat.reshape(compat.arange(4), (2, 2)).shape
    torch.Size([2, 2])
    """
    a = input.array
    s = infer_shape(sizes_arg(shape), input.numel(), "reshape", a.shape)
    if not isinstance(a, np.ndarray) or a.flags.c_contiguous or s == a.shape:
        return view_op(input, shape=s)
    return reshape_op(input, shape=s)


def permute_fn(x, dims):
    return fnp.transpose(x, dims)


def permute_numpy(x, dims):
    return x.transpose(dims)


permute_op = Op(permute_fn, "Permute", view_fn=permute_numpy)
transpose_op = Op(permute_fn, "Transpose", view_fn=permute_numpy)


def permute(input: Tensor, *dims) -> Tensor:
    """A view with the dimensions reordered: output dim ``i`` is input dim ``dims[i]``.

    >>> compat.zeros(2, 3, 4).permute(2, 0, 1).shape
    torch.Size([4, 2, 3])
    """
    nd = input.dim()
    d = dims_arg(sizes_arg(dims), nd)
    if sorted(d) != list(range(nd)):
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(d)}"
                           if len(d) != nd else f"permute: repeated dim in {list(dims)}")
    return permute_op(input, dims=d)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with dimensions ``dim0`` and ``dim1`` swapped.

    >>> compat.zeros(2, 3).transpose(0, 1).shape
    torch.Size([3, 2])
    """
    nd = input.dim()
    if nd == 0:
        return view_op(input, shape=())
    a, b = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    perm = list(range(nd))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose_op(input, dims=tuple(perm))


def t(input: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dimensions.

    >>> compat.zeros(2, 3).t().shape
    torch.Size([3, 2])
    """
    if input.dim() > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.dim()}D")
    return transpose(input, 0, -1) if input.dim() == 2 else view_op(input,
                                                                     shape=input.array.shape)


def movedim(input: Tensor, source, destination) -> Tensor:
    """A view with dims ``source`` moved to positions ``destination`` (ints or sequences).

    >>> compat.zeros(2, 3, 4).movedim(0, -1).shape
    torch.Size([3, 4, 2])
    """
    nd = input.dim()
    src = dims_arg(source if isinstance(source, Sequence) else (source,), nd)
    dst = dims_arg(destination if isinstance(destination, Sequence) else (destination,), nd)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute_op(input, dims=tuple(order))


moveaxis = movedim


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A view with a size-1 dimension inserted at ``dim``.

    >>> compat.zeros(3).unsqueeze(0).shape
    torch.Size([1, 3])
    """
    s = list(input.array.shape)
    s.insert(wrap_dim(dim, len(s) + 1), 1)
    return view_op(input, shape=tuple(s))


def squeeze(input: Tensor, dim=None) -> Tensor:
    """A view without size-1 dimensions (only ``dim``, an int or tuple, when given).

    >>> compat.zeros(1, 3, 1).squeeze().shape, compat.zeros(1, 3, 1).squeeze(0).shape
    (torch.Size([3]), torch.Size([3, 1]))
    """
    s = input.array.shape
    if dim is None:
        new = tuple(n for n in s if n != 1)
    else:
        dims = set(dims_arg(dim if isinstance(dim, (tuple, list)) else (dim,), len(s)))
        new = tuple(n for i, n in enumerate(s) if not (i in dims and n == 1))
    return view_op(input, shape=new)


def broadcast_fn(x, shape):
    return fnp.broadcast_to(x, shape)


def broadcast_numpy(x, shape):
    return np.broadcast_to(x, shape)


expand_op = Op(broadcast_fn, "Expand", view_fn=broadcast_numpy)


def expand(input: Tensor, *sizes) -> Tensor:
    """A broadcast view to ``sizes`` (-1 keeps a dimension); no memory is copied.

    >>> compat.tensor([[1], [2]]).expand(2, 3)
    tensor([[1, 1, 1],
            [2, 2, 2]])
    """
    sizes = sizes_arg(sizes)
    s = input.array.shape
    if len(sizes) < len(s):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                           f"greater or equal to the number of dimensions in the tensor "
                           f"({len(s)})")
    lead = len(sizes) - len(s)
    new = tuple(s[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    for i, n in enumerate(s):
        if n != 1 and new[lead + i] != n:
            raise RuntimeError(f"The expanded size of the tensor ({new[lead + i]}) must match "
                               f"the existing size ({n}) at non-singleton dimension {lead + i}."
                               f"  Target sizes: {list(sizes)}.  Tensor sizes: {list(s)}")
    return expand_op(input, shape=new)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.size())``.

    >>> compat.tensor([[1], [2]]).expand_as(compat.zeros(2, 3))
    tensor([[1, 1, 1],
            [2, 2, 2]])
    """
    return expand(input, other.array.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    """``input.expand(size)`` (``torch.broadcast_to``).

    >>> compat.broadcast_to(compat.tensor([1, 2]), (2, 2))
    tensor([[1, 2],
            [1, 2]])
    """
    return expand(input, tuple(size))


def slice_fn(x, dim, start, stop, step):
    idx = (builtins.slice(None),) * dim + (builtins.slice(start, stop, step),)
    return fnp.getitem(x, idx)


def slice_numpy(x, dim, start, stop, step):
    return x[(builtins.slice(None),) * dim + (builtins.slice(start, stop, step),)]


slice_op = Op(slice_fn, "Slice", view_fn=slice_numpy)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A view of ``length`` elements of dimension ``dim`` from ``start``.

    >>> compat.arange(5).narrow(0, 1, 3)
    tensor([1, 2, 3])
    """
    d = wrap_dim(dim, input.dim())
    n = input.array.shape[d]
    start = int(start) + (n if start < 0 else 0)
    if not 0 <= start <= n or start + length > n or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return slice_op(input, dim=d, start=start, stop=start + int(length), step=1)


def split_fn(x, dim, bounds):
    return tuple(slice_fn(x, dim, lo, hi, 1) for lo, hi in bounds)


def split_numpy(x, dim, bounds):
    return tuple(slice_numpy(x, dim, lo, hi, 1) for lo, hi in bounds)


split_op = Op(split_fn, "Split", multi=True, view_fn=split_numpy)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into chunks of ``split_size_or_sections`` elements along ``dim`` (the last may
    be smaller), or into pieces of the listed sizes. The pieces are views.

    >>> [p.tolist() for p in compat.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    """
    d = wrap_dim(dim, tensor.dim())
    n = tensor.array.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        k = int(split_size_or_sections)
        if k <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [k] * (n // k) + ([n % k] if n % k else []) if k else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    bounds, lo = [], 0
    for s in sizes:
        bounds.append((lo, lo + s))
        lo += s
    return split_op(tensor, dim=d, bounds=tuple(bounds))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of ``ceil(n / chunks)`` elements (fewer pieces when the
    size does not allow that many).

    >>> [p.shape[0] for p in compat.zeros(5).chunk(3)]
    [2, 2, 1]
    """
    n = input.array.shape[wrap_dim(dim, input.dim())]
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    return split(input, max(-(-n // chunks), 1) if n else 1, dim)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``n`` nearly equal pieces (an int) or at the given indices.

    >>> [t.tolist() for t in compat.tensor_split(compat.arange(5), 2)]
    [[0, 1, 2], [3, 4]]
    """
    d = wrap_dim(dim, input.dim())
    n = input.array.shape[d]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
    else:
        idx = [0] + [min(int(i), n) for i in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(idx, idx[1:])]
    return split(input, sizes, d)


def unbind_fn(x, dim, n):
    return tuple(fnp.take(x, i, axis=dim) for i in range(n))


def unbind_numpy(x, dim, n):
    return tuple(x[(builtins.slice(None),) * dim + (i,)] for i in range(n))


unbind_op = Op(unbind_fn, "Unbind", multi=True, view_fn=unbind_numpy)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, as views, with that dimension removed.

    >>> compat.tensor([[1, 2], [3, 4]]).unbind(1)
    (tensor([1, 3]), tensor([2, 4]))
    """
    d = wrap_dim(dim, input.dim())
    return unbind_op(input, dim=d, n=input.array.shape[d])


def select_fn(x, dim, index):
    return fnp.take(x, index, axis=dim)


def select_numpy(x, dim, index):
    return x[(builtins.slice(None),) * dim + (index,)]


select_op = Op(select_fn, "Select", view_fn=select_numpy)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view ``input[..., index, ...]`` (``index`` on dimension ``dim``).

    >>> compat.tensor([[1, 2], [3, 4]]).select(1, 0)
    tensor([1, 3])
    """
    d = wrap_dim(dim, input.dim())
    n = input.array.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.array.shape)} at dimension {dim}")
    return select_op(input, dim=d, index=int(index) % n)


def diagonal_fn(x, offset, dim1, dim2):
    return fnp.diagonal(x, offset, dim1, dim2)


def diagonal_numpy(x, offset, dim1, dim2):
    return np.diagonal(x, offset, dim1, dim2)


diagonal_op = Op(diagonal_fn, "Diagonal", view_fn=diagonal_numpy)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of dims ``dim1``/``dim2`` (moved last), as a view.

    >>> compat.eye(2).diagonal()
    tensor([1., 1.])
    """
    nd = input.dim()
    return diagonal_op(input, offset=int(offset), dim1=wrap_dim(dim1, nd),
                       dim2=wrap_dim(dim2, nd))


# --------------------------------------------------------------------------- copies


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``input`` with dims ``start_dim..end_dim`` merged into one (a view when possible).

    >>> compat.zeros(2, 3, 4).flatten(1).shape
    torch.Size([2, 12])
    """
    s = input.array.shape
    if not s:
        return reshape(input, (1,))
    a, b = wrap_dim(start_dim, len(s)), wrap_dim(end_dim, len(s))
    if a > b:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    new = s[:a] + (math.prod(s[a:b + 1]),) + s[b + 1:]
    return reshape(input, new)


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """``input`` with dimension ``dim`` split into ``sizes`` (one may be -1).

    >>> compat.zeros(2, 6).unflatten(1, (2, 3)).shape
    torch.Size([2, 2, 3])
    """
    s = input.array.shape
    d = wrap_dim(dim, len(s))
    inner = infer_shape(tuple(int(x) for x in sizes), s[d], "unflatten", s)
    return reshape(input, s[:d] + inner + s[d + 1:])


def ravel(input: Tensor) -> Tensor:
    """The elements as one dimension.

    >>> compat.ravel(compat.tensor([[1, 2], [3, 4]]))
    tensor([1, 2, 3, 4])
    """
    return reshape(input, (-1,))


def cat_fn(*xs, dim):
    return fnp.concatenate(xs, axis=dim)


cat_op = Op(cat_fn, "Cat")


def cat(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate tensors along an existing dimension ``dim`` (empty 1-d tensors are
    skipped, as in PyTorch).

    >>> compat.cat([compat.zeros(2), compat.ones(1)])
    tensor([0., 0., 1.])
    """
    ts = [x for x in tensors if not (isinstance(x, Tensor) and x.array.shape == (0,))] or \
        list(tensors)[:1]
    if not ts:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    nd = len(np.shape(ts[0].array if isinstance(ts[0], Tensor) else ts[0]))
    for x in ts:
        xs = x.array.shape if isinstance(x, Tensor) else np.shape(x)
        if len(xs) != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and "
                               f"{len(xs)}")
    res = cat_op(*ts, dim=wrap_dim(dim, nd))
    return res if out is None else out.copy_(res)


concat = concatenate = cat


def stack_fn(*xs, dim):
    return fnp.stack(xs, axis=dim)


stack_op = Op(stack_fn, "Stack")


def stack(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join same-shape tensors along a new dimension ``dim``.

    >>> compat.stack([compat.zeros(2), compat.ones(2)]).shape
    torch.Size([2, 2])
    """
    ts = list(tensors)
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    shapes = [tuple(np.shape(x.array if isinstance(x, Tensor) else x)) for x in ts]
    for i, s in enumerate(shapes):
        if s != shapes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shapes[0])} at entry 0 and {list(s)} at entry {i}")
    res = stack_op(*ts, dim=wrap_dim(dim, len(shapes[0]) + 1))
    return res if out is None else out.copy_(res)


def hstack(tensors) -> Tensor:
    """Concatenate along dim 0 for 1-d tensors, dim 1 otherwise.

    >>> compat.hstack([compat.tensor([1, 2]), compat.tensor([3])])
    tensor([1, 2, 3])
    """
    ts = [atleast_1d(x) for x in tensors]
    return cat(ts, 0 if ts[0].dim() == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0 after making each tensor at least 2-d.

    >>> compat.vstack([compat.tensor([1, 2]), compat.tensor([3, 4])])
    tensor([[1, 2],
            [3, 4]])
    """
    return cat([atleast_2d(x) for x in tensors], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Concatenate along dim 2 after making each tensor at least 3-d.

    >>> compat.dstack([compat.ones(2, 2), compat.zeros(2, 2)]).shape
    torch.Size([2, 2, 2])
    """
    ts = []
    for x in tensors:
        x = atleast_2d(x)
        ts.append(unsqueeze(x, -1) if x.dim() == 2 else x)
    return cat(ts, 2)


def column_stack(tensors) -> Tensor:
    """Stack 1-d tensors as columns (2-d ones are concatenated along dim 1).

    >>> compat.column_stack([compat.tensor([1, 2]), compat.tensor([3, 4])])
    tensor([[1, 3],
            [2, 4]])
    """
    return cat([x.reshape(-1, 1) if x.dim() <= 1 else x for x in tensors], 1)


def atleast_1d(x: Tensor) -> Tensor:
    return reshape(x, (1,)) if x.dim() == 0 else x


def atleast_2d(x: Tensor) -> Tensor:
    x = atleast_1d(x)
    return unsqueeze(x, 0) if x.dim() == 1 else x


def atleast_3d(x: Tensor) -> Tensor:
    x = atleast_2d(x)
    return unsqueeze(x, -1) if x.dim() == 2 else x


def tile_fn(x, reps):
    return fnp.tile(x, reps)


repeat_op = Op(tile_fn, "Repeat")


def repeat(input: Tensor, *sizes) -> Tensor:
    """``input`` repeated ``sizes[i]`` times along each dim (new leading dims allowed).

    >>> compat.tensor([1, 2]).repeat(2)
    tensor([1, 2, 1, 2])
    """
    reps = sizes_arg(sizes)
    if len(reps) < input.dim():
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    return repeat_op(input, reps=reps)


def tile(input: Tensor, dims) -> Tensor:
    """``input`` repeated along each dim (``dims`` shorter than ndim pads with 1s).

    >>> compat.tile(compat.tensor([1, 2]), (2,))
    tensor([1, 2, 1, 2])
    """
    reps = tuple(int(d) for d in dims)
    reps = (1,) * (input.dim() - len(reps)) + reps
    return repeat_op(input, reps=reps)


def repeat_interleave_fn(x, repeats, dim):
    return fnp.repeat(x, repeats, axis=dim)


repeat_interleave_op = Op(repeat_interleave_fn, "RepeatInterleave")


def repeat_interleave(input: Tensor, repeats, dim: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times (an int or one count per element) along
    ``dim`` (the flattened input when None).

    >>> compat.tensor([1, 2]).repeat_interleave(2)
    tensor([1, 1, 2, 2])
    """
    if isinstance(repeats, Tensor):
        repeats = repeats.tolist()
    reps = int(repeats) if isinstance(repeats, (int, np.integer)) else tuple(int(r) for r in
                                                                             repeats)
    if dim is None:
        return repeat_interleave_op(reshape(input, (-1,)), repeats=reps, dim=0)
    return repeat_interleave_op(input, repeats=reps, dim=wrap_dim(dim, input.dim()))


def flip_fn(x, dims):
    return fnp.flip(x, dims)


flip_op = Op(flip_fn, "Flip")


def flip(input: Tensor, dims) -> Tensor:
    """``input`` reversed along ``dims`` (a copy, as in PyTorch).

    >>> compat.tensor([1, 2, 3]).flip(0)
    tensor([3, 2, 1])
    """
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return flip_op(input, dims=dims_arg(dims, input.dim()))


def fliplr(input: Tensor) -> Tensor:
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    return flip(input, (0,))


def roll_fn(x, shifts, dims):
    return fnp.roll(x, shifts, dims)


roll_op = Op(roll_fn, "Roll")


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Elements shifted cyclically by ``shifts`` along ``dims`` (flattened when None).

    >>> compat.tensor([1, 2, 3]).roll(1)
    tensor([3, 1, 2])
    """
    if dims is None:
        return reshape(roll_op(reshape(input, (-1,)), shifts=int(shifts), dims=0),
                       input.array.shape)
    if isinstance(shifts, (int, np.integer)):
        shifts, dims = (int(shifts),), ((dims,) if isinstance(dims, (int, np.integer))
                                        else tuple(dims))
    return roll_op(input, shifts=tuple(int(s) for s in shifts),
                   dims=dims_arg(dims, input.dim()))


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``.

    >>> compat.rot90(compat.tensor([[1, 2], [3, 4]]))
    tensor([[2, 4],
            [1, 3]])
    """
    k %= 4
    a, b = dims
    if k == 1:
        return transpose(flip(input, (b,)), a, b)
    if k == 2:
        return flip(input, (a, b))
    if k == 3:
        return flip(transpose(input, a, b), (b,))
    return input.clone()


def tril_fn(x, k):
    return fnp.tril(x, k)


def triu_fn(x, k):
    return fnp.triu(x, k)


tril_op = Op(tril_fn, "Tril")
triu_op = Op(triu_fn, "Triu")


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (below and on diagonal ``diagonal``) of the last two dims.

    >>> compat.ones(2, 2).tril()
    tensor([[1., 0.],
            [1., 1.]])
    """
    return tril_op(input, k=int(diagonal))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (above and on diagonal ``diagonal``) of the last two dims.

    >>> compat.ones(2, 2).triu()
    tensor([[1., 1.],
            [0., 1.]])
    """
    return triu_op(input, k=int(diagonal))


def diag_fn(x, k):
    return fnp.diag(x, k)


diag_op = Op(diag_fn, "Diag")


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 2-d tensor with the 1-d ``input`` on a diagonal, or the diagonal of a 2-d one.

    >>> compat.diag(compat.tensor([1, 2]))
    tensor([[1, 0],
            [0, 2]])
    """
    return diag_op(input, k=int(diagonal))


__all__ = [
    "atleast_1d",
    "broadcast_shapes",
    "broadcast_tensors",
    "meshgrid",
    "atleast_2d",
    "atleast_3d",
    "broadcast_to",
    "cat",
    "chunk",
    "column_stack",
    "concat",
    "concatenate",
    "diag",
    "diagonal",
    "dstack",
    "expand",
    "expand_as",
    "flatten",
    "flip",
    "fliplr",
    "flipud",
    "hstack",
    "moveaxis",
    "movedim",
    "narrow",
    "permute",
    "ravel",
    "repeat",
    "repeat_interleave",
    "reshape",
    "roll",
    "rot90",
    "row_stack",
    "select",
    "split",
    "squeeze",
    "stack",
    "t",
    "tensor_split",
    "tile",
    "transpose",
    "tril",
    "triu",
    "unbind",
    "unflatten",
    "unsqueeze",
    "view",
    "vstack",
]


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-d tensors (``indexing="ij"``: matrix indexing, PyTorch's
    default; ``"xy"``: Cartesian).

    >>> [g.tolist() for g in compat.meshgrid(compat.tensor([1, 2]), compat.tensor([3]))]
    [[[1], [2]], [[3], [3]]]
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    n = len(tensors)
    sizes = [t.numel() for t in tensors]
    if indexing == "xy" and n >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(tensors):
        shape = [1] * n
        axis = i if indexing == "ij" or n < 2 else {0: 1, 1: 0}.get(i, i)
        shape[axis] = t.numel()
        out.append(expand(reshape(t, tuple(shape)), tuple(sizes)))
    return tuple(out)


def broadcast_shapes(*shapes) -> Size:
    """The shape tensors of ``shapes`` broadcast to.

    >>> compat.broadcast_shapes((2, 1), (3,))
    torch.Size([2, 3])
    """
    try:
        return Size(np.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,)
                                          for s in shapes]))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: "
                           f"{[tuple(s) if not isinstance(s, int) else (s,) for s in shapes]}"
                           ) from None


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded (as views) to their common broadcast shape.

    >>> [t.shape for t in compat.broadcast_tensors(compat.zeros(2, 1), compat.zeros(3))]
    [torch.Size([2, 3]), torch.Size([2, 3])]
    """
    shape = broadcast_shapes(*[t.array.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)
