"""jit: stage a function into the IR once per signature, compile it with a backend, cache it.

The signature (cache key) is the argument tree structure, each leaf's shape, dtype and
weak type, the static arguments and the backend. With ``FUNCTORCH_LITE_LOG_COMPILES=1``
every (re)trace is printed with what changed since the previous one; many retraces of
one function warn.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import warnings
import weakref

import numpy as np

import backends

from . import core
from . import tree as tree_util
from .api_util import as_array, fun_name
from .array import Array, WeakArray, delete, plain, wrap
from .autodiff import call_abstract_eval, define_call_rules
from .batching import batch_jaxpr
from .core import Primitive, ShapedArray, ShapeDtypeStruct, Tracer, get_aval, set_trace
from .ir import ClosedJaxpr, Jaxpr
from .passes import simplify
from .placement import as_ndarray, is_gpu
from .staging import trace_to_jaxpr

RETRACE_WARN_AFTER = 10

# --------------------------------------------------------------------------- jit primitive

jit_p = Primitive("jit", multiple_results=True)
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _get_compiled(jaxpr: ClosedJaxpr, backend: str, donate: tuple[int, ...] = ()):
    """The backend's program for ``jaxpr``; ``donate`` lists the inputs whose buffers it
    may write its outputs into (a backend that plans buffers then picks which)."""
    per = _compiled.setdefault(jaxpr, {})
    fn = per.get((backend, donate))
    if fn is None:
        be = backends.get(backend)
        # only backends that plan buffers (``donates``) take donations
        fn = be.compile(jaxpr, donate=donate) if donate and getattr(be, "donates", False) \
            else be.compile(jaxpr)
        if backend == "numpy":
            fn = _reference_on_gpu(jaxpr, fn)
        per[(backend, donate)] = fn
    return fn


def _reference_on_gpu(jaxpr: ClosedJaxpr, fn):
    """The numpy backend's program ``fn``, except that a call with GPU operands runs the same
    program through eager evaluation (the reference semantics: each primitive computes with
    its operands' array module), so its values stay on their GPU (the numpy interpreter
    would feed them to host kernels with host constants)."""

    def run(*args, **kwargs):
        for a in args:
            if is_gpu(a):
                with set_trace(core.EVAL_TRACE):
                    return [as_ndarray(o) for o in jaxpr.call(*args)]
        return fn(*args, **kwargs)

    return run


def _jit_impl(*args, jaxpr, name, backend):
    return _get_compiled(jaxpr, backend)(*args)


def _jit_staging(trace, args, params):
    # nested jit: inline, so the enclosing program is compiled (and fused) as a whole
    with set_trace(trace):
        return params["jaxpr"].call(*args)


def _jit_rebind(args, jaxpr, name, backend):
    return jit_p.bind(*args, jaxpr=jaxpr, name=name, backend=backend)


def _jit_batch(size, vals, dims, jaxpr, name, backend):
    bj, _ = batch_jaxpr(jaxpr, dims, size)
    outs = jit_p.bind(*vals, jaxpr=bj, name=name, backend=backend)
    return outs, [0] * len(outs)


jit_p.impl = _jit_impl
jit_p.abstract_eval = call_abstract_eval
jit_p.staging = _jit_staging
jit_p.batch = _jit_batch
define_call_rules(jit_p, _jit_rebind)


# --------------------------------------------------------------------------- user API


def default_backend(leaves=()) -> str:
    env = os.environ.get("FUNCTORCH_LITE_BACKEND")
    if env:
        return env
    for x in leaves:
        if is_gpu(x):
            return "cupy"
    return backends.default_cpu()


def _leaf_key(x):
    if isinstance(x, Tracer):
        a = x.aval
        return (a.shape, a.dtype, a.weak_type)
    if isinstance(x, np.ndarray):
        return (x.shape, x.dtype, type(x) is WeakArray)
    if isinstance(x, ShapeDtypeStruct):
        return (x.shape, x.dtype, False)
    a = get_aval(x)
    return (a.shape, a.dtype, a.weak_type)


def _is_array_leaf(x):
    return isinstance(x, (Tracer, np.ndarray, np.generic, ShapeDtypeStruct, bool, int, float,
                          complex)) or hasattr(x, "__fl_array__") or (
        hasattr(x, "shape") and hasattr(x, "dtype"))


def _fast_key(args):
    """A cheap cache key when every argument is a concrete array (None otherwise)."""
    key = [os.environ.get("FUNCTORCH_LITE_BACKEND")]
    for a in args:
        t = type(a)
        if t is not Array and t is not np.ndarray:
            return None
        key.append((a.shape, a.dtype))
    return tuple(key)


def _run(compiled, consts, args, out_weak):
    """Run a compiled program on concrete values: the backend sees plain numpy arrays, the
    results leave as Arrays (weakly typed where the program's outputs are)."""
    outs = compiled(*consts, *[plain(a) for a in args])
    return [wrap(o, w) for o, w in zip(outs, out_weak)]


def _run_donating(compiled, args, donate, out_weak):
    """``_run`` with the arguments at ``donate`` given up: a compiled program that takes
    ``donated=`` may write its outputs into their buffers when nothing else holds them
    (it checks), and every donated Array is deleted afterwards, so a later use raises
    instead of reading what the call wrote there (JAX's semantics, on every backend)."""
    bufs = [plain(a) for a in args]
    if getattr(compiled, "takes_donations", False):
        mine = tuple(i for i in donate if type(args[i]) in (Array, WeakArray))
        outs = compiled(*bufs, donated=mine)
    else:
        outs = compiled(*bufs)
    del bufs
    for i in donate:
        delete(args[i])
    return [wrap(o, w) for o, w in zip(outs, out_weak)]


def _check_donate(donate_argnums, static_argnums, name) -> tuple[int, ...]:
    nums = (donate_argnums,) if isinstance(donate_argnums, int) else tuple(donate_argnums)
    for i in nums:
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"jit of `{name}`: donate_argnums must be ints, got {i!r}")
    both = set(nums) & set(static_argnums)
    if both:
        raise ValueError(f"jit of `{name}`: argument(s) {sorted(both)} are both static and "
                         "donated; a static argument is a Python value, not a buffer")
    return tuple(int(i) for i in nums)


class _Entry:
    __slots__ = ("jaxpr", "consts", "out_tree", "out_weak", "compiled", "n_consts", "closed",
                 "donate")


def _closed(entry) -> ClosedJaxpr:
    """The program a backend compiles for direct calls: its constants are the
    program's own (not arguments), so compile-time rewrites can read their values (a
    product with a constant identity matrix, small folded constants)."""
    if entry.closed is None:
        entry.closed = _reclose(entry)
    return entry.closed


class _FunCache:
    """The traces of one function under one jit configuration, shared by every ``jit(f)``
    of that function (so ``fl.jit(f)(x)`` inside a loop traces once, as in JAX)."""

    __slots__ = ("entries", "fast", "last_key", "trace_count")

    def __init__(self):
        self.entries: dict = {}
        # fast path for the common call: positional arrays, no static arguments
        self.fast: dict = {}
        self.last_key = None
        self.trace_count = 0


# function -> {jit configuration: _FunCache}; held weakly, so a cache lives as long as its
# function does
_fun_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fun_cache(fun, config) -> _FunCache:
    try:
        per = _fun_caches.setdefault(fun, {})
    except TypeError:  # not weakly referenceable or not hashable: a cache of its own
        return _FunCache()
    cache = per.get(config)
    if cache is None:
        cache = per[config] = _FunCache()
    return cache


class Jitted:
    """A jit-compiled function. Call it, or inspect it with ``lower(*args)``."""

    def __init__(self, fun, static_argnums=(), static_argnames=(), donate_argnums=(),
                 backend=None):
        self.fun = fun
        self.name = fun_name(fun)
        self.static_argnums = ((static_argnums,) if isinstance(static_argnums, int)
                               else tuple(static_argnums))
        self.static_argnames = ((static_argnames,) if isinstance(static_argnames, str)
                                else tuple(static_argnames))
        self.donate_argnums = _check_donate(donate_argnums, self.static_argnums, self.name)
        self._statics_from_signature(fun)
        self.backend = backend
        self._shared = _fun_cache(fun, (self.static_argnums, self.static_argnames,
                                        self.donate_argnums, backend))
        self._cache = self._shared.entries
        self._fast = self._shared.fast
        self._fast_ok = not self.static_argnums and not self.static_argnames and \
            not self.donate_argnums
        functools.update_wrapper(self, fun, updated=())  # not __dict__: it may hold `fun`

    @property
    def trace_count(self) -> int:
        """How many times this function has been traced under this jit configuration."""
        return self._shared.trace_count

    def _statics_from_signature(self, fun):
        """As in JAX, a static parameter is static however it is passed: static_argnums also
        cover the parameter passed by keyword, static_argnames the parameter passed by
        position. static_argnums beyond the signature's positional parameters are an error."""
        self._argnums, self._argnames = self.static_argnums, self.static_argnames
        try:
            sig = inspect.signature(fun)
        except (TypeError, ValueError):
            return
        P = inspect.Parameter
        params = list(sig.parameters.values())
        pos = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
        npos = len(pos)
        if not any(p.kind == P.VAR_POSITIONAL for p in params):
            for what, nums in (("static_argnums", self.static_argnums),
                               ("donate_argnums", self.donate_argnums)):
                for i in nums:
                    if not -npos <= i < npos:
                        raise ValueError(f"jit of `{self.name}`: {what} {i} is out of range "
                                         f"for a function with {npos} positional parameters")
        names = [p.name for p in pos]
        extra_names = tuple(names[i] for i in self.static_argnums
                            if -npos <= i < npos and pos[i].kind == P.POSITIONAL_OR_KEYWORD)
        extra_nums = tuple(names.index(k) for k in self.static_argnames if k in names)
        self._argnums = tuple(dict.fromkeys(self.static_argnums + extra_nums))
        self._argnames = tuple(dict.fromkeys(self.static_argnames + extra_names))

    def __get__(self, obj, objtype=None):
        """Used as a method decorator: ``self`` is the first argument, so (as in JAX) it must
        be marked static (``static_argnums=0``; hashable) or be a registered pytree."""
        return self if obj is None else functools.partial(self, obj)

    # -- signature --------------------------------------------------------------
    def _split(self, args, kwargs):
        n = len(args)
        statics = []
        for i in self._argnums:
            if -n <= i < n:  # otherwise passed by keyword or left to its default
                statics.append((i % n, args[i % n]))
        static_kw = {k: kwargs[k] for k in self._argnames if k in kwargs}
        for where, v in statics + list(static_kw.items()):
            try:
                hash(v)
            except TypeError:
                raise TypeError(f"jit of `{self.name}`: static argument {where!r} of type "
                                f"{type(v).__name__} is not hashable; pass a tuple or another "
                                "hashable value") from None
        static_idx = {j for j, _ in statics}
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_idx)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_kw}
        leaves, tree = tree_util.flatten((dyn_args, dyn_kwargs))
        for x in leaves:
            if not _is_array_leaf(x):
                raise self._not_an_array(x, args, kwargs, static_idx, static_kw)
        # compat Tensors (and other __fl_array__ holders) are taken as their arrays
        leaves = [as_array(x) if hasattr(x, "__fl_array__") else x for x in leaves]
        return statics, static_kw, tree, leaves

    def _not_an_array(self, x, args, kwargs, static_idx, static_kw) -> TypeError:
        """JAX's rule: a non-array argument is an error unless marked static (a silently
        static object would be cached on, and a later mutation of it ignored)."""
        where = "an argument"
        for i, a in enumerate(args):
            if i not in static_idx and any(v is x for v in tree_util.leaves(a)):
                where = f"argument {i}" + ("" if a is x else " (a leaf inside it)")
                fix = f"static_argnums=({i},)"
                break
        else:
            for k, a in kwargs.items():
                if k not in static_kw and any(v is x for v in tree_util.leaves(a)):
                    where = f"argument {k!r}" + ("" if a is x else " (a leaf inside it)")
                    fix = f"static_argnames=({k!r},)"
                    break
            else:
                fix = "static_argnums=..."
        return TypeError(
            f"jit of `{self.name}`: {where} is a {type(x).__name__}, not an array. Arguments "
            f"are traced as arrays (numpy arrays, functorch_lite arrays, Python numbers, "
            f"pytrees of them); mark a Python value static with jit(..., {fix}) (static "
            "arguments must be hashable, and a new value retraces), or register its class "
            "as a pytree (fl.tree_util.register_pytree_node).")

    def _signature(self, args, kwargs):
        statics, static_kw, tree, dyn = self._split(args, kwargs)
        backend = self.backend or default_backend(dyn)
        key = (tree, tuple(_leaf_key(x) for x in dyn), tuple(statics),
               tuple(sorted(static_kw.items())), backend)
        return key, statics, static_kw, tree, dyn, backend

    # -- tracing ----------------------------------------------------------------
    def _trace(self, key, statics, static_kw, tree, dyn, nargs):
        store = {}

        def flat(*xs):
            dyn_args, dyn_kwargs = tree_util.unflatten(tree, xs)
            args, it = [], iter(dyn_args)
            static_map = dict(statics)
            for i in range(nargs):
                args.append(static_map[i] if i in static_map else next(it))
            out = self.fun(*args, **dyn_kwargs, **static_kw)
            ol, store["tree"] = tree_util.flatten(out)
            return [as_array(o) for o in ol]

        avals = [ShapedArray(*_leaf_key(x)) for x in dyn]
        self._log_retrace(key, avals)
        closed = simplify(trace_to_jaxpr(flat, avals, fun_name=self.name, kind="jit"))
        self._shared.trace_count += 1
        entry = _Entry()
        # constants become leading arguments, so the compiled program holds no data
        entry.jaxpr, consts = closed.hoist_consts()
        entry.consts = [plain(c) for c in consts]  # what the backend is handed
        entry.out_tree = store["tree"]
        entry.out_weak = tuple(a.weak_type for a in entry.jaxpr.out_avals)
        entry.compiled = None
        entry.closed = None
        entry.donate = self._donated_leaves(statics, tree, nargs)
        return entry

    def _donated_leaves(self, statics, tree, nargs) -> tuple[int, ...]:
        """Indices, among the flat dynamic arguments, of the leaves of donated arguments."""
        if not self.donate_argnums:
            return ()
        static_idx = {i for i, _ in statics}
        donated = {i % nargs for i in self.donate_argnums if -nargs <= i < nargs}
        dyn_args, _ = tree_util.unflatten(tree, list(range(tree.num_leaves)))
        pos = [i for i in range(nargs) if i not in static_idx]
        return tuple(leaf for p, a in zip(pos, dyn_args) if p in donated
                     for leaf in tree_util.leaves(a))

    def _log_retrace(self, key, avals):
        prev = self._shared.last_key
        self._shared.last_key = key
        if prev is not None and len(self._cache) + 1 >= RETRACE_WARN_AFTER and \
                len(self._cache) + 1 == RETRACE_WARN_AFTER:
            warnings.warn(f"jit of `{self.name}` has been traced {RETRACE_WARN_AFTER} times "
                          "for different argument shapes/dtypes/static values; each retrace "
                          "recompiles. Set FUNCTORCH_LITE_LOG_COMPILES=1 to see why, pad shapes "
                          "to a few sizes, or mark changing Python values static.",
                          stacklevel=core.user_stacklevel())
        if os.environ.get("FUNCTORCH_LITE_LOG_COMPILES", "") in ("", "0"):
            return
        sig = ", ".join(a.str_short() for a in avals)
        reason = "first call" if prev is None else explain_key_change(prev, key)
        print(f"[functorch_lite] tracing jit of `{self.name}` for ({sig}): {reason}",
              file=sys.stderr)

    def _entry(self, args, kwargs):
        key, statics, static_kw, tree, dyn, backend = self._signature(args, kwargs)
        entry = self._cache.get(key)
        if entry is None:
            entry = self._trace(key, statics, static_kw, tree, dyn, len(args))
            if not any(isinstance(c, Tracer) for c in entry.consts):
                self._cache[key] = entry
        return entry, dyn, backend

    # -- calling ----------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        fast_key = None
        if self._fast_ok and not kwargs and not core.is_under_transform():
            fast_key = _fast_key(args)
            hit = self._fast.get(fast_key) if fast_key is not None else None
            if hit is not None:
                compiled, consts, out_tree, out_weak = hit
                return tree_util.unflatten(out_tree, _run(compiled, consts, args, out_weak))
        entry, dyn, backend = self._entry(args, kwargs)
        dyn = [as_array(x) for x in dyn]
        if not core.is_under_transform():
            if entry.compiled is None:
                entry.compiled = _get_compiled(_closed(entry), backend, entry.donate)
            if fast_key is not None and not any(isinstance(c, Tracer) for c in entry.consts):
                self._fast[fast_key] = (entry.compiled, (), entry.out_tree, entry.out_weak)
            if entry.donate:
                outs = _run_donating(entry.compiled, dyn, entry.donate, entry.out_weak)
            else:
                outs = _run(entry.compiled, (), dyn, entry.out_weak)
        else:
            outs = jit_p.bind(*entry.consts, *dyn, jaxpr=entry.jaxpr, name=self.name,
                              backend=backend)
        return tree_util.unflatten(entry.out_tree, outs)

    def lower(self, *args, **kwargs) -> Lowered:
        """Trace (no data needed: ``ShapeDtypeStruct`` works) and return the lowered program.
        A later call with the same signature reuses the trace."""
        entry, _, backend = self._entry(args, kwargs)
        return Lowered(entry, backend, self.name)

    def clear_cache(self):
        self._cache.clear()
        self._fast.clear()


class Lowered:
    """A traced program for one signature: ``as_text()`` gives the backend's source."""

    def __init__(self, entry, backend, name):
        self._entry = entry
        self.backend = backend
        self.name = name

    @property
    def ir(self) -> ClosedJaxpr:
        return self._entry.jaxpr

    def as_text(self) -> str:
        return backends.get(self.backend).lower_text(_closed(self._entry), name=self.name)

    def compile(self):
        fn = _get_compiled(_closed(self._entry), self.backend)
        entry = self._entry

        def run(*args, **kwargs):
            leaves = [as_array(x) for x in tree_util.leaves((args, kwargs))]
            return tree_util.unflatten(entry.out_tree, _run(fn, (), leaves, entry.out_weak))

        return run


def explain_key_change(prev, key) -> str:
    ptree, pleaves, pstat, pkw, pback = prev
    tree, leaves, stat, kw, back = key
    if ptree != tree:
        return f"argument structure changed: {ptree} -> {tree}"
    if pback != back:
        return f"backend changed: {pback} -> {back}"
    for i, (a, b) in enumerate(zip(pleaves, leaves)):
        if a != b:
            fa = ShapedArray(*a).str_short() + (" (weak)" if a[2] else "")
            fb = ShapedArray(*b).str_short() + (" (weak)" if b[2] else "")
            return f"array argument leaf {i} changed: {fa} -> {fb}"
    if pstat != stat or pkw != kw:
        return f"static arguments changed: {pstat or pkw} -> {stat or kw}"
    return "new signature"


def jit(fun=None, *, static_argnums=(), static_argnames=(), donate_argnums=(), backend=None):
    """Compile ``fun``: traced once per argument signature, then run by a backend.

    ``static_argnums``/``static_argnames`` mark arguments passed as hashable Python values
    (a new value retraces). ``donate_argnums`` marks positional arguments (pytrees
    included) the caller gives up: after the call every donated ``Array`` is deleted
    (``x.is_deleted()``; any use raises, as in JAX), and the llvm backend writes an output
    into a donated buffer of the same shape and dtype when its plan allows (the input is
    not read after that output is written) and nothing else can see that memory (no other
    view of it, not passed twice), so ``params = step(params, batch)`` updates in place
    without a second copy of the parameters. numpy arguments are the caller's memory: they
    are neither written nor deleted. The numpy reference backend only deletes.
    ``backend`` picks "numpy" | "llvm" | "cupy" (default: ``FUNCTORCH_LITE_BACKEND`` or
    the inputs' device).

    >>> @fl.jit
    ... def f(x):
    ...     return fnp.tanh(x) * 2.0
    >>> f(np.ones(3, np.float32))  # doctest: +SKIP
    """
    if fun is None:
        return lambda f: jit(f, static_argnums=static_argnums, static_argnames=static_argnames,
                             donate_argnums=donate_argnums, backend=backend)
    return Jitted(fun, static_argnums, static_argnames, donate_argnums, backend)


def make_ir(fun, static_argnums=()):
    """Returns a function that traces ``fun`` on its arguments (arrays or ShapeDtypeStruct)
    and returns the printable IR (like ``jax.make_jaxpr``).

    >>> print(fl.make_ir(lambda x: fnp.sin(x) * 2.0)(fl.ShapeDtypeStruct((3,), "float32")))
    ... # doctest: +SKIP
    """

    def traced(*args, **kwargs):
        entry, _, _ = Jitted(fun, static_argnums)._entry(args, kwargs)
        return entry.jaxpr if not entry.consts else _reclose(entry)

    return traced


make_jaxpr = make_ir  # JAX's name


def _reclose(entry) -> ClosedJaxpr:
    j = entry.jaxpr.jaxpr
    n = len(entry.consts)
    return ClosedJaxpr(Jaxpr(j.invars[:n], j.invars[n:], j.eqns, j.outvars), entry.consts)
