"""The report's input: every case of every run as one pandas frame, plus the "current" view.

``cases`` holds one row per case record of every run given. ``current`` keeps, for each machine,
backend and case, only the latest record: the state the speedup, peak, correctness, failure,
spread and profile sections show. Trends use ``cases``. Machines are told apart by
``environment.machine_id`` and never mixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from bench.hardware import Peak, lookup
from bench.results.load import ResultsError, flatten_case, read_runs

NUMERIC = ("rel_error", "tolerance", "median", "q1", "q3", "iqr", "min", "mean", "std", "ci95_low", "ci95_high",
           "n_samples", "first_call_s", "canary_ratio", "gflops", "gbps", "flops", "bytes")


@dataclass
class ReportData:
    runs: list[dict[str, Any]]  # raw run documents, oldest first
    cases: pd.DataFrame  # one row per case record of every run
    current: pd.DataFrame  # latest record per (machine_id, backend, case_key)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _samples(value: Any) -> list[float]:
    if not isinstance(value, list):
        return []
    return [x for x in map(_number, value) if math.isfinite(x)]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _machine_fields(run: dict[str, Any]) -> dict[str, Any]:
    env = run.get("environment") if isinstance(run.get("environment"), dict) else {}
    machine = env.get("machine") if isinstance(env.get("machine"), dict) else {}
    chip = _text(machine.get("chip")) or "unknown machine"
    cores = machine.get("gpu_cores")
    policy = env.get("precision_policy") if isinstance(env.get("precision_policy"), dict) else {}
    return {
        "chip": chip,
        "gpu_cores": cores if isinstance(cores, int) else None,
        "machine_label": f"{chip} · {_text(env.get('hostname')) or '?'} · {_text(env.get('machine_id'))}",
        "allow_tf32": bool(policy.get("allow_tf32")),
    }


def device_peak(device_name: str, accelerator: bool, chip: str, gpu_cores: int | None) -> Peak | None:
    """The hardware-table peak of an accelerator; CPUs have none (the table holds GPU figures)."""
    if not accelerator:
        return None
    fallback = chip if chip.startswith("Apple M") else None
    return lookup(device_name, gpu_cores=gpu_cores, fallback_chip=fallback)


def case_row(run: dict[str, Any], case: dict[str, Any], where: str) -> dict[str, Any]:
    """One flattened case with the report's extra columns (labels, peak, FLOPs, bytes, profile)."""
    try:
        row = flatten_case(run, case)
    except (AttributeError, TypeError) as exc:
        raise ResultsError(f"{where}: unexpected structure ({exc})") from None
    row.update(_machine_fields(run))
    for key in ("workload", "backend", "framework", "device", "device_name", "status", "dtype", "mode", "params_label",
                "framework_version", "suite", "timer"):
        row[key] = _text(row[key])
    row["reason"] = _text(row["reason"])
    row["flops"], row["bytes"] = case.get("flops"), case.get("bytes")
    for key in NUMERIC:
        row[key] = _number(row[key])
    row["samples"] = _samples(row["samples"])
    row["profile"] = case.get("profile")
    row["accelerator"] = row["device"] not in ("cpu", "")
    row["case_label"] = " · ".join(x for x in (row["params_label"], row["dtype"], row["mode"]) if x)
    row["case_key"] = f"{row['workload']} | {row['case_label']}"
    peak = device_peak(row["device_name"], row["accelerator"], row["chip"], row["gpu_cores"])
    row["peak"] = peak
    name = peak.name if peak else (row["device_name"] or row["chip"])
    row["device_label"] = name if row["accelerator"] else f"{name} (CPU)"
    row["intensity"] = row["flops"] / row["bytes"] if row["bytes"] > 0 else math.nan
    row["machine_id"] = _text(row["machine_id"]) or "unknown"
    row["run_id"] = _text(row["run_id"])
    return row


def load(paths: Iterable[str | Path]) -> ReportData:
    """Read run files and folders (ResultsError names the file and field of a bad one)."""
    paths = list(paths)
    runs = read_runs(paths)
    if not runs:
        raise ResultsError(f"{', '.join(map(str, paths))}: no run files (*.json, *.partial.jsonl) found")
    runs.sort(key=lambda r: _text(r.get("started_at")))
    rows = [case_row(run, case, f"{run['_path']}: field 'cases[{i}]'") for run in runs for i, case in enumerate(run["cases"])]
    cases = pd.DataFrame(rows, columns=list(case_row({}, {}, "").keys()))
    cases["started_at"] = pd.to_datetime(cases["run_started_at"], errors="coerce", utc=True, format="ISO8601")
    current = cases.drop_duplicates(subset=["machine_id", "backend", "case_key"], keep="last").reset_index(drop=True)
    return ReportData(runs=runs, cases=cases, current=current)
