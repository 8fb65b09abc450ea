"""Sliding windows: ``window_patches`` (im2col) and its transpose ``window_overlap_add``
(col2im). Convolution and pooling in ``functorch_lite.nn`` are these plus
``dot_general`` / reductions, so their derivatives and batching come from the
rules below together with the existing ones.

Layout. For an operand of shape ``(*lead, *spatial)`` with ``n = len(window_shape)``
trailing spatial dims, ``window_patches`` gives ``(*lead, *window_shape, *out_spatial)``
where ``patches[..., k, o] = padded[..., o * stride + k * dilation]`` per spatial dim and
``padded`` is the operand padded with ``pad_value`` by ``padding`` (``(lo, hi)`` pairs,
non-negative). ``out = (size + lo + hi - dilation * (k - 1) - 1) // stride + 1``.

* ``window_patches`` with ``pad_value == 0`` is linear; with another pad value it is
  affine (max-pooling pads with -inf), and its tangent is ``window_patches`` of the
  tangent with zero padding.
* ``window_overlap_add`` is its transpose: each patch entry is added back to the input
  position it was read from (padding dropped). It is linear; its transpose is
  ``window_patches`` with zero padding.
* Both batch by moving the batch dim to the front: it becomes one more leading dim.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..core import Primitive, ShapedArray, get_aval
from ..placement import array_module, as_ndarray, is_gpu
from ..rules import Zero
from .shape import deflinear, moveaxis


def _out_size(name, size, k, s, d, lo, hi, shape):
    span = d * (k - 1) + 1
    padded = size + lo + hi
    if padded < span:
        raise ValueError(f"{name}: window {k} (dilation {d}, span {span}) is larger than the "
                         f"padded input size {padded} (operand shape {shape})")
    return (padded - span) // s + 1


def _check_params(name, ndim, shape, window_shape, strides, padding, dilation):
    n = len(window_shape)
    if not (len(strides) == len(padding) == len(dilation) == n):
        raise ValueError(f"{name}: window_shape {window_shape}, strides {strides}, padding "
                         f"{padding} and dilation {dilation} must have the same length")
    if ndim < n:
        raise ValueError(f"{name}: operand of shape {shape} has fewer than {n} spatial dims")
    if any(k < 1 for k in window_shape) or any(s < 1 for s in strides) or any(
            d < 1 for d in dilation):
        raise ValueError(f"{name}: window_shape {window_shape}, strides {strides} and dilation "
                         f"{dilation} must be positive")
    if any(lo < 0 or hi < 0 for lo, hi in padding):
        raise ValueError(f"{name}: padding {padding} must be non-negative")


def _out_spatial(name, spatial, window_shape, strides, padding, dilation, shape):
    return tuple(_out_size(name, n, k, s, d, lo, hi, shape)
                 for n, k, s, d, (lo, hi) in zip(spatial, window_shape, strides, dilation,
                                                 padding))


def _strided_view(xp, n, window_shape, strides, dilation, out_spatial):
    """The view ``(*lead, *window, *out)`` of the padded operand ``xp`` (no copy)."""
    lead_shape, lead_strides = xp.shape[:-n], xp.strides[:-n]
    sp_strides = xp.strides[-n:]
    shape = lead_shape + tuple(window_shape) + tuple(out_spatial)
    st = (lead_strides + tuple(d * b for d, b in zip(dilation, sp_strides))
          + tuple(s * b for s, b in zip(strides, sp_strides)))
    if is_gpu(xp):
        # CuPy's as_strided (its views are always writable)
        return array_module(xp).lib.stride_tricks.as_strided(xp, shape, st)
    return np.lib.stride_tricks.as_strided(xp, shape, st, writeable=True)


# ------------------------------------------------------------------ window_patches

window_patches_p = Primitive("window_patches")


def _patches_aval(x, window_shape, strides, padding, dilation, pad_value=0.0):
    _check_params("window_patches", x.ndim, x.shape, window_shape, strides, padding, dilation)
    n = len(window_shape)
    out = _out_spatial("window_patches", x.shape[x.ndim - n:], window_shape, strides, padding,
                       dilation, x.shape)
    return ShapedArray(x.shape[:x.ndim - n] + tuple(window_shape) + out, x.dtype, x.weak_type)


def _patches_impl(x, window_shape, strides, padding, dilation, pad_value=0.0):
    x = as_ndarray(x)
    n = len(window_shape)
    out = _out_spatial("window_patches", x.shape[x.ndim - n:], window_shape, strides, padding,
                       dilation, x.shape)
    if any(lo or hi for lo, hi in padding):
        pads = [(0, 0)] * (x.ndim - n) + [tuple(p) for p in padding]
        xp = np.pad(x, pads, constant_values=np.asarray(pad_value).astype(x.dtype).item())
    else:
        xp = x  # as_strided follows any strides: no copy needed
    view = _strided_view(xp, n, window_shape, strides, dilation, out)
    return array_module(view).array(view, copy=True, order="C")


def _patches_jvp(primals, tangents, window_shape, strides, padding, dilation, pad_value=0.0):
    (x,), (t,) = primals, tangents
    params = dict(window_shape=window_shape, strides=strides, padding=padding,
                  dilation=dilation)
    ans = window_patches_p.bind(x, pad_value=pad_value, **params)
    if type(t) is Zero:
        return ans, Zero(get_aval(ans).strip_weak())
    return ans, window_patches_p.bind(t, pad_value=0.0, **params)


def _patches_transpose(ct, x, window_shape, strides, padding, dilation, pad_value=0.0):
    # (only the zero-padded form is linear; the padding entries carry no cotangent anyway)
    if type(ct) is Zero:
        return [Zero(x.aval)]
    n = len(window_shape)
    return [window_overlap_add_p.bind(
        ct, spatial_shape=tuple(x.aval.shape[x.aval.ndim - n:]), window_shape=window_shape,
        strides=strides, padding=padding, dilation=dilation)]


def _patches_batch(size, vals, dims, **params):
    return window_patches_p.bind(moveaxis(vals[0], dims[0], 0), **params), 0


window_patches_p.impl = _patches_impl
window_patches_p.abstract_eval = _patches_aval
window_patches_p.jvp = _patches_jvp
window_patches_p.transpose = _patches_transpose
window_patches_p.batch = _patches_batch

# ------------------------------------------------------------------ window_overlap_add

window_overlap_add_p = Primitive("window_overlap_add")


def _split_ct_shape(name, shape, ndim, spatial_shape, window_shape, strides, padding, dilation):
    n = len(window_shape)
    _check_params(name, ndim, shape, window_shape, strides, padding, dilation)
    if len(spatial_shape) != n or ndim < 2 * n:
        raise ValueError(f"{name}: operand of shape {shape} does not hold {n} window dims and "
                         f"{n} output dims for spatial shape {spatial_shape}")
    out = _out_spatial(name, spatial_shape, window_shape, strides, padding, dilation, shape)
    lead = shape[:ndim - 2 * n]
    if tuple(shape[ndim - 2 * n:]) != tuple(window_shape) + out:
        raise ValueError(f"{name}: operand of shape {shape} does not end in window "
                         f"{tuple(window_shape)} + output {out} for spatial shape "
                         f"{spatial_shape}")
    return lead, out


def _overlap_aval(ct, spatial_shape, window_shape, strides, padding, dilation):
    lead, _ = _split_ct_shape("window_overlap_add", ct.shape, ct.ndim, spatial_shape,
                              window_shape, strides, padding, dilation)
    return ShapedArray(tuple(lead) + tuple(spatial_shape), ct.dtype, ct.weak_type)


def _overlap_impl(ct, spatial_shape, window_shape, strides, padding, dilation):
    ct = as_ndarray(ct)
    n = len(window_shape)
    lead, out = _split_ct_shape("window_overlap_add", ct.shape, ct.ndim, spatial_shape,
                                window_shape, strides, padding, dilation)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial_shape, padding))
    xp = array_module(ct).zeros(tuple(lead) + padded, ct.dtype)
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(window_shape, strides, dilation))
    if disjoint:
        # every padded position is read by at most one patch entry: one strided write
        _strided_view(xp, n, window_shape, strides, dilation, out)[...] = ct
    else:
        # overlapping windows: add one window offset at a time (each add is vectorised)
        head = (slice(None),) * len(lead)
        for k in itertools.product(*(range(w) for w in window_shape)):
            dst = head + tuple(slice(ki * d, ki * d + (o - 1) * s + 1, s)
                               for ki, d, o, s in zip(k, dilation, out, strides))
            xp[dst] += ct[head + k]
    crop = (slice(None),) * len(lead) + tuple(
        slice(lo, lo + s) for s, (lo, _) in zip(spatial_shape, padding))
    return array_module(ct).ascontiguousarray(xp[crop])


def _overlap_transpose(ct, x, spatial_shape, window_shape, strides, padding, dilation):
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [window_patches_p.bind(ct, window_shape=window_shape, strides=strides,
                                  padding=padding, dilation=dilation, pad_value=0.0)]


def _overlap_batch(size, vals, dims, **params):
    return window_overlap_add_p.bind(moveaxis(vals[0], dims[0], 0), **params), 0


window_overlap_add_p.impl = _overlap_impl
window_overlap_add_p.abstract_eval = _overlap_aval
deflinear(window_overlap_add_p, _overlap_transpose)
window_overlap_add_p.batch = _overlap_batch


# ------------------------------------------------------------------ binders


def _norm_params(window_shape, strides, padding, dilation):
    window_shape = tuple(int(k) for k in window_shape)
    n = len(window_shape)
    strides = tuple(int(s) for s in strides) if strides is not None else (1,) * n
    dilation = tuple(int(d) for d in dilation) if dilation is not None else (1,) * n
    padding = (tuple((int(lo), int(hi)) for lo, hi in padding) if padding is not None
               else ((0, 0),) * n)
    return window_shape, strides, padding, dilation


def window_patches(x, window_shape, strides=None, padding=None, dilation=None, pad_value=0.0):
    """im2col over the trailing ``len(window_shape)`` dims: ``(*lead, *window, *out)``.

    >>> window_patches(np.arange(5.0), (2,)).tolist()
    [[0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]]
    """
    window_shape, strides, padding, dilation = _norm_params(window_shape, strides, padding,
                                                            dilation)
    return window_patches_p.bind(x, window_shape=window_shape, strides=strides,
                                 padding=padding, dilation=dilation,
                                 pad_value=pad_value if isinstance(pad_value, int)
                                 else float(pad_value))


def window_overlap_add(ct, spatial_shape, window_shape, strides=None, padding=None,
                       dilation=None):
    """col2im: the transpose of :func:`window_patches` (zero padding).

    >>> window_overlap_add(np.ones((2, 4)), (5,), (2,)).tolist()
    [1.0, 2.0, 2.0, 2.0, 1.0]
    """
    window_shape, strides, padding, dilation = _norm_params(window_shape, strides, padding,
                                                            dilation)
    return window_overlap_add_p.bind(ct, spatial_shape=tuple(
        int(s) for s in spatial_shape), window_shape=window_shape, strides=strides,
        padding=padding, dilation=dilation)
