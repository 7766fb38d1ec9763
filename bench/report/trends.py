"""Trends: for each machine with several runs, a line per case over time, framework-version changes marked.

Runs are grouped by ``environment.machine_id``; a chart only ever holds one machine's runs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.report.charts.trend import trend_plot
from bench.report.data import ReportData
from bench.report.limits import Limits


def version_changes(machine_cases: pd.DataFrame) -> list[dict[str, Any]]:
    """Points where a backend's framework version differs from its previous run on this machine."""
    changes = []
    known = machine_cases[machine_cases["framework_version"] != ""]  # an unavailable backend reports no version
    runs = known.drop_duplicates(["run_id", "backend"]).sort_values("started_at")
    for backend, group in runs.groupby("backend", sort=True):
        previous = None
        for row in group.itertuples():
            version = row.framework_version
            if previous is not None and version != previous:
                changes.append({"time": row.started_at, "run_id": row.run_id, "text": f"{backend}: {previous} → {version}"})
            previous = version
    return sorted(changes, key=lambda c: c["time"])


def merged_by_time(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One marker per run: the changes at the same time joined into one label."""
    merged: dict[Any, dict[str, Any]] = {}
    for change in changes:
        entry = merged.setdefault(change["time"], {"time": change["time"], "run_id": change["run_id"], "texts": []})
        entry["texts"].append(change["text"])
    return [{"time": e["time"], "run_id": e["run_id"], "text": "; ".join(e["texts"])} for e in merged.values()]


def series(machine_cases: pd.DataFrame, cap: int) -> list[dict[str, Any]]:
    """One line per (case, backend) with ok medians by run time; lines with most runs first, at most ``cap``."""
    ok = machine_cases[(machine_cases["status"] == "ok") & (machine_cases["median"] > 0)]
    lines = []
    for (case, backend), group in ok.groupby(["case_label", "backend"], sort=True):
        group = group.sort_values("started_at")
        lines.append(
            {"label": f"{case} @ {backend}", "times": list(group["started_at"]), "medians": list(group["median"]), "run_ids": list(group["run_id"])}
        )
    lines.sort(key=lambda line: -len(line["times"]))
    return lines[:cap]


def machine_runs(cases: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for machine_id, group in cases.groupby("machine_id", sort=True):
        runs = group.drop_duplicates("run_id").sort_values("started_at")
        out.append(
            {
                "machine_id": machine_id,
                "label": runs["machine_label"].iloc[-1],
                "cases": group,
                "runs": runs[["run_id", "started_at", "suite"]].to_dict("records"),
            }
        )
    return out


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    machines = []
    dated = data.cases[data.cases["started_at"].notna()]  # a run without a readable date has no place on a time axis
    for machine in machine_runs(dated):
        charts = []
        if len(machine["runs"]) >= 2:
            for workload, group in machine["cases"].groupby("workload", sort=True):
                lines = series(group, limits.lines_per_trend)
                if not any(len(line["times"]) >= 2 for line in lines):
                    continue
                changes = merged_by_time(version_changes(group))
                drawable = series(group, cap=len(group))
                charts.append(
                    {
                        "title": workload,
                        "lines": lines,
                        "changes": changes,
                        "omitted": len(drawable) - len(lines),
                        "svg": trend_plot(lines, changes, f"{workload} — {machine['label']}"),
                    }
                )
        machines.append(
            {
                "machine_id": machine["machine_id"],
                "label": machine["label"],
                "runs": machine["runs"],
                "charts": charts,
                "changes": version_changes(machine["cases"]),
            }
        )
    return {"machines": machines}
