"""Deterministic image operations (``torchvision.transforms.functional``): flips, crops,
padding, resizing, rotation, and conversion to a Tensor.

Each accepts the three image kinds of ``compat.vision`` and returns the kind it was given:
a numpy array H×W or H×W×C, a PIL image (when Pillow is installed), or a Tensor ...×C×H×W.
The work is done on numpy arrays along the two spatial axes.

>>> import numpy as np
>>> img = np.arange(6, dtype=np.uint8).reshape(2, 3)
>>> hflip(img)
array([[2, 1, 0],
       [5, 4, 3]], dtype=uint8)
>>> crop(img, 0, 1, 2, 2)
array([[1, 2],
       [4, 5]], dtype=uint8)
"""

from __future__ import annotations

import enum
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from compat.dtypes import get_default_dtype
from compat.tensor import Tensor, as_tensor, from_numpy


class InterpolationMode(str, enum.Enum):
    """How resizing and rotation sample the source image.

    >>> InterpolationMode("nearest") is InterpolationMode.NEAREST
    True
    """

    NEAREST = "nearest"
    BILINEAR = "bilinear"


Image = Any  # numpy array, PIL image or Tensor


def _pil_image_module() -> Any:
    """PIL.Image if the program has imported it (we never import Pillow ourselves: a PIL
    image can only exist once its module is loaded)."""
    return sys.modules.get("PIL.Image")


def is_pil_image(img: Any) -> bool:
    """Whether ``img`` is a PIL image.

    >>> is_pil_image(np.zeros((2, 2)))
    False
    """
    pil = _pil_image_module()
    return pil is not None and isinstance(img, pil.Image)


def as_array(img: Image) -> tuple[np.ndarray, tuple[int, int], Callable[[np.ndarray], Image]]:
    """(numpy array, (height axis, width axis), function turning a result back into the
    input's kind) for any supported image.

    >>> a, axes, back = as_array(np.zeros((4, 5, 3), np.uint8))
    >>> a.shape, axes
    ((4, 5, 3), (0, 1))
    """
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"an image Tensor needs at least 2 dims (…×C×H×W); got shape "
                             f"{tuple(img.shape)}")
        dev = img.device
        return (img.numpy(force=True), (img.ndim - 2, img.ndim - 1),
                lambda a: as_tensor(np.ascontiguousarray(a), device=dev))
    if is_pil_image(img):
        pil, mode = _pil_image_module(), img.mode

        def back(a: np.ndarray) -> Any:
            out = pil.fromarray(np.ascontiguousarray(a))
            return out if out.mode == mode else out.convert(mode)
        return np.asarray(img), (0, 1), back
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"a numpy image is H×W or H×W×C; got shape {img.shape}")
        return img, (0, 1), np.ascontiguousarray
    raise TypeError(f"expected a numpy array (H×W or H×W×C), a PIL image or a Tensor "
                    f"(…×C×H×W); got {type(img).__name__}")


def image_size(img: Image) -> tuple[int, int]:
    """(height, width) of an image.

    >>> image_size(np.zeros((4, 5, 3)))
    (4, 5)
    """
    a, (h, w), _ = as_array(img)
    return a.shape[h], a.shape[w]


def _cast_like(values: np.ndarray, like: np.dtype) -> np.ndarray:
    """Interpolated float values back to ``like`` (integers rounded and clipped)."""
    if like.kind in "iu":
        info = np.iinfo(like)
        return np.clip(np.floor(values + 0.5), info.min, info.max).astype(like)
    if like.kind == "b":
        return values >= 0.5
    return values.astype(like, copy=False)


def hflip(img: Image) -> Image:
    """Mirror left-right (see the module docstring's example)."""
    a, (_, w), back = as_array(img)
    return back(np.flip(a, axis=w))


def vflip(img: Image) -> Image:
    """Mirror top-bottom.

    >>> vflip(np.array([[1], [2]]))
    array([[2],
           [1]])
    """
    a, (h, _), back = as_array(img)
    return back(np.flip(a, axis=h))


def crop(img: Image, top: int, left: int, height: int, width: int) -> Image:
    """The ``height``×``width`` window whose upper-left corner is (``top``, ``left``)."""
    a, (h, w), back = as_array(img)
    if top < 0 or left < 0 or top + height > a.shape[h] or left + width > a.shape[w]:
        raise ValueError(f"crop window (top={top}, left={left}, {height}×{width}) does not fit "
                         f"in the {a.shape[h]}×{a.shape[w]} image; pad it first")
    index = [slice(None)] * a.ndim
    index[h], index[w] = slice(top, top + height), slice(left, left + width)
    return back(a[tuple(index)])


def _padding4(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) from an int, (left/right, top/bottom) or 4 values."""
    if isinstance(padding, int):
        return (padding,) * 4
    p = tuple(int(v) for v in padding)
    if len(p) == 1:
        return p * 4
    if len(p) == 2:
        return (p[0], p[1], p[0], p[1])
    if len(p) == 4:
        return p  # type: ignore[return-value]
    raise ValueError(f"padding must be an int or a sequence of 1, 2 or 4 ints; got {padding!r}")


def pad(img: Image, padding: int | Sequence[int], fill: float = 0,
        padding_mode: str = "constant") -> Image:
    """Pad the borders: ``padding`` is an int, (left/right, top/bottom) or (left, top,
    right, bottom); ``padding_mode`` is constant (with ``fill``), edge, reflect or symmetric.

    >>> pad(np.array([[1, 2]]), (1, 0), padding_mode="edge")
    array([[1, 1, 2, 2]])
    """
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"padding_mode must be constant, edge, reflect or symmetric; "
                         f"got {padding_mode!r}")
    left, top, right, bottom = _padding4(padding)
    a, (h, w), back = as_array(img)
    widths = [(0, 0)] * a.ndim
    widths[h], widths[w] = (top, bottom), (left, right)
    extra = {"constant_values": fill} if padding_mode == "constant" else {}
    return back(np.pad(a, widths, mode=padding_mode, **extra))


def _resize_weights(n_in: int, n_out: int, mode: InterpolationMode) -> np.ndarray:
    """The (n_out, n_in) matrix that resamples one axis: nearest picks the pixel under each
    output pixel's centre; bilinear is a triangle filter widened by the scale when shrinking
    (so downsampling averages, as PIL's and torchvision's antialiased resize do)."""
    scale = n_in / n_out
    centres = (np.arange(n_out) + 0.5) * scale  # in input pixel units, pixel i spans [i, i+1)
    if mode == InterpolationMode.NEAREST:
        m = np.zeros((n_out, n_in))
        m[np.arange(n_out), np.minimum(np.floor(centres).astype(int), n_in - 1)] = 1
        return m
    support = max(scale, 1.0)
    dist = np.abs((np.arange(n_in) + 0.5)[None, :] - centres[:, None]) / support
    m = np.maximum(0.0, 1.0 - dist)
    return m / m.sum(axis=1, keepdims=True)


def resize(img: Image, size: Sequence[int],
           interpolation: InterpolationMode | str = InterpolationMode.BILINEAR) -> Image:
    """Resample to ``size`` = (height, width).

    Bilinear upsampling matches PyTorch's ``interpolate(align_corners=False)``; shrinking
    averages like torchvision's ``antialias=True`` (the default).

    >>> resize(np.array([[0, 10]], np.uint8), (1, 4))
    array([[ 0,  3,  8, 10]], dtype=uint8)
    """
    mode = InterpolationMode(interpolation)
    a, (h, w), back = as_array(img)
    wy = _resize_weights(a.shape[h], int(size[0]), mode)
    wx = _resize_weights(a.shape[w], int(size[1]), mode)
    ftype = a.dtype if a.dtype.kind == "f" else np.float64
    moved = np.moveaxis(a, (h, w), (0, 1)).astype(ftype, copy=False)
    out = np.tensordot(wx.astype(ftype), np.tensordot(wy.astype(ftype), moved, axes=(1, 0)),
                       axes=(1, 1))  # (W', H', ...)
    return back(_cast_like(np.moveaxis(out, (0, 1), (w, h)), a.dtype))


def _gather(a: np.ndarray, ys: np.ndarray, xs: np.ndarray, fill: Any) -> np.ndarray:
    """a[ys, xs] for a (H, W, ...) array, ``fill`` where (ys, xs) falls outside."""
    inside = (ys >= 0) & (ys < a.shape[0]) & (xs >= 0) & (xs < a.shape[1])
    out = a[np.clip(ys, 0, a.shape[0] - 1), np.clip(xs, 0, a.shape[1] - 1)].astype(np.float64)
    out[~inside] = fill
    return out


def rotate(img: Image, angle: float,
           interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
           expand: bool = False, center: Sequence[float] | None = None,
           fill: float | Sequence[float] = 0) -> Image:
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` ((x, y), origin at
    the upper-left corner; default the image centre); pixels from outside get ``fill``.
    ``expand`` enlarges the output to hold the whole rotated image.

    >>> rotate(np.array([[1, 2], [3, 4]]), 90)
    array([[2, 4],
           [1, 3]])
    """
    mode = InterpolationMode(interpolation)
    a, (h, w), back = as_array(img)
    height, width = a.shape[h], a.shape[w]
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    cx, cy = ((width - 1) / 2, (height - 1) / 2) if center is None else (
        center[0] - 0.5, center[1] - 0.5)
    out_h, out_w = height, width
    if expand:  # the bounding box of the rotated corners (rounded as torchvision does)
        out_w = int(math.ceil(abs(width * cos) + abs(height * sin) - 1e-4))
        out_h = int(math.ceil(abs(width * sin) + abs(height * cos) - 1e-4))
    oy, ox = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
    dx, dy = ox - (out_w - 1) / 2, oy - (out_h - 1) / 2
    if not expand:
        dx, dy = ox - cx, oy - cy
    # inverse map: the source of each output pixel (y grows downwards on screen)
    src_x = cos * dx - sin * dy + cx
    src_y = sin * dx + cos * dy + cy
    moved = np.moveaxis(a, (h, w), (0, 1))
    fill_value = np.asarray(fill, dtype=np.float64)
    if mode == InterpolationMode.NEAREST:
        out = _gather(moved, np.rint(src_y).astype(int), np.rint(src_x).astype(int),
                      fill_value)
    else:
        y0, x0 = np.floor(src_y).astype(int), np.floor(src_x).astype(int)
        fy, fx = src_y - y0, src_x - x0
        extra = (1,) * (moved.ndim - 2)
        out = sum(_gather(moved, y0 + dy_, x0 + dx_, fill_value)
                  * (wy * wx).reshape(wy.shape + extra)
                  for dy_, wy in ((0, 1 - fy), (1, fy)) for dx_, wx in ((0, 1 - fx), (1, fx)))
    return back(_cast_like(np.moveaxis(out, (0, 1), (h, w)), a.dtype))


def to_tensor(pic: Any) -> Tensor:
    """A PIL image or numpy array H×W(×C) as a C×H×W Tensor; uint8 data is scaled to
    [0, 1] in the default float dtype, other dtypes are kept (as torchvision's to_tensor).

    >>> to_tensor(np.full((2, 2), 255, np.uint8)).tolist()
    [[[1.0, 1.0], [1.0, 1.0]]]
    """
    if isinstance(pic, Tensor) or not (isinstance(pic, np.ndarray) or is_pil_image(pic)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    a = np.asarray(pic)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"pic should be 2 or 3 dimensional. Got {a.ndim} dimensions.")
    chw = np.ascontiguousarray(a.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        return from_numpy((chw / np.float32(255)).astype(get_default_dtype().dtype))
    if chw.dtype == np.bool_:  # PIL mode "1"
        return from_numpy(chw.astype(get_default_dtype().dtype))
    return from_numpy(chw)
