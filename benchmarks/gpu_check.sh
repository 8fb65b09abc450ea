#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU (a few minutes):
#   bash benchmarks/gpu_check.sh            # from the repository root
# 1. installs the gpu extra if CuPy is missing, 2. says what device CuPy sees,
# 3. runs the tests that need a real GPU (the 37 shared programs through the cupy
# backend, eager GPU execution, compat on CUDA tensors), 4. times W1g-W4g (W1g's
# achieved bandwidth against the device's peak).
set -uo pipefail
cd "$(dirname "$0")/.."
python -c "import cupy" 2>/dev/null || python -m pip install -q -e ".[gpu]"
python - <<'PY'
import cupy
n = cupy.cuda.runtime.getDeviceCount()
p = cupy.cuda.runtime.getDeviceProperties(0)
print(f"CuPy {cupy.__version__}: {n} device(s); device 0: {p['name'].decode()}, "
      f"compute capability {p['major']}.{p['minor']}")
PY
python -m pytest -q -p no:cacheprovider -rs tests/cupy/test_cupy_gpu.py tests/gpu/test_real_gpu.py
rc=$?
python benchmarks/run.py --only W1g W2g W3g W4g --all-cores
exit $rc
