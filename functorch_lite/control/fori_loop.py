"""``fori_loop``: a counted loop, built on ``scan`` (static bounds, so reverse-mode
differentiable) or ``while_loop`` (traced bounds)."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .. import primitives as P
from .. import tree as tree_util
from ..api_util import as_array, fun_name
from ..core import get_aval
from .common import CarryTypeError, avals_str
from .scan import scan
from .while_loop import while_loop


def _is_static_int(x):
    """A concrete integer (a tracer is none of these types)."""
    return isinstance(x, (int, np.integer)) or (isinstance(x, np.ndarray) and x.ndim == 0
                                                and dtypes.is_int(x.dtype))


def fori_loop(lower, upper, body_fun, init_val):
    """``for i in range(lower, upper): val = body_fun(i, val)``.

    With concrete bounds it is a ``scan`` (so reverse-mode differentiable); with traced
    bounds a ``while_loop``.
    """
    seen = {}

    def run(val):
        seen.pop("out", None)  # an error raised inside body_fun is not ours to reword
        out = body_fun(*val)
        seen["in"], seen["out"] = val[1], out
        return out

    try:
        if _is_static_int(lower) and _is_static_int(upper):
            lo, hi = int(lower), int(upper)
            idt = np.asarray(lower).dtype if isinstance(lower, (np.ndarray, np.integer)) \
                else dtypes.default_int

            def step(carry, _):
                i, val = carry
                return (P.add(i, 1), run((i, val))), None

            # an empty range is a zero-length scan: init_val comes back as arrays
            (_, out), _ = scan(step, (np.asarray(lo, idt), init_val), None,
                               length=max(hi - lo, 0))
            return out
        lo, hi = as_array(lower), as_array(upper)
        dt = np.result_type(get_aval(lo).dtype, get_aval(hi).dtype)
        lo, hi = P.convert(lo, dt), P.convert(hi, dt)

        def wcond(c):
            return P.lt(c[0], c[1])

        def wbody(c):
            i, u, val = c
            return (P.add(i, 1), u, run((i, val)))

        return while_loop(wcond, wbody, (lo, hi, init_val))[2]
    except CarryTypeError:
        if "out" not in seen:
            raise
        il, it = tree_util.flatten(seen["in"])
        ol, ot = tree_util.flatten(seen["out"])
        ia = [get_aval(as_array(x)).strip_weak() for x in il]
        oa = [get_aval(as_array(x)).strip_weak() for x in ol]
        raise TypeError(
            f"fori_loop: body_fun `{fun_name(body_fun)}` must return the same structure and "
            f"types as init_val: init_val is {it} {avals_str(ia)}, body_fun returns {ot} "
            f"{avals_str(oa)}") from None
