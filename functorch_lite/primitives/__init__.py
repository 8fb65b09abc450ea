"""The closed set of primitives, one module per family, layered bottom-up:
``shape`` (data movement and reduce_sum) < ``elementwise`` < ``reduce``, ``index``,
``linalg``, ``conv``. Importing this package registers every primitive in
``functorch_lite.core.PRIMITIVES`` and gives the binders (``jax.lax``-style functions
that bind one primitive, no dtype promotion) that rules and the transforms are written
with; ``functorch_lite.lax`` re-exports them next to the control-flow functions.

>>> from functorch_lite import primitives as P
>>> P.add(np.float32(1), 2.0)
Array(3., dtype=float32)
"""

from ..core import get_aval as aval
from .conv import window_overlap_add, window_patches
from .elementwise import (
    abs,
    acos,
    acosh,
    add,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitcast_convert_type,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    ceil,
    convert,
    convert_element_type,
    cos,
    cosh,
    digamma,
    div,
    eq,
    erf,
    erfc,
    exp,
    expm1,
    floor,
    full,
    full_like,
    ge,
    gt,
    iota,
    is_finite,
    le,
    lgamma,
    log,
    log1p,
    logistic,
    lt,
    max,
    min,
    mul,
    ne,
    neg,
    polygamma,
    pow,
    rem,
    round,
    rsqrt,
    select,
    select_n,
    shift_left,
    shift_right_arithmetic,
    shift_right_logical,
    sign,
    sin,
    sinh,
    sqrt,
    stop_gradient,
    sub,
    tan,
    tanh,
    trunc,
    zeros_like,
)
from .index import gather, scatter
from .linalg import dot_general
from .reduce import (
    argmax,
    argmin,
    argsort,
    cumsum,
    reduce_and,
    reduce_max,
    reduce_min,
    reduce_or,
    reduce_prod,
)
from .shape import (
    broadcast_in_dim,
    broadcast_to_rank,
    concatenate,
    expand_dims,
    pad,
    reduce_sum,
    reshape,
    rev,
    slice,
    slice_in_dim,
    squeeze,
    transpose,
    zeros_like_aval,
)

__all__ = [
    "abs", "acos", "acosh", "add", "argmax", "argmin", "argsort", "asin", "asinh", "atan",
    "atan2", "atanh", "aval", "bitcast_convert_type", "bitwise_and", "bitwise_not",
    "bitwise_or", "bitwise_xor", "broadcast_in_dim", "broadcast_to_rank", "ceil", "concatenate",
    "convert", "convert_element_type", "cos", "cosh", "cumsum", "digamma", "div", "dot_general",
    "eq", "erf", "erfc", "exp", "expand_dims", "expm1", "floor", "full", "full_like", "gather",
    "ge", "gt", "iota", "is_finite", "le", "lgamma", "log", "log1p", "logistic", "lt", "max",
    "min", "mul", "ne", "neg", "pad", "polygamma", "pow", "reduce_and", "reduce_max",
    "reduce_min", "reduce_or", "reduce_prod", "reduce_sum", "rem", "reshape", "rev", "round",
    "rsqrt", "scatter", "select", "select_n", "shift_left", "shift_right_arithmetic",
    "shift_right_logical", "sign", "sin", "sinh", "slice", "slice_in_dim", "sqrt", "squeeze",
    "stop_gradient", "sub", "tan", "tanh", "transpose", "trunc", "window_overlap_add",
    "window_patches", "zeros_like", "zeros_like_aval",
]
