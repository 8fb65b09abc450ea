"""functorch_lite: composable function transforms (grad, vmap, jit) over traced primitives.

>>> import functorch_lite as fl, functorch_lite.numpy as fnp
>>> fl.grad(lambda x: fnp.sum(x ** 2))(fnp.array([1.0, 2.0]))
array([2., 4.], dtype=float32)
"""

from . import (  # noqa: F401
    lax,
    nn,
    numpy,  # noqa: F401
    primitives,  # noqa: F401  (registers primitives)
    tree,
)
from .batching import vmap  # noqa: F401
from .checkpoint import checkpoint, remat  # noqa: F401
from .core import (  # noqa: F401
    ConcretizationError,
    ShapeDtypeStruct,
    TracerArrayConversionError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    UnexpectedTracerError,
)
from .custom import custom_jvp, custom_vjp  # noqa: F401
from .derivatives import (  # noqa: F401
    grad,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    stop_gradient,
    value_and_grad,
    vjp,
)
from .jit import device_put, devices, jit, make_ir  # noqa: F401

__version__ = "0.1.0"

from . import control, optim, random  # noqa: E402  (control registers cond/while/scan)
