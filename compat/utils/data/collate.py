"""Collation (``torch.utils.data._utils.collate``): merging a list of samples into a batch.

:func:`default_collate` follows PyTorch: Tensors are stacked; numpy arrays become Tensors and
are stacked; Python floats become a float64 Tensor and ints an int64 one (bools a bool one);
numpy scalars keep their dtype; str and bytes stay a list; dicts, namedtuples, tuples and
lists are collated field by field (a tuple comes back as a list, as in PyTorch).
:func:`default_convert` is the no-batching counterpart (``batch_size=None``).

>>> import compat as torch
>>> xs, ys = default_collate([(torch.zeros(2), 1), (torch.ones(2), 0)])
>>> tuple(xs.shape), ys.tolist(), ys.dtype
((2, 2), [1, 0], torch.int64)
>>> default_collate([{"a": 1.0, "name": "x"}, {"a": 2.0, "name": "y"}])["name"]
['x', 'y']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from compat.dtypes import float64
from compat.ops.shape import stack
from compat.tensor import Tensor, as_tensor, tensor

_UNSUPPORTED = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                "or lists; found {}")


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _numeric_array(x: Any) -> bool:
    """A numpy array or scalar of numbers (not strings or objects)."""
    if not isinstance(x, (np.ndarray, np.generic)):
        return False
    if x.dtype.kind in "SUOV":
        raise TypeError(_UNSUPPORTED.format(x.dtype))
    return True


def _rebuild(like: Any, items: Any) -> Any:
    """A container of ``like``'s type holding ``items`` (a plain dict/list when that type
    cannot be built from one)."""
    try:
        return type(like)(items)
    except TypeError:
        return dict(items) if isinstance(like, Mapping) else list(items)


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, field by field (see the module docstring).

    >>> import numpy as np
    >>> b = default_collate([np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)])
    >>> tuple(b.shape), b.dtype
    ((2, 2, 3), torch.float32)
    >>> default_collate([0.5, 1.5]).dtype
    torch.float64
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if _numeric_array(elem):
        if isinstance(elem, np.ndarray) and elem.ndim:
            return stack([as_tensor(b) for b in batch], 0)
        return as_tensor(np.asarray(batch))
    if isinstance(elem, float):
        return tensor(list(batch), dtype=float64)
    if isinstance(elem, int):  # bools included: tensor() keeps them bool
        return tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return _rebuild(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        if _is_namedtuple(elem):
            return type(elem)(*fields)
        return fields if isinstance(elem, tuple) else _rebuild(elem, fields)
    raise TypeError(_UNSUPPORTED.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Turn numpy arrays inside ``data`` into Tensors, leaving everything else as it is;
    the DataLoader's collate function when automatic batching is off (``batch_size=None``).

    >>> import numpy as np
    >>> default_convert({"x": np.arange(3)})["x"].tolist()
    [0, 1, 2]
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        return as_tensor(data) if data.dtype.kind not in "SUOV" else data
    if isinstance(data, Mapping):
        return _rebuild(data, {key: default_convert(v) for key, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data
