"""Image-shaped layers: ``Upsample``, ``UpsamplingNearest2d``, ``UpsamplingBilinear2d``,
``PixelShuffle``, ``PixelUnshuffle``, the padding layers (``ZeroPad2d``,
``ConstantPad1d/2d``, ``ReflectionPad1d/2d``, ``ReplicationPad1d/2d``,
``CircularPad1d/2d``), ``Unfold``/``Fold``, and the distances ``CosineSimilarity``,
``PairwiseDistance``.

>>> nn.ZeroPad2d(1)(compat.ones(1, 1, 2, 2)).shape
torch.Size([1, 1, 4, 4])
"""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class Upsample(Module):
    r"""Resize the spatial dims to ``size`` or by ``scale_factor`` (``mode``: nearest,
    nearest-exact, linear, bilinear, trilinear; see ``F.interpolate``).

    Example::

        >>> nn.Upsample(scale_factor=2, mode="bilinear")(compat.ones(1, 1, 2, 2)).shape
        torch.Size([1, 1, 4, 4])
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) \
            else scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample`` with ``mode="nearest"``.

    Example::

        >>> nn.UpsamplingNearest2d(scale_factor=2)(compat.ones(1, 1, 1, 1)).shape
        torch.Size([1, 1, 2, 2])
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample`` with ``mode="bilinear"`` and ``align_corners=True``.

    Example::

        >>> nn.UpsamplingBilinear2d(scale_factor=2)(compat.ones(1, 1, 2, 2)).shape
        torch.Size([1, 1, 4, 4])
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    r""":math:`(*, C r^2, H, W) \to (*, C, H r, W r)`.

    Example::

        >>> nn.PixelShuffle(3)(compat.ones(1, 9, 4, 4)).shape
        torch.Size([1, 1, 12, 12])
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    r""":math:`(*, C, H r, W r) \to (*, C r^2, H, W)`.

    Example::

        >>> nn.PixelUnshuffle(2)(compat.ones(1, 1, 4, 4)).shape
        torch.Size([1, 4, 2, 2])
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class PadNd(Module):
    """A fixed padding of the last ``n`` dims (``padding``: an int for every side, or
    ``(left, right, top, bottom, ...)``)."""

    n = 2
    mode = "constant"

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        self.padding = (padding,) * (2 * self.n) if isinstance(padding, int) else tuple(
            padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        if self.mode == "constant" and type(self).__name__.startswith("Constant"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def pad_class(name: str, n: int, mode: str, doc: str) -> type:
    """A padding layer class (``ReflectionPad2d``...) for ``n`` dims and ``mode``."""
    return type(name, (PadNd,), {"n": n, "mode": mode, "__doc__": doc, "__module__": __name__})


ZeroPad1d = pad_class("ZeroPad1d", 1, "constant", "Pad the last dim with zeros.")
ZeroPad2d = pad_class("ZeroPad2d", 2, "constant", """Pad the last 2 dims with zeros.

    Example::

        >>> nn.ZeroPad2d((1, 1, 2, 0))(compat.ones(1, 1, 3, 3)).shape
        torch.Size([1, 1, 5, 5])
    """)
ConstantPad1d = pad_class("ConstantPad1d", 1, "constant", "Pad the last dim with ``value``.")
ConstantPad2d = pad_class("ConstantPad2d", 2, "constant",
                          "Pad the last 2 dims with ``value``.")
ConstantPad3d = pad_class("ConstantPad3d", 3, "constant",
                          "Pad the last 3 dims with ``value``.")
ReflectionPad1d = pad_class("ReflectionPad1d", 1, "reflect",
                            "Pad the last dim with its reflection (edge not repeated).")
ReflectionPad2d = pad_class("ReflectionPad2d", 2, "reflect", """Pad the last 2 dims with
    their reflection (edge not repeated).

    Example::

        >>> nn.ReflectionPad2d(1)(compat.arange(4.0).reshape(1, 1, 2, 2))[0, 0, 0].tolist()
        [3.0, 2.0, 3.0, 2.0]
    """)
ReplicationPad1d = pad_class("ReplicationPad1d", 1, "replicate",
                             "Pad the last dim by repeating its edge values.")
ReplicationPad2d = pad_class("ReplicationPad2d", 2, "replicate",
                             "Pad the last 2 dims by repeating their edge values.")
CircularPad1d = pad_class("CircularPad1d", 1, "circular",
                          "Pad the last dim by wrapping around.")
CircularPad2d = pad_class("CircularPad2d", 2, "circular",
                          "Pad the last 2 dims by wrapping around.")


class Unfold(Module):
    r"""Extract sliding local blocks (im2col): :math:`(N, C, H, W) \to (N, C\prod k, L)`.

    Example::

        >>> nn.Unfold(kernel_size=(2, 3))(compat.randn(2, 5, 3, 4)).shape
        torch.Size([2, 30, 4])
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    r"""Combine sliding blocks into an image (col2im, overlaps summed).

    Example::

        >>> nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(compat.randn(1, 12, 12)).shape
        torch.Size([1, 3, 4, 5])
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class CosineSimilarity(Module):
    r"""Cosine similarity of two inputs along ``dim``.

    Example::

        >>> nn.CosineSimilarity(dim=0)(compat.tensor([1.0, 0.0]), compat.tensor([1.0, 0.0]))
        tensor(1.)
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    r""":math:`\lVert x_1 - x_2 + \epsilon \rVert_p` over the last dim.

    Example::

        >>> nn.PairwiseDistance(eps=0.0)(compat.zeros(1, 2), compat.tensor([[3.0, 4.0]]))
        tensor([5.])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


__all__ = [
    "CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "CosineSimilarity", "Fold", "PairwiseDistance", "PixelShuffle", "PixelUnshuffle",
    "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "Unfold",
    "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d", "ZeroPad1d", "ZeroPad2d",
]
