#!/usr/bin/env bash
# GPU timing check on a CUDA machine (docs/measurement.md). Writes everything under ${OUT:-/tmp/gpu-check}.
set -u
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
python3 -c 'import rich' 2>/dev/null || { [ -d .whl ] && python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
python3 -c 'import torch, jax, triton, scipy; print("torch", torch.__version__, "jax", jax.__version__, "triton", triton.__version__, "scipy", scipy.__version__)'
for dtype in bf16 fp32; do python3 tools/do_bench_matmul.py --dtype $dtype | tee -a "$OUT/do_bench.jsonl"; done
python3 -m bench run --suite suites/gpu/matmul-8192.toml --out "$OUT/synced" 2>&1 | tail -25
for dtype in bf16 fp32; do python3 tools/do_bench_matmul.py --dtype $dtype | tee -a "$OUT/do_bench_after.jsonl"; done
python3 -m bench run --suite suites/gpu/matmul-8192.toml --workload matmul --unsafe-no-sync --out "$OUT/unsynced" 2>&1 | tail -25
