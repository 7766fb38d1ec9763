"""Correctness: every checked case's relative error against its tolerance; mismatches first.

Rows come from ``correctness.rel_error`` / ``tolerance`` (docs/design.md, rule 2). A mismatch is never
timed and never appears in a speed chart; here it is listed at the top and styled red.
"""

from __future__ import annotations

from typing import Any

from bench.report.data import ReportData
from bench.report.limits import Limits
from bench.results import agreement
from bench.results.records import CaseRecord


def rows(current) -> list[dict[str, Any]]:
    """Checked cases (a rel_error or a mismatch status), mismatches first, then by error / tolerance."""
    checked = current[(current["rel_error"].notna()) | (current["status"] == "mismatch")].copy()
    checked["ratio"] = checked["rel_error"] / checked["tolerance"]
    checked["is_mismatch"] = checked["status"] == "mismatch"
    checked = checked.sort_values(["is_mismatch", "ratio"], ascending=[False, False], na_position="first")
    columns = [
        "workload",
        "case_label",
        "backend",
        "device_label",
        "rel_error",
        "tolerance",
        "ratio",
        "status",
        "reason",
        "is_mismatch",
        "flag_items",
    ]
    return checked[columns].to_dict("records")


def agreement_rows(data: ReportData) -> dict[str, Any]:
    """Rule 12 across frameworks: per machine, the latest record of each backend and case compared in
    pairs (``bench.results.agreement``); disagreeing pairs first, then the closest calls."""
    latest: dict[str, dict[str, CaseRecord]] = {}
    for run in data.runs:  # oldest first: a later record of a case replaces an earlier one
        machine = latest.setdefault(run.environment.machine_id or "unknown", {})
        machine.update({case.case_id: case for case in run.cases})
    pairs = [p for cases in latest.values() for p in agreement.compare(cases.values())]
    pairs.sort(key=lambda p: -p.ratio)
    rows = [{"case": p.case, "a": p.a, "b": p.b, "difference": p.difference, "bound": p.bound, "ratio": p.ratio, "agree": p.agree} for p in pairs]
    return {"n_pairs": len(rows), "disagree": [r for r in rows if not r["agree"]], "closest": [r for r in rows if r["agree"]][:5]}


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    all_rows = rows(data.current)
    mismatches = [r for r in all_rows if r["is_mismatch"]]
    rest = [r for r in all_rows if not r["is_mismatch"]]
    keep = max(0, limits.visible_rows - len(mismatches))
    return {
        "mismatches": mismatches,
        "visible": rest[:keep],
        "collapsed": rest[keep:],
        "n_checked": len(all_rows),
        "agreement": agreement_rows(data),
    }
