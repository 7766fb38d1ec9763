"""Speedup over CPU (each framework's accelerator vs the same framework's CPU, same case, same machine)
and the cross-framework comparison on one device (time relative to the fastest framework per case).

Only ``ok`` cases count: a mismatch has no speed (docs/design.md, rule 2). A pair with a flagged side
(bench/report/flags.py) is listed and drawn with its flags but left out of the headline.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.report.charts.bars import speedup_bars
from bench.report.charts.heatmap import relative_time_heatmap
from bench.report.data import ReportData
from bench.report.limits import Limits

KEYS = ["machine_id", "framework", "case_key"]


def ok_cases(current: pd.DataFrame) -> pd.DataFrame:
    return current[(current["status"] == "ok") & (current["median"] > 0)]


def accelerator_pairs(current: pd.DataFrame) -> pd.DataFrame:
    """One row per (machine, framework, case, accelerator backend) that also ran on that framework's CPU.

    Columns: machine_id, machine_label, workload, case_label, framework, backend (accelerator),
    device_label, cpu_median, acc_median, speedup = cpu_median / acc_median, acc_flags and cpu_flags
    (flag items of each side), flagged (either side). The CPU side is the fastest unflagged CPU result,
    a flagged one only when there is no other.
    """
    ok = ok_cases(current)
    side = ["median", "flag_items", "flagged"]
    cpu = ok[~ok["accelerator"]].sort_values(["flagged", "median"]).drop_duplicates(KEYS)[[*KEYS, *side]]
    cpu = cpu.rename(columns={"median": "cpu_median", "flag_items": "cpu_flags", "flagged": "cpu_flagged"})
    acc = ok[ok["accelerator"]][[*KEYS, "machine_label", "workload", "case_label", "backend", "device_label", *side]]
    pairs = acc.rename(columns={"median": "acc_median", "flag_items": "acc_flags", "flagged": "acc_flagged"}).merge(cpu, on=KEYS, how="inner")
    pairs["speedup"] = pairs["cpu_median"] / pairs["acc_median"]
    pairs["flagged"] = pairs["acc_flagged"].astype(bool) | pairs["cpu_flagged"].astype(bool)
    return pairs.sort_values(["machine_id", "workload", "case_label", "framework"]).reset_index(drop=True)


def relative_times(ok: pd.DataFrame) -> pd.DataFrame:
    """case_label × framework matrix of median / fastest median (1.0 = fastest) for one device's cases."""
    table = ok.pivot_table(index="case_label", columns="framework", values="median", aggfunc="min", sort=True)
    return table.div(table.min(axis=1), axis=0)


def fastest_rows(ok: pd.DataFrame) -> list[dict[str, Any]]:
    """Per case: the fastest framework, its median, and how much slower the runner-up is."""
    rows = []
    for (device, workload, case), group in ok.groupby(["device_label", "workload", "case_label"], sort=True):
        ranked = group.sort_values("median")
        best = ranked.iloc[0]
        runner = ranked.iloc[1] if len(ranked) > 1 else None
        rows.append(
            {
                "device": device,
                "workload": workload,
                "case": case,
                "fastest": best["backend"],
                "median": best["median"],
                "flag_items": best["flag_items"],
                "runner_up": runner["backend"] if runner is not None else "",
                "margin": runner["median"] / best["median"] if runner is not None else None,
                "n": int(group["framework"].nunique()),
            }
        )
    return rows


def headline(pairs: pd.DataFrame) -> list[dict[str, Any]]:
    """Per machine and accelerator backend: median and best speedup over CPU across its unflagged pairs."""
    out = []
    for (machine, backend), group in pairs.groupby(["machine_label", "backend"], sort=True):
        clean = group[~group["flagged"].astype(bool)]
        best = clean.loc[clean["speedup"].idxmax()] if len(clean) else None
        out.append(
            {
                "machine": machine,
                "backend": backend,
                "device": group["device_label"].iloc[0],
                "n": len(clean),
                "n_flagged": len(group) - len(clean),
                "median": float(clean["speedup"].median()) if len(clean) else None,
                "best": float(best["speedup"]) if best is not None else None,
                "best_case": f"{best['workload']} {best['case_label']}" if best is not None else "",
            }
        )
    return out


def _chunks(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    labels = list(dict.fromkeys(frame["case_label"]))
    return [frame[frame["case_label"].isin(labels[i : i + size])] for i in range(0, len(labels), size)]


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    current = data.current
    pairs = accelerator_pairs(current)
    charts = []
    for (machine, workload), group in pairs.groupby(["machine_label", "workload"], sort=True):
        shown = _chunks(group, limits.rows_per_chart)[0]
        charts.append(
            {
                "title": f"{workload} on {machine}",
                "svg": speedup_bars(shown, f"{workload} — {machine}"),
                "omitted": group["case_label"].nunique() - shown["case_label"].nunique(),
            }
        )
    ok = ok_cases(current)
    cross = []
    for (machine, device, workload), group in ok.groupby(["machine_label", "device_label", "workload"], sort=True):
        if group["framework"].nunique() < 2:
            continue
        matrix = relative_times(group)
        shown = matrix.iloc[: limits.rows_per_chart]
        cross.append(
            {
                "title": f"{workload} on {device}",
                "machine": machine,
                "omitted": len(matrix) - len(shown),
                "svg": relative_time_heatmap(shown, f"{workload} on {device}: time relative to the fastest"),
            }
        )
    accelerator_backends = sorted(set(current.loc[current["accelerator"], "backend"]))
    acc_ok = sorted(set(ok.loc[ok["accelerator"], "backend"]))
    unavailable = current[current["accelerator"] & (current["status"] != "ok")]
    why = unavailable.drop_duplicates(["backend", "status", "reason"])[["backend", "status", "reason"]].to_dict("records")
    return {
        "pairs": pairs.to_dict("records"),
        "charts": charts,
        "headline": headline(pairs),
        "cross_charts": cross,
        "fastest": fastest_rows(ok),
        "has_accelerator": bool(acc_ok),
        "accelerator_backends": accelerator_backends,
        "accelerator_failures": why[:20],
        "cpu_backends": sorted(set(ok.loc[~ok["accelerator"], "backend"])),
    }
