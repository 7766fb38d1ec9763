#!/usr/bin/env bash
# One H200 call for issues 11 and 13 (docs/measurement.md, docs/energy.md, docs/regression-gating.md):
#   energy counter vs sampled power and burst vs sustained rate; energy per call of matmul, attention and
#   YOLO on torch:cuda and jax:cuda; the drain check against removed synchronisation; an A/A pair with
#   --rounds 3 and a calibration pool with an injected +10 % slowdown.
# Each step is bounded; whatever finished is written under ${OUT:-/tmp/gpu-h200}. Two parts, one device call
# each (a call may run ten minutes): `tools/gpu_check_h200.sh energy` and `tools/gpu_check_h200.sh gate`.
PART=${1:-energy}
source "$(dirname "$0")/gpu_common.sh"
python3 -c 'import torch, jax; print("torch", torch.__version__, "jax", jax.__version__)'
if [ "$PART" = energy ]; then
  step energy_check 170 python3 tools/energy_check.py --seconds 60 --cooldown 15 --out "$W/energy_check.json"
  step energy_run 240 python3 -m bench run --suite suites/gpu/energy.toml --energy --out "$W/energy"
  step unsynced 60 python3 -m bench run --suite suites/gpu/canary-demo.toml --unsafe-no-sync --backend torch:cuda --out "$W/unsynced"
  step synced 60 python3 -m bench run --suite suites/gpu/canary-demo.toml --backend torch:cuda --out "$W/synced"
else
  step aa_a 90 python3 -m bench run --suite suites/gpu/gate.toml --rounds 3 --out "$W/aa/a"
  step aa_b 90 python3 -m bench run --suite suites/gpu/gate.toml --rounds 3 --out "$W/aa/b"
  step aa_compare 30 python3 -m bench compare "$W/aa/a" "$W/aa/b" --fail-on-regression --format markdown
  step calibrate 300 python3 -m bench calibrate --suite suites/gpu/gate.toml --backend torch:cuda --pool-rounds 24 --stages 5 \
      --trials 200 --inject-slowdown 10% --out "$W/calib" --format json
fi
tar -czf "$OUT/gpu-h200-$PART.tar.gz" -C "$W" .
