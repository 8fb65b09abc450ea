"""The closed set of primitives, one module per family. Importing this package
registers every primitive in ``functorch_lite.core.PRIMITIVES``."""

from . import elementwise, index, linalg, reduce, shape  # noqa: F401
from .conv import window_overlap_add_p, window_patches_p  # noqa: F401
