"""The examples in the docstrings of the array type, pytrees, random, scipy, devices and
the checks run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import functorch_lite as fl
import functorch_lite.numpy as fnp

MODULES = ["functorch_lite.array", "functorch_lite.tree", "functorch_lite.tree_util",
           "functorch_lite.random", "functorch_lite.scipy.special",
           "functorch_lite.scipy.stats.norm", "functorch_lite.devices",
           "functorch_lite.test_util", "functorch_lite.checkpoint", "functorch_lite.nn",
           "functorch_lite.numpy._creation", "functorch_lite.numpy._core",
           "functorch_lite.numpy._reductions", "functorch_lite.api_util",
           "functorch_lite.placement"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    globs = {"np": np, "fl": fl, "fnp": fnp, **vars(mod)}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
                                   | doctest.IGNORE_EXCEPTION_DETAIL)
    for test in doctest.DocTestFinder().find(mod, name, globs=globs):
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} docstring examples of {name} failed"
