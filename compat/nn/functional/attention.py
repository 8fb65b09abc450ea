r"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``
(what ``nn.MultiheadAttention`` runs): the whole attention -- projections, masking, softmax,
dropout of the weights, output projection -- is one ``Op`` over a pure function, so eager
code records one graph node and the backward is one program of the core's VJP.

Masks become one additive float array: boolean ``attn_mask`` in
``scaled_dot_product_attention`` marks positions that *take part* (PyTorch's convention
there); in ``multi_head_attention_forward`` boolean masks (``attn_mask``,
``key_padding_mask``) mark positions that are *not allowed*, again as PyTorch. A row
with every position masked gives NaN, as in PyTorch.

>>> q = compat.ones(1, 2, 4)
>>> F.scaled_dot_product_attention(q, q, compat.arange(8.0).reshape(1, 2, 4)).tolist()
[[[2.0, 3.0, 4.0, 5.0], [2.0, 3.0, 4.0, 5.0]]]
"""

from __future__ import annotations

import math

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp

from ... import random as crandom
from ...ops.dispatch import Op
from ...tensor import Tensor


def attend(q, k, v, mask, drop, scale):
    """``softmax(q k^T * scale + mask) v`` over the last two dims; also the weights."""
    s = fnp.multiply(fnp.matmul(q, fnp.swapaxes(k, -1, -2)), scale)
    if mask is not None:
        s = fnp.add(s, mask)
    w = fl.nn.softmax(s, axis=-1)
    p = w if drop is None else fnp.multiply(w, drop)
    return fnp.matmul(p, v), w


def sdpa_fn(q, k, v, mask, drop, scale):
    return attend(q, k, v, mask, drop, scale)[0]


sdpa_op = Op(sdpa_fn, "ScaledDotProductAttention")


def as_additive(mask, dtype, allowed_when_true: bool):
    """A boolean or float mask as an additive float array (0 where attending, -inf where
    masked); a float mask passes through (a Tensor stays a Tensor, so it can be learned)."""
    if mask is None:
        return None
    if isinstance(mask, Tensor) and mask.is_floating_point():
        return mask
    m = np.asarray(mask.numpy(force=True) if isinstance(mask, Tensor) else mask)
    if m.dtype != np.bool_:
        return m.astype(dtype)
    blocked = ~m if allowed_when_true else m
    return np.where(blocked, -np.inf, 0.0).astype(dtype)


def causal_mask(L: int, S: int, dtype) -> np.ndarray:
    return np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf).astype(dtype)


def dropout_mask(shape, p: float, dtype):
    keep = crandom.rng_of(None).random(shape) >= p
    return (keep / (1.0 - p)).astype(dtype)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    r"""Attention :math:`\text{softmax}(QK^T / \sqrt{E} + M)\,V` over the last two dims.

    Args:
        query: :math:`(*, L, E)`; key :math:`(*, S, E)`; value :math:`(*, S, E_v)`.
        attn_mask: boolean (True: take part) or additive float, broadcastable to
            :math:`(*, L, S)`.
        dropout_p: dropout probability on the attention weights.
        is_causal: mask out keys after each query position.
        scale: the factor instead of :math:`1/\sqrt{E}`.
        enable_gqa: repeat key/value heads to match the query heads (grouped queries).

    >>> F.scaled_dot_product_attention(compat.ones(2, 3, 4), compat.ones(2, 5, 4),
    ...                                compat.ones(2, 5, 6), is_causal=True).shape
    torch.Size([2, 3, 6])
    """
    dt = query.array.dtype
    L, S, E = query.shape[-2], key.shape[-2], query.shape[-1]
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    mask = causal_mask(L, S, dt) if is_causal else as_additive(attn_mask, dt, True)
    if enable_gqa and key.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, dim=-3)
        value = value.repeat_interleave(rep, dim=-3)
    shape = np.broadcast_shapes(tuple(query.shape[:-1]) + (S,), tuple(key.shape[:-2]) +
                                (L, S))
    drop = dropout_mask(shape, dropout_p, dt) if dropout_p > 0 else None
    s = float(scale) if scale is not None else 1.0 / math.sqrt(E)
    return sdpa_op(query, key, value, mask, drop, scale=s)


def mha_fn(q_in, k_in, v_in, w_in, w_q, w_k, w_v, b_in, bias_k, bias_v, w_out, b_out, mask,
           drop, heads, zero_attn, need_weights, average, batch_first):
    """Multi-head attention on inputs :math:`(N, L, E)`, :math:`(N, S, E_k)`,
    :math:`(N, S, E_v)` (sequence-first unless ``batch_first``: swapped here, inside the one
    op); returns the output in the input's layout (and the weights when ``need_weights``).
    ``w_in`` :math:`(3E, E)` holds the three projections, else ``w_q, w_k, w_v`` do."""
    if not batch_first:
        q_in, k_in, v_in = (fnp.swapaxes(t, 0, 1) for t in (q_in, k_in, v_in))
    n, L, E = q_in.shape
    if w_in is not None:
        w_q, w_k, w_v = w_in[:E], w_in[E:2 * E], w_in[2 * E:]
    hd = E // heads
    b_q = b_k = b_v = None
    if b_in is not None:
        b_q, b_k, b_v = b_in[:E], b_in[E:2 * E], b_in[2 * E:]

    def proj(x, w, b):
        y = fl.lax.dot_general(x, w, (((2,), (1,)), ((), ())))
        return y if b is None else fnp.add(y, b)

    q, k, v = proj(q_in, w_q, b_q), proj(k_in, w_k, b_k), proj(v_in, w_v, b_v)
    if bias_k is not None:  # one learned key/value appended to every sequence
        k = fnp.concatenate([k, fnp.broadcast_to(fnp.reshape(bias_k, (1, 1, E)), (n, 1, E))], 1)
        v = fnp.concatenate([v, fnp.broadcast_to(fnp.reshape(bias_v, (1, 1, E)), (n, 1, E))], 1)

    def heads_first(x):  # (N, S, E) -> (N, H, S, hd)
        return fnp.transpose(fnp.reshape(x, (n, x.shape[1], heads, hd)), (0, 2, 1, 3))

    q, k, v = heads_first(q), heads_first(k), heads_first(v)
    if zero_attn:
        z = fnp.zeros((n, heads, 1, hd), q.dtype)
        k, v = fnp.concatenate([k, z], 2), fnp.concatenate([v, z], 2)
    out, w = attend(q, k, v, mask, drop, 1.0 / math.sqrt(hd))
    out = fnp.reshape(fnp.transpose(out, (0, 2, 1, 3)), (n, L, E))
    out = proj(out, w_out, b_out)
    if not batch_first:
        out = fnp.swapaxes(out, 0, 1)
    if not need_weights:
        return out
    return out, (fnp.mean(w, axis=1) if average else w)


mha_op = Op(mha_fn, "MultiheadAttention", multi=True)
mha_out_op = Op(mha_fn, "MultiheadAttention")


def mha_mask(attn_mask, key_padding_mask, n: int, heads: int, L: int, S: int, extra: int,
             dtype):
    """The additive mask ``(N, H, L, S + extra)`` (or None) from PyTorch's two masks;
    ``extra`` zero columns for ``bias_k`` / ``add_zero_attn``."""
    am = as_additive(attn_mask, dtype, False)
    kpm = as_additive(key_padding_mask, dtype, False)
    if am is None and kpm is None:
        return None
    parts = []
    if am is not None:
        if isinstance(am, Tensor):
            am = am.numpy(force=True)
        am = np.asarray(am)
        if am.ndim == 2:
            if am.shape != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {am.shape}, but should "
                                   f"be {(L, S)}.")
            am = am[None, None]
        else:
            if am.shape != (n * heads, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {am.shape}, but should "
                                   f"be {(n * heads, L, S)}.")
            am = am.reshape(n, heads, L, S)
        parts.append(am)
    if kpm is not None:
        kpm = np.asarray(kpm.numpy(force=True) if isinstance(kpm, Tensor) else kpm)
        if kpm.shape != (n, S):
            raise RuntimeError(f"expected key_padding_mask of shape {(n, S)}, got {kpm.shape}")
        parts.append(kpm[:, None, None, :])
    total = parts[0] if len(parts) == 1 else parts[0] + parts[1]
    total = np.broadcast_to(total, (n, heads, L, S))
    if extra:
        total = np.concatenate([total, np.zeros((n, heads, L, extra), dtype)], axis=-1)
    return np.ascontiguousarray(total, dtype=dtype)


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor,
                                 embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None,
                                 add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None,
                                 use_separate_proj_weight: bool = False,
                                 q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None,
                                 v_proj_weight: Tensor | None = None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True,
                                 is_causal: bool = False):
    r"""Multi-head attention on sequence-first inputs :math:`(L, N, E)` (or unbatched
    :math:`(L, E)`), PyTorch's functional form of ``nn.MultiheadAttention``:

    .. math::
        \text{head}_i = \text{softmax}\Big(\frac{(QW^Q_i)(KW^K_i)^T}{\sqrt{d}} + M\Big)VW^V_i,
        \quad \text{out} = [\text{head}_1, \dots, \text{head}_h] W^O + b^O

    ``in_proj_weight`` :math:`(3E, E)` stacks :math:`W^Q, W^K, W^V` (PyTorch's layout);
    with ``use_separate_proj_weight`` the three are given apart. Returns
    ``(output, weights)``: weights :math:`(N, L, S)` averaged over heads (per head with
    ``average_attn_weights=False``), or None when ``need_weights`` is False.

    >>> E = 4; w = compat.randn(3 * E, E); wo = compat.eye(E)
    >>> out, attn = F.multi_head_attention_forward(
    ...     compat.ones(3, 2, E), compat.ones(5, 2, E), compat.ones(5, 2, E), E, 2, w, None,
    ...     None, None, False, 0.0, wo, None)
    >>> out.shape, attn.shape
    (torch.Size([3, 2, 4]), torch.Size([2, 3, 5]))
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k/static_v are not "
                                  "supported")
    if query.shape[-1] != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {query.shape[-1]}")
    if not use_separate_proj_weight:
        q_proj_weight = k_proj_weight = v_proj_weight = None
    else:
        in_proj_weight = None
    return attention(query, key, value, num_heads, in_proj_weight, q_proj_weight,
                     k_proj_weight, v_proj_weight, in_proj_bias, bias_k, bias_v,
                     add_zero_attn, dropout_p if training else 0.0, out_proj_weight,
                     out_proj_bias, key_padding_mask, need_weights, attn_mask,
                     average_attn_weights, is_causal, batch_first=False)


def attention(query: Tensor, key: Tensor, value: Tensor, num_heads: int, w_in, w_q, w_k,
              w_v, b_in, bias_k, bias_v, add_zero_attn: bool, dropout_p: float, w_out, b_out,
              key_padding_mask, need_weights: bool, attn_mask, average_attn_weights: bool,
              is_causal: bool, batch_first: bool):
    """Multi-head attention in either layout (``batch_first``), unbatched inputs allowed:
    masks and the dropout mask prepared here, the math in one ``Op``."""
    batched = query.ndim == 3
    seq_dim = 1 if batch_first else 0
    if not batched:
        query, key, value = query.unsqueeze(1 - seq_dim), key.unsqueeze(1 - seq_dim), \
            value.unsqueeze(1 - seq_dim)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, S, E = query.shape[seq_dim], key.shape[seq_dim], query.shape[2]
    n = query.shape[1 - seq_dim]
    if E % num_heads:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    dt = query.array.dtype
    if is_causal and attn_mask is None:
        attn_mask = causal_mask(L, S, dt)
    extra = (1 if bias_k is not None else 0) + (1 if add_zero_attn else 0)
    mask = mha_mask(attn_mask, key_padding_mask, n, num_heads, L, S, extra, dt)
    drop = None
    if dropout_p > 0:
        drop = dropout_mask((n, num_heads, L, S + extra), dropout_p, dt)
    args = (query, key, value, w_in, w_q, w_k, w_v, b_in, bias_k, bias_v, w_out, b_out, mask,
            drop)
    params = dict(heads=int(num_heads), zero_attn=bool(add_zero_attn),
                  need_weights=bool(need_weights), average=bool(average_attn_weights),
                  batch_first=bool(batch_first))
    if need_weights:
        out, weights = mha_op(*args, **params)
    else:
        out, weights = mha_out_op(*args, **params), None
    if not batched:
        out = out.squeeze(1 - seq_dim)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights


__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]
