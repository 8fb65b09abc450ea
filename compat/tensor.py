"""The Tensor: a concrete array plus autograd metadata, and conversion from Python data.

A Tensor owns a writable numpy array on the CPU (a CuPy array on the GPU, or a tracer while
``functorch_lite`` transforms or ``compat.compile`` trace code that uses tensors). Views
(``view``, ``reshape``, slicing, ``transpose``...) share memory with their base and its
version counter, as in PyTorch. Operations, operators and most methods are installed on the
class by ``compat.methods`` (they are ``compat.ops`` functions, which sit above this
module); here are the data, the autograd fields and what needs no operation.

>>> t = compat.tensor([1.0, 2.0], requires_grad=True)
>>> t
tensor([1., 2.], requires_grad=True)
>>> t.shape, t.dtype, t.is_leaf
(torch.Size([2]), torch.float32, True)
"""

from __future__ import annotations

import copy
import weakref

import numpy as np

import functorch_lite as fl
from functorch_lite.placement import is_gpu

from . import device as device_mod
from . import dtypes
from .formatting import format_tensor
from .graph import Node, RemovableHandle

_new = object.__new__


class Size(tuple):
    """A tensor's shape (``torch.Size``): a tuple of ints that prints as PyTorch's.

    >>> compat.Size([2, 3]), compat.Size([2, 3]).numel()
    (torch.Size([2, 3]), 6)
    """

    __slots__ = ()

    def __repr__(self):
        return f"torch.Size([{', '.join(map(str, self))}])"

    def numel(self) -> int:
        """Number of elements of a tensor of this shape."""
        n = 1
        for d in self:
            n *= d
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))


def own(x):
    """``x`` as the kind of array a Tensor holds: a writable plain ``numpy.ndarray`` on the
    CPU (tracers and CuPy arrays pass through).

    The core's eager results are read-only ``functorch_lite.Array`` views (same layout) of
    the plain numpy array its kernel wrote: that array itself is returned when it is
    writable (no copy; an op that returns its input unchanged then gives back that input,
    which ``Op`` detects), else a writable view where numpy allows it, else a copy.

    >>> own(np.float32(2.0))
    array(2., dtype=float32)
    """
    if type(x) is np.ndarray:
        if x.flags.writeable:
            return x
    elif isinstance(x, np.ndarray):
        b = x.base
        if type(b) is np.ndarray and b.flags.writeable:
            return b
        x = x.view(np.ndarray)
    elif isinstance(x, np.generic):
        return np.array(x)
    else:
        return x
    if not x.flags.writeable:
        try:
            x.flags.writeable = True
        except ValueError:  # numpy refuses (the memory belongs to a read-only owner)
            x = x.copy()
    return x


def is_concrete(x) -> bool:
    """True for a numpy array (not a tracer being traced, not a GPU array)."""
    return isinstance(x, np.ndarray)


class AccumulateGrad(Node):
    """The node that ends the graph at a leaf tensor: it adds incoming gradients to
    ``variable.grad`` (after running the leaf's hooks).

    >>> x = compat.ones(1, requires_grad=True)
    >>> (x * 2).grad_fn.next_functions[0][0]
    <AccumulateGrad object>
    """

    __slots__ = ("variable", "post_accumulate_hooks")

    def __init__(self, variable):
        super().__init__(())
        self.variable = variable
        self.post_accumulate_hooks = None  # fn(tensor), run once .grad holds the new sum

    def apply(self, grads):
        self.variable.accumulate_grad(grads[0])
        return []


class Tensor:
    """A multi-dimensional array with autograd (``torch.Tensor``).

    ``Tensor(*sizes)`` and ``Tensor(data)`` are PyTorch's legacy constructors (default
    float dtype); prefer ``compat.tensor(data, dtype=None, device=None,
    requires_grad=False)``, ``compat.zeros(...)`` and friends.

    >>> compat.Tensor(2, 3).shape, compat.Tensor([1, 2])
    (torch.Size([2, 3]), tensor([1., 2.]))
    """

    __slots__ = ("array", "grad_fn", "output_nr", "leaf_requires_grad", "grad", "version",
                 "base", "accumulator", "retains", "name", "__weakref__")
    __array_priority__ = 1000  # numpy defers to our operators: ndarray * Tensor -> Tensor

    def __new__(cls, *args, dtype=None, device=None, requires_grad=False):
        d = dtypes.canonical(dtype) if dtype is not None else dtypes.get_default_dtype()
        if len(args) == 1 and not _is_int(args[0]) and not isinstance(args[0], Size):
            a = to_array(args[0], d.dtype, copy=False)
        else:
            sizes = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
            a = np.zeros(tuple(int(s) for s in sizes), d.dtype)
        t = init_tensor(_new(cls), own(device_mod.put(a, device_mod.canonical(device))))
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __init__(self, *args, **kwargs):
        """Construction happens in ``__new__`` (so subclasses may define ``__new__``)."""

    def __init_subclass__(cls, **kwargs):
        """Subclasses (``nn.Parameter``) are pytree nodes too, rebuilt as their own type."""
        super().__init_subclass__(**kwargs)
        fl.tree.register_node(cls, flatten_tensor,
                              lambda aux, ch: init_tensor(_new(cls), ch[0]))

    # -- the array ------------------------------------------------------------------------
    def __fl_array__(self):
        """The tensor's array: what ``functorch_lite``'s transforms take a Tensor as."""
        return self.array

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t) works whether or not t requires grad (PyTorch refuses the latter;
        # numpy code fed tensors is common enough that refusing helps nobody)
        a = self.numpy_array()
        if copy:
            a = a.copy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def numpy_array(self) -> np.ndarray:
        """The CPU numpy array of the data (shared when the tensor is on the CPU)."""
        a = self.array
        if isinstance(a, np.ndarray):
            return a
        if is_gpu(a):
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        return np.asarray(a)  # a tracer: raises the core's concretization error

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a numpy array sharing memory with the tensor.

        >>> t = compat.zeros(2); t.numpy()[0] = 5; t
        tensor([5., 0.])
        """
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if force and is_gpu(self.array):
            return np.asarray(fl.device_put(self.array, "cpu"))
        return self.numpy_array()

    # -- metadata ---------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self.array.shape)

    def size(self, dim: int | None = None):
        """The shape, or the size of dimension ``dim``.

        >>> compat.zeros(2, 3).size(), compat.zeros(2, 3).size(-1)
        (torch.Size([2, 3]), 3)
        """
        s = self.array.shape
        if dim is None:
            return Size(s)
        return s[wrap_dim(dim, len(s))]

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy_dtype(self.array.dtype)

    @property
    def device(self) -> device_mod.device:
        return device_mod.device_of(self.array)

    @property
    def is_cuda(self) -> bool:
        return is_gpu(self.array)

    is_cpu = property(lambda self: not self.is_cuda)
    is_sparse = False
    is_quantized = False
    is_meta = False
    layout = "torch.strided"

    @property
    def ndim(self) -> int:
        return len(self.array.shape)

    def dim(self) -> int:
        """Number of dimensions.

        >>> compat.zeros(2, 3).dim()
        2
        """
        return len(self.array.shape)

    ndimension = dim

    def numel(self) -> int:
        """Number of elements.

        >>> compat.zeros(2, 3).numel()
        6
        """
        return int(np.prod(self.array.shape, dtype=np.int64))

    nelement = numel

    def element_size(self) -> int:
        return self.array.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.array.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self.array.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self.array.dtype.kind == "c"

    def stride(self, dim: int | None = None):
        """Strides in elements (numpy's byte strides divided by the item size)."""
        a = self.numpy_array()
        st = tuple(s // a.itemsize for s in a.strides)
        return st if dim is None else st[wrap_dim(dim, a.ndim)]

    def is_contiguous(self, memory_format=None) -> bool:
        a = self.array
        return bool(a.flags.c_contiguous) if isinstance(a, np.ndarray) else True

    def data_ptr(self) -> int:
        a = self.array
        return a.ctypes.data if isinstance(a, np.ndarray) else 0

    def storage_offset(self) -> int:
        a, b = self.array, self.array
        while isinstance(b, np.ndarray) and b.base is not None and isinstance(b.base,
                                                                               np.ndarray):
            b = b.base
        if not isinstance(a, np.ndarray):
            return 0
        return (a.ctypes.data - b.ctypes.data) // a.itemsize

    def __len__(self):
        s = self.array.shape
        if not s:
            raise TypeError("len() of a 0-d tensor")
        return s[0]

    def __hash__(self):
        return id(self)

    # -- Python scalars -------------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number.

        >>> compat.tensor([2.5]).item()
        2.5
        """
        a = self.array
        size = int(np.prod(a.shape, dtype=np.int64))
        if size != 1:
            raise RuntimeError(f"a Tensor with {size} elements cannot be converted to Scalar")
        if is_gpu(a):
            a = fl.device_put(a, "cpu")
        if not isinstance(a, np.ndarray):
            a = np.asarray(a)  # a tracer: raises the core's concretization error
        return a.reshape(()).item()

    def tolist(self):
        """The data as (nested) Python lists of Python numbers.

        >>> compat.tensor([[1, 2]]).tolist()
        [[1, 2]]
        """
        return self.numpy(force=True).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __index__(self):
        if self.array.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self):
        a = self.array
        n = int(np.prod(a.shape, dtype=np.int64))
        if n != 1:
            raise RuntimeError(f"Boolean value of Tensor with {'no' if n == 0 else 'more than one'}"
                               " values is ambiguous")
        return bool(self.item())

    def __repr__(self):
        return format_tensor(self)

    def __format__(self, spec):
        if self.array.shape == () and spec:
            return format(self.item(), spec)
        return repr(self)

    # -- autograd fields -------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self.grad_fn is not None or self.leaf_requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records operations on this (leaf) tensor; returns it.

        >>> compat.zeros(2).requires_grad_()
        tensor([0., 0.], requires_grad=True)
        """
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad and self.array.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               "gradients")
        self.leaf_requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return self.retains

    @property
    def _version(self) -> int:
        return self.version[0]

    @property
    def _base(self):
        return self.base

    def grad_accumulator(self) -> AccumulateGrad:
        """The ``AccumulateGrad`` node of a leaf that requires grad (made once)."""
        acc = self.accumulator
        if acc is None:
            acc = self.accumulator = AccumulateGrad(self)
        return acc

    def edge(self):
        """``(node, output_nr)``: where gradients for this tensor go (``(None, 0)`` when it
        does not require grad)."""
        if self.grad_fn is not None:
            return (self.grad_fn, self.output_nr)
        if self.leaf_requires_grad:
            return (self.accumulator or self.grad_accumulator(), 0)
        return (None, 0)

    def accumulate_grad(self, g) -> None:
        """Add the array ``g`` to ``.grad`` (PyTorch accumulates gradients into leaves)."""
        if self.grad is None:
            self.grad = wrap(g)
            return
        cur = self.grad.array
        if (isinstance(cur, np.ndarray) and isinstance(g, np.ndarray)
                and cur.flags.writeable and cur.shape == np.broadcast_shapes(cur.shape, g.shape)):
            np.add(cur, g, out=cur, casting="unsafe")
        else:
            self.grad.array = own(fl.numpy.add(cur, g))
        self.grad.version[0] += 1

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` whenever the gradient for this tensor is computed; a returned
        tensor replaces the gradient. Returns a handle whose ``remove()`` unregisters it.

        >>> x = compat.ones(2, requires_grad=True)
        >>> _ = x.register_hook(lambda g: g * 2)
        >>> x.sum().backward(); x.grad
        tensor([2., 2.])
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        node = self.grad_fn if self.grad_fn is not None else self.grad_accumulator()
        hooks = node.tensor_hooks
        if hooks is None:
            hooks = node.tensor_hooks = {}

        def on_array(g):
            r = hook(wrap(g))
            return None if r is None else (r.array if isinstance(r, Tensor) else r)

        return RemovableHandle(hooks.setdefault(self.output_nr, []), on_array)

    def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
        """Call ``hook(tensor)`` on this leaf each time backward has accumulated into its
        ``.grad`` (the moment its gradient is final for that pass: what ``DistributedDataParallel``
        uses to start communicating while the rest of the backward runs). Returns a handle.

        >>> x = compat.ones(2, requires_grad=True); seen = []
        >>> _ = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
        >>> (x * 3).sum().backward(); seen
        [[3.0, 3.0]]
        """
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if not self.leaf_requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        acc = self.grad_accumulator()
        if acc.post_accumulate_hooks is None:
            acc.post_accumulate_hooks = []
        return RemovableHandle(acc.post_accumulate_hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it).

        >>> x = compat.ones(2, requires_grad=True); y = x * 2; y.retain_grad()
        >>> y.sum().backward(); y.grad
        tensor([1., 1.])
        """
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.retains:
            return
        self.retains = True
        node = self.grad_fn
        if node.retained is None:
            node.retained = {}
        node.retained[self.output_nr] = weakref.ref(self)

    # -- data / detach ----------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's memory, outside autograd (its changes are not
        tracked: no version bump seen by the graph)."""
        return wrap(self.array)

    @data.setter
    def data(self, value):
        self.array = value.array if isinstance(value, Tensor) else own(np.asarray(value))

    def detach(self) -> Tensor:
        """A tensor sharing memory (and version counter) with this one, cut from the graph.
        It is not a view for autograd (as in PyTorch): changing it in place is allowed even
        when this tensor is a leaf that requires grad.

        >>> compat.ones(1, requires_grad=True).detach().requires_grad
        False
        """
        t = wrap(self.array)
        t.version = self.version
        return t

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place (it becomes a leaf)."""
        self.grad_fn = None
        self.output_nr = 0
        self.leaf_requires_grad = False
        return self

    def as_subclass(self, cls) -> Tensor:
        """A ``cls`` instance sharing this tensor's data and autograd history.

        >>> class MyTensor(compat.Tensor): pass
        >>> type(compat.ones(1).as_subclass(MyTensor)).__name__
        'MyTensor'
        """
        t = init_tensor(_new(cls), self.array)
        t.grad_fn, t.output_nr = self.grad_fn, self.output_nr
        t.leaf_requires_grad, t.version, t.base = self.leaf_requires_grad, self.version, \
            self.base
        return t

    # -- copying and pickling ------------------------------------------------------------
    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        t = init_tensor(_new(type(self)), own(self.array.copy()))
        t.leaf_requires_grad = self.leaf_requires_grad
        if self.grad is not None:
            t.grad = wrap(self.grad.array.copy())
        memo[id(self)] = t
        extra = getattr(self, "__dict__", None)
        if extra:
            t.__dict__.update(copy.deepcopy(extra, memo))
        return t

    def __reduce_ex__(self, protocol):
        return (rebuild_tensor, (type(self), self.numpy(force=True), self.leaf_requires_grad
                                 and self.grad_fn is None, getattr(self, "__dict__", None)))


def rebuild_tensor(cls, array, requires_grad, extra=None):
    """Unpickling: a leaf tensor of type ``cls`` over ``array``."""
    t = init_tensor(_new(cls), own(np.array(array)))
    t.leaf_requires_grad = bool(requires_grad)
    if extra:
        t.__dict__.update(extra)
    return t


def init_tensor(t, array, grad_fn=None, output_nr=0):
    """Fill a fresh Tensor's fields (every slot set: reading one never fails)."""
    t.array = array
    t.grad_fn = grad_fn
    t.output_nr = output_nr
    t.leaf_requires_grad = False
    t.grad = None
    t.version = [0]
    t.base = None
    t.accumulator = None
    t.retains = False
    t.name = None
    return t


def wrap(array, grad_fn=None, output_nr=0) -> Tensor:
    """A new Tensor over ``array`` (which the caller has made an ``own``ed array).

    >>> wrap(np.zeros(2, np.float32))
    tensor([0., 0.])
    """
    return init_tensor(_new(Tensor), array, grad_fn, output_nr)


def make_view(base: Tensor, array) -> Tensor:
    """A Tensor over ``array``, a view of ``base``'s memory: shares its version counter."""
    t = wrap(array)
    t.version = base.version
    t.base = base.base if base.base is not None else base
    return t


def flatten_tensor(t):
    return (t.array,), None


fl.tree.register_node(Tensor, flatten_tensor, lambda aux, ch: wrap(ch[0]))


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def wrap_dim(dim: int, ndim: int) -> int:
    """``dim`` in ``[0, ndim)`` (negative counts from the end); PyTorch's IndexError
    otherwise. A 0-d tensor accepts dims 0 and -1."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


# --------------------------------------------------------------------------- conversion


def _has_float64(x) -> bool:
    for e in x:
        if isinstance(e, (list, tuple)):
            if _has_float64(e):
                return True
        elif isinstance(e, (np.float64, np.ndarray)) and getattr(e, "dtype", None) == np.float64:
            return True
        elif isinstance(e, Tensor) and e.array.dtype == np.float64:
            return True
    return False


def _unwrap_nested(x):
    if isinstance(x, Tensor):
        return x.numpy(force=True)
    if isinstance(x, (list, tuple)):
        return [_unwrap_nested(e) for e in x]
    return x


def to_array(data, dtype=None, copy: bool = True) -> np.ndarray:
    """A numpy array for ``data`` with PyTorch's dtype inference: Python floats give the
    default float dtype, Python ints int64, bools bool, complex numbers complex64; numpy
    arrays and tensors keep their dtype. ``dtype`` (numpy) overrides.

    >>> to_array([1, 2]).dtype, to_array([1.0, 2]).dtype, to_array(np.zeros(1)).dtype
    (dtype('int64'), dtype('float32'), dtype('float64'))
    """
    if isinstance(data, Tensor):
        a = data.numpy(force=True)
        inferred = a.dtype
    elif isinstance(data, np.ndarray):
        a, inferred = data, data.dtype
    elif isinstance(data, np.generic):
        a = np.asarray(data)
        inferred = a.dtype
    else:
        if isinstance(data, (list, tuple)):
            a = np.asarray(_unwrap_nested(data))
            f64 = _has_float64(data)
        elif is_gpu(data):
            a = np.asarray(fl.device_put(data, "cpu"))
            f64 = True
        else:
            a = np.asarray(data)
            f64 = a.dtype == np.float64 and not isinstance(data, float)
        inferred = a.dtype
        if inferred == np.float64 and not f64:
            inferred = dtypes.default_float_numpy()
        elif inferred == np.complex128 and not f64:
            inferred = np.result_type(dtypes.default_float_numpy(), np.complex64)
        elif inferred.kind == "i":
            inferred = np.dtype(np.int64)
        elif inferred.kind in "OUS":
            raise TypeError(f"can't convert data of type {type(data).__name__} to a tensor "
                            f"(numpy made an array of {inferred})")
    target = inferred if dtype is None else np.dtype(dtype)
    if a.dtype != target:
        return a.astype(target)
    if copy and (a is data or isinstance(data, (np.ndarray, Tensor))):
        return a.copy()
    return a


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, a numpy array or a
    tensor), with PyTorch's dtype inference (Python floats: the default float dtype, float32;
    ints: int64).

    Args:
        data: initial data.
        dtype: the dtype (``compat.float64``...); inferred from ``data`` when None.
        device: where to allocate (``"cpu"``, ``"cuda"``); the default device when None.
        requires_grad: whether autograd records operations on the result.

    >>> compat.tensor([[1, 2], [3, 4]]), compat.tensor(2.5, requires_grad=True)
    (tensor([[1, 2],
            [3, 4]]), tensor(2.5000, requires_grad=True))
    """
    a = to_array(data, dtypes.to_numpy(dtype) if dtype is not None else None, copy=True)
    t = wrap(own(device_mod.put(a, device_mod.canonical(device))))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is one (or a numpy array) of
    the requested dtype and device.

    >>> a = np.zeros(2, np.float32); t = compat.as_tensor(a); a[0] = 1; t
    tensor([1., 0.])
    """
    dev = device_mod.canonical(device) if device is not None else None
    if isinstance(data, Tensor):
        same_dtype = dtype is None or dtypes.to_numpy(dtype) == data.array.dtype
        if same_dtype and (dev is None or dev == data.device):
            return data
        return data.to(device=dev, dtype=dtype)
    a = to_array(data, dtypes.to_numpy(dtype) if dtype is not None else None, copy=False)
    return wrap(own(device_mod.put(a, dev or device_mod.get_default_device())))


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with the numpy array ``ndarray`` (same dtype: float64 stays
    float64). Changes to either show in the other.

    >>> a = np.arange(3); t = compat.from_numpy(a); t[0] = 7; a
    array([7, 1, 2])
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dtypes.from_numpy_dtype(ndarray.dtype)  # raises for dtypes compat has no tensor for
    return wrap(ndarray if type(ndarray) is np.ndarray else ndarray.view(np.ndarray))


def is_tensor(obj) -> bool:
    """True if ``obj`` is a compat Tensor.

    >>> compat.is_tensor(compat.ones(1)), compat.is_tensor([1])
    (True, False)
    """
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """Number of elements of ``input``.

    >>> compat.numel(compat.zeros(2, 3))
    6
    """
    return input.numel()
