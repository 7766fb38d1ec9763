#!/usr/bin/env bash
# Third GPU check: JAX attention at 4x32x4096x128, quantized linear, YOLO 640, compiled-mode profiles.
# Results land in ${OUT:-/tmp/gpu-check3} as one tarball (docs/measurement.md).
set -u
OUT=${OUT:-/tmp/gpu-check3}
W=/tmp/gpu-work; mkdir -p "$OUT" "$W"
python3 -c 'import rich' 2>/dev/null || { [ -d .whl ] && python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site; }
step() { local limit=$1 name=$2; shift 2; echo "=== $name: $*"; timeout "$limit" "$@" 2>&1 | grep -v "━" | tail -${TAIL:-30}; }
step 140 sdpa-jax python3 -m bench run --suite suites/gpu/sdpa-4096.toml --backend jax:cuda --out $W/sdpa-jax
step 170 quant python3 -m bench run --suite suites/gpu/quant.toml --out $W/quant
step 170 yolo python3 -m bench run --suite suites/gpu/yolo-640.toml --out $W/yolo
step 45 profile-torch python3 -m bench profile --workload sdpa --backend torch:cuda --suite suites/gpu/profile-sdpa.toml --case compiled --out $W/profile-torch
step 45 profile-jax python3 -m bench profile --workload sdpa --backend jax:cuda --suite suites/gpu/profile-sdpa.toml --case compiled --out $W/profile-jax
tar -czf "$OUT/gpu-check3.tar.gz" -C "$W" .
