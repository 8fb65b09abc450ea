"""Shared pytest configuration.

* Registers the deterministic hypothesis profile ``ci`` and loads it by default
  (``HYPOTHESIS_PROFILE=<name>`` picks another registered profile), and turns on
  ``FUNCTORCH_LITE_CHECK_IR`` so every program staged during the tests is typechecked.
* Compiled objects go to ``FUNCTORCH_LITE_CACHE_DIR`` when it is set, else to one
  directory under the system's temporary directory (never the user's cache); it is
  kept between runs, so a second run compiles nothing.
* Every test that runs ``jit`` runs once per CPU backend (``BACKENDS``): its source, or
  that of a test-suite function it calls, calls ``jit`` (``jit(``, ``.jit``,
  ``check_jit``). The parameter ``jit_backend`` sets ``FUNCTORCH_LITE_BACKEND`` for
  that run; the test ids carry ``numpy`` / ``llvm`` (``-k "not numpy"`` skips one
  side). Tests under ``tests/llvm`` and ``tests/cupy`` (backend-specific already),
  ``tests/distributed`` (MPI jobs) and tests that name
  their backend themselves
  (``backend=``, ``FUNCTORCH_LITE_BACKEND``) run once; ``@pytest.mark.both_backends``
  (or a module's ``pytestmark``) doubles a test whose jit calls are out of sight. A
  test can ask for the ``jit_backend`` fixture to learn which side it is on (None when
  it runs once).
"""

import inspect
import os
import re
import tempfile

os.environ.setdefault("FUNCTORCH_LITE_CHECK_IR", "1")
os.environ.setdefault("FUNCTORCH_LITE_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), "functorch_lite-test-cache"))

import pytest  # noqa: E402  (after the environment it reads)
from hypothesis import settings  # noqa: E402

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=25, print_blob=True
)
# for hunting bugs locally: HYPOTHESIS_PROFILE=thorough python -m pytest ...
settings.register_profile("thorough", deadline=None, max_examples=400, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BACKENDS = ("numpy", "llvm")
OWN_BACKEND_DIRS = ("llvm", "cupy", "distributed")  # backend-specific, or run in MPI jobs
TESTS = os.path.dirname(os.path.abspath(__file__))
_JIT = re.compile(r"\bjit\s*\(|\.jit\b|check_jit")
_OWN_BACKEND = re.compile(r"\bbackend=|FUNCTORCH_LITE_BACKEND")


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _in_suite(fn) -> bool:
    path = getattr(getattr(fn, "__code__", None), "co_filename", "")
    return os.path.abspath(path).startswith(TESTS + os.sep)


def _names(code) -> set[str]:
    """Global names a code object (and the functions nested in it) reads."""
    out = set(code.co_names)
    for c in code.co_consts:
        if inspect.iscode(c):
            out |= _names(c)
    return out


def runs_jit(fn, seen=None) -> bool:
    """Whether ``fn`` (a test or a test-suite helper) mentions ``jit``, directly or
    through a function of the test suite that it calls."""
    seen = set() if seen is None else seen
    if id(fn) in seen:
        return False
    seen.add(id(fn))
    if _JIT.search(_source(fn)):
        return True
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    for name in _names(code):
        obj = getattr(fn, "__globals__", {}).get(name)
        if inspect.isfunction(obj) and _in_suite(obj) and runs_jit(obj, seen):
            return True
    return False


def pytest_generate_tests(metafunc):
    fn = metafunc.function
    path = os.path.abspath(metafunc.definition.path)
    if any(path.startswith(os.path.join(TESTS, d, "")) for d in OWN_BACKEND_DIRS):
        return
    marked = metafunc.definition.get_closest_marker("both_backends") is not None
    if not marked and (_OWN_BACKEND.search(_source(fn)) or not runs_jit(fn)):
        return
    metafunc.parametrize("jit_backend", BACKENDS, indirect=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run on every CPU jit backend (for "
                            "tests whose jit calls are out of sight, e.g. in example scripts)")


@pytest.fixture(autouse=True)
def jit_backend(request, monkeypatch):
    """The CPU backend this run of a jit test uses (None: the test runs once)."""
    backend = getattr(request, "param", None)
    if backend is not None:
        monkeypatch.setenv("FUNCTORCH_LITE_BACKEND", backend)
    return backend
