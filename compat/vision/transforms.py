"""Image transforms (``torchvision.transforms``): Compose, ToTensor, Normalize,
RandomHorizontalFlip, RandomRotation, RandomCrop, Resize, Lambda.

They accept numpy arrays H×W or H×W×C (uint8), PIL images when Pillow is installed, and
Tensors …×C×H×W, and return the kind they were given (ToTensor returns a Tensor). Random
choices are drawn from ``compat``'s global generator, so ``compat.manual_seed(n)`` makes
augmentation reproducible (and DataLoader workers, seeded per worker, differ from each other).

>>> import numpy as np, compat as torch
>>> from compat.vision import transforms
>>> pipeline = transforms.Compose([transforms.RandomCrop(4, padding=1),
...                                transforms.ToTensor(),
...                                transforms.Normalize((0.5,), (0.5,))])
>>> _ = torch.manual_seed(0)
>>> out = pipeline(np.zeros((4, 4), np.uint8))
>>> tuple(out.shape), out.dtype
((1, 4, 4), torch.float32)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from compat.random import rng_of
from compat.tensor import Tensor, as_tensor, from_numpy
from compat.vision import functional as F
from compat.vision.functional import Image, InterpolationMode


def _uniform(low: float = 0.0, high: float = 1.0) -> float:
    """A float in [low, high) from compat's global generator."""
    return low + (high - low) * float(rng_of(None).random())


def _randint(low: int, high: int) -> int:
    """An int in [low, high) from compat's global generator."""
    return int(rng_of(None).integers(low, high))


def _pair(size: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{what} should be an int or a sequence of 1 or 2 ints; got {size!r}")


class Compose:
    """Apply ``transforms`` one after the other.

    >>> Compose([lambda x: x + 1, lambda x: x * 10])(1)
    20
    """

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class Lambda:
    """Wrap a function as a transform.

    >>> Lambda(lambda x: x * 2)(3)
    6
    """

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToTensor:
    """A numpy array H×W(×C) or a PIL image to a C×H×W Tensor; uint8 is scaled to [0, 1]
    float32 (other dtypes are kept, as in torchvision).

    >>> import numpy as np
    >>> ToTensor()(np.array([[0, 255]], np.uint8)).tolist()
    [[[0.0, 1.0]]]
    """

    def __call__(self, pic: Any) -> Tensor:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a float Tensor C×H×W (or …×C×H×W).

    >>> import compat as torch
    >>> Normalize((0.5,), (0.25,))(torch.ones(1, 1, 2)).tolist()
    [[[2.0, 2.0]]]
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize expects a float Tensor (C×H×W); got "
                            f"{type(tensor).__name__}: put ToTensor() before it")
        if not tensor.dtype.is_floating_point:
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). "
                             f"Got tensor.size() = {tuple(tensor.shape)}")
        std_values = np.asarray(self.std, dtype=tensor.dtype.dtype)
        if (std_values == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, "
                             "leading to division by zero.")
        mean_values = np.asarray(self.mean, dtype=tensor.dtype.dtype).reshape(-1, 1, 1)
        std_values = std_values.reshape(-1, 1, 1)
        if not (self.inplace or tensor.requires_grad or tensor.is_cuda):
            # the data-pipeline case: plain numpy, without the per-op cost of autograd ops
            return from_numpy((tensor.numpy() - mean_values) / std_values)
        mean = as_tensor(mean_values, device=tensor.device)
        std = as_tensor(std_values, device=tensor.device)
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return (tensor - mean) / std

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``.

    >>> import numpy as np
    >>> RandomHorizontalFlip(p=1.0)(np.array([[1, 2, 3]]))
    array([[3, 2, 1]])
    """

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, img: Image) -> Image:
        return F.hflip(img) if _uniform() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d means (-d, d)),
    counter-clockwise for positive angles; see ``functional.rotate`` for the rest.

    >>> import numpy as np
    >>> RandomRotation((90, 90))(np.array([[1, 2], [3, 4]]))
    array([[2, 4],
           [1, 3]])
    """

    def __init__(self, degrees: float | Sequence[float],
                 interpolation: InterpolationMode | str = InterpolationMode.NEAREST,
                 expand: bool = False, center: Sequence[float] | None = None,
                 fill: float | Sequence[float] = 0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = (-degrees, degrees)
        elif len(degrees) != 2:
            raise ValueError("If degrees is a sequence, it must be of len 2.")
        self.degrees = (float(degrees[0]), float(degrees[1]))
        self.interpolation = InterpolationMode(interpolation)
        self.expand = expand
        self.center = center
        self.fill = fill

    def __call__(self, img: Image) -> Image:
        angle = _uniform(*self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(degrees={self.degrees})"


class RandomCrop:
    """Crop a random ``size`` window (an int means square), after optional ``padding``
    (int, (left/right, top/bottom) or (left, top, right, bottom)) with ``fill`` /
    ``padding_mode``; ``pad_if_needed`` pads an image smaller than ``size``.

    >>> import numpy as np
    >>> RandomCrop(2, padding=1)(np.ones((2, 2), np.uint8)).shape
    (2, 2)
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0, padding_mode: str = "constant"):
        self.size = _pair(size, "size")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img: Image) -> Image:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        th, tw = self.size
        h, w = F.image_size(img)
        if self.pad_if_needed and w < tw:
            img = F.pad(img, (tw - w, 0), self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            img = F.pad(img, (0, th - h), self.fill, self.padding_mode)
        h, w = F.image_size(img)
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}; pass padding= or pad_if_needed=True")
        if (h, w) == (th, tw):
            return img
        top, left = _randint(0, h - th + 1), _randint(0, w - tw + 1)
        return F.crop(img, top, left, th, tw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class Resize:
    """Resize to ``size``: (h, w), or an int to match the smaller edge keeping the aspect
    ratio (the longer edge capped at ``max_size`` if given). Bilinear by default; shrinking
    averages like torchvision's ``antialias=True``.

    >>> import numpy as np
    >>> Resize(4)(np.zeros((8, 16), np.uint8)).shape
    (4, 8)
    """

    def __init__(self, size: int | Sequence[int],
                 interpolation: InterpolationMode | str = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True):
        if not isinstance(size, numbers.Integral) and len(size) not in (1, 2):
            raise ValueError(f"size should be an int or a sequence of 1 or 2 ints; got {size}")
        if max_size is not None and not (isinstance(size, numbers.Integral) or len(size) == 1):
            raise ValueError("max_size is only supported with a single int size")
        self.size = size
        self.interpolation = InterpolationMode(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """The (height, width) an h×w image is resized to."""
        if not isinstance(self.size, numbers.Integral) and len(self.size) == 2:
            return int(self.size[0]), int(self.size[1])
        requested = int(self.size if isinstance(self.size, numbers.Integral) else self.size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = requested, int(requested * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)

    def __call__(self, img: Image) -> Image:
        return F.resize(img, self.output_size(*F.image_size(img)), self.interpolation)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation.value})"
