"""The examples in compat's docstrings run and print what they show (PyTorch's reprs)."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import compat
import functorch_lite as fl
import functorch_lite.numpy as fnp

MODULES = [
    "compat", "compat.tensor", "compat.dtypes", "compat.device", "compat.grad_mode",
    "compat.graph", "compat.formatting", "compat.methods", "compat.random", "compat.func",
    "compat.cuda", "compat.legacy", "compat.linalg", "compat.backends", "compat.ops.dispatch",
    "compat.ops.inplace", "compat.ops.pointwise", "compat.ops.shape", "compat.ops.reduction",
    "compat.ops.indexing", "compat.ops.linalg", "compat.ops.creation", "compat.autograd",
    "compat.autograd.engine", "compat.autograd.function", "compat.autograd.functional",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    state = compat.get_rng_state()
    try:
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
            test.globs.update({"compat": compat, "np": np, "fnp": fnp, "fl": fl})
            runner.run(test)
    finally:
        compat.set_rng_state(state)
        compat.set_default_dtype(compat.float32)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
