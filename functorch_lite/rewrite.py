"""Rewrites every compiling backend runs on a program before fusion and code generation.

A staged program still shows how it was written: ``checkpoint``, custom-derivative
functions and nested ``jit`` wrap parts of it in call equations; autodiff leaves splats
(``broadcast_in_dim`` of a literal) that are combined with each other, ``x * 1`` and
round trips through transposes and casts. These passes remove that, so kernels see one
flat program:

* ``inline_calls``: a call equation becomes the equations of the program it calls.
* ``fold_constants``: an equation on known values (literals, splats, small constants) is
  evaluated now with its primitive's ``impl``.
* ``simplify_algebra``: local identities that hold bit for bit under IEEE and numpy
  semantics (``x * 1 -> x``, ``x + -0.0 -> x``, ``neg(neg(x)) -> x``, ...).
* ``optimize``: all of them, with CSE and DCE, to a fixpoint: what a backend calls first.
* ``refuse_like_reference``: not a rewrite but the check a compiling backend makes before
  them: operand types the reference interpreter refuses raise its exception.

Every rewrite keeps each value's bits (-0.0, nan and inf included) and its type (dtype
and weak type), and the program's inputs and outputs; control-flow bodies (``cond``
branches, ``while``/``scan`` bodies) are rewritten too but never inlined, and never gain
constants. The numpy reference backend and ``make_ir`` keep showing the staged program.
"""

from __future__ import annotations

import warnings

import numpy as np

from .core import ShapedArray
from .dtypes import is_float
from .fusion import ELEMENTWISE
from .ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, check_enabled, dce, prune_consts, typecheck
from .passes import COMMUTATIVE, cse
from .primitives.shape import broadcast_in_dim_p, reshape_p, transpose_p

# call-like primitives, and the param holding the program each one calls (its leading
# operands, if any beyond that program's inputs, are the program's constants)
CALLS = {"jit": "jaxpr", "checkpoint": "jaxpr", "custom_jvp_call": "call_jaxpr",
         "custom_vjp_call": "call_jaxpr"}

# What folding may evaluate: results fully determined by IEEE and numpy semantics (exactly
# rounded arithmetic, comparisons, casts, data movement), so the folded bits are the bits
# any backend computes. Transcendental functions (exp, sin, pow on floats...) are left
# alone: each backend has its own implementation within an ulp bound.
_FOLDABLE = frozenset({
    "neg", "sign", "floor", "ceil", "round", "is_finite", "sqrt", "abs", "not", "add", "sub",
    "mul", "div", "rem", "max", "min", "and", "or", "xor", "shift_left", "shift_right_logical",
    "shift_right_arithmetic", "eq", "ne", "lt", "le", "gt", "ge", "select_n",
    "convert_element_type", "bitcast_convert_type", "stop_gradient", "broadcast_in_dim",
    "reshape", "transpose", "rev", "pad", "concatenate", "slice", "gather", "reduce_max",
    "reduce_min", "reduce_and", "reduce_or", "argmax", "argmin", "argsort",
    "pow", "reduce_sum", "reduce_prod", "cumsum", "dot_general", "scatter"})
# ... of which these only on integers and bools: on floats the result depends on the
# order of a sum (or on libm, for pow), which a backend may choose
_INTEGER_ONLY = frozenset({"pow", "reduce_sum", "reduce_prod", "cumsum", "dot_general",
                           "scatter"})
# moving or reducing a splat gives the same value at the output's shape
_SPLAT_MOVES = frozenset({"broadcast_in_dim", "reshape", "transpose", "rev", "slice",
                          "reduce_max", "reduce_min"})

DEFAULT_MAX_ELEMENTS = 1024
_MAX_ROUNDS = 10


# --------------------------------------------------------------------------- the walk


class _Builder:
    """The program one walk writes: its equations, renamed variables and known values."""

    def __init__(self, closed: ClosedJaxpr, allow_consts: bool, max_elements: int):
        j = closed.jaxpr
        self.env: dict[int, object] = {}
        self.defs: dict[int, Eqn] = {}
        self.eqns: list[Eqn] = []
        self.constvars = list(j.constvars)
        self.consts = list(closed.consts)
        # only host arrays are read at compile time (a GPU constant stays a variable)
        self.values = {id(v): c for v, c in zip(j.constvars, closed.consts)
                       if isinstance(c, (np.ndarray, np.generic))}
        self.allow_consts = allow_consts
        self.max_elements = max_elements
        # how many times each of the program's own variables is read (outputs count)
        self.uses: dict[int, int] = {}
        for v in [x for e in j.eqns for x in e.invars] + list(j.outvars):
            if isinstance(v, Var):
                self.uses[id(v)] = self.uses.get(id(v), 0) + 1

    def read(self, v):
        return self.env.get(id(v), v) if isinstance(v, Var) else v

    def add(self, eqn: Eqn):
        self.eqns.append(eqn)
        for v in eqn.outvars:
            self.defs[id(v)] = eqn

    def emit(self, prim, invars, params) -> Var:
        """Append ``prim[params](invars)`` (one result) and return its variable."""
        out = Var(prim.abstract_eval(*[v.aval for v in invars], **params))
        self.add(Eqn(prim, invars, [out], params))
        return out

    def producer(self, v, name: str):
        """The equation defining ``v`` if its primitive is ``name``."""
        e = self.defs.get(id(v)) if isinstance(v, Var) else None
        return e if e is not None and e.prim.name == name else None

    def known(self, v):
        """``v``'s value if it is a literal or a small constant, else None."""
        if isinstance(v, Literal):
            return np.asarray(v.val)
        c = self.values.get(id(v))
        return c if c is not None and np.size(c) <= self.max_elements else None

    def scalar(self, v):
        """The one value every element of ``v`` has, if known (a literal or a splat)."""
        if isinstance(v, Literal):
            return np.asarray(v.val)
        e = self.producer(v, "broadcast_in_dim")
        if e is not None and isinstance(e.invars[0], Literal):
            return np.asarray(e.invars[0].val)
        c = self.values.get(id(v))
        return np.asarray(c) if c is not None and np.ndim(c) == 0 else None

    def add_const(self, value, aval: ShapedArray) -> Var:
        # one variable per constant object (a program inlined twice brings its own twice)
        for v, c in zip(self.constvars, self.consts):
            if c is value and v.aval == aval:
                return v
        v = Var(aval)
        self.constvars.append(v)
        self.consts.append(value)
        if isinstance(value, np.ndarray):
            self.values[id(v)] = value
        return v

    def materialise(self, v):
        """A splat's value as a (read-only, broadcast) array, if it is small."""
        s = self.scalar(v)
        if s is None or v.aval.size > self.max_elements:
            return None
        return np.broadcast_to(s, v.aval.shape)

    def constant(self, value, aval: ShapedArray):
        """A literal (0-d) or a new constant holding ``value``."""
        if aval.ndim == 0:
            return Literal(np.array(value, aval.dtype), aval)
        return self.add_const(np.array(value, aval.dtype), aval)

    def splat(self, value, aval: ShapedArray):
        """``value`` at every position of ``aval``'s shape, as a literal or a broadcast."""
        lit = Literal(np.array(value, aval.dtype), aval.update(shape=()))
        if aval.ndim == 0:
            return lit
        return self.emit(broadcast_in_dim_p, [lit],
                         {"shape": aval.shape, "broadcast_dimensions": ()})


def _map_programs(params: dict, fn) -> dict:
    """``params`` with ``fn`` applied to each program it carries (the same dict if none
    changed)."""
    new = None
    for k, p in params.items():
        if isinstance(p, ClosedJaxpr):
            q = fn(p)
        elif isinstance(p, tuple) and p and all(isinstance(x, ClosedJaxpr) for x in p):
            q = tuple(fn(x) for x in p)
            q = p if all(a is b for a, b in zip(p, q)) else q
        else:
            continue
        if q is not p:
            new = dict(params) if new is None else new
            new[k] = q
    return params if new is None else new


def _nested(params: dict) -> list[ClosedJaxpr]:
    """The programs an equation's params carry (each branch of a tuple)."""
    return [x for p in params.values() for x in (p if isinstance(p, tuple) else (p,))
            if isinstance(x, ClosedJaxpr)]


class _Pass:
    """One forward walk applying ``rules`` to every equation, nested programs included.

    A rule ``rule(builder, eqn)`` returns None (keep the equation) or one replacement
    value per output; it may first ``emit`` equations those values use. A replacement
    whose type differs from the output's in any way (weak type included) is dropped with
    whatever the rule emitted, so a rule need not check types it cannot break."""

    def __init__(self, rules, max_elements: int = DEFAULT_MAX_ELEMENTS):
        self.rules = rules
        self.max_elements = max_elements
        self.changes = 0
        self.memo: dict = {}

    def nested(self, closed: ClosedJaxpr) -> ClosedJaxpr:
        # a nested program keeps its inputs, outputs and constants: its operands line up
        # with them (custom calls pass their constants as leading operands too)
        return self.program(closed, allow_consts=False)

    def program(self, closed: ClosedJaxpr, allow_consts: bool = True) -> ClosedJaxpr:
        key = (id(closed), allow_consts)
        hit = self.memo.get(key)
        if hit is not None and hit[0] is closed:  # shared programs stay shared
            return hit[1]
        b = _Builder(closed, allow_consts, self.max_elements)
        for e in closed.jaxpr.eqns:
            eqn = Eqn(e.prim, [b.read(v) for v in e.invars], e.outvars,
                      _map_programs(e.params, self.nested))
            mark, n_consts = len(b.eqns), len(b.consts)
            outs = None
            for rule in self.rules:
                outs = rule(b, eqn)
                if outs is not None:
                    break
            if outs is not None and [o.aval for o in outs] != [v.aval for v in e.outvars]:
                del b.eqns[mark:], b.consts[n_consts:], b.constvars[n_consts:]
                outs = None
            if outs is None:
                b.add(eqn)
                continue
            self.changes += 1
            for v, o in zip(e.outvars, outs):
                b.env[id(v)] = o
        j = closed.jaxpr
        new = ClosedJaxpr(Jaxpr(b.constvars, j.invars, b.eqns, [b.read(v) for v in j.outvars]),
                          b.consts)
        self.memo[key] = (closed, new)
        return new


def _tidy(closed: ClosedJaxpr, with_cse: bool, memo=None, top: bool = True) -> ClosedJaxpr:
    """DCE (after CSE when ``with_cse``) here and in every nested program; unused
    constants are dropped from the outermost program only (nested ones line up with
    operands)."""
    memo = {} if memo is None else memo
    hit = memo.get(id(closed))
    if hit is not None and hit[0] is closed:
        return hit[1]
    j = closed.jaxpr
    eqns = [Eqn(e.prim, e.invars, e.outvars,
                _map_programs(e.params, lambda p: _tidy(p, with_cse, memo, top=False)))
            for e in j.eqns]
    j = Jaxpr(j.constvars, j.invars, eqns, j.outvars)
    j, _ = dce(cse(j) if with_cse else j)
    consts = closed.consts
    if top:
        j, consts = prune_consts(j, consts)
    new = ClosedJaxpr(j, consts)
    memo[id(closed)] = (closed, new)
    return new


def _finish(closed: ClosedJaxpr) -> ClosedJaxpr:
    if check_enabled():
        typecheck(closed.jaxpr)
    return closed


# --------------------------------------------------------------------------- inlining


def _inline(b: _Builder, e: Eqn):
    key = CALLS.get(e.prim.name)
    sub = e.params.get(key) if key is not None else None
    if not isinstance(sub, ClosedJaxpr):
        return None
    j = sub.jaxpr
    n = len(e.invars) - len(j.invars)
    if n == len(j.constvars):
        bound = list(e.invars[:n])
    elif n == 0 and b.allow_consts:  # constants carried in the param, not as operands
        bound = [b.add_const(c, v.aval) for v, c in zip(j.constvars, sub.consts)]
    else:
        return None
    env = {id(v): x for v, x in zip(j.constvars + j.invars, bound + list(e.invars[n:]))}

    def read(v):
        return env.get(id(v), v) if isinstance(v, Var) else v

    # the callee's variables are renamed: the same program may be inlined many times
    for q in j.eqns:
        outs = [Var(v.aval) for v in q.outvars]
        b.add(Eqn(q.prim, [read(v) for v in q.invars], outs, q.params))
        env.update(zip(map(id, q.outvars), outs))
    return [read(v) for v in j.outvars]


def inline_calls(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Replace every call-like equation (``jit``, ``checkpoint``, ``custom_jvp_call``,
    ``custom_vjp_call``: ``CALLS``) by the equations of the program it calls, recursively
    and inside control-flow bodies too. The derivative rules of custom functions are
    dropped: a compiled program is not differentiated again.

    >>> f = fl.checkpoint(lambda x: fnp.sin(x) * 2.0)
    >>> [e.prim.name for e in inline_calls(fl.make_ir(f)(np.ones(3))).eqns]  # doctest: +SKIP
    ['sin', 'broadcast_in_dim', 'mul']
    """
    return _finish(_tidy(_Pass([_inline]).program(closed), with_cse=False))


# --------------------------------------------------------------------------- folding


def _evaluate(e: Eqn, vals, shape):
    """``e``'s primitive on concrete ``vals``, or None if it fails or gives another type."""
    try:
        with np.errstate(all="ignore"):
            r = np.asarray(e.prim.impl(*vals, **e.params))
    except Exception:  # the program fails at run time the same way: leave it there
        return None
    return r if r.dtype == e.outvars[0].aval.dtype and r.shape == tuple(shape) else None


def _fold(b: _Builder, e: Eqn):
    name = e.prim.name
    if e.prim.multiple_results or name not in _FOLDABLE or _nested(e.params):
        return None
    out = e.outvars[0].aval
    if name in _INTEGER_ONLY and any(is_float(v.aval.dtype) for v in e.invars + e.outvars):
        return None
    vals = [b.known(v) for v in e.invars]
    # A folded array is never larger than the constant arrays it comes from: a broadcast
    # (of a scalar or of a constant), an iota or a pad stays one, as it costs nothing in
    # a fused kernel and may be huge.
    data = sum(np.size(v) for v in vals if v is not None and np.ndim(v))
    if data:  # beside constant data, a small splat is data too
        vals = [v if v is not None else b.materialise(u) for v, u in zip(vals, e.invars)]
    if all(v is not None for v in vals) and (out.ndim == 0 or (
            data and b.allow_consts and out.size <= min(data, b.max_elements))):
        r = _evaluate(e, vals, out.shape)
        if r is not None:
            return [b.constant(r, out)]
    if e.prim not in ELEMENTWISE and name not in _SPLAT_MOVES:
        return None
    if name == "broadcast_in_dim" and isinstance(e.invars[0], Literal):
        return None  # already a splat
    scalars = [b.scalar(v) for v in e.invars]
    if any(s is None for s in scalars):
        return None
    if name in _SPLAT_MOVES:
        x = e.invars[0].aval
        if name.startswith("reduce") and any(x.shape[a] == 0 for a in e.params["axes"]):
            return None  # the maximum of nothing is an error, not the splat's value
        return [b.splat(scalars[0], out)]
    r = _evaluate(e, scalars, ())  # elementwise: the one value of each operand
    return None if r is None else [b.splat(r, out)]


def fold_constants(closed: ClosedJaxpr, max_elements: int = DEFAULT_MAX_ELEMENTS
                   ) -> ClosedJaxpr:
    """Evaluate equations whose operands are known now: literals, splats (broadcasts of a
    literal) and constants of at most ``max_elements`` elements. A 0-d result becomes a
    literal, an elementwise result on splats a splat, and a result computed from constant
    arrays a constant no larger than they are (nor than ``max_elements``): a broadcast
    stays one. Only primitives whose results every backend computes bit for bit are
    folded (see ``_FOLDABLE``); programs carried by control flow are folded inside but
    gain no constants.

    >>> ir = fl.make_ir(lambda x: x * (fnp.ones(3) * 2.0))(np.ones(3, np.float32))
    >>> fold_constants(ir)  # doctest: +SKIP  (one splat of 2.0, one mul)
    """
    p = _Pass([_fold], max_elements)
    return _finish(_tidy(p.program(closed), with_cse=False))


# --------------------------------------------------------------------------- algebra


def _same_bits(val, ref) -> bool:
    return (val is not None and ref is not None and val.dtype == ref.dtype
            and val.tobytes() == ref.tobytes())


def _zero(dt):
    return np.zeros((), dt)


def _neg_zero(dt):
    return np.array(-0.0, dt) if is_float(dt) else _zero(dt)


def _one(dt):
    return np.ones((), dt)


def _all_ones(dt):
    return ~_zero(dt)  # True for bool, -1 (every bit) for integers


def _lowest(dt):
    dt = np.dtype(dt)
    if dt.kind == "b":
        return _zero(dt)
    return np.array(-np.inf, dt) if is_float(dt) else np.array(np.iinfo(dt).min, dt)


def _highest(dt):
    dt = np.dtype(dt)
    if dt.kind == "b":
        return _one(dt)
    return np.array(np.inf, dt) if is_float(dt) else np.array(np.iinfo(dt).max, dt)


# x op c == x for every x (x + -0.0 is x, even for x = -0.0; x + 0.0 is not)
_RIGHT_UNIT = {"add": _neg_zero, "sub": _zero, "mul": _one, "div": _one, "pow": _one,
               "or": _zero, "xor": _zero, "and": _all_ones, "max": _lowest, "min": _highest,
               "shift_left": _zero, "shift_right_logical": _zero,
               "shift_right_arithmetic": _zero}
_UNIT_BOTH_SIDES = COMMUTATIVE | {"max", "min"}
# x op c == c for every x, on integers and bools (on floats nan * 0 is nan)
_ABSORBING = {"mul": _zero, "and": _zero, "or": _all_ones, "max": _highest, "min": _lowest}
# numpy has no boolean subtract, negative, divide or power: keep them failing as they did
_NO_BOOL = frozenset({"sub", "div", "pow", "neg"})
_IDEMPOTENT = frozenset({"max", "min", "and", "or"})


def _same_value(b: _Builder, u, v) -> bool:
    if u is v:
        return True
    su, sv = b.scalar(u), b.scalar(v)
    return su is not None and u.aval == v.aval and _same_bits(su, sv)


def _binary(b, e):
    x, y = e.invars
    name, dt = e.prim.name, x.aval.dtype
    if dt.kind == "b" and name in _NO_BOOL:
        return None
    if name in _IDEMPOTENT and _same_value(b, x, y):
        return [x]
    if name == "sub" and not is_float(dt) and _same_value(b, x, y):
        return [b.splat(_zero(dt), e.outvars[0].aval)]
    unit = _RIGHT_UNIT.get(name)
    if unit is not None:
        if _same_bits(b.scalar(y), unit(dt)):
            return [x]
        if name in _UNIT_BOTH_SIDES and _same_bits(b.scalar(x), unit(dt)):
            return [y]
    absorb = _ABSORBING.get(name)
    if absorb is not None and not is_float(dt):
        for v in (x, y):
            if _same_bits(b.scalar(v), absorb(dt)):
                out = e.outvars[0].aval
                return [v if v.aval == out else b.splat(absorb(dt), out)]
    return None


def _neg(b, e):
    (x,) = e.invars
    p = b.producer(x, "neg")
    return None if p is None or x.aval.dtype.kind == "b" else [p.invars[0]]


def _lossless(src, dst) -> bool:
    """Whether every ``src`` value survives a cast to ``dst`` and back."""
    src, dst = np.dtype(src), np.dtype(dst)
    if src == dst or src.kind == "b":
        return True
    if dst.kind == "b":
        return False
    if src.kind in "iu" and dst.kind in "iu":
        return bool(np.can_cast(src, dst, "safe"))
    if src.kind in "iu" and dst.kind == "f":
        return np.finfo(dst).nmant + 1 >= 8 * src.itemsize - (src.kind == "i")
    return src.kind == "f" and dst.kind == "f" and dst.itemsize >= src.itemsize


def _convert(b, e):
    (x,) = e.invars
    out = e.outvars[0].aval
    if x.aval == out:
        return [x]
    p = b.producer(x, "convert_element_type")
    if p is not None and p.invars[0].aval == out and _lossless(out.dtype, x.aval.dtype):
        return [p.invars[0]]
    return None


def _swapped_dot(b, x, perm):
    """``transpose(dot_general(l, r), perm)`` as ``dot_general(r, l)`` when ``perm`` only
    swaps the two free blocks and the product has no other reader: the result is then
    written in the order it is read, never transposed in memory (the same products and
    sums; a backend orders a contraction's sums as it likes either way)."""
    p = b.producer(x, "dot_general")
    if p is None or b.uses.get(id(x)) != 1:
        return None
    (lc, rc), (lb, rb) = p.params["dimension_numbers"]
    nb = len(lb)
    nl = p.invars[0].aval.ndim - len(lc) - nb
    nr = p.invars[1].aval.ndim - len(rc) - nb
    if perm != tuple(range(nb)) + tuple(range(nb + nl, nb + nl + nr)) + tuple(
            range(nb, nb + nl)) or nl == 0 or nr == 0:
        return None
    params = dict(p.params, dimension_numbers=((rc, lc), (rb, lb)))
    return [b.emit(p.prim, [p.invars[1], p.invars[0]], params)]


def _const_value(b, v):
    """``v``'s value when it is a constant, possibly reshaped (any size), else None."""
    r = b.producer(v, "reshape")
    if r is not None:
        inner = _const_value(b, r.invars[0])
        return None if inner is None else inner.reshape(v.aval.shape)
    return b.values.get(id(v)) if isinstance(v, Var) else None


def _identity_product(b, e):
    """A matrix product with a constant identity matrix is the other operand, moved,
    when that operand is a constant too (jacfwd's basis times a constant weight) whose
    values are all finite and none is -0.0: then every other term of each sum is an
    exact +-0 that cannot change it, as IEEE arithmetic would otherwise (inf * 0)."""
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    lhs, rhs = e.invars
    if lb or len(lc) != 1 or lhs.aval.ndim != 2 or rhs.aval.ndim != 2:
        return None
    for eye, other, c_other, eye_left in ((lhs, rhs, rc[0], True), (rhs, lhs, lc[0], False)):
        ev, ov = _const_value(b, eye), _const_value(b, other)
        if ev is None or ov is None or ev.shape[0] != ev.shape[1] or \
                ov.dtype != e.outvars[0].aval.dtype:
            continue
        if not np.array_equal(ev, np.eye(ev.shape[0], dtype=ev.dtype)):
            continue
        if not np.isfinite(ov).all() or np.signbit(ov[ov == 0]).any():
            continue
        free = 1 - c_other
        # eye on the left: out[i, j] = other[i along the summed dim, j]; on the right:
        # out[j, i] = other[j, i along the summed dim]
        perm = (c_other, free) if eye_left else (free, c_other)
        if perm == (0, 1):
            return [other]
        return [b.emit(transpose_p, [other], {"permutation": perm})]
    return None


def _squeezed_dot(b, e):
    """A ``dot_general`` with size-1 free or summed dims: the same product of operands
    without them, reshaped back (layout-free), so transposes and reshapes around it meet
    a product of matrices (``_swapped_dot`` then applies)."""
    lhs, rhs = e.invars
    if isinstance(lhs, Literal) or isinstance(rhs, Literal):
        return None
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    ls, rs = lhs.aval.shape, rhs.aval.shape
    drop_l = {d for d in range(len(ls)) if ls[d] == 1 and d not in lb}
    drop_r = {d for d in range(len(rs)) if rs[d] == 1 and d not in rb}
    # a summed dim goes only with its partner (both have size 1 then)
    drop_l -= {a for a, c in zip(lc, rc) if c not in drop_r}
    drop_r -= {c for a, c in zip(lc, rc) if a not in drop_l}
    if not drop_l and not drop_r:
        return None
    new_l = {d: i for i, d in enumerate(d for d in range(len(ls)) if d not in drop_l)}
    new_r = {d: i for i, d in enumerate(d for d in range(len(rs)) if d not in drop_r)}
    sl = b.emit(reshape_p, [lhs], {"new_sizes": tuple(ls[d] for d in new_l)})
    sr = b.emit(reshape_p, [rhs], {"new_sizes": tuple(rs[d] for d in new_r)})
    pairs = [(a, c) for a, c in zip(lc, rc) if a in new_l]
    dims = ((tuple(new_l[a] for a, _ in pairs), tuple(new_r[c] for _, c in pairs)),
            (tuple(new_l[d] for d in lb), tuple(new_r[d] for d in rb)))
    out = b.emit(e.prim, [sl, sr], dict(e.params, dimension_numbers=dims))
    return [b.emit(reshape_p, [out], {"new_sizes": tuple(e.outvars[0].aval.shape)})]


def _transpose(b, e):
    (x,) = e.invars
    perm = tuple(e.params["permutation"])
    swapped = _swapped_dot(b, x, perm)
    if swapped is not None:
        return swapped
    out_shape = tuple(e.outvars[0].aval.shape)
    # moving only size-1 dims keeps the element order: a reshape
    big = [d for d in perm if x.aval.shape[d] != 1]
    if big == sorted(big) and perm != tuple(range(len(perm))):
        return [b.emit(reshape_p, [x], {"new_sizes": out_shape})]
    # through a reshape that only adds or drops size-1 dims, towards what it reshapes
    r = b.producer(x, "reshape")
    if r is not None and b.uses.get(id(x)) == 1:
        y = r.invars[0]
        ys = y.aval.shape
        if [n for n in ys if n != 1] == [n for n in x.aval.shape if n != 1]:
            y_big = [d for d in range(len(ys)) if ys[d] != 1]
            x_big = [d for d in range(len(perm)) if x.aval.shape[d] != 1]
            where = dict(zip(x_big, y_big))  # x's non-unit dims are y's, in order
            order = [where[d] for d in big] + [d for d in range(len(ys)) if ys[d] == 1]
            t = b.emit(transpose_p, [y], {"permutation": tuple(order)})
            return [b.emit(reshape_p, [t], {"new_sizes": out_shape})]
    p = b.producer(x, "transpose")
    if p is not None:
        inner = p.params["permutation"]
        x, perm = p.invars[0], tuple(inner[i] for i in perm)
    if perm == tuple(range(len(perm))):
        return [x]
    return None if p is None else [b.emit(transpose_p, [x], {"permutation": perm})]


def _reshape(b, e):
    (x,) = e.invars
    shape = tuple(e.params["new_sizes"])
    p = b.producer(x, "reshape")
    if p is not None:
        x = p.invars[0]
    if x.aval.shape == shape:
        return [x]
    return None if p is None else [b.emit(reshape_p, [x], {"new_sizes": shape})]


def _broadcast(b, e):
    (x,) = e.invars
    shape, dims = tuple(e.params["shape"]), tuple(e.params["broadcast_dimensions"])
    p = b.producer(x, "broadcast_in_dim")
    if p is not None:
        inner = p.params["broadcast_dimensions"]
        x, dims = p.invars[0], tuple(dims[d] for d in inner)
    if x.aval.shape == shape and dims == tuple(range(len(shape))):
        return [x]
    return None if p is None else [b.emit(broadcast_in_dim_p, [x], {
        "shape": shape, "broadcast_dimensions": dims})]


def _select(b, e):
    pred, *cases = e.invars
    if all(_same_value(b, cases[0], c) for c in cases[1:]):
        return [cases[0]]
    which = b.scalar(pred)
    if which is not None and 0 <= int(which) < len(cases):
        return [cases[int(which)]]
    return None


def _slice(b, e):
    (x,) = e.invars
    ps = e.params
    full = (all(s == 0 for s in ps["start_indices"])
            and tuple(ps["limit_indices"]) == x.aval.shape
            and all(s == 1 for s in (ps["strides"] or ())))
    return [x] if full else None


def _identity_if(test):
    """A rule returning the first operand when ``test(params)`` holds."""
    return lambda b, e: [e.invars[0]] if test(e.params) else None


_ALGEBRA = {name: _binary for name in _RIGHT_UNIT}
_ALGEBRA.update({
    "dot_general": lambda b, e: _identity_product(b, e) or _squeezed_dot(b, e),
    "neg": _neg, "convert_element_type": _convert, "transpose": _transpose,
    "reshape": _reshape, "broadcast_in_dim": _broadcast, "select_n": _select,
    "slice": _slice,
    # a compiled program has no autodiff left: gradient stops and checkpoint names go
    "stop_gradient": _identity_if(lambda ps: True), "name": _identity_if(lambda ps: True),
    "pad": _identity_if(lambda ps: all(tuple(c) == (0, 0, 0) for c in ps["padding_config"])),
    "rev": _identity_if(lambda ps: not ps["dimensions"]),
    "concatenate": lambda b, e: [e.invars[0]] if len(e.invars) == 1 else None,
})
_ALGEBRA.update({r: _identity_if(lambda ps: not ps["axes"]) for r in (
    "reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or")})


def _algebra(b: _Builder, e: Eqn):
    rule = _ALGEBRA.get(e.prim.name)
    return None if rule is None else rule(b, e)


def simplify_algebra(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Apply local identities that hold bit for bit under IEEE and numpy semantics:
    ``x * 1``, ``x + -0.0``, ``x - 0.0``, ``x / 1``, ``x ** 1``, ``max(x, x)``, ``neg(neg(x))``,
    a cast to the same type or a lossless round trip, identity transposes, reshapes,
    broadcasts, slices, pads and reductions over no axes, ``select`` of equal cases or a
    known predicate, ``stop_gradient`` and ``checkpoint_name`` -> ``x``; ``x * 0`` -> 0 on
    integers and bools only;
    chains of transposes, reshapes or broadcasts -> one. ``x + 0.0`` stays
    (``-0.0 + 0.0`` is ``+0.0``).

    >>> ir = fl.make_ir(lambda x: -(-x).T.T * 1.0)(np.ones((2, 3), np.float32))
    >>> simplify_algebra(ir).eqns  # doctest: +SKIP  ([]: the output is the input)
    """
    return _finish(_tidy(_Pass([_algebra]).program(closed), with_cse=False))


# --------------------------------------------------------------------------- driver


def _count(closed: ClosedJaxpr) -> int:
    """Equations in ``closed``, nested programs included."""
    return len(closed.eqns) + sum(_count(p) for e in closed.eqns for p in _nested(e.params))


def optimize(closed: ClosedJaxpr, max_elements: int = DEFAULT_MAX_ELEMENTS) -> ClosedJaxpr:
    """The program a backend compiles: calls inlined, then constant folding, algebraic
    simplification, CSE and DCE repeated until nothing changes (at most a few rounds).
    It computes the same outputs (same types, same bits) on every input, takes the same
    inputs, and passes ``ir.typecheck``.

    >>> loss = lambda w, x: fnp.sum(fnp.tanh(x @ w) ** 2)
    >>> ir = fl.make_ir(fl.grad(loss))(np.ones((3, 2), np.float32), np.ones((4, 3), np.float32))
    >>> len(optimize(ir).eqns) <= len(ir.eqns)  # doctest: +SKIP
    True
    """
    out = inline_calls(closed)
    size = _count(out)
    for _ in range(_MAX_ROUNDS):
        p = _Pass([_fold, _algebra], max_elements)
        out = _tidy(p.program(out), with_cse=True)
        new_size = _count(out)
        if p.changes == 0 and new_size == size:
            break
        size = new_size
    return _finish(out)


# --------------------------------------------------------------------------- refusals

_accepted: set = set()  # (primitive, operand types, params) the reference accepts


def refuse_like_reference(closed: ClosedJaxpr) -> None:
    """Raise the reference interpreter's own exception for every elementwise equation of
    ``closed`` (nested programs included) whose operand types numpy refuses, such as the
    negative of a bool or the bitwise not of a float: the primitive's numpy ``impl`` runs
    once on zeros of those types (literal operands keep their value, so ``x ** -1`` of
    an integer ``x`` raises as it does eagerly). The staged program is checked, before
    any rewrite could remove the equation (``x - 0`` of a bool).

    >>> ir = fl.make_ir(lambda x: -x)(np.array([True]))
    >>> refuse_like_reference(ir)  # doctest: +SKIP
    TypeError: The numpy boolean negative, the `-` operator, is not supported, ...
    """
    for e in closed.eqns:
        for p in e.params.values():
            for sub in (p if isinstance(p, tuple) else (p,)):
                if isinstance(sub, ClosedJaxpr):
                    refuse_like_reference(sub)
        if e.prim not in ELEMENTWISE:
            continue
        key = (e.prim, tuple((x.aval.dtype, repr(x.val) if isinstance(x, Literal) else None)
                             for x in e.invars), repr(sorted(e.params.items())))
        if key in _accepted:
            continue
        args = [np.asarray(x.val, x.aval.dtype) if isinstance(x, Literal)
                else np.zeros((), x.aval.dtype) for x in e.invars]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's domain warnings: values, not types
            e.prim.impl(*args, **e.params)
        _accepted.add(key)
