"""Summary: per machine its latest run's environment (chip, cores, memory, OS, framework versions, suite,
date), counts by status per backend (with how many ok cases carry flags), the headline speedups and
every flagged case with its flags and notes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.report import format as fmt
from bench.report.data import ReportData
from bench.report.limits import Limits
from bench.results.records import Run
from bench.results.schema import STATUSES


def _cores(machine: dict[str, Any]) -> str:
    parts = [
        f"{machine[k]} {label}"
        for k, label in (
            ("logical_cores", "logical"),
            ("physical_cores", "physical"),
            ("performance_cores", "performance"),
            ("efficiency_cores", "efficiency"),
            ("gpu_cores", "GPU"),
        )
        if machine.get(k) is not None
    ]
    return ", ".join(map(str, parts)) or "—"


def environment(run: Run) -> dict[str, Any]:
    """The facts a reader needs about one run, as strings (escaped by the template)."""
    env = run.environment
    machine, os_info, python, git = env.machine, env.os, env.python, env.git
    policy, power = env.precision_policy, env.power
    versions = []
    for backend, hello in sorted(env.frameworks.items()):
        text = hello.versions_text() or hello.reason or "unavailable"
        versions.append({"backend": str(backend), "versions": str(text), "device": str(hello.device.get("device_name") or "")})
    commit = str(git.get("commit") or "—")[:12] + (" (dirty)" if git.get("dirty") else "")
    return {
        "run_id": run.run_id,
        "suite": str(run.suite.name or "—"),
        "started_at": run.started_at,
        "status": run.status or "—",
        "path": str(run.path),
        "machine_id": str(env.machine_id or "unknown"),
        "hostname": str(env.hostname or "—"),
        "chip": str(machine.get("chip") or "—"),
        "model": str(machine.get("model") or ""),
        "cores": _cores(machine),
        "memory": fmt.gigabytes(machine.get("memory_bytes")),
        "nvidia_gpus": [str(g) for g in machine.get("nvidia_gpus") or []],
        "os": str(os_info.get("platform") or os_info.get("system") or "—") + (f" (macOS {os_info['mac_ver']})" if os_info.get("mac_ver") else ""),
        "python": str(python.get("version") or "—"),
        "commit": commit,
        "precision": "TF32 allowed" if policy.get("allow_tf32") else "IEEE fp32 (TF32 off)",
        "power": str(power.get("source") or power.get("note") or "—"),
        "thermal": str(power.get("thermal") or "—"),
        "frameworks": versions,
    }


def status_counts(current: pd.DataFrame) -> dict[str, Any]:
    """(machine, backend) × status counts (statuses in schema order) and the totals."""
    table = current.pivot_table(index=["machine_label", "backend"], columns="status", values="case_key", aggfunc="count", fill_value=0)
    statuses = [s for s in STATUSES if s in table.columns]
    flagged = current[(current["status"] == "ok") & current["flagged"].astype(bool)].groupby(["machine_label", "backend"]).size()
    rows = [
        {"machine": m, "backend": b, "counts": [int(table.loc[(m, b), s]) for s in statuses], "flagged": int(flagged.get((m, b), 0))}
        for m, b in table.index
    ]
    totals = [int(table[s].sum()) for s in statuses]
    return {"statuses": statuses, "rows": rows, "totals": totals, "flagged": int(flagged.sum())}


def flagged_cases(current: pd.DataFrame) -> list[dict[str, Any]]:
    """Every ok case that carries a flag: its number stands, with the caveat beside it."""
    rows = current[(current["status"] == "ok") & current["flagged"].astype(bool)]
    rows = rows.sort_values(["machine_label", "workload", "case_label", "backend"])
    return rows[["machine_label", "workload", "case_label", "backend", "median", "gflops", "flag_items"]].to_dict("records")


def build(data: ReportData, limits: Limits, headline: list[dict[str, Any]]) -> dict[str, Any]:
    latest: dict[str, Run] = {}
    for run in data.runs:  # oldest first: the last one per machine wins
        latest[environment(run)["machine_id"]] = run
    older = [environment(r) for r in data.runs if all(r is not v for v in latest.values())]
    return {
        "machines": [environment(run) for run in latest.values()],
        "older_runs": older,
        "n_runs": len(data.runs),
        "counts": status_counts(data.current),
        "flagged": flagged_cases(data.current),
        "headline": headline,
    }
