"""Small real data sets that ship with the package (no network needed).

>>> images, labels = load_digits()
>>> images.shape, labels.shape
((1797, 8, 8), (1797,))
"""

from __future__ import annotations

import gzip
import os

import numpy as np

_DATA = os.path.join(os.path.dirname(__file__), "data")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits: float32 images (1797, 8, 8) with pixels in [0, 16],
    and int64 labels 0..9. See ``functorch_lite/data/DIGITS_SOURCE.txt``."""
    with gzip.open(os.path.join(_DATA, "digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    return table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64)
