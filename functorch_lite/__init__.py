"""functorch_lite: composable function transforms (grad, vmap, jit) over traced primitives.

This file only re-exports the public API; docs/ARCHITECTURE.md shows the layers.

>>> import functorch_lite as fl, functorch_lite.numpy as fnp
>>> fl.grad(lambda x: fnp.sum(x ** 2))(fnp.array([1.0, 2.0]))
Array([2., 4.], dtype=float32)
"""

from . import (
    control,
    distributed,
    lax,
    nn,
    numpy,
    optim,
    primitives,
    random,
    scipy,
    test_util,
    tree,
    tree_util,
)
from .array import Array, WeakArray
from .batching import vmap
from .checkpoint import checkpoint, checkpoint_name, checkpoint_policies, remat
from .core import (
    ConcretizationError,
    ShapeDtypeStruct,
    TracerArrayConversionError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    UnexpectedTracerError,
)
from .custom import custom_jvp, custom_vjp
from .derivatives import (
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    stop_gradient,
    value_and_grad,
    vjp,
)
from .devices import block_until_ready, device_get, device_of, device_put, devices
from .jit import jit, make_ir, make_jaxpr

__version__ = "0.1.0"
