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


def coverage(current: pd.DataFrame) -> dict[str, Any]:
    """workload × backend cells, each a list of (status, count) in STATUSES order."""
    counts = current.groupby(["workload", "backend", "status"]).size()
    workloads = sorted(current["workload"].unique())
    backends = sorted(current["backend"].unique())
    cells = {}
    for (workload, backend), group in counts.groupby(level=[0, 1]):
        by_status = {status: int(n) for (_, _, status), n in group.items()}
        cells[(workload, backend)] = [(s, by_status[s]) for s in STATUSES if s in by_status]
    return {"workloads": workloads, "backends": backends,
            "rows": [[cells.get((w, b), []) for b in backends] for w in workloads]}


def by_backend(current: pd.DataFrame) -> list[dict[str, Any]]:
    """Per backend (most failures first): groups of identical (status, reason) with the cases affected."""
    failed = current[current["status"].isin(FAILED)]
    out = []
    for backend, group in failed.groupby("backend", sort=True):
        reasons = []
        for (status, reason), sub in group.groupby(["status", "reason"], sort=True):
            cases = sorted(f"{w} {c}" for w, c in zip(sub["workload"], sub["case_label"]))
            reasons.append({"status": status, "reason": reason or "(no reason recorded)", "cases": cases})
        reasons.sort(key=lambda r: (FAILED.index(r["status"]), -len(r["cases"])))
        out.append({"backend": backend, "n": len(group), "device": group["device_label"].iloc[0], "reasons": reasons,
                    "statuses": group["status"].value_counts().to_dict()})
    return sorted(out, key=lambda b: (-b["n"], b["backend"]))


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    current = data.current
    return {"backends": by_backend(current), "coverage": coverage(current),
            "n_failed": int(current["status"].isin(FAILED).sum()), "n_total": len(current)}
