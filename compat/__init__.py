"""compat: PyTorch's everyday API over functorch_lite (``import compat as torch``).

Tensors hold numpy arrays (CuPy arrays on a GPU); operations are ``functorch_lite``
functions; autograd records a graph whose backward runs the core's own derivative rules.
This file only re-exports; ``tensor.py`` (the Tensor), ``ops/`` (operations), ``methods.py``
(installs them on Tensor) and ``autograd/`` hold the code.

>>> import compat as torch
>>> x = torch.tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4.])
"""

# `methods` installs the operations on Tensor as methods and operators
from . import (
    autograd,
    backends,
    cuda,
    distributed,
    func,
    linalg,
    methods,
    nn,
    optim,
    random,
    utils,
    vision,
)
from .compile import compile
from .device import device, get_default_device, set_default_device
from .dtypes import (
    bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    is_floating_point,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .legacy import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from .ops.creation import (
    arange,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    scalar_tensor,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)
from .ops.indexing import *  # noqa: F403
from .ops.linalg import *  # noqa: F403
from .ops.pointwise import *  # noqa: F403
from .ops.reduction import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .random import (
    Generator,
    bernoulli,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    multinomial,
    normal,
    poisson,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
)
from .serialization import load, save
from .tensor import Size, Tensor, as_tensor, from_numpy, is_tensor, numel, tensor
