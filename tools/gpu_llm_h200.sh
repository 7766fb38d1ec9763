#!/usr/bin/env bash
# One H200 call for issue 12 (docs/llm.md "H200"): the copy bandwidth that bounds decode, then
# suites/gpu/llm-8b-h200.toml on torch:cuda and jax:cuda. Each step is bounded; what finished is
# written under ${OUT:-/tmp/gpu-h200}. SUITE, TORCH_S and JAX_S choose another suite and step limits
# (the second session: SUITE=suites/gpu/llm-8b-h200-rest.toml TORCH_S=300 JAX_S=240, then
# SUITE=suites/gpu/llm-8b-h200-ttft.toml TORCH_S=330 JAX_S=215; docs/llm.md "H200").
TAIL=${TAIL:-40}
SUITE=${SUITE:-suites/gpu/llm-8b-h200.toml}
source "$(dirname "$0")/gpu_common.sh"
python3 - <<'PY'
import torch
x = torch.empty(4 << 30, dtype=torch.uint8, device="cuda"); y = torch.empty_like(x)
for _ in range(3): y.copy_(x)
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
best = 1e9
for _ in range(5):
    s.record(); [y.copy_(x) for _ in range(10)]; e.record(); torch.cuda.synchronize(); best = min(best, s.elapsed_time(e) / 10)
print(f"copy 4 GiB: {best:.3f} ms, {2 * x.numel() / best / 1e6:.0f} GB/s (read + write)")
PY
step torch "${TORCH_S:-250}" python3 -m bench run --suite "$SUITE" --backend torch:cuda --out "$W/llm"
step jax "${JAX_S:-150}" python3 -m bench run --suite "$SUITE" --backend jax:cuda --out "$W/llm"
tar -czf "$OUT/gpu-h200-llm.tar.gz" -C "$W" .
