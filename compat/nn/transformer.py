r"""Attention and transformer layers: ``MultiheadAttention`` (PyTorch's packed
``in_proj_weight`` :math:`(3E, E)` layout, ``out_proj``, masks, ``need_weights``,
``batch_first``), ``TransformerEncoderLayer`` (post-norm or ``norm_first``), its stack
``TransformerEncoder``, the decoder counterparts and ``Transformer``.

>>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16,
...                                    batch_first=True)
>>> nn.TransformerEncoder(layer, num_layers=2)(compat.randn(3, 5, 8)).shape
torch.Size([3, 5, 8])
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from ..ops.creation import empty
from ..tensor import Tensor, from_numpy
from . import functional as F
from . import init
from .container import ModuleList
from .dropout import Dropout
from .functional.attention import attention
from .linear import Linear
from .module import Module
from .normalization import LayerNorm
from .parameter import Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """``Linear`` under the name PyTorch gives ``MultiheadAttention.out_proj`` (so reprs
    and type checks match)."""


class MultiheadAttention(Module):
    r"""Multi-head attention:

    .. math::
        \text{MultiHead}(Q, K, V) = [\text{head}_1, \dots, \text{head}_h] W^O,\quad
        \text{head}_i = \text{softmax}\big((Q W^Q_i)(K W^K_i)^T / \sqrt{d}\big) V W^V_i

    Args:
        embed_dim: model dimension :math:`E`; num_heads: heads (:math:`d = E / h`).
        dropout: dropout on the attention weights (training only).
        bias: projection biases; add_bias_kv: learned key/value appended to the sequence;
        add_zero_attn: a zero key/value appended; kdim, vdim: key/value feature sizes
            (separate ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when not
            :math:`E`); batch_first: inputs are :math:`(N, L, E)`.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(attn_output, attn_weights)``;
    boolean masks mark positions that may *not* be attended.

    Example::

        >>> mha = nn.MultiheadAttention(8, 2)
        >>> out, w = mha(compat.randn(4, 3, 8), compat.randn(6, 3, 8), compat.randn(6, 3, 8))
        >>> out.shape, w.shape
        (torch.Size([4, 3, 8]), torch.Size([3, 4, 6]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim="
                             f"{embed_dim} and num_heads={num_heads} instead")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self.qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        kw = dict(device=device, dtype=dtype)
        if not self.qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal ``bias_k``/``v``
        (``out_proj.weight`` keeps ``Linear``'s initialisation)."""
        if self.qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {query.shape[-1]}")
        return attention(query, key, value, self.num_heads, self.in_proj_weight,
                         self.q_proj_weight, self.k_proj_weight, self.v_proj_weight,
                         self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn,
                         self.dropout if self.training else 0.0, self.out_proj.weight,
                         self.out_proj.bias, key_padding_mask, need_weights, attn_mask,
                         average_attn_weights, is_causal, self.batch_first)


def activation_fn(activation) -> Callable:
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


class TransformerLayer(Module):
    """What the encoder and decoder blocks share: the sublayers, registered in PyTorch's
    order (``self_attn``, [``multihead_attn``], ``linear1``, ``dropout``, ``linear2``,
    ``norm1``, ``norm2``, [``norm3``], ``dropout1``, ``dropout2``, [``dropout3``]), the
    self-attention and feed-forward blocks."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 activation: str | Callable, layer_norm_eps: float, batch_first: bool,
                 norm_first: bool, bias: bool, device, dtype, cross: bool) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        if cross:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                     bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        for i in range(3 if cross else 2):
            setattr(self, f"norm{i + 1}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                    **kw))
        for i in range(3 if cross else 2):
            setattr(self, f"dropout{i + 1}", Dropout(dropout))
        self.activation = activation_fn(activation)

    def sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        """Self-attention sublayer (no residual, no norm)."""
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def ff_block(self, x: Tensor, out_dropout: Module) -> Tensor:
        """Feed-forward sublayer (no residual, no norm)."""
        return out_dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(TransformerLayer):
    r"""One transformer encoder block: self-attention and a feed-forward network
    (``linear2(dropout(activation(linear1(x))))``), each with a residual connection and
    ``LayerNorm`` -- after the residual by default, before the sublayer with
    ``norm_first=True``.

    Args:
        d_model: model dimension; nhead: attention heads;
        dim_feedforward: hidden size of the feed-forward network (2048);
        dropout: dropout rate (0.1); activation: ``"relu"``, ``"gelu"`` or a callable;
        layer_norm_eps: LayerNorm's eps; batch_first: :math:`(N, S, E)` inputs;
        norm_first: pre-norm; bias: biases in the linear and norm layers.

    Example::

        >>> layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, batch_first=True)
        >>> layer(compat.randn(2, 10, 16)).shape
        torch.Size([2, 10, 16])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias, device, dtype, cross=False)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self.sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self.ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self.sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self.ff_block(x, self.dropout2))


class TransformerDecoderLayer(TransformerLayer):
    r"""One transformer decoder block: self-attention, cross-attention over ``memory`` and
    a feed-forward network, each with residual and ``LayerNorm`` (post- or pre-norm).
    Arguments as ``TransformerEncoderLayer``.

    Example::

        >>> layer = nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> layer(compat.randn(4, 2, 8), compat.randn(6, 2, 8)).shape
        torch.Size([4, 2, 8])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias, device, dtype, cross=True)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self.sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self.mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                   memory_is_causal)
            return x + self.ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self.sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self.mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                          memory_is_causal))
        return self.norm3(x + self.ff_block(x, self.dropout3))

    def mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal) -> Tensor:
        """Cross-attention sublayer over the encoder output ``mem``."""
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)


class LayerStack(Module):
    """``num_layers`` deep copies of one layer as ``layers.0``..., then an optional
    ``norm``: the body of ``TransformerEncoder`` and ``TransformerDecoder``."""

    def __init__(self, layer: Module, num_layers: int, norm: Module | None) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def finish(self, x: Tensor) -> Tensor:
        return self.norm(x) if self.norm is not None else x


class TransformerEncoder(LayerStack):
    r"""A stack of ``num_layers`` copies of ``encoder_layer`` (``layers.0``, ``layers.1``...),
    followed by ``norm`` when given.

    Example::

        >>> enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), num_layers=3)
        >>> enc(compat.randn(5, 2, 8)).shape, len(enc.layers)
        (torch.Size([5, 2, 8]), 3)
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__(encoder_layer, num_layers, norm)

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None,
                is_causal: bool | None = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return self.finish(x)


class TransformerDecoder(LayerStack):
    r"""A stack of ``num_layers`` copies of ``decoder_layer``, then ``norm`` when given.

    Example::

        >>> dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), num_layers=2)
        >>> dec(compat.randn(4, 2, 8), compat.randn(6, 2, 8)).shape
        torch.Size([4, 2, 8])
    """

    def __init__(self, decoder_layer: Module, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__(decoder_layer, num_layers, norm)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                      memory_key_padding_mask, bool(tgt_is_causal), memory_is_causal)
        return self.finish(x)


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """The causal mask for a sequence of length ``sz``: 0 on and below the diagonal,
    ``-inf`` above (float, additive).

    >>> nn.Transformer.generate_square_subsequent_mask(2)
    tensor([[0., -inf],
            [0., 0.]])
    """
    m = np.triu(np.full((sz, sz), -np.inf, np.float32), 1)
    t = from_numpy(m)
    return t.to(dtype=dtype) if dtype is not None else t


class Transformer(Module):
    r"""The encoder-decoder transformer of "Attention Is All You Need": a
    ``TransformerEncoder`` and a ``TransformerDecoder`` (each with a final ``LayerNorm``),
    parameters with more than one dim initialised Xavier-uniform.

    Example::

        >>> model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
        ...                        num_decoder_layers=1, dim_feedforward=16)
        >>> model(compat.randn(6, 2, 8), compat.randn(4, 2, 8)).shape
        torch.Size([4, 2, 8])
    """

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                            activation, layer_norm_eps, batch_first,
                                            norm_first, bias, **kw)
            self.encoder = TransformerEncoder(layer, num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                        **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout,
                                            activation, layer_norm_eps, batch_first,
                                            norm_first, bias, **kw)
            self.decoder = TransformerDecoder(layer, num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                        **kw))
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None,
                memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)


__all__ = ["MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer",
           "TransformerEncoder", "TransformerEncoderLayer"]
