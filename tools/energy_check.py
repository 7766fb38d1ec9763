"""GPU check of energy and thermals (issue 13): NVML counter vs sampled power, burst vs sustained matmul rate.

Usage (on an NVIDIA machine, from the repository root; needs only torch and nvidia-ml-py):
    python3 tools/energy_check.py [--seconds 90] [--cooldown 30] [--n 8192] [--out energy_check.json]

Phases, all bounded (defaults take about 2.5 minutes; --seconds 20 --cooldown 10 takes under one):
1. idle: 3 s with the GPU idle inside an EnergyWindow (idle board power), and how often NVML's
   energy counter changes value (polled for 1 s);
2. load: a bf16 n x n x n torch matmul loop for --seconds inside an EnergyWindow with NVML power
   sampled every --interval s; the window's energy from the counter is checked against mean sampled
   power x seconds (issue 13 asks for agreement within 10 %). The loop keeps one chunk of matmuls
   queued ahead; each chunk ends with a CUDA event, so per-chunk GPU time is exact. Every second it
   records TFLOP/s, SM clock, temperature, power and clock-event reasons: the burst at the start
   against the sustained rate at the end (issue 13: 782 TFLOP/s in a short burst, 670-690 sustained);
3. cooldown: bench.thermal.cooldown back to the idle baseline, at most --cooldown s.
Prints one JSON document (and writes it to --out). "NVML is thread-safe so it is safe to make
simultaneous NVML calls from multiple threads" (NVML API Reference, docs.nvidia.com/deploy/nvml-api/
nvml-api-reference.html), so the background power sampler and the main loop may both call it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.energy import EnergyWindow, select_meter  # noqa: E402
from bench.thermal import cooldown, judge, judge_trace, select_sensor  # noqa: E402

MAX_TOTAL_S = 230.0  # the whole check stays under four minutes


def counter_update_interval_ms(meter, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll the raw NVML energy counter for ``poll_s``; the median time between changes of its value."""
    nvml, handle = meter.device.nvml, meter.device.handle
    changes, last, t_end = [], None, time.monotonic() + poll_s
    while time.monotonic() < t_end:
        value = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        if value != last:
            changes.append(time.monotonic())
            last = value
        time.sleep(0.0005)
    gaps = [(b - a) * 1e3 for a, b in zip(changes[1:], changes[2:])]  # the first change is the first read
    return {"changes": len(changes) - 1, "median_ms": statistics.median(gaps) if gaps else None}


def idle_phase(meter, seconds: float, interval_s: float) -> dict[str, Any]:
    window = EnergyWindow(meter, interval_s=interval_s).start()
    time.sleep(seconds)
    result = window.stop()
    return {"seconds": result.seconds, "counter_w": result.mean_w, "cross_check": result.cross_checks()}


def load_phase(torch, meter, sensor, args) -> dict[str, Any]:
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    device = torch.device("cuda", args.device)
    n = args.n
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    c = torch.empty(n, n, device=device, dtype=dtype)
    flop = 2.0 * n ** 3

    # Short warm-up (cuBLAS picks its kernel), so that the GPU is still cool when the loop starts.
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(3):
        torch.matmul(a, b, out=c)
    start.record()
    for _ in range(3):
        torch.matmul(a, b, out=c)
    stop.record()
    stop.synchronize()
    per_call_s = start.elapsed_time(stop) / 3e3
    chunk = max(1, math.ceil(args.chunk_s / per_call_s))

    def enqueue() -> Any:
        for _ in range(chunk):
            torch.matmul(a, b, out=c)
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    buckets: list[dict[str, Any]] = []
    states = []
    calls = 0
    window = EnergyWindow(meter, interval_s=args.interval).start()
    t0 = time.monotonic()
    mark = torch.cuda.Event(enable_timing=True)
    mark.record()
    pending = enqueue()
    bucket = {"gpu_ms": 0.0, "flop": 0.0}
    reading0, t_bucket = meter.read(), t0
    try:
        while True:
            ahead = enqueue() if time.monotonic() - t0 < args.seconds else None
            pending.synchronize()
            bucket["gpu_ms"] += mark.elapsed_time(pending)
            bucket["flop"] += flop * chunk
            calls += chunk
            mark = pending
            now = time.monotonic()
            if now - t_bucket >= 1.0 or ahead is None:
                state = sensor.read()
                states.append(state)
                reading = meter.read()
                buckets.append({
                    "t_s": round(now - t0, 3),
                    "tflops": bucket["flop"] / (bucket["gpu_ms"] / 1e3) / 1e12 if bucket["gpu_ms"] else None,
                    "counter_w": (reading.total - reading0.total) / (now - t_bucket),
                    "sm_mhz": state.clock_mhz, "temp_c": state.temperature_c, "power_w": state.power_w,
                    "reasons": list(state.reasons),
                })
                bucket, reading0, t_bucket = {"gpu_ms": 0.0, "flop": 0.0}, reading, now
            if ahead is None:
                break
            pending = ahead
    finally:
        torch.cuda.synchronize(device)
        result = window.stop()

    rates = [(b["t_s"], b["tflops"]) for b in buckets if b["tflops"]]
    burst = [r for _, r in rates[:3]]  # the first three one-second buckets
    tail = [r for t, r in rates if t >= rates[-1][0] - min(30.0, args.seconds / 3)] if rates else []
    return {
        "n": n, "dtype": args.dtype, "per_call_ms_warm": per_call_s * 1e3, "calls_per_chunk": chunk, "calls": calls,
        "tflops_overall": flop * calls / result.seconds / 1e12,
        "burst_tflops_first_3s": statistics.mean(burst) if burst else None,
        "sustained_tflops_last": statistics.mean(tail) if tail else None,
        "energy": result.to_record(calls=calls, units_per_call=flop / 1e12, unit="TFLOP"),
        "per_second": buckets,
        "thermal_states": [s.to_dict() for s in states],
        "thermal_notes_trace": judge_trace(states),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="length of the matmul loop (default 90)")
    parser.add_argument("--cooldown", type=float, default=30.0, help="longest wait for the idle baseline afterwards")
    parser.add_argument("--n", type=int, default=8192)
    parser.add_argument("--dtype", choices=["bf16", "fp16", "fp32"], default="bf16")
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.1, help="power sampling interval, seconds")
    parser.add_argument("--chunk-s", type=float, default=0.05, help="GPU time per queued chunk of matmuls")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.seconds <= 0 or args.cooldown < 0 or args.seconds + args.cooldown > MAX_TOTAL_S - 20:
        parser.error(f"--seconds + --cooldown must stay under {MAX_TOTAL_S - 20:.0f} s (the check is bounded at four minutes)")

    out: dict[str, Any] = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    import torch

    if not torch.cuda.is_available():
        out["error"] = "torch sees no CUDA device"
        print(json.dumps(out, indent=1))
        return 2
    props = torch.cuda.get_device_properties(args.device)
    uuid = str(getattr(props, "uuid", "") or "") or None
    out["device"] = {"name": props.name, "uuid": uuid, "torch": torch.__version__}
    meter = select_meter("cuda", args.device, uuid=uuid)
    sensor = select_sensor("cuda", args.device, uuid=uuid)
    reason = meter.available()
    if reason is not None:
        out["error"] = f"energy unavailable: {reason}"
        print(json.dumps(out, indent=1))
        return 2
    nvml = meter.device.nvml
    for key, fn in (("driver", lambda: nvml.nvmlSystemGetDriverVersion()),
                    ("power_limit_w", lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(meter.device.handle) / 1000.0),
                    ("nvml_python", lambda: importlib.metadata.version("nvidia-ml-py"))):
        try:
            out["device"][key] = fn()
        except Exception as exc:
            out["device"][key] = f"unreadable: {exc}"

    baseline = sensor.read()
    out["baseline"] = baseline.to_dict()

    def phase(name: str, fn) -> Any:
        """Run one phase; a failure is recorded in the output and the check goes on."""
        try:
            out[name] = fn()
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return out[name]

    phase("counter_update", lambda: counter_update_interval_ms(meter))
    phase("idle", lambda: idle_phase(meter, 3.0, args.interval))
    load = phase("load", lambda: load_phase(torch, meter, sensor, args))
    after = sensor.read()
    out["after"] = after.to_dict()
    # The trace compares busy readings; baseline-vs-after compares idle ones (temperature, pressure, limits).
    out["thermal_notes"] = {"trace": load.get("thermal_notes_trace"), "baseline_vs_after": judge(baseline, after)}
    phase("cooldown", lambda: cooldown(sensor, baseline, max_wait_s=args.cooldown, poll_s=1.0).to_dict())
    if "error" in load:
        print(json.dumps(out, indent=1))
        return 1
    first_busy = load["thermal_states"][0] if load["thermal_states"] else None
    check = (load["energy"]["cross_check"] or {}).get("power_w", {})
    out["summary"] = {
        "counter_j": load["energy"]["total_j"],
        "mean_sampled_w_x_s_j": check.get("energy_from_power_j"),
        "ratio_counter_to_power": check.get("ratio"),
        "within_10pct": check.get("verdict") == "agree",
        "instant_power_ratio": ((load["energy"]["cross_check"] or {}).get("instant_power_w") or {}).get("ratio"),
        "j_per_matmul": load["energy"]["j_per_call"],
        "tflop_per_j": 1.0 / load["energy"]["j_per_unit"] if load["energy"]["j_per_unit"] else None,
        "burst_tflops_first_3s": load["burst_tflops_first_3s"],
        "sustained_tflops_last": load["sustained_tflops_last"],
        "first_busy_sm_mhz": first_busy.get("clock_mhz") if first_busy else None,
        "last_busy_sm_mhz": load["thermal_states"][-1].get("clock_mhz") if load["thermal_states"] else None,
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    meter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
