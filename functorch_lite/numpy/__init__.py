"""``functorch_lite.numpy`` (``fnp``): numpy's API over traceable primitives.

Called on concrete arrays outside any transform, functions compute eagerly and
return numpy arrays; inside ``jit``/``grad``/``vmap`` they return tracers.

>>> import functorch_lite.numpy as fnp
>>> fnp.sum(fnp.ones((2, 3)), axis=1)
Array([3., 3.], dtype=float32)
"""

from __future__ import annotations

import numpy as _np

from ._core import promote_types, result_type, stack
from ._creation import (
    arange,
    array,
    asarray,
    astype,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    identity,
    linspace,
    meshgrid,
    ones,
    ones_like,
    tri,
    tril,
    triu,
    zeros,
    zeros_like,
)
from ._indexing import (
    argsort,
    at,
    diag,
    diagonal,
    getitem,
    pad,
    repeat,
    sort,
    take,
    take_along_axis,
)
from ._linalg import dot, einsum, inner, kron, matmul, outer, tensordot, trace, vdot
from ._math import (
    abs,
    absolute,
    add,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    argwhere,
    around,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    cbrt,
    ceil,
    clip,
    cos,
    cosh,
    deg2rad,
    degrees,
    divide,
    equal,
    exp,
    exp2,
    expm1,
    floor,
    floor_divide,
    fmod,
    greater,
    greater_equal,
    hypot,
    invert,
    isclose,
    isfinite,
    isinf,
    isnan,
    left_shift,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    multiply,
    nan_to_num,
    negative,
    nonzero,
    not_equal,
    positive,
    power,
    rad2deg,
    radians,
    reciprocal,
    remainder,
    right_shift,
    rint,
    round,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    true_divide,
    trunc,
    where,
)
from ._reductions import (
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    array_equal,
    array_equiv,
    average,
    count_nonzero,
    cumsum,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
from ._shape import (
    array_split,
    atleast_1d,
    atleast_2d,
    broadcast_arrays,
    broadcast_to,
    concatenate,
    expand_dims,
    flip,
    fliplr,
    flipud,
    hstack,
    moveaxis,
    ndim,
    permute_dims,
    ravel,
    reshape,
    roll,
    shape,
    size,
    split,
    squeeze,
    swapaxes,
    tile,
    transpose,
    vstack,
)

float16, float32, float64 = _np.float16, _np.float32, _np.float64
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
bool_ = _np.bool_
dtype, finfo, iinfo = _np.dtype, _np.finfo, _np.iinfo
pi, e, inf, nan, newaxis = _np.pi, _np.e, _np.inf, _np.nan, None
ndarray = _np.ndarray

from ._methods import install as _install  # noqa: E402

_install(globals())
del _install
