"""Achieved vs peak: each ok case's GFLOP/s and GB/s as a share of its device's peak, and a roofline per device.

The peak comes from the hardware table (``bench.hardware``) for accelerators it knows. Otherwise
the compute ceiling is the best matmul GFLOP/s measured on that device, in that dtype, in the same
run, labelled "measured ceiling"; an unknown device has no bandwidth ceiling. Nothing is guessed.
A flagged case (overhead-bound, unstable, ..., or faster than the device can physically compute:
bench/report/flags.py) never sets a measured ceiling; it is listed with its flags.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bench.hardware import Peak
from bench.report import format as fmt
from bench.report.charts.roofline import Roof, roofline
from bench.report.data import ReportData
from bench.report.limits import Limits
from bench.report.speedup import ok_cases

CEILING_WORKLOAD = "matmul"


def measured_ceilings(ok: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    """(run_id, device_label, dtype) -> best unflagged matmul GFLOP/s in that run on that device."""
    matmul = ok[(ok["workload"] == CEILING_WORKLOAD) & (ok["gflops"] > 0) & ~ok["flagged"].astype(bool)]
    return matmul.groupby(["run_id", "device_label", "dtype"])["gflops"].max().to_dict()


def _compute_reference(row: pd.Series, ceilings: dict) -> tuple[float | None, str]:
    peak = row["peak"] if isinstance(row["peak"], Peak) else None
    if peak is not None:
        tflops, format_name = peak.compute_tflops(row["dtype"], row["allow_tf32"])
        if tflops:
            return tflops * 1000.0, f"{format_name} peak" + (" (estimate)" if peak.estimate else "")
    ceiling = ceilings.get((row["run_id"], row["device_label"], row["dtype"]))
    if ceiling:
        return ceiling, f"measured ceiling (best {row['dtype']} matmul)"
    return None, "no peak known"


def peak_bandwidth(peak: Any) -> float:
    """The hardware table's memory bandwidth of a device in GB/s; NaN where none is known (CPUs, unknown parts)."""
    return peak.bandwidth_gbs if isinstance(peak, Peak) and peak.bandwidth_gbs else math.nan


def attainment_rows(ok: pd.DataFrame) -> pd.DataFrame:
    """ok cases with FLOP or byte counts, plus peak_gflops, compute_ref, pct_compute, peak_gbs, pct_bandwidth."""
    ceilings = measured_ceilings(ok)
    rows = ok[(ok["gflops"] > 0) | (ok["gbps"] > 0)].copy()
    refs = [_compute_reference(row, ceilings) for _, row in rows.iterrows()]
    rows["peak_gflops"] = [r[0] if r[0] else math.nan for r in refs]
    rows["compute_ref"] = [r[1] for r in refs]
    rows["pct_compute"] = 100.0 * rows["gflops"] / rows["peak_gflops"]
    rows["peak_gbs"] = [peak_bandwidth(p) for p in rows["peak"]]
    rows["pct_bandwidth"] = 100.0 * rows["gbps"] / rows["peak_gbs"]
    return rows


def roofs(group: pd.DataFrame) -> list[Roof]:
    """The ceilings to draw for one device: published peaks per dtype present, else measured ones.

    Formats with the same ceiling (fp16 = fp32 on Apple GPUs) share one line: "fp16/fp32 peak ...".
    """
    peak = group["peak"].iloc[0] if isinstance(group["peak"].iloc[0], Peak) else None
    published: dict[tuple, list[str]] = {}
    measured: list[Roof] = []
    for dtype in sorted(group["dtype"].unique()):
        sub = group[group["dtype"] == dtype]
        tflops, name = peak.compute_tflops(dtype, bool(sub["allow_tf32"].any())) if peak else (None, dtype)
        bandwidth = peak.bandwidth_gbs if peak else None
        if tflops or bandwidth:
            published.setdefault((tflops, bandwidth), []).append(name)
        best = sub.loc[sub["compute_ref"].str.startswith("measured"), "peak_gflops"]
        if not tflops and len(best):
            value = float(best.max())
            measured.append(Roof(f"measured ceiling: best {dtype} matmul {fmt.number(value)} GFLOP/s", value, None, measured=True))
    out = []
    for (tflops, bandwidth), names in published.items():
        estimate = " (estimate)" if peak is not None and peak.estimate else ""
        what = f"{'/'.join(names)} peak {fmt.number(tflops)} TFLOP/s" if tflops else "memory bandwidth"
        label = f"{what}, {fmt.number(bandwidth)} GB/s{estimate}" if bandwidth else f"{what}{estimate}"
        out.append(Roof(label, tflops * 1000.0 if tflops else None, bandwidth))
    return out + measured


def _peak_card(peak: Any) -> dict[str, Any] | None:
    if not isinstance(peak, Peak):
        return None
    return {
        "name": peak.name,
        "source": peak.source,
        "estimate": peak.estimate,
        "note": peak.note,
        "bandwidth": fmt.number(peak.bandwidth_gbs),
        "compute": ", ".join(f"{k} {fmt.number(v)}" for k, v in peak.tflops.items() if v),
    }


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    rows = attainment_rows(ok_cases(data.current))
    devices = []
    for (machine, device), group in rows.groupby(["machine_label", "device_label"], sort=True):
        points = group[(group["gflops"] > 0) & (group["intensity"] > 0)]
        device_roofs = roofs(group)
        svg = roofline(points, device_roofs, f"{device} — {machine}") if len(points) else None
        table = group.sort_values(["workload", "case_label", "backend"])
        devices.append(
            {
                "device": device,
                "machine": machine,
                "peak": _peak_card(group["peak"].iloc[0]),
                "svg": svg,
                "omitted": 0,
                "measured_only": all(r.measured for r in device_roofs) and bool(device_roofs),
                "rows": table[
                    [
                        "workload",
                        "case_label",
                        "backend",
                        "gflops",
                        "peak_gflops",
                        "pct_compute",
                        "compute_ref",
                        "gbps",
                        "peak_gbs",
                        "pct_bandwidth",
                        "intensity",
                        "flag_items",
                    ]
                ].to_dict("records"),
            }
        )
    return {"devices": devices}
