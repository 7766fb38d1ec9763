"""Efficiency view: work per joule per backend, from cases that carry an ``energy`` record (``--energy``).

Input: a cases DataFrame (the report's ``current`` frame, or ``bench.results.load.load``) with the
columns ``status``, ``workload``, ``backend`` and ``energy`` (the case record's dict, docs/energy.md),
and where present ``machine_id``, ``device_label``, ``case_label``/``params_label``, ``dtype``,
``flops`` or ``gflops`` with ``median``, and ``thermal``. Work per joule is, in order of preference:
the workload's unit (images/J, tokens/J), GFLOP/J, calls/J; one chart uses one measure for all of its
bars. Energy sources measure different things (NVML: the whole GPU board; RAPL: the CPU package;
IOReport: the SoC), so a chart that mixes sources says so.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

MEASURES = ("unit", "GFLOP", "call")


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _flop_per_call(row: pd.Series) -> float | None:
    flops = _float(row.get("flops"))
    if flops:
        return flops
    gflops, median = _float(row.get("gflops")), _float(row.get("median"))
    return gflops * 1e9 * median if gflops and median else None


def efficiency_rows(cases: pd.DataFrame) -> pd.DataFrame:
    """One row per ok case with energy: j_per_call, mean_w, units/J, GFLOP/J, calls/J, source, cross-check, throttled."""
    rows = []
    for _, row in cases.iterrows():
        energy = row.get("energy")
        if row.get("status") != "ok" or not isinstance(energy, dict):
            continue
        j_call = _float(energy.get("j_per_call"))
        if not j_call or j_call <= 0:
            continue
        j_unit = _float(energy.get("j_per_unit"))
        flop = _flop_per_call(row)
        checks = energy.get("cross_check") or {}
        thermal = row.get("thermal") if isinstance(row.get("thermal"), dict) else {}
        rows.append(
            {
                "machine_id": row.get("machine_id"),
                "device_label": row.get("device_label") or row.get("device_name") or "",
                "workload": row["workload"],
                "case_label": row.get("case_label") or row.get("params_label") or "",
                "dtype": row.get("dtype"),
                "backend": row["backend"],
                "source": energy.get("source"),
                "scope": energy.get("scope"),
                "mean_w": _float(energy.get("mean_w")),
                "j_per_call": j_call,
                "unit": energy.get("unit") if j_unit else None,
                "units_per_j": 1.0 / j_unit if j_unit else None,
                "gflop_per_j": flop / j_call / 1e9 if flop else None,
                "calls_per_j": 1.0 / j_call,
                "cross_check": (checks.get("power_w") or {}).get("verdict"),
                "throttled": bool(thermal.get("notes")),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "machine_id",
            "device_label",
            "workload",
            "case_label",
            "dtype",
            "backend",
            "source",
            "scope",
            "mean_w",
            "j_per_call",
            "unit",
            "units_per_j",
            "gflop_per_j",
            "calls_per_j",
            "cross_check",
            "throttled",
        ],
    )


def _measure(group: pd.DataFrame) -> tuple[str, str]:
    """(column, label) of the best measure every row of the group has."""
    units = group["unit"].dropna().unique()
    if group["units_per_j"].notna().all() and len(units) == 1:
        return "units_per_j", f"{units[0]}/J"
    if group["gflop_per_j"].notna().all():
        return "gflop_per_j", "GFLOP/J"
    return "calls_per_j", "calls/J"


def efficiency_view(cases: pd.DataFrame) -> dict[str, Any]:
    """Table rows and one bar chart per (machine, workload, case, dtype): work per joule per backend, best first."""
    rows = efficiency_rows(cases)
    charts = []
    keys = ["machine_id", "workload", "case_label", "dtype"]
    for key, group in rows.groupby(keys, dropna=False, sort=True):
        column, label = _measure(group)
        ranked = group.sort_values(column, ascending=False)
        sources = sorted({f"{r.source}: {r.scope}" for r in ranked.itertuples()})
        charts.append(
            {
                "machine_id": key[0],
                "workload": key[1],
                "case_label": key[2],
                "dtype": key[3],
                "measure": label,
                "bars": [
                    {
                        "backend": r.backend,
                        "value": getattr(r, column),
                        "mean_w": r.mean_w,
                        "source": r.source,
                        "throttled": r.throttled,
                        "cross_check": r.cross_check,
                    }
                    for r in ranked.itertuples()
                ],
                "note": ("energy sources differ, so bars are not like for like: " + "; ".join(sources)) if len(sources) > 1 else "",
            }
        )
    return {"rows": rows.to_dict("records"), "charts": charts}
