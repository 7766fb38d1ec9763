"""Failures: every case that did not run (unavailable, unsupported) or broke (error, crashed, timeout, oom),
with its reason, grouped by backend; and a workload × backend coverage matrix so a gap shows at once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.report.data import ReportData
from bench.report.limits import Limits
from bench.results.schema import STATUSES

FAILED = ("unavailable", "unsupported", "error", "crashed", "timeout", "oom")


def coverage(current: pd.DataFrame) -> list[dict[str, Any]]:
    """Per machine: workload × backend cells, each a list of (status, count) in STATUSES order."""
    out = []
    for machine, frame in current.groupby("machine_label", sort=True):
        counts = frame.groupby(["workload", "backend", "status"]).size()
        cells: dict[tuple[str, str], dict[str, int]] = {}
        for (workload, backend, status), n in counts.items():
            cells.setdefault((workload, backend), {})[status] = int(n)
        workloads, backends = sorted(frame["workload"].unique()), sorted(frame["backend"].unique())
        rows = [[[(s, cells.get((w, b), {})[s]) for s in STATUSES if s in cells.get((w, b), {})] for b in backends] for w in workloads]
        out.append({"machine": machine, "workloads": workloads, "backends": backends, "rows": rows})
    return out


def by_backend(current: pd.DataFrame) -> list[dict[str, Any]]:
    """Per machine and backend (most failures first): groups of identical (status, reason) with the cases affected."""
    failed = current[current["status"].isin(FAILED)]
    out = []
    for (machine, backend), group in failed.groupby(["machine_label", "backend"], sort=True):
        reasons = []
        for (status, reason), sub in group.groupby(["status", "reason"], sort=True):
            cases = sorted(f"{w} {c}" for w, c in zip(sub["workload"], sub["case_label"]))
            reasons.append({"status": status, "reason": reason or "(no reason recorded)", "cases": cases})
        reasons.sort(key=lambda r: (FAILED.index(r["status"]), -len(r["cases"])))
        out.append(
            {
                "backend": backend,
                "machine": machine,
                "n": len(group),
                "device": group["device_label"].iloc[0],
                "reasons": reasons,
                "statuses": group["status"].value_counts().to_dict(),
            }
        )
    return sorted(out, key=lambda b: (-b["n"], b["machine"], b["backend"]))


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    current = data.current
    return {
        "backends": by_backend(current),
        "coverage": coverage(current),
        "n_failed": int(current["status"].isin(FAILED).sum()),
        "n_total": len(current),
    }
