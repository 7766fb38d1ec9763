"""The report's input: every case of every run as one pandas frame, plus the "current" view.

``cases`` holds one row per case record of every run given. ``current`` keeps, for each machine,
backend and case, only the latest record: the state the speedup, peak, correctness, failure,
spread and profile sections show. Trends use ``cases``. Machines are told apart by
``environment.machine_id`` and never mixed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.hardware import Peak, lookup
from bench.hardware.bounds import max_gflops
from bench.report import flags
from bench.report.flags import IMPOSSIBLE
from bench.results.load import COLUMNS as CASE_COLUMNS
from bench.results.load import ResultsError, flatten_case, read_runs
from bench.results.records import CaseRecord, Run
from bench.text import plain

# The flattened case (bench.results.load) plus what the report adds.
COLUMNS = [
    *CASE_COLUMNS,
    "chip",
    "gpu_cores",
    "machine_label",
    "allow_tf32",
    "accelerator",
    "case_label",
    "case_key",
    "peak",
    "device_label",
    "intensity",
    "logical_cores",
    "max_gflops",  # what the device can physically do (bench/hardware/bounds.py)
    "flag_items",  # [{flag, note}] for the template (bench/report/flags.py)
    "flagged",  # any flag: left out of headlines and ceilings
]

NUMERIC = (
    "rel_error",
    "tolerance",
    "median",
    "q1",
    "q3",
    "iqr",
    "min",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "n_samples",
    "first_call_s",
    "canary_ratio",
    "gflops",
    "gbps",
    "flops",
    "bytes",
)


@dataclass
class ReportData:
    runs: list[Run]  # oldest first
    cases: pd.DataFrame  # one row per case record of every run
    current: pd.DataFrame  # latest record per (machine_id, backend, case_key)


def _number(value: Any) -> float:
    try:
        return math.nan if value is None else float(value)
    except OverflowError:  # an integer no float holds: not a figure to show
        return math.nan


def _count(value: Any) -> int | None:
    """A core count from the environment, or None when it is not a plausible one."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**20 else None


def _machine_fields(run: Run) -> dict[str, Any]:
    env = run.environment
    chip = str(env.machine.get("chip") or "unknown machine")
    return {
        "chip": chip,
        "gpu_cores": _count(env.machine.get("gpu_cores")),
        "logical_cores": _count(env.machine.get("logical_cores")),
        "machine_label": f"{chip} · {env.hostname or '?'} · {env.machine_id or ''}",
        "allow_tf32": bool(env.precision_policy.get("allow_tf32")),
    }


def device_peak(device_name: str, accelerator: bool, chip: str, gpu_cores: int | None) -> Peak | None:
    """The hardware-table peak of an accelerator; CPUs have none (the table holds GPU figures)."""
    if not accelerator:
        return None
    fallback = chip if chip.startswith("Apple M") else None
    return lookup(device_name, gpu_cores=gpu_cores, fallback_chip=fallback)


def case_row(run: Run, case: CaseRecord) -> dict[str, Any]:
    """One flattened case with the report's extra columns (labels, peak, FLOPs, bytes, profile)."""
    row = flatten_case(run, case)
    row.update(_machine_fields(run))
    for key in ("device_name", "framework_version", "suite", "timer", "reason"):
        row[key] = "" if row[key] is None else str(row[key])
    for key in NUMERIC:
        row[key] = _number(row[key])
    row["samples"] = row["samples"] or []  # finite and positive: the loader drops any other timing (bench/results/usable.py)
    row["accelerator"] = row["device"] not in ("cpu", "")
    row["case_label"] = " · ".join(x for x in (row["params_label"], row["dtype"], row["mode"]) if x)
    row["case_key"] = f"{row['workload']} | {row['case_label']}"
    peak = device_peak(row["device_name"], row["accelerator"], row["chip"], row["gpu_cores"])
    row["peak"] = peak
    name = peak.name if peak else (row["device_name"] or row["chip"])
    row["device_label"] = name if row["accelerator"] else f"{name} (CPU)"
    intensity = row["flops"] / row["bytes"] if row["bytes"] > 0 else math.nan
    row["intensity"] = intensity if math.isfinite(intensity) else math.nan  # 1e6 FLOP over 5e-324 bytes is inf
    row["machine_id"] = row["machine_id"] or "unknown"
    _physics(row)
    # Charts draw these strings as text: control characters from a file would reach matplotlib (and its
    # "missing glyph" warnings the terminal); shown as escapes instead, the way the terminal shows them.
    return {key: _shown(value) for key, value in row.items()}


def _physics(row: dict[str, Any]) -> None:
    """Flag an ok case faster than its device can compute, then collect its flags for the template."""
    bound, what = max_gflops(row["accelerator"], row["peak"], row["dtype"], row["allow_tf32"], row["logical_cores"])
    row["max_gflops"] = bound
    if row["status"] == "ok" and row["gflops"] > bound and IMPOSSIBLE not in row["flags"]:
        row["flags"] = [*row["flags"], IMPOSSIBLE]
        row["notes"] = [
            *row["notes"],
            f"{IMPOSSIBLE}: {row['gflops']:.3g} GFLOP/s is above the {bound:.3g} GFLOP/s this device can do ({what}): the call did not do the work",
        ]
    row["flag_items"] = flags.items(row["flags"], row["notes"])
    row["flagged"] = flags.is_flagged(row["flags"])


def _shown(value: Any) -> Any:
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [plain(v) for v in value]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):  # flag items
        return [{k: plain(v) for k, v in item.items()} for item in value]
    return value


def _no_cases() -> pd.DataFrame:
    """The frame of runs that hold no case (cut short before the first), typed like a full one: a mask
    made of an empty object column would select columns, not rows."""
    frame = pd.DataFrame(columns=COLUMNS)
    return frame.astype({**{key: float for key in NUMERIC}, "accelerator": bool, "flagged": bool, "allow_tf32": bool})


def load(paths: Iterable[str | Path]) -> ReportData:
    """Read run files and folders (ResultsError names the file and field of a bad one)."""
    paths = list(paths)
    runs = read_runs(paths)
    if not runs:
        raise ResultsError(f"{', '.join(map(str, paths))}: no run files (*.json, *.partial.jsonl) found")
    runs.sort(key=lambda r: r.started_at)
    rows = [case_row(run, case) for run in runs for case in run.cases]
    cases = pd.DataFrame(rows, columns=COLUMNS) if rows else _no_cases()
    cases["started_at"] = pd.to_datetime(cases["run_started_at"], errors="coerce", utc=True, format="ISO8601")
    current = cases.drop_duplicates(subset=["machine_id", "backend", "case_key"], keep="last").reset_index(drop=True)
    return ReportData(runs=runs, cases=cases, current=current)
