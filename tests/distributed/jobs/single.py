"""Run without mpiexec: a world of one process. ``import functorch_lite`` loads no mpi4py;
init() gives rank 0 of 1; the modules' docstring examples run; collectives.py's checks
pass with one rank. Prints ``single: ok``."""

from __future__ import annotations

import doctest
import importlib
import runpy
import sys

import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp
from functorch_lite import distributed as dist

assert "mpi4py" not in sys.modules, "import functorch_lite loaded mpi4py"
hook = sys.excepthook
dist.init()
assert (dist.rank(), dist.world_size(), dist.is_initialized()) == (0, 1, True)
assert sys.excepthook is hook, "a world of one keeps Python's own excepthook"
try:
    dist.send(1.0, 0)
except ValueError as e:
    assert "is this rank" in str(e), e
else:
    raise AssertionError("send to self accepted")
dist.finalize()
assert not dist.is_initialized()
dist.init()

failed = 0
for name in ["functorch_lite.distributed", "functorch_lite.distributed.world",
             "functorch_lite.distributed.buckets", "functorch_lite.distributed.collectives",
             "functorch_lite.distributed.parallel"]:
    mod = importlib.import_module(name)
    globs = {"np": np, "fl": fl, "fnp": fnp, "dist": dist, **vars(mod)}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
                                   | doctest.IGNORE_EXCEPTION_DETAIL)
    tests = doctest.DocTestFinder().find(mod, name, globs=globs)
    assert sum(len(t.examples) for t in tests) >= 3, name
    for t in tests:
        runner.run(t)
    failed += runner.failures
assert failed == 0, f"{failed} docstring examples failed"
runpy.run_path(str(__import__("pathlib").Path(__file__).parent / "collectives.py"))
print("single: ok")
