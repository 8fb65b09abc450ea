"""PyTorch's legacy typed constructors: ``FloatTensor``, ``LongTensor``... Calling one builds
a tensor of its dtype (``LongTensor([1, 2])``, ``FloatTensor(2, 3)``); ``isinstance(t,
FloatTensor)`` checks the dtype; ``t.type(FloatTensor)`` converts.

>>> compat.LongTensor([1, 2]), isinstance(compat.ones(1), compat.FloatTensor)
(tensor([1, 2]), True)
"""

from __future__ import annotations

from . import dtypes
from .tensor import Tensor


class LegacyTensorType(type):
    """Metaclass of the legacy constructors: calls construct, isinstance checks dtype."""

    def __call__(cls, *args, device=None):
        return Tensor(*args, dtype=cls.legacy_dtype, device=device)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.array.dtype == cls.legacy_dtype.dtype

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def legacy(name: str, dt: dtypes.dtype) -> type:
    return LegacyTensorType(name, (), {"legacy_dtype": dt, "__doc__":
                                       f"A ``{dt}`` tensor constructor (legacy API)."})


FloatTensor = legacy("FloatTensor", dtypes.float32)
DoubleTensor = legacy("DoubleTensor", dtypes.float64)
HalfTensor = legacy("HalfTensor", dtypes.float16)
LongTensor = legacy("LongTensor", dtypes.int64)
IntTensor = legacy("IntTensor", dtypes.int32)
ShortTensor = legacy("ShortTensor", dtypes.int16)
CharTensor = legacy("CharTensor", dtypes.int8)
ByteTensor = legacy("ByteTensor", dtypes.uint8)
BoolTensor = legacy("BoolTensor", dtypes.bool)
