r"""Recurrent layers: ``RNN`` (tanh or relu), ``LSTM``, ``GRU`` and their cells, with
PyTorch's weight names and shapes (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, ``..._reverse`` for the backward direction), gate order (LSTM: input,
forget, cell, output; GRU: reset, update, new), initialisation
:math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`, ``batch_first``, ``bidirectional``, dropout
between layers and initial states.

The whole network -- every layer and direction -- runs as one ``Op`` over a pure function
whose time loop is ``functorch_lite.lax.scan``: one graph node per call, and its backward is
the core's VJP of the scan.

>>> lstm = nn.LSTM(10, 20, num_layers=2)
>>> out, (h, c) = lstm(compat.randn(5, 3, 10))
>>> out.shape, h.shape, c.shape
(torch.Size([5, 3, 20]), torch.Size([2, 3, 20]), torch.Size([2, 3, 20]))
"""

from __future__ import annotations

import math

import functorch_lite as fl
import functorch_lite.numpy as fnp

from .. import random as crandom
from ..ops.creation import empty, zeros
from ..ops.dispatch import Op
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def affine(x, w, b):
    """``x @ w.T + b`` contracting the last dim of ``x``."""
    y = fl.lax.dot_general(x, w, (((x.ndim - 1,), (1,)), ((), ())))
    return y if b is None else fnp.add(y, b)


def cell_step(mode, xt, h, c, w_hh, b_hh):
    """One time step from the input projection ``xt`` (``x W_ih^T + b_ih``): new (h, c)."""
    hh = affine(h, w_hh, b_hh)
    if mode == "LSTM":
        i, f, g, o = fnp.split(fnp.add(xt, hh), 4, axis=-1)
        c = fnp.add(fnp.multiply(fl.nn.sigmoid(f), c),
                    fnp.multiply(fl.nn.sigmoid(i), fnp.tanh(g)))
        return fnp.multiply(fl.nn.sigmoid(o), fnp.tanh(c)), c
    if mode == "GRU":
        xr, xz, xn = fnp.split(xt, 3, axis=-1)
        hr, hz, hn = fnp.split(hh, 3, axis=-1)
        r = fl.nn.sigmoid(fnp.add(xr, hr))
        z = fl.nn.sigmoid(fnp.add(xz, hz))
        n = fnp.tanh(fnp.add(xn, fnp.multiply(r, hn)))
        return fnp.add(fnp.multiply(fnp.subtract(1.0, z), n), fnp.multiply(z, h)), c
    pre = fnp.add(xt, hh)
    return (fnp.tanh(pre) if mode == "RNN_TANH" else fl.nn.relu(pre)), c


def run_direction(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    """One layer in one direction over ``x`` :math:`(T, N, I)`: outputs and final state."""
    xi = affine(x, w_ih, b_ih)  # the input projection of every step in one product
    if reverse:
        xi = fnp.flip(xi, 0)

    def step(carry, xt):
        h, c = cell_step(mode, xt, carry[0], carry[1], w_hh, b_hh)
        return (h, c), h

    (h, c), ys = fl.lax.scan(step, (h0, c0), xi)
    return (fnp.flip(ys, 0) if reverse else ys), h, c


def rnn_fn(x, h0, c0, *rest, n_masks, mode, layers, dirs, has_bias, batch_first):
    """The whole recurrent network: ``x`` :math:`(T, N, I)` (``(N, T, I)`` when
    ``batch_first``), states :math:`(L D, N, H)`; ``rest`` holds ``n_masks`` inter-layer
    dropout masks :math:`(T, N, D H)`, then the weights in PyTorch's flat order. Returns
    (output, h_n, c_n)."""
    masks, weights = rest[:n_masks], rest[n_masks:]
    if batch_first:
        x = fnp.swapaxes(x, 0, 1)
    per = 4 if has_bias else 2
    hs, cs = [], []
    for layer in range(layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w = weights[k * per:(k + 1) * per]
            b_ih, b_hh = (w[2], w[3]) if has_bias else (None, None)
            c_init = c0[k] if c0 is not None else fnp.zeros_like(h0[k])
            ys, h, c = run_direction(mode, x, h0[k], c_init, w[0], w[1], b_ih, b_hh, d == 1)
            outs.append(ys)
            hs.append(h)
            cs.append(c)
        x = outs[0] if dirs == 1 else fnp.concatenate(outs, axis=-1)
        if masks and layer < layers - 1:
            x = fnp.multiply(x, masks[layer])
    if batch_first:
        x = fnp.swapaxes(x, 0, 1)
    return x, fnp.stack(hs), fnp.stack(cs)


rnn_ops = {mode: Op(rnn_fn, name, multi=True) for mode, name in (
    ("RNN_TANH", "RnnTanh"), ("RNN_RELU", "RnnRelu"), ("LSTM", "Lstm"), ("GRU", "Gru"))}


class RNNBase(Module):
    """The shared body of ``RNN``, ``LSTM`` and ``GRU`` (PyTorch's ``RNNBase``): the
    parameters per layer and direction, their initialisation, input checks and forward."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        if proj_size:
            raise NotImplementedError("LSTM with proj_size is not supported")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size and num_layers must be positive")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        gate = GATES[mode] * hidden_size
        self.flat_weights_names = []
        for layer in range(num_layers):
            for d in range(dirs):
                suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
                in_size = input_size if layer == 0 else hidden_size * dirs
                shapes = [("weight_ih", (gate, in_size)), ("weight_hh", (gate, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(empty(*shape, device=device,
                                                                 dtype=dtype)))
                    self.flat_weights_names.append(name + suffix)
        self.reset_parameters()

    @property
    def all_weights(self) -> list:
        """The parameters grouped per layer and direction (PyTorch's ``all_weights``)."""
        per = 4 if self.bias else 2
        flat = [getattr(self, n) for n in self.flat_weights_names]
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def reset_parameters(self) -> None:
        r"""Every weight and bias from :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for name in self.flat_weights_names:
            init.uniform_(getattr(self, name), -stdv, stdv)

    def flatten_parameters(self) -> None:
        """No-op (cuDNN's weight packing has no counterpart here)."""

    def check_input(self, input: Tensor) -> bool:
        """PyTorch's input checks; returns whether the input is batched."""
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        return input.dim() == 3

    def state_shape(self, batch: int) -> tuple:
        return ((2 if self.bidirectional else 1) * self.num_layers, batch, self.hidden_size)

    def check_state(self, h: Tensor, batch: int, what: str) -> None:
        want = self.state_shape(batch)
        if tuple(h.shape) != want:
            raise RuntimeError(f"Expected {what} size {want}, got {tuple(h.shape)}")

    def run(self, input: Tensor, h0: Tensor | None, c0: Tensor | None):
        """Checks, default states, dropout masks and the one ``Op``: returns
        (output, h_n, c_n) (c_n only meaningful for LSTM)."""
        batched = self.check_input(input)
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
            h0 = h0.unsqueeze(1) if h0 is not None else None
            c0 = c0.unsqueeze(1) if c0 is not None else None
        batch, seq = input.shape[batch_dim], input.shape[1 - batch_dim]
        state = self.state_shape(batch)
        if h0 is None:
            h0 = zeros(*state, dtype=input.dtype, device=input.device)
        else:
            self.check_state(h0, batch, "hidden[0]" if self.mode == "LSTM" else "hidden")
        if self.mode == "LSTM":
            if c0 is None:
                c0 = zeros(*state, dtype=input.dtype, device=input.device)
            else:
                self.check_state(c0, batch, "hidden[1]")
        masks = ()
        if self.training and self.dropout > 0 and self.num_layers > 1:
            # drawn in the (T, N, width) layout the network runs in
            width = self.hidden_size * (2 if self.bidirectional else 1)
            keep = crandom.rng_of(None).random((self.num_layers - 1, seq, batch, width))
            p = self.dropout
            scale = 1.0 / (1.0 - p) if p < 1 else 0.0
            masks = tuple(((keep >= p) * scale).astype(input.array.dtype))
        weights = [getattr(self, n) for n in self.flat_weights_names]
        out, h, c = rnn_ops[self.mode](
            input, h0, c0, *masks, *weights, n_masks=len(masks), mode=self.mode,
            layers=self.num_layers, dirs=2 if self.bidirectional else 1,
            has_bias=bool(self.bias), batch_first=bool(self.batch_first))
        if not batched:
            out, h, c = out.squeeze(batch_dim), h.squeeze(1), c.squeeze(1)
        return out, h, c

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    r"""Elman RNN: :math:`h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})`
    (``nonlinearity="relu"`` for ReLU), stacked ``num_layers`` deep.

    Args:
        input_size, hidden_size: feature sizes of :math:`x` and :math:`h`.
        num_layers: stacked layers; nonlinearity: ``"tanh"`` or ``"relu"``;
        bias: learn biases; batch_first: inputs are :math:`(N, L, H_{in})`;
        dropout: dropout on each layer's output but the last (training only);
        bidirectional: a second, time-reversed direction (outputs concatenated).

    Returns ``(output, h_n)``: output :math:`(L, N, D H)`, h_n :math:`(D\,\text{layers}, N, H)`.

    Example::

        >>> rnn = nn.RNN(10, 20, 2)
        >>> out, hn = rnn(compat.randn(5, 3, 10), compat.randn(2, 3, 20))
        >>> out.shape, hn.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None):
        out, h, _ = self.run(input, hx, None)
        return out, h

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"


class LSTM(RNNBase):
    r"""Long short-term memory, per layer and time step (gates in PyTorch's order
    :math:`i, f, g, o` along the rows of :math:`W`):

    .. math::
        i, f, o = \sigma(\cdot),\ g = \tanh(\cdot) \text{ of } x_t W_{ih}^T + b_{ih}
        + h_{t-1} W_{hh}^T + b_{hh};\quad c_t = f c_{t-1} + i g;\quad h_t = o \tanh(c_t)

    Arguments as ``RNN``. ``forward(input, (h_0, c_0))`` returns
    ``(output, (h_n, c_n))``.

    Example::

        >>> lstm = nn.LSTM(4, 8, batch_first=True, bidirectional=True)
        >>> out, (h, c) = lstm(compat.randn(2, 5, 4))
        >>> out.shape, h.shape
        (torch.Size([2, 5, 16]), torch.Size([2, 2, 8]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None):
        h0, c0 = (None, None) if hx is None else hx
        out, h, c = self.run(input, h0, c0)
        return out, (h, c)


class GRU(RNNBase):
    r"""Gated recurrent unit, per layer and time step (gates in PyTorch's order
    :math:`r, z, n`):

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),\
        n = \tanh(W_{in} x + b_{in} + r (W_{hn} h + b_{hn})),\ h' = (1 - z) n + z h

    Arguments and returns as ``RNN``.

    Example::

        >>> out, h = nn.GRU(3, 5)(compat.randn(7, 2, 3))
        >>> out.shape, h.shape
        (torch.Size([7, 2, 5]), torch.Size([1, 2, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None):
        out, h, _ = self.run(input, hx, None)
        return out, h


def cell_fn(x, h, c, w_ih, w_hh, b_ih, b_hh, mode):
    """One step: ``(h', c')`` for an LSTM, ``h'`` otherwise."""
    h, c = cell_step(mode, affine(x, w_ih, b_ih), h, c, w_hh, b_hh)
    return (h, c) if mode == "LSTM" else h


cell_ops = {mode: Op(cell_fn, name, multi=mode == "LSTM") for mode, name in (
    ("RNN_TANH", "RnnTanhCell"), ("RNN_RELU", "RnnReluCell"), ("LSTM", "LstmCell"),
    ("GRU", "GruCell"))}


class RNNCellBase(Module):
    """One time step of an RNN/LSTM/GRU with ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh`` (PyTorch's ``RNNCellBase``)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate = GATES[mode] * hidden_size
        self.weight_ih = Parameter(empty(gate, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(gate, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gate, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(gate, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Every parameter from :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def step(self, input: Tensor, h: Tensor | None, c: Tensor | None):
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            h = h.unsqueeze(0) if h is not None else None
            c = c.unsqueeze(0) if c is not None else None
        shape = (input.shape[0], self.hidden_size)
        if h is None:
            h = zeros(*shape, dtype=input.dtype, device=input.device)
        if c is None and self.mode == "LSTM":
            c = zeros(*shape, dtype=input.dtype, device=input.device)
        out = cell_ops[self.mode](input, h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                                  self.bias_hh, mode=self.mode)
        h, c = out if self.mode == "LSTM" else (out, None)
        if not batched:
            h, c = h.squeeze(0), c.squeeze(0) if c is not None else None
        return h, c

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        return s


class RNNCell(RNNCellBase):
    r"""One Elman RNN step: :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})`.

    Example::

        >>> nn.RNNCell(10, 20)(compat.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self.step(input, hx, None)[0]


class LSTMCell(RNNCellBase):
    r"""One LSTM step; ``forward(input, (h, c))`` returns ``(h', c')``.

    Example::

        >>> h, c = nn.LSTMCell(10, 20)(compat.randn(3, 10))
        >>> h.shape, c.shape
        (torch.Size([3, 20]), torch.Size([3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        h, c = (None, None) if hx is None else hx
        return self.step(input, h, c)


class GRUCell(RNNCellBase):
    r"""One GRU step; ``forward(input, h)`` returns ``h'``.

    Example::

        >>> nn.GRUCell(10, 20)(compat.randn(3, 10)).shape
        torch.Size([3, 20])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self.step(input, hx, None)[0]


__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]
