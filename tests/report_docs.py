"""Synthetic run documents for the report tests (valid per ``bench.results.load.parse_run``).

They stand in for machines this project cannot run on (CUDA boxes, Macs): test fixtures only,
never presented as measurements.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.results.load import parse_run
from bench.results.schema import SCHEMA_VERSION

MATMUL = {"m": 512, "n": 512, "k": 512}


def matmul_counts(params: dict[str, int], dtype: str) -> tuple[float, float]:
    m, n, k = params["m"], params["n"], params["k"]
    size = 4 if dtype == "fp32" else 2
    return 2.0 * m * n * k, float((m * k + k * n + m * n) * size)


def case(
    backend: str,
    device_name: str,
    *,
    dtype: str = "fp32",
    median: float = 1e-3,
    status: str = "ok",
    workload: str = "matmul",
    params: dict[str, Any] | None = None,
    mode: str = "eager",
    rel_error: float | None = 1e-7,
    tolerance: float = 2e-5,
    reason: str | None = None,
    spread: float = 0.05,
    n: int = 15,
    profile: Any = None,
) -> dict[str, Any]:
    """One case record; ``ok`` cases get ``n`` samples spread ±``spread`` around ``median``."""
    params = dict(MATMUL if params is None else params)
    framework, device = backend.split(":")
    record: dict[str, Any] = {
        "case_id": f"{workload}[{params}]/{dtype}/{mode}@{backend}",
        "workload": workload,
        "params": params,
        "dtype": dtype,
        "mode": mode,
        "status": status,
        "reason": reason,
        "backend": {"name": backend, "resolved": backend, "framework": framework, "device": device, "device_name": device_name},
    }
    if rel_error is not None:
        record["correctness"] = {"rel_error": rel_error, "tolerance": tolerance, "passed": rel_error <= tolerance}
    if status == "ok":
        samples = (median * (1 + spread * np.linspace(-1, 1, n))).tolist()
        q1, med, q3 = np.percentile(samples, [25, 50, 75])
        record["timing"] = {
            "timer": "wall",
            "samples": samples,
            "median": med,
            "q1": q1,
            "q3": q3,
            "iqr": q3 - q1,
            "min": min(samples),
            "max": max(samples),
            "mean": float(np.mean(samples)),
            "std": float(np.std(samples)),
            "ci95_low": q1,
            "ci95_high": q3,
            "n_samples": n,
            "first_call_s": median * 3,
        }
        if workload == "matmul" and all(k in params for k in "mnk"):
            flops, nbytes = matmul_counts(params, dtype)
            record.update(flops=flops, bytes=nbytes, gflops=flops / med / 1e9, gbps=nbytes / med / 1e9)
    if profile is not None:
        record["profile"] = profile
    return record


def run(
    run_id: str,
    started_at: str,
    cases: list[dict[str, Any]],
    *,
    machine_id: str = "mac-a",
    chip: str = "Apple M3 Max",
    versions: dict[str, str] | None = None,
    gpu_cores: int | None = 40,
    hostname: str = "lab-mac",
    suite: str = "synthetic",
) -> dict[str, Any]:
    """A run document; ``versions`` maps backend -> framework version (default 1.0 for each backend used)."""
    backends = sorted({c["backend"]["name"] for c in cases})
    versions = {b: "1.0" for b in backends} | (versions or {})
    frameworks = {
        b: {
            "framework": b.split(":")[0],
            "available": True,
            "versions": {b.split(":")[0]: versions[b]},
            "device": {"device_name": next(c["backend"]["device_name"] for c in cases if c["backend"]["name"] == b)},
        }
        for b in backends
    }
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "started_at": started_at,
        "status": "complete",
        "suite": {"name": suite},
        "environment": {
            "machine_id": machine_id,
            "hostname": hostname,
            "machine": {"chip": chip, "arch": "arm64", "logical_cores": 16, "physical_cores": 16, "memory_bytes": 64 * 2**30, "gpu_cores": gpu_cores},
            "os": {"system": "Darwin", "platform": "macOS-15.1-arm64", "mac_ver": "15.1"},
            "python": {"version": "3.11.9"},
            "git": {"commit": "0123456789abcdef", "dirty": False},
            "precision_policy": {"fp32": "ieee", "allow_tf32": False},
            "power": {"source": "AC Power", "thermal": None},
            "env_vars": {},
            "frameworks": frameworks,
        },
        "cases": cases,
    }
    parse_run(doc, run_id)
    return doc


def write(folder: Path, doc: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc['run_id']}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def apple_run(run_id: str = "mac-run-1", started_at: str = "2026-11-01T02:00:00Z", cpu_median: float = 8e-3, **kwargs: Any) -> dict[str, Any]:
    """A Mac run: torch and mlx on CPU and GPU, two dtypes; GPU 8x (torch) and 4x (mlx) faster than CPU."""
    cases = []
    for dtype in ("fp32", "fp16"):
        cases += [
            case("torch:cpu", "Apple M3 Max", dtype=dtype, median=cpu_median),
            case("torch:mps", "Apple M3 Max", dtype=dtype, median=cpu_median / 8),
            case("mlx:cpu", "Apple M3 Max", dtype=dtype, median=cpu_median * 1.5),
            case("mlx:gpu", "Apple M3 Max", dtype=dtype, median=cpu_median * 1.5 / 4),
        ]
    cases.append(case("tensorflow:gpu", "METAL", status="unsupported", rel_error=None, reason="tensorflow-metal lacks fp16 matmul here"))
    return run(run_id, started_at, cases, **kwargs)
