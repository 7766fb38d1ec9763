"""Synthetic run documents for the gate tests: the schema of bench/results, samples chosen by the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.results.records import CaseRecord, Run
from bench.results.schema import SCHEMA_VERSION
from bench.stats import summarize


def case(
    name: str, samples: list[float] | np.ndarray | None = None, status: str = "ok", backend: str = "torch:cpu", reason: str | None = None
) -> dict[str, Any]:
    """A case of workload ``matmul`` whose params are ``{"n": name}`` (so case ids differ by name)."""
    framework, _, device = backend.partition(":")
    label = f"matmul[n={name}]/fp32/eager"
    out: dict[str, Any] = {
        "case_id": f"{label}@{backend}",
        "workload": "matmul",
        "params": {"n": name},
        "dtype": "fp32",
        "mode": "eager",
        "backend": {"name": backend, "resolved": backend, "framework": framework, "device": device},
        "status": status,
        "reason": reason,
    }
    if samples is not None:
        s = [float(x) for x in samples]
        out["timing"] = {"timer": "wall", "samples": s, "calls_per_sample": 1, **summarize(s)}
    return out


def record(*args: Any, **kwargs: Any) -> CaseRecord:
    """``case`` as a typed record."""
    return CaseRecord.from_dict(case(*args, **kwargs))


def case_in_rounds(name: str, rounds: list[np.ndarray], backend: str = "torch:cpu") -> dict[str, Any]:
    """A case measured with ``run --rounds``: one record per round, merged as the run writer merges them."""
    from bench.results.rounds import merge

    per_round = []
    for i, samples in enumerate(rounds):
        r = record(name, samples, backend=backend)
        r.round = i
        per_round.append(r)
    return merge(per_round).to_dict()


def run(*args: Any, **kwargs: Any) -> Run:
    """``run_doc`` as a typed record (what ``bench.results.read_runs`` returns)."""
    return Run.from_dict(run_doc(*args, **kwargs))


def run_doc(
    cases: list[dict[str, Any]],
    run_id: str = "r1",
    started_at: str = "2026-01-01T00:00:00.000Z",
    versions: dict[str, str] | None = None,
    suite: str = "quick",
) -> dict[str, Any]:
    backends = {c["backend"]["name"] for c in cases}
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "started_at": started_at,
        "status": "complete",
        "suite": {"name": suite},
        "timing_config": {"min_samples": 10},
        "environment": {
            "machine_id": "m1",
            "precision_policy": {"fp32": "ieee"},
            "frameworks": {b: {"versions": versions or {"torch": "2.13.0"}, "python": "3.11.7"} for b in backends},
        },
        "cases": cases,
    }


def write_run(folder: Path, doc: dict[str, Any] | Run) -> Path:
    doc = doc.to_dict() if isinstance(doc, Run) else doc
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc['run_id']}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def lognormal(rng: np.random.Generator, n: int, median: float = 1e-3, sigma: float = 0.02) -> np.ndarray:
    return median * rng.lognormal(0.0, sigma, n)


def tiny_suite(folder: Path, size: int = 128, min_samples: int = 10, budget_s: float = 0.05, canary: bool = False) -> Path:
    """A one-case matmul suite on mlx:cpu (fastest worker start here), written to ``folder/tiny.toml``."""
    path = folder / "tiny.toml"
    path.write_text(f"""
name = "tiny"
backends = ["mlx:cpu"]
[timing]
warmup_s = 0.02
min_warmup_calls = 2
block_s = 0.005
min_samples = {min_samples}
max_samples = 20
budget_s = {budget_s}
canary = {str(canary).lower()}
[[workload]]
name = "matmul"
dtypes = ["fp32"]
modes = ["eager"]
grid = {{ mnk = [[{size}, {size}, {size}]] }}
""")
    return path
