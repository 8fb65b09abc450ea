"""``compat.nn.utils``: gradient clipping, parameters as one vector, and padding of
variable-length sequences (``nn.utils.rnn``). This file only re-exports.

>>> lin = compat.nn.Linear(2, 2)
>>> lin(compat.ones(1, 2)).sum().backward()
>>> float(compat.nn.utils.clip_grad_norm_(lin.parameters(), 1.0)) > 0
True
"""

from . import rnn
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
