#!/usr/bin/env bash
# Second GPU check: canary demonstration, attention at 4x32x4096x128, profiling on CUDA. Results land in
# ${OUT:-/tmp/gpu-check2} as one tarball per step (docs/measurement.md).
set -u
OUT=${OUT:-/tmp/gpu-check2}
W=/tmp/gpu-work; mkdir -p "$OUT" "$W"
python3 -c 'import rich' 2>/dev/null || { [ -d .whl ] && python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site; }
step() { local name=$1; shift; echo "=== $name: $*"; timeout ${STEP_TIMEOUT:-300} "$@" 2>&1 | grep -v "━" | tail -${TAIL:-40}; }
step canary-synced python3 -m bench run --suite suites/gpu/canary-demo.toml --out $W/canary-synced
step canary-unsynced python3 -m bench run --suite suites/gpu/canary-demo.toml --unsafe-no-sync --out $W/canary-unsynced
step sdpa python3 -m bench run --suite suites/gpu/sdpa-4096.toml --out $W/sdpa
step profile-torch python3 -m bench profile --workload sdpa --backend torch:cuda --suite suites/gpu/profile-sdpa.toml --out $W/profile-torch
step profile-jax python3 -m bench profile --workload sdpa --backend jax:cuda --suite suites/gpu/profile-sdpa.toml --out $W/profile-jax
tar -czf "$OUT/gpu-check2.tar.gz" -C "$W" .
