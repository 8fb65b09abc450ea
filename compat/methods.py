"""Tensor methods and operators: installed on ``Tensor`` from the functional vocabulary
(``compat.ops``), so ``x.sin()`` is ``compat.sin(x)`` and ``x + y`` is ``compat.add(x, y)``,
plus the in-place forms (``x.add_(y)``, ``x += y``) and conversions (``to``, ``float``...).

``tensor.py`` holds the data and autograd fields; it cannot import the operations (they
build tensors), so this module, above both, completes the class -- as ``fnp`` installs its
methods on the core's tracers.

>>> x = compat.ones(2)
>>> (x * 3).sum().item(), x.add_(1), x.float().dtype
(6.0, tensor([2., 2.]), torch.float32)
"""

from __future__ import annotations

import numpy as np

import functorch_lite.numpy as fnp
from functorch_lite.placement import is_gpu

from . import device as device_mod
from . import dtypes
from .autograd.engine import tensor_backward
from .ops import creation, indexing, linalg, pointwise, reduction, shape
from .ops.dispatch import Op
from .ops.inplace import check_inplace, inplace, needs_graph
from .random import INPLACE_SAMPLERS, bernoulli, multinomial
from .tensor import Tensor, wrap
from .tensor import tensor as make_tensor

# --------------------------------------------------------------------------- operators


def _reflected(fn):
    def r(self, other):
        return fn(other, self)

    return r


def _operator_table():
    P = pointwise
    return {
        "__add__": P.add_tensors, "__radd__": P.add_tensors, "__sub__": P.sub_tensors,
        "__rsub__": _reflected(P.sub_tensors),
        "__mul__": P.mul, "__rmul__": P.mul, "__truediv__": P.div,
        "__rtruediv__": _reflected(P.div), "__floordiv__": P.floor_divide,
        "__rfloordiv__": _reflected(P.floor_divide), "__mod__": P.remainder,
        "__rmod__": _reflected(P.remainder), "__pow__": P.pow, "__rpow__": _reflected(P.pow),
        "__eq__": P.eq, "__ne__": P.ne, "__lt__": P.lt, "__le__": P.le, "__gt__": P.gt,
        "__ge__": P.ge, "__and__": P.bitwise_and, "__rand__": P.bitwise_and,
        "__or__": P.bitwise_or, "__ror__": P.bitwise_or, "__xor__": P.bitwise_xor,
        "__rxor__": P.bitwise_xor, "__lshift__": P.bitwise_left_shift,
        "__rshift__": P.bitwise_right_shift, "__neg__": P.neg, "__pos__": P.positive,
        "__abs__": P.abs, "__invert__": P.bitwise_not,
    }


# --------------------------------------------------------------------------- in-place


def inplace_method(fn, name: str):
    """``x.name_(*args)``: ``fn(x, *args)`` written into ``x`` (returns ``x``)."""

    def method(self, *args, **kwargs):
        return inplace(self, lambda v: fn(v, *args, **kwargs), *args, *kwargs.values())

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{fn.__name__}``: the result is written into this tensor."
    return method


def shape_inplace(fn, name: str):
    """``x.t_()`` and friends: ``x`` takes the new shape (a view of the same memory)."""

    def method(self, *args):
        v = fn(self, *args)
        self.array = v.array
        if v.grad_fn is not None:
            self.grad_fn, self.output_nr = v.grad_fn, v.output_nr
        return self

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{fn.__name__}`` (this tensor becomes the view)."
    return method


def fill_fn(x, value):
    return fnp.broadcast_to(fnp.astype(value, x.dtype), x.shape)


def fill_(self: Tensor, value) -> Tensor:
    """Fill with ``value`` (a number or a 0-d tensor), in place.

    >>> compat.zeros(2).fill_(3)
    tensor([3., 3.])
    """
    if needs_graph(self, value):
        return inplace(self, lambda v: fill_op(v, value), value)
    check_inplace(self)
    a = self.array
    v = value.item() if isinstance(value, Tensor) else value
    if isinstance(a, np.ndarray) or is_gpu(a):
        a[...] = v  # numpy and CuPy arrays are written in place (tracers are not)
    else:
        self.array = fill_fn(a, v)
    self.version[0] += 1
    return self


def zero_(self: Tensor) -> Tensor:
    """Fill with zeros, in place.

    >>> compat.ones(2).zero_()
    tensor([0., 0.])
    """
    return fill_(self, 0)


def copy_fn(x, src):
    return fnp.broadcast_to(fnp.astype(src, x.dtype), x.shape)


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to this shape, converted to this dtype) into this tensor.

    >>> compat.zeros(2).copy_(compat.tensor([1, 2]))
    tensor([1., 2.])
    """
    if not isinstance(src, Tensor):
        src = wrap(np.asarray(src))
    if needs_graph(self, src):
        return inplace(self, lambda v: copy_op(v, src), src)
    check_inplace(self)
    a, s = self.array, src.array
    if isinstance(a, np.ndarray) or is_gpu(a):
        # copy_ moves data across devices (the one operation PyTorch lets mix them)
        s = device_mod.put(s, device_mod.device_of(a))
        try:
            np.copyto(a, np.broadcast_to(s, a.shape), casting="unsafe")
        except ValueError as e:
            raise RuntimeError(f"copy_: {e} (destination {list(a.shape)}, source "
                               f"{list(np.shape(s))})") from None
    else:
        self.array = copy_fn(a, s)
    self.version[0] += 1
    return self


def fill_op(x, value):
    return FILL(x, value)


def copy_op(x, src):
    return COPY(x, src)


FILL = Op(fill_fn, "Fill")
COPY = Op(copy_fn, "Copy")


# --------------------------------------------------------------------------- conversions

_LEGACY = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
           "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
           "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
           "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor"}
_FROM_LEGACY = {v: k for k, v in _LEGACY.items()}


def legacy_type_name(t: Tensor) -> str:
    """``torch.FloatTensor``-style name of ``t``'s type."""
    name = _LEGACY.get(t.array.dtype.name, "Tensor")
    return f"torch.cuda.{name}" if t.is_cuda else f"torch.{name}"


def type_(self: Tensor, dtype=None, non_blocking: bool = False, **kwargs):
    """With no argument, the legacy type name (``'torch.FloatTensor'``); otherwise this
    tensor converted to ``dtype`` (a dtype, a legacy type or its name).

    >>> t = compat.tensor([1.5]); t.type(), t.type(compat.long)
    ('torch.FloatTensor', tensor([1]))
    """
    if dtype is None:
        return legacy_type_name(self)
    if isinstance(dtype, str) and dtype.rpartition(".")[2] in _FROM_LEGACY:
        cuda = ".cuda." in dtype
        t = pointwise.to_dtype(self, _FROM_LEGACY[dtype.rpartition(".")[2]])
        return to(t, "cuda") if cuda else t
    np_dtype = getattr(dtype, "legacy_dtype", None)
    return pointwise.to_dtype(self, np_dtype if np_dtype is not None else dtype)


def parse_to(args, kwargs):
    """(device, dtype, copy) from ``to``'s many signatures."""
    dev = kwargs.pop("device", None)
    dt = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif isinstance(a, dtypes.dtype) or (isinstance(a, type) and a in (float, int, bool)):
            dt = a
        elif isinstance(a, (str, device_mod.device, int)) and not isinstance(a, bool):
            dev = a
        elif isinstance(a, bool):
            continue  # non_blocking passed by position
        elif a is not None:
            dt = a  # numpy dtypes
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    return dev, dt, copy


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """This tensor on another device and/or with another dtype: ``to("cpu")``,
    ``to(compat.float64)``, ``to(device, dtype)``, ``to(other_tensor)``. Returns ``self``
    when nothing changes (unless ``copy=True``).

    >>> compat.tensor([1, 2]).to(compat.float32)
    tensor([1., 2.])
    """
    dev, dt, copy = parse_to(args, dict(kwargs))
    t = self
    if dt is not None:
        t = pointwise.to_dtype(t, dt)
    if dev is not None:
        d = device_mod.canonical(dev)
        if not device_mod.holds(d, t.array):
            t = move(t, d)
    if copy and t is self:
        t = pointwise.clone(t)
    return t


def move(t: Tensor, d) -> Tensor:
    """``t`` on device ``d``; gradients flow back to ``t`` (a copy, as PyTorch's)."""
    moved = wrap(device_mod.put(t.array, d))
    if needs_graph(t):
        moved = pointwise.clone(t)  # the graph edge; moving data is the identity to autograd
        moved.array = device_mod.put(moved.array, d)
    return moved


def cpu(self: Tensor, memory_format=None) -> Tensor:
    """This tensor on the CPU (``self`` when it is there)."""
    return to(self, "cpu")


def cuda(self: Tensor, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
    """This tensor on a CUDA device (PyTorch's error when no GPU is available)."""
    return to(self, "cuda" if device is None else device_mod.device("cuda", device)
              if isinstance(device, int) else device)


def _converter(dt, name):
    def conv(self, memory_format=None):
        return pointwise.to_dtype(self, dt)

    conv.__name__ = conv.__qualname__ = name
    conv.__doc__ = f"This tensor as ``{dt}`` (``self`` when it already is)."
    return conv


def type_as(self: Tensor, other: Tensor) -> Tensor:
    """This tensor with ``other``'s dtype."""
    return pointwise.to_dtype(self, other.array.dtype)


def contiguous(self: Tensor, memory_format=None) -> Tensor:
    """``self`` if its memory is C-contiguous, else a contiguous copy (in the graph)."""
    a = self.array
    if not isinstance(a, np.ndarray) or a.flags.c_contiguous:
        return self
    return pointwise.clone(self)


def new_tensor(self: Tensor, data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor from ``data`` with this tensor's dtype and device by default."""
    return make_tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def _new_factory(factory, name):
    def new(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        return factory(*size, dtype=dtype or self.dtype, device=device or self.device,
                       requires_grad=requires_grad)

    new.__name__ = new.__qualname__ = name
    new.__doc__ = f"``compat.{factory.__name__}`` with this tensor's dtype and device."
    return new


def new_full(self: Tensor, size, fill_value, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """``compat.full`` with this tensor's dtype and device."""
    return creation.full(size, fill_value, dtype=dtype or self.dtype,
                         device=device or self.device, requires_grad=requires_grad)


def is_set_to(self: Tensor, other: Tensor) -> bool:
    return self.array is other.array


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (of a 2-d tensor, or of all dims equal) in place."""
    n = min(self.array.shape)
    idx = (creation.arange(n),) * self.dim()
    self[idx] = fill_value
    return self


def apply_(self: Tensor, callable) -> Tensor:
    """Apply a Python function to each element in place (CPU, no autograd; slow, as in
    PyTorch)."""
    a = self.numpy(force=True)
    a[...] = np.vectorize(callable, otypes=[a.dtype])(a)
    self.version[0] += 1
    return self


def legacy_new(self: Tensor, *args, **kwargs) -> Tensor:
    """``x.new(data)`` / ``x.new(*sizes)``: a tensor of this dtype and device (legacy)."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return make_tensor(args[0], dtype=self.dtype, device=self.device)
    return creation.empty(*args, dtype=self.dtype, device=self.device)


def iterate(self: Tensor):
    """Iterating a tensor yields its slices along dim 0 (views)."""
    if self.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(shape.unbind(self, 0))


def contains(self: Tensor, element) -> bool:
    """``element in tensor``: whether any element equals it."""
    return bool(reduction.any(pointwise.eq(self, element)).item())


# --------------------------------------------------------------------------- install


def install():
    """Put the operations on ``Tensor`` as methods and operators."""
    T = Tensor
    for name, fn in _operator_table().items():
        setattr(T, name, fn)
    P, S = pointwise, shape
    methods = {
        # pointwise
        "add": P.add, "sub": P.sub, "subtract": P.sub, "mul": P.mul, "multiply": P.mul,
        "div": P.div, "divide": P.div, "true_divide": P.div, "floor_divide": P.floor_divide,
        "remainder": P.remainder, "fmod": P.fmod, "pow": P.pow, "float_power": P.float_power,
        "atan2": P.atan2, "arctan2": P.atan2, "maximum": P.maximum, "minimum": P.minimum,
        "fmax": P.fmax, "fmin": P.fmin, "hypot": P.hypot, "logaddexp": P.logaddexp,
        "xlogy": P.xlogy, "copysign": P.copysign,
        "eq": P.eq, "ne": P.ne, "not_equal": P.ne, "lt": P.lt, "less": P.lt, "le": P.le,
        "less_equal": P.le, "gt": P.gt, "greater": P.gt, "ge": P.ge, "greater_equal": P.ge,
        "logical_and": P.logical_and, "logical_or": P.logical_or,
        "logical_xor": P.logical_xor, "logical_not": P.logical_not,
        "bitwise_and": P.bitwise_and, "bitwise_or": P.bitwise_or,
        "bitwise_xor": P.bitwise_xor, "bitwise_not": P.bitwise_not,
        "isclose": P.isclose, "allclose": P.allclose, "equal": P.equal,
        "abs": P.abs, "absolute": P.abs, "neg": P.neg, "negative": P.neg, "sign": P.sign,
        "sgn": P.sgn, "exp": P.exp, "exp2": P.exp2, "expm1": P.expm1, "log": P.log,
        "log2": P.log2, "log10": P.log10, "log1p": P.log1p, "sqrt": P.sqrt, "rsqrt": P.rsqrt,
        "square": P.square, "sin": P.sin, "cos": P.cos, "tan": P.tan, "asin": P.asin,
        "arcsin": P.asin, "acos": P.acos, "arccos": P.acos, "atan": P.atan, "arctan": P.atan,
        "sinh": P.sinh, "cosh": P.cosh, "tanh": P.tanh, "asinh": P.asinh, "arcsinh": P.asinh,
        "acosh": P.acosh, "arccosh": P.acosh, "atanh": P.atanh, "arctanh": P.atanh,
        "sigmoid": P.sigmoid, "relu": P.relu, "erf": P.erf, "erfc": P.erfc,
        "floor": P.floor, "ceil": P.ceil, "trunc": P.trunc, "fix": P.trunc, "frac": P.frac,
        "round": P.round, "reciprocal": P.reciprocal, "sinc": P.sinc, "logit": P.logit,
        "deg2rad": P.deg2rad, "rad2deg": P.rad2deg, "isnan": P.isnan, "isinf": P.isinf,
        "isfinite": P.isfinite, "isposinf": P.isposinf, "isneginf": P.isneginf,
        "nan_to_num": P.nan_to_num, "where": lambda self, cond, other: P.where(cond, self,
                                                                              other),
        "clamp": P.clamp, "clip": P.clamp, "clamp_min": P.clamp_min, "clamp_max": P.clamp_max,
        "lerp": P.lerp, "addcmul": P.addcmul, "addcdiv": P.addcdiv, "clone": P.clone,
        # shape
        "view": S.view, "reshape": S.reshape, "permute": S.permute, "transpose": S.transpose,
        "swapaxes": S.transpose, "swapdims": S.transpose, "t": S.t, "movedim": S.movedim,
        "moveaxis": S.movedim, "unsqueeze": S.unsqueeze, "squeeze": S.squeeze,
        "expand": S.expand, "expand_as": S.expand_as, "broadcast_to": S.broadcast_to,
        "narrow": S.narrow, "split": S.split, "chunk": S.chunk, "tensor_split": S.tensor_split,
        "unbind": S.unbind, "select": S.select, "diagonal": S.diagonal, "flatten": S.flatten,
        "unflatten": S.unflatten, "ravel": S.ravel, "repeat": S.repeat, "tile": S.tile,
        "repeat_interleave": S.repeat_interleave, "flip": S.flip, "fliplr": S.fliplr,
        "flipud": S.flipud, "roll": S.roll, "rot90": S.rot90, "tril": S.tril, "triu": S.triu,
        "diag": S.diag,
        # conversions
        "to": to, "cpu": cpu, "cuda": cuda, "type": type_, "type_as": type_as,
        "contiguous": contiguous, "new_tensor": new_tensor, "new_full": new_full,
        "new_zeros": _new_factory(creation.zeros, "new_zeros"),
        "new_ones": _new_factory(creation.ones, "new_ones"),
        "new_empty": _new_factory(creation.empty, "new_empty"),
        "float": _converter(dtypes.float32, "float"),
        "double": _converter(dtypes.float64, "double"),
        "half": _converter(dtypes.float16, "half"), "long": _converter(dtypes.int64, "long"),
        "int": _converter(dtypes.int32, "int"), "short": _converter(dtypes.int16, "short"),
        "char": _converter(dtypes.int8, "char"), "byte": _converter(dtypes.uint8, "byte"),
        "bool": _converter(dtypes.bool, "bool"),
        # in place
        "fill_": fill_, "zero_": zero_, "copy_": copy_, "is_set_to": is_set_to,
        # reductions and orderings
        **{name: getattr(reduction, name) for name in (
            "sum", "nansum", "mean", "nanmean", "prod", "std", "var", "logsumexp", "softmax",
            "log_softmax", "cumsum", "cumprod", "norm", "dist", "count_nonzero", "amax",
            "amin", "aminmax", "max", "min", "argmax", "argmin", "all", "any", "sort",
            "argsort", "msort", "topk", "kthvalue", "median", "quantile", "unique",
            "unique_consecutive", "mode")},
        # indexing
        "__getitem__": indexing.getitem, "__setitem__": indexing.setitem,
        **{name: getattr(indexing, name) for name in (
            "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
            "index_copy", "index_fill", "index_put", "masked_fill", "masked_select", "take",
            "take_along_dim", "nonzero", "argwhere", "scatter_", "scatter_add_",
            "scatter_reduce_", "index_add_", "index_copy_", "index_fill_", "masked_fill_",
            "index_put_")},
        # linear algebra
        **{name: getattr(linalg, name) for name in (
            "matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm",
            "addmv", "baddbmm", "addbmm", "addr", "kron", "trace", "cross")},
        "__matmul__": linalg.matmul, "__rmatmul__": _reflected(linalg.matmul),
        "__iter__": iterate, "__contains__": contains, "__reversed__": lambda self:
            shape.flip(self, 0),
        "fill_diagonal_": fill_diagonal_, "apply_": apply_,
        "new": legacy_new, "diff": reduction.diff,
        # memory placement: host memory is already shareable/pageable for compat's purposes
        "pin_memory": lambda self, device=None: self,
        "is_pinned": lambda self, device=None: False,
        "share_memory_": lambda self: self, "is_shared": lambda self: False,
        "get_device": lambda self: self.device.index or 0 if self.is_cuda else -1,
        # autograd
        "backward": tensor_backward,
        "view_as": lambda self, other: S.view(self, other.array.shape),
        "reshape_as": lambda self, other: S.reshape(self, other.array.shape),
    }
    methods.update(INPLACE_SAMPLERS)
    methods.update({"bernoulli": bernoulli, "multinomial": multinomial})
    for name, fn in methods.items():
        setattr(T, name, fn)
    T.T = property(lambda self: S.permute(self, tuple(reversed(range(self.dim())))))
    T.mT = property(lambda self: S.transpose(self, -2, -1))
    T.H = T.T
    T.mH = T.mT
    for name in ("add", "sub", "mul", "div", "pow", "remainder", "fmod", "floor_divide",
                 "true_divide", "atan2", "maximum", "minimum", "clamp", "clip", "clamp_min",
                 "clamp_max", "lerp", "addcmul", "addcdiv", "abs", "neg", "sign", "exp",
                 "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square",
                 "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                 "sigmoid", "relu", "erf", "erfc", "floor", "ceil", "trunc", "frac", "round",
                 "reciprocal", "logit", "nan_to_num", "eq", "ne", "lt", "le", "gt", "ge",
                 "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
                 "bitwise_or", "bitwise_xor", "bitwise_not", "hypot", "copysign", "xlogy",
                 "fix", "negative", "absolute", "subtract", "multiply", "divide", "tril",
                 "triu", "float_power", "deg2rad", "rad2deg", "arcsin", "arccos", "arctan",
                 "asinh", "acosh", "atanh", "sinc", "cumsum", "cumprod"):
        setattr(T, name + "_", inplace_method(methods[name], name + "_"))
    for name in ("t", "transpose", "unsqueeze", "squeeze", "swapaxes", "swapdims"):
        setattr(T, name + "_", shape_inplace(methods[name], name + "_"))
    T.__imatmul__ = lambda self, other: inplace(self, lambda v: linalg.matmul(v, other), other)
    for op, name in (("__iadd__", "add_"), ("__isub__", "sub_"), ("__imul__", "mul_"),
                     ("__itruediv__", "div_"), ("__ifloordiv__", "floor_divide_"),
                     ("__imod__", "remainder_"), ("__ipow__", "pow_"),
                     ("__iand__", "bitwise_and_"), ("__ior__", "bitwise_or_"),
                     ("__ixor__", "bitwise_xor_")):
        setattr(T, op, getattr(T, name))


install()
