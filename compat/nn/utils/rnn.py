"""Variable-length sequences: ``pad_sequence`` (stack with padding) and its inverse
``unpad_sequence``. (``PackedSequence`` is not provided: the recurrent layers take padded
batches.)

>>> seqs = [compat.ones(2), compat.ones(3)]
>>> compat.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
tensor([[1., 1., 0.],
        [1., 1., 1.]])
"""

from __future__ import annotations

from ...ops.creation import full
from ...ops.shape import cat, stack
from ...tensor import Tensor


def pad_sequence(sequences: list[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes :math:`(L_i, *)` into :math:`(L_{max}, B, *)` (or
    :math:`(B, L_{max}, *)` with ``batch_first``), filling with ``padding_value`` on the
    ``padding_side``.

    >>> compat.nn.utils.rnn.pad_sequence([compat.ones(1), compat.ones(2)]).shape
    torch.Size([2, 2])
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side}")
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        extra = longest - s.shape[0]
        if extra:
            pad = full((extra,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)
            s = cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    out = stack(rows, 0)
    return out if batch_first else out.transpose(0, 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """The inverse of :func:`pad_sequence`: the list of unpadded sequences.

    >>> p = compat.nn.utils.rnn.pad_sequence([compat.ones(1), compat.ones(2)], True)
    >>> [t.shape[0] for t in compat.nn.utils.rnn.unpad_sequence(p, compat.tensor([1, 2]), True)]
    [1, 2]
    """
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(lengths.tolist())]


__all__ = ["pad_sequence", "unpad_sequence"]
