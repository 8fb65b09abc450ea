"""The CuPy backend's generated CUDA, checked without a GPU:

* every module compiles to PTX with ``nvcc -ptx`` for sm_90 and sm_75 (the oldest target
  CUDA 13 keeps), all in one translation unit per target (one nvcc call each): a
  program per dtype holding every elementwise primitive the reference accepts at that
  dtype, every reduction at every dtype, and W1/W2/W3;
* kernels compiled as host C++ (the same text; the prelude's launch macros make the grid
  one thread) agree with the numpy backend on strided, broadcast, reversed, reduced and
  split-reduction cases, so the index arithmetic is checked;
* ``lower_text`` needs neither CuPy nor a GPU, and W1 is one kernel.
"""

from __future__ import annotations

import re

import cuda_host
import numpy as np
import pytest
from cupy_cases import CASES, DTYPES
from gpu_programs import mlp_sgd_step, w1

import functorch_lite as fl
import functorch_lite.numpy as fnp
from backends.cupy import backend as cupy_backend
from backends.cupy.codegen import LAUNCH_MACROS, Launch, generate
from backends.cupy.prelude import PRELUDE
from functorch_lite.fusion import fuse
from functorch_lite.ir import ClosedJaxpr, Eqn, Jaxpr, Var
from functorch_lite.primitives import reduce as R
from functorch_lite.primitives import shape as S
from functorch_lite.rewrite import optimize


def w2(x):
    m = fnp.max(x, axis=1, keepdims=True)
    s = x - m
    return s - fnp.log(fnp.sum(fnp.exp(s), axis=1, keepdims=True))


def w3_step():
    step, opt = mlp_sgd_step(0.01)
    sizes = [784, 512, 512, 10]
    params = [(fl.ShapeDtypeStruct((a, b), np.float32), fl.ShapeDtypeStruct((b,), np.float32))
              for a, b in zip(sizes[:-1], sizes[1:])]
    state = opt.init([(np.zeros((a, b), np.float32), np.zeros(b, np.float32))
                      for a, b in zip(sizes[:-1], sizes[1:])])
    return step, (params, state, fl.ShapeDtypeStruct((256, 784), np.float32),
                  fl.ShapeDtypeStruct((256,), np.int32))


def every_primitive_programs() -> list[ClosedJaxpr]:
    """One program per (dtype, arity) with every accepted elementwise case on (8, 5)
    operands, plus every reduction over each axis set at every dtype."""
    progs = []
    groups: dict = {}
    for _tag, prim, params, args in CASES:
        groups.setdefault(tuple(a.dtype for a in args), []).append((prim, params))
    for dts, items in groups.items():
        ins = [Var(fl.core.ShapedArray((8, 5), d)) for d in dts]
        eqns, outs = [], []
        for prim, params in items:
            aval = prim.abstract_eval(*[v.aval for v in ins], **params)
            o = Var(aval)
            eqns.append(Eqn(prim, list(ins), [o], params))
            outs.append(o)
        progs.append(ClosedJaxpr(Jaxpr([], ins, eqns, outs), []))
    reds = (S.reduce_sum_p, R.reduce_max_p, R.reduce_min_p, R.reduce_prod_p, R.reduce_and_p,
            R.reduce_or_p)
    for dt in DTYPES:
        x = Var(fl.core.ShapedArray((3, 700, 4), dt))
        eqns, outs = [], []
        for prim in reds:
            if prim in (R.reduce_and_p, R.reduce_or_p) and dt.kind != "b":
                continue  # the reference (np.all/np.any) makes bools of anything else
            for axes in ((1,), (0, 2), (0, 1, 2)):
                try:
                    aval = prim.abstract_eval(x.aval, axes=axes)
                except (TypeError, ValueError):
                    continue
                o = Var(aval)
                eqns.append(Eqn(prim, [x], [o], {"axes": axes}))
                outs.append(o)
        progs.append(ClosedJaxpr(Jaxpr([], [x], eqns, outs), []))
    return progs


def sources(backend: str) -> list[str]:
    """Complete modules: W1, W2, W3 (as ``lower_text`` gives them), then the primitive
    programs."""
    step, args = w3_step()
    srcs = [fl.jit(w1, backend=backend).lower(
                fl.ShapeDtypeStruct((2 ** 24,), np.float32)).as_text(),
            fl.jit(w2, backend=backend).lower(
                fl.ShapeDtypeStruct((4096, 4096), np.float32)).as_text(),
            fl.jit(step, backend=backend).lower(*args).as_text()]
    for i, closed in enumerate(every_primitive_programs()):
        srcs.append(generate(fuse(optimize(closed).hoist_consts()[0]), f"p{i}").source)
    return srcs


def merged(srcs: list[str]) -> str:
    """One translation unit: the prelude once, then every module's kernels (their names
    differ: each program has its own name)."""
    head = PRELUDE + "\n" + LAUNCH_MACROS
    assert all(s.count(head) == 1 for s in srcs)
    return head + "\n".join(s.split(head, 1)[1] for s in srcs)


def _ptx(arch, backend):
    srcs = sources(backend=backend)
    assert sum(s.count("FL_GLOBAL void") for s in srcs) > 20
    cuda_host.ptx([merged(srcs)], arch)


@pytest.mark.skipif(cuda_host.nvcc() is None, reason="nvcc (the CUDA compiler) is not installed")
@pytest.mark.parametrize("arch", ["sm_90", "sm_75"])  # sm_75: the oldest CUDA 13 keeps
def test_every_kernel_compiles_to_ptx(arch):
    _ptx(arch, backend="cupy")


def test_w1_is_one_kernel_and_lowers_without_cupy():
    text = fl.jit(w1, backend="cupy").lower(
        fl.ShapeDtypeStruct((2 ** 24,), np.float32)).as_text()
    assert len(re.findall(r"FL_GLOBAL void \w+\(", text)) == 1
    assert "16777216LL" in text and "fl_tanh" in text and "fl_logistic" in text


def test_lower_text_names_the_opaque_routines():
    f = lambda a, b: fnp.cumsum(a @ b, axis=0)  # noqa: E731
    text = fl.jit(f, backend="cupy").lower(fl.ShapeDtypeStruct((4, 3), np.float32),
                                            fl.ShapeDtypeStruct((3, 2), np.float32)).as_text()
    assert "dot_general: cupy.matmul (cuBLAS batched GEMM)" in text
    assert "cumsum: cupy.cumsum" in text


def test_control_flow_bodies_are_lowered_too():
    f = lambda x: fl.lax.fori_loop(0, 3, lambda i, c: c * 2.0 + 1.0, x)  # noqa: E731
    text = fl.jit(f, backend="cupy").lower(fl.ShapeDtypeStruct((5,), np.float32)).as_text()
    assert text.count("functorch_lite cupy backend: program") >= 2


# --------------------------------------------------------------------------- host runs


def host_run(f, *args):
    """Run ``f``'s generated kernels as host C++ (kernels only: no opaque steps)."""
    closed = fl.make_ir(f)(*args)
    jaxpr, consts = optimize(closed).hoist_consts()
    prog = fuse(jaxpr)
    mod = generate(prog, "h")
    assert all(isinstance(s, Launch) for s in mod.steps), "host runs take kernels only"
    lib = cuda_host.build(mod.source)
    env = {id(v): np.ascontiguousarray(a) for v, a in
           zip(list(prog.jaxpr.constvars) + list(prog.jaxpr.invars), list(consts) + list(args))}
    for s in mod.steps:
        for v in s.writes:
            env.setdefault(id(v), np.empty(v.aval.shape, v.aval.dtype))
        ptrs = [cuda_host.POINTER(cuda_host.address(env[id(v)])) for v in s.reads + s.writes]
        getattr(lib, s.name)(*ptrs)
    return [env[id(v)] for v in prog.outvars], mod


STRIDED = {
    "transpose+broadcast": (lambda x, b: x.T * b[:, None] + 1.0,
                            [np.arange(12.0).reshape(3, 4), np.arange(4.0)]),
    "reversed+sliced": (lambda x, b: x[::-1, 1::2] - fnp.flip(b[:2]),
                        [np.arange(20.0).reshape(4, 5), np.arange(4.0)]),
    "column sums": (lambda x, b: fnp.sum(x[:, ::-1] * 2.0, axis=0) + b,
                    [np.arange(35.0).reshape(7, 5), np.arange(5.0)]),
    "row max and iota": (lambda x, b: fnp.max(x, axis=1) + fnp.arange(3.0),
                         [np.random.RandomState(0).randn(3, 6), np.zeros(1)]),
    "long split sum": (lambda x, b: fnp.sum(fnp.exp(x * 0.001)) * b,
                       [np.linspace(-1, 1, 5000), np.ones(1)]),
    "int64 strided mod": (lambda x, b: (x[::2] * 7) % 5 + b[0],
                          [np.arange(-10, 10, dtype=np.int64), np.array([3], np.int64)]),
    "empty reduction": (lambda x, b: fnp.sum(x, axis=1) + b[:0].sum(),
                        [np.zeros((3, 0)), np.ones(2)]),
}


@pytest.mark.skipif(cuda_host.host_compiler() is None, reason="no host C++ compiler installed")
@pytest.mark.parametrize("name", sorted(STRIDED))
def test_host_compiled_kernels_match_numpy(name):
    f, args = STRIDED[name]
    got, mod = host_run(f, *args)
    want = fl.jit(f, backend="numpy")(*args)
    want = want if isinstance(want, (list, tuple)) else [want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-12)
    if name == "long split sum":  # a long reduction with one output runs in chunks
        assert any(s.name.endswith("_combine") for s in mod.steps)


def test_cupy_backend_is_registered():
    import backends
    assert backends.get("cupy") is cupy_backend.BACKEND
    assert backends.get("cupy").device == "gpu"
