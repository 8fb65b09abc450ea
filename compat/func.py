"""``compat.func``: PyTorch's ``torch.func`` -- ``functional_call``, ``grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``vmap`` -- over
``functorch_lite``'s transforms, with torch.func's names and argument names.

Each transform runs the core's: tensors in the arguments become arrays, the user's
function sees tensors around the traced values (so any compat operation works inside),
and results come back as tensors. ``functional_call`` runs a module with some parameters
and buffers replaced, which makes a module a pure function of its parameters: the way to
per-example gradients, ensembles and ``compat.compile``.

>>> f = lambda x: (x ** 3).sum()
>>> compat.func.grad(f)(compat.tensor([1.0, 2.0]))
tensor([ 3., 12.])
>>> compat.func.vmap(compat.func.grad(f))(compat.tensor([[1.0], [2.0]]))
tensor([[ 3.],
        [12.]])
"""

from __future__ import annotations

import functools

import functorch_lite as fl

from .grad_mode import no_grad
from .ops.shape import stack
from .tensor import Tensor, own, wrap

# --------------------------------------------------------------------------- conversion


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def to_arrays(tree):
    """``tree`` with every Tensor replaced by its array."""
    return fl.tree.map(lambda x: x.array if isinstance(x, Tensor) else x, tree,
                       is_leaf=is_tensor)


def is_array_leaf(x) -> bool:
    """An array, a traced value or a GPU array (what the core's transforms hand back)."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, Tensor)


def to_tensors(tree):
    """``tree`` with every array (or traced value) replaced by a Tensor around it."""
    return fl.tree.map(lambda x: wrap(own(x)) if is_array_leaf(x) else x, tree)


def tensor_fn(func, has_aux: bool = False):
    """``func`` as a function of arrays: its tensor arguments are rebuilt around the traced
    values, its tensor results unwrapped. Runs without compat's graph recording (the core
    transform does the differentiation)."""

    @functools.wraps(func)
    def f(*args, **kwargs):
        with no_grad():
            out = func(*to_tensors(args), **to_tensors(kwargs))
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError("has_aux=True: the function must return a tuple "
                                   "(output, aux)")
            return to_arrays(out[0]), to_arrays(out[1])
        return to_arrays(out)

    return f


# --------------------------------------------------------------------------- transforms


def grad(func, argnums=0, has_aux: bool = False):
    """A function computing the gradient of ``func`` (scalar output) with respect to the
    arguments ``argnums`` (an int or tuple).

    Args:
        func: a function of tensors returning a one-element tensor (or ``(out, aux)``).
        argnums: which positional arguments to differentiate.
        has_aux: ``func`` returns ``(output, aux)``; the result is then ``(grad, aux)``.

    >>> compat.func.grad(lambda x, y: (x * y).sum(), argnums=1)(compat.ones(2),
    ...                                                          compat.tensor([2.0, 3.0]))
    tensor([1., 1.])
    """
    g = fl.grad(tensor_fn(func, has_aux), argnums=argnums, has_aux=has_aux)

    @functools.wraps(func)
    def run(*args, **kwargs):
        return to_tensors(g(*to_arrays(args), **to_arrays(kwargs)))

    return run


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """Like ``grad``, returning ``(grad, value)`` (``(grad, (value, aux))`` with
    ``has_aux``).

    >>> g, v = compat.func.grad_and_value(lambda x: (x ** 2).sum())(compat.tensor([3.0]))
    >>> g, v
    (tensor([6.]), tensor(9.))
    """
    vg = fl.value_and_grad(tensor_fn(func, has_aux), argnums=argnums, has_aux=has_aux)

    @functools.wraps(func)
    def run(*args, **kwargs):
        value, gr = vg(*to_arrays(args), **to_arrays(kwargs))
        return to_tensors(gr), to_tensors(value)

    return run


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` gives the vector-Jacobian
    products with respect to each primal, as a tuple.

    >>> out, vjp_fn = compat.func.vjp(compat.sin, compat.tensor([0.0]))
    >>> vjp_fn(compat.tensor([2.0]))
    (tensor([2.]),)
    """
    res = fl.vjp(tensor_fn(func, has_aux), *to_arrays(primals), has_aux=has_aux)
    out, pull = res[0], res[1]

    def vjp_fn(cotangents, *more):
        if more:
            cotangents = (cotangents, *more)
        return tuple(to_tensors(pull(to_arrays(cotangents))))

    if has_aux:
        return to_tensors(out), vjp_fn, to_tensors(res[2])
    return to_tensors(out), vjp_fn


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)``: forward-mode derivative along ``tangents``.

    >>> compat.func.jvp(compat.sin, (compat.tensor([0.0]),), (compat.tensor([3.0]),))
    (tensor([0.]), tensor([3.]))
    """
    res = fl.jvp(tensor_fn(func, has_aux), tuple(to_arrays(tuple(primals))),
                 tuple(to_arrays(tuple(tangents))), has_aux=has_aux)
    return tuple(to_tensors(r) for r in res)


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None):
    """A function computing the Jacobian of ``func`` by reverse mode (one VJP per output
    element, batched).

    >>> compat.func.jacrev(lambda x: x ** 2)(compat.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    j = fl.jacrev(tensor_fn(func, has_aux), argnums=argnums)
    return jacobian_runner(func, j, has_aux)


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """A function computing the Jacobian of ``func`` by forward mode (one JVP per input
    element, batched).

    >>> compat.func.jacfwd(lambda x: x.sin())(compat.tensor([0.0]))
    tensor([[1.]])
    """
    j = fl.jacfwd(tensor_fn(func, has_aux), argnums=argnums)
    return jacobian_runner(func, j, has_aux)


def jacobian_runner(func, j, has_aux):
    if has_aux:
        raise NotImplementedError("compat.func: has_aux for jacobians is not supported "
                                  "(functorch_lite's jacfwd/jacrev take no aux)")

    @functools.wraps(func)
    def run(*args, **kwargs):
        return to_tensors(j(*to_arrays(args), **to_arrays(kwargs)))

    return run


def hessian(func, argnums=0):
    """A function computing the Hessian of scalar ``func`` (``jacfwd(jacrev(func))``).

    >>> compat.func.hessian(lambda x: (x ** 3).sum())(compat.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    h = fl.hessian(tensor_fn(func), argnums=argnums)

    @functools.wraps(func)
    def run(*args, **kwargs):
        return to_tensors(h(*to_arrays(args), **to_arrays(kwargs)))

    return run


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs: ``in_dims`` says which dimension of
    each argument (``None``: not mapped), ``out_dims`` where the mapped dimension goes.

    >>> compat.func.vmap(compat.dot)(compat.ones(3, 2), compat.ones(3, 2))
    tensor([2., 2., 2.])
    """
    v = fl.vmap(tensor_fn(func), in_axes=in_dims_tree(in_dims), out_axes=out_dims)

    @functools.wraps(func)
    def run(*args, **kwargs):
        if kwargs:
            raise NotImplementedError("compat.func.vmap: pass mapped inputs positionally")
        return to_tensors(v(*to_arrays(args)))

    return run


def in_dims_tree(in_dims):
    """torch.func's ``in_dims`` as functorch_lite's ``in_axes`` (lists become tuples)."""
    if isinstance(in_dims, list):
        return tuple(in_dims_tree(d) for d in in_dims)
    if isinstance(in_dims, tuple):
        return tuple(in_dims_tree(d) for d in in_dims)
    return in_dims


# --------------------------------------------------------------------------- modules


def resolve(module, name: str):
    """(owning submodule, attribute name) for a dotted parameter/buffer name."""
    *path, attr = name.split(".")
    owner = module
    for p in path:
        owner = getattr(owner, p)
    return owner, attr


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """Call ``module`` with some of its parameters and buffers replaced by the tensors in
    ``parameter_and_buffer_dicts`` (a dict of dotted names, or a tuple of dicts), restoring
    them afterwards. Differentiating the result with respect to those tensors (with
    ``compat.func`` or ``backward``) differentiates the module as a pure function.

    Args:
        module: the module to call.
        parameter_and_buffer_dicts: ``{name: tensor}`` replacing ``module``'s entries.
        args: positional arguments (a tuple, or a single argument).
        kwargs: keyword arguments.
        tie_weights: a replaced tensor also replaces other names that share it.
        strict: require every parameter and buffer to be given.

    >>> lin = compat.nn.Linear(2, 1)  # doctest: +SKIP
    >>> params = {k: v.detach() for k, v in lin.named_parameters()}  # doctest: +SKIP
    >>> compat.func.functional_call(lin, params, (compat.ones(1, 2),)).shape  # doctest: +SKIP
    torch.Size([1, 1])
    """
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        dicts = (dicts,)
    new: dict = {}
    for d in dicts:
        for k, v in d.items():
            if k in new:
                raise ValueError(f"{k} appeared in multiple dictionaries; behavior of "
                                 "functional call is ambiguous")
            new[k] = v
    own_names = dict(named_entries(module))
    if strict:
        missing = sorted(set(own_names) - set(new))
        unexpected = sorted(set(new) - set(own_names))
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in functional_call: missing keys {missing}, "
                               f"unexpected keys {unexpected}")
    if tie_weights:
        by_id = {id(own_names[k]): v for k, v in new.items() if k in own_names}
        for k, t in own_names.items():
            if k not in new and id(t) in by_id:
                new[k] = by_id[id(t)]
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    swapped = []
    try:
        for name, value in new.items():
            owner, attr = resolve(module, name)
            had = attr in vars(owner)
            old = vars(owner).get(attr)
            # the instance attribute shadows the module's own storage of the entry (its
            # __getattr__ is only consulted when normal lookup fails); restored below
            object.__setattr__(owner, attr, value)
            swapped.append((owner, attr, had, old))
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attr, had, old in reversed(swapped):
            if had:
                object.__setattr__(owner, attr, old)
            else:
                object.__delattr__(owner, attr)


def named_entries(module):
    """Every (dotted name, tensor) of the module's parameters and buffers, duplicates
    (tied weights) included where the module can list them."""
    out = []
    for getter in ("named_parameters", "named_buffers"):
        fn = getattr(module, getter, None)
        if fn is None:
            continue
        try:
            out.extend(fn(remove_duplicate=False))
        except TypeError:  # a Module whose listing takes no remove_duplicate
            out.extend(fn())
    return out


def stack_module_state(models) -> tuple:
    """``(params, buffers)``: each parameter and buffer of the same-structured ``models``
    stacked along a new leading dimension (for ensembles with ``vmap``).

    >>> params, buffers = compat.func.stack_module_state([m1, m2])  # doctest: +SKIP
    """
    params = {k: stack([dict(m.named_parameters())[k].detach() for m in models])
              for k, _ in models[0].named_parameters()}
    buffers = {k: stack([dict(m.named_buffers())[k] for m in models])
               for k, _ in models[0].named_buffers()}
    for v in params.values():
        v.requires_grad_(True)
    return params, buffers
