"""The user-facing differentiation API: ``jvp``, ``linearize``, ``vjp``, ``grad``,
``value_and_grad``, ``jacfwd``, ``jacrev``, ``hessian`` and ``stop_gradient``, over pytrees.

Built on the machinery of ``autodiff.py`` (JVP trace, linearize, transpose) and, for the
Jacobians, ``batching.py`` (vmap over a basis).

>>> fl.grad(lambda x: fnp.sum(x ** 2))(np.array([1.0, 2.0], np.float32))
Array([2., 4.], dtype=float32)
"""

from __future__ import annotations

import functools

import numpy as np

from . import core, dtypes
from . import primitives as P
from . import tree as tree_util
from .api_util import as_array, fun_name
from .array import wrap
from .autodiff import backward_pass, jvp_flat, linearize_flat
from .batching import vmap_flat
from .core import Tracer, get_aval
from .placement import device_id, put
from .primitives.shape import instantiate_zeros
from .rules import UndefinedPrimal, Zero


def _flatten_fun(fun, in_tree, has_aux=False):
    store = {}

    def flat(*leaves):
        out = fun(*tree_util.unflatten(in_tree, leaves))
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(f"has_aux=True requires `{fun_name(fun)}` to return a pair "
                                f"(output, aux), got {type(out).__name__}")
            out, aux = out
            # aux is not differentiated: unwrap it so no tracer of this transform escapes
            store["aux"] = tree_util.map(
                lambda v: P.stop_gradient(v) if isinstance(v, Tracer) else v, aux)
        ol, store["out_tree"] = tree_util.flatten(out)
        return [as_array(x) for x in ol]

    return flat, store


def jvp(fun, primals, tangents, has_aux: bool = False):
    """Forward-mode: ``(fun(*primals), J @ tangents)``.

    >>> fl.jvp(fnp.sin, (0.0,), (1.0,))  # doctest: +SKIP
    (array(0., dtype=float32), array(1., dtype=float32))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists")
    p_leaves, p_tree = tree_util.flatten(tuple(primals))
    t_leaves, t_tree = tree_util.flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(f"jvp: primal and tangent structures differ: {p_tree} vs {t_tree}")
    p_leaves = [as_array(x) for x in p_leaves]
    ts = []
    for p, t in zip(p_leaves, t_leaves):
        t = as_array(t)
        pa, ta = get_aval(p), get_aval(t)
        if pa.shape != ta.shape:
            raise ValueError(f"jvp: tangent shape {ta.shape} does not match primal shape "
                             f"{pa.shape}")
        ts.append(P.convert(t, pa.dtype) if ta.dtype != pa.dtype and dtypes.is_float(pa.dtype)
                  else t)
    flat, store = _flatten_fun(fun, p_tree, has_aux)
    outs, touts = jvp_flat(flat, p_leaves, ts, fun_name(fun))
    touts = [instantiate_zeros(t) for t in touts]
    out = tree_util.unflatten(store["out_tree"], outs)
    tout = tree_util.unflatten(store["out_tree"], touts)
    return (out, tout, store["aux"]) if has_aux else (out, tout)


def linearize(fun, *primals):
    """``(fun(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` applies the linearization.

    The primal computation runs once; ``jvp_fn`` only evaluates the linear program.
    """
    leaves, in_tree = tree_util.flatten(primals)
    leaves = [as_array(x) for x in leaves]
    flat, store = _flatten_fun(fun, in_tree)
    outs, lin = linearize_flat(flat, leaves, fun_name(fun))
    out_tree = store["out_tree"]

    def jvp_fn(*tangents):
        tl, tt = tree_util.flatten(tangents)
        if tt != in_tree:
            raise ValueError(f"linearize: tangent structure {tt} differs from primals {in_tree}")
        return tree_util.unflatten(out_tree, lin.call(*[as_array(t) for t in tl]))

    return tree_util.unflatten(out_tree, outs), jvp_fn


def vjp(fun, *primals, has_aux: bool = False):
    """Reverse-mode: ``(fun(*primals), vjp_fn)`` with ``vjp_fn(cotangent) -> tuple``.

    >>> y, f_vjp = fl.vjp(fnp.sin, np.float32(0.5))  # doctest: +SKIP
    >>> f_vjp(np.float32(1.0))  # (cos(0.5),)
    """
    leaves, in_tree = tree_util.flatten(primals)
    leaves = [as_array(x) for x in leaves]
    flat, store = _flatten_fun(fun, in_tree, has_aux)
    outs, lin = linearize_flat(flat, leaves, fun_name(fun))
    out_tree = store["out_tree"]
    in_avals = [get_aval(x) for x in leaves]
    out_avals = [get_aval(o) for o in outs]
    # a cotangent lives where its primal does (one of a GPU input may come out on the host
    # when only host constants produced it, or as a symbolic zero)
    in_devs = [device_id(x) for x in leaves]
    on_gpu = any(d is not None for d in in_devs)

    def vjp_fn(ct):
        cl, ct_tree = tree_util.flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: cotangent structure {ct_tree} differs from the output "
                             f"structure {out_tree}")
        cts = []
        for c, a in zip(cl, out_avals):
            c = as_array(c)
            ca = get_aval(c)
            if ca.shape != a.shape:
                raise ValueError(f"vjp: cotangent shape {ca.shape} does not match output shape "
                                 f"{a.shape} of `{fun_name(fun)}`")
            cts.append(P.convert(c, a.dtype) if ca.dtype != a.dtype else c)
        args = [UndefinedPrimal(a.strip_weak()) for a in in_avals]
        res = backward_pass(lin.jaxpr, lin.consts, args, cts)
        res = [_zeros_or(r, a) for r, a in zip(res, in_avals)]
        if on_gpu:
            res = [r if d is None or isinstance(r, Tracer) else put(r, d)
                   for r, d in zip(res, in_devs)]
        return tree_util.unflatten(in_tree, res)

    out = tree_util.unflatten(out_tree, outs)
    return (out, vjp_fn, store["aux"]) if has_aux else (out, vjp_fn)


def _zeros_or(r, aval):
    """The cotangent of an input of type ``aval`` (zeros for a symbolic zero), weakly typed
    when the input is, as in JAX (a Python float argument gets a weak gradient)."""
    if r is None or type(r) is Zero:
        if core.is_under_transform():
            return P.convert(P.zeros_like_aval(aval.strip_weak()), aval.dtype, aval.weak_type)
        return wrap(np.zeros(aval.shape, aval.dtype), aval.weak_type)
    if isinstance(r, Tracer):
        return P.convert(r, aval.dtype, aval.weak_type)
    return wrap(r, aval.weak_type)


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums {argnums} out of range for {nargs} positional "
                             "arguments")
    return single, tuple(a % nargs for a in nums)


def _split_args(fun, args, kwargs, nums):
    def partial_fun(*dyn):
        full = list(args)
        for i, d in zip(nums, dyn):
            full[i] = d
        return fun(*full, **kwargs)

    partial_fun.__name__ = fun_name(fun)
    return partial_fun, tuple(args[i] for i in nums)


def value_and_grad(fun, argnums=0, has_aux: bool = False):
    """Returns a function computing ``(fun(*args), grad)``; with ``has_aux``,
    ``((value, aux), grad)``.

    >>> vg = fl.value_and_grad(lambda x: (x ** 2).sum())
    >>> vg(np.array([1.0, 2.0], np.float32))  # doctest: +SKIP
    (array(5., dtype=float32), array([2., 4.], dtype=float32))
    """
    name = fun_name(fun)

    @functools.wraps(fun)
    def vg(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        f, dyn = _split_args(fun, args, kwargs, nums)
        for i, d in zip(nums, dyn):
            for leaf in tree_util.leaves(d):
                dt = get_aval(as_array(leaf)).dtype
                if not dtypes.is_float(dt):
                    raise TypeError(
                        f"grad requires real floating-point inputs, but argument {i} of "
                        f"`{name}` has dtype {dt.name}. Convert it (x.astype(fnp.float32)) or "
                        "exclude it from argnums.")
        res = vjp(f, *dyn, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        a = get_aval(as_array(out)) if not isinstance(out, (tuple, list, dict)) else None
        if a is None or a.shape != () or not dtypes.is_float(a.dtype):
            desc = (f"{a.str_short()} (shape {a.shape})" if a is not None
                    else type(out).__name__)
            raise TypeError(
                f"grad requires `{name}` to return a scalar real value (shape ()), but it "
                f"returned {desc}. Reduce it (e.g. .sum() or .mean()), or use fl.vjp / "
                "fl.jacrev for non-scalar outputs.")
        # the seed has the output's weak type, so a weakly typed input (a Python float) gets
        # a weakly typed gradient, as in JAX
        one = wrap(np.ones((), a.dtype), a.weak_type) if not core.is_under_transform() \
            else P.convert(P.full((), 1, a.dtype), a.dtype, a.weak_type)
        dev = device_id(as_array(out))
        if dev is not None:  # the seed on the output's GPU
            one = put(one, dev)
        # a scalar held in a one-leaf pytree node (a compat Tensor) takes its cotangent in
        # the same structure
        out_tree = tree_util.structure(out)
        g = f_vjp(one if out_tree.num_leaves != 1 or out_tree.kind is None
                  else tree_util.unflatten(out_tree, [one]))
        g = g[0] if single else tuple(g)
        return ((out, res[2]), g) if has_aux else (out, g)

    return vg


def grad(fun, argnums=0, has_aux: bool = False):
    """Gradient of a scalar-valued ``fun`` with respect to ``args[argnums]``.

    >>> fl.grad(lambda x: fnp.sin(x))(np.float32(0.0))  # doctest: +SKIP
    array(1., dtype=float32)
    """
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        out, gr = vg(*args, **kwargs)
        return (gr, out[1]) if has_aux else gr

    return g


def _std_basis(leaves):
    """One-hot rows over the concatenated leaves: per leaf, an (n, *leaf.shape) array."""
    sizes = [get_aval(x).size for x in leaves]
    n = sum(sizes)
    dt = dtypes.promote([get_aval(x).dtype for x in leaves], [False] * len(leaves))[0] \
        if leaves else np.float32
    eye = np.eye(n, dtype=dt)
    out, start = [], 0
    for x, s in zip(leaves, sizes):
        a = get_aval(x)
        out.append(eye[:, start:start + s].reshape((n,) + a.shape).astype(a.dtype))
        start += s
    return out, n


def _split_basis_axis(x, axis, avals):
    """Split ``axis`` of ``x`` into one block per aval, each with that aval's shape."""
    shape = get_aval(x).shape
    blocks, start = [], 0
    for a in avals:
        blk = P.slice_in_dim(x, start, start + a.size, axis=axis)
        blocks.append(P.reshape(blk, shape[:axis] + a.shape + shape[axis + 1:]))
        start += a.size
    return blocks


def _jacobian(fun, argnums, has_aux, name, blocks):
    """The common frame of jacfwd and jacrev: argument selection and flattening, then
    ``blocks(flat_fun, leaves, fun_name)`` gives the (output leaf, input leaf) blocks,
    assembled into JAX's nested structure."""

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), name)
        f, dyn = _split_args(fun, args, kwargs, nums)
        leaves, in_tree = tree_util.flatten(dyn)
        leaves = [as_array(x) for x in leaves]
        flat, store = _flatten_fun(f, in_tree, has_aux)
        rows = []
        for per_input in blocks(flat, leaves, fun_name(fun)):
            inner = tree_util.unflatten(in_tree, per_input)
            rows.append(inner[0] if single else inner)
        out = tree_util.unflatten(store["out_tree"], rows)
        return (out, store["aux"]) if has_aux else out

    return jac


def _forward_blocks(flat, leaves, name):
    basis, n = _std_basis(leaves)

    def push(*ts):
        _, touts = jvp_flat(flat, leaves, list(ts), name)
        return [instantiate_zeros(t) for t in touts]

    touts = vmap_flat(push, basis, [0] * len(basis), n, -1, name)
    in_avals = [get_aval(x) for x in leaves]
    return [_split_basis_axis(t, get_aval(t).ndim - 1, in_avals) for t in touts]


def _reverse_blocks(flat, leaves, name):
    outs, lin = linearize_flat(flat, leaves, name)
    in_avals = [get_aval(x) for x in leaves]
    out_avals = [get_aval(o) for o in outs]
    basis, m = _std_basis(outs)

    def pull(*cts):
        args_ = [UndefinedPrimal(a.strip_weak()) for a in in_avals]
        res = backward_pass(lin.jaxpr, lin.consts, args_, list(cts))
        return [instantiate_zeros(r if r is not None else Zero(a)) for r, a in zip(res, in_avals)]

    cts = vmap_flat(pull, basis, [0] * len(basis), m, 0, name)  # each: (m, *in_shape)
    cols = [_split_basis_axis(c, 0, out_avals) for c in cts]
    return [[col[i] for col in cols] for i in range(len(out_avals))]


def jacfwd(fun, argnums=0, has_aux: bool = False):
    """Jacobian by forward mode: ``vmap`` of ``jvp`` over the input basis.

    >>> fl.jacfwd(fnp.sin)(np.zeros(2, np.float32))  # doctest: +SKIP
    array([[1., 0.], [0., 1.]], dtype=float32)
    """
    return _jacobian(fun, argnums, has_aux, "jacfwd", _forward_blocks)


def jacrev(fun, argnums=0, has_aux: bool = False):
    """Jacobian by reverse mode: ``vmap`` of the ``vjp`` over the output basis.

    >>> fl.jacrev(fnp.sin)(np.zeros(2, np.float32))  # doctest: +SKIP
    array([[1., 0.], [0., 1.]], dtype=float32)
    """
    return _jacobian(fun, argnums, has_aux, "jacrev", _reverse_blocks)


jacobian = jacrev  # JAX's name


def hessian(fun, argnums=0, has_aux: bool = False):
    """``jacfwd(jacrev(fun))``: the dense Hessian of a scalar function."""
    return jacfwd(jacrev(fun, argnums, has_aux), argnums, has_aux)


def stop_gradient(x):
    """Identity on values, zero derivative. Works on pytrees."""
    return tree_util.map(lambda v: P.stop_gradient(as_array(v)), x)
