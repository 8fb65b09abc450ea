"""The examples in compat.nn's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from collections import OrderedDict

import numpy as np
import pytest

import compat
import compat.nn
import compat.nn.functional as F
import functorch_lite as fl
import functorch_lite.numpy as fnp

MODULES = sorted(m.name for m in pkgutil.walk_packages(compat.nn.__path__, "compat.nn."))


@pytest.mark.parametrize("name", ["compat.nn", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    state = compat.get_rng_state()
    compat.manual_seed(0)
    try:
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
            test.globs.update({"compat": compat, "nn": compat.nn, "F": F, "np": np,
                               "fnp": fnp, "fl": fl, "OrderedDict": OrderedDict})
            runner.run(test)
    finally:
        compat.set_rng_state(state)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
