"""Spread: per case median with IQR and the timing samples, so a noisy case shows as noisy.

Noisiest cases (largest IQR / median) are drawn first; the table lists every ok case.
"""

from __future__ import annotations

from typing import Any

from bench.report.charts.spread import spread_plot
from bench.report.data import ReportData
from bench.report.limits import Limits
from bench.report.speedup import ok_cases

NOISY = 0.10  # IQR above 10 % of the median is flagged


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    ok = ok_cases(data.current).copy()
    ok["rel_iqr"] = ok["iqr"] / ok["median"]
    ok = ok.sort_values(["workload", "rel_iqr"], ascending=[True, False], na_position="last")
    groups = list(ok.groupby(["machine_label", "workload"], sort=True))
    drawn_rows = sum(min(len(g), limits.rows_per_chart) for _, g in groups)
    samples_cap = min(limits.samples_per_case, limits.samples_total // max(1, drawn_rows))
    charts, tables = [], []
    for (machine, workload), group in groups:
        rows = [
            {
                "label": f"{r.case_label} @ {r.backend}",
                "framework": r.framework,
                "median": r.median,
                "q1": r.q1,
                "q3": r.q3,
                "min": r.min,
                "max": max(r.samples) if r.samples else r.median,
                "samples": r.samples,
            }
            for r in group.itertuples()
        ]
        drawable = [r for r in rows if r["q1"] > 0 and r["q3"] > 0 and r["min"] > 0][: limits.rows_per_chart]
        if drawable:
            charts.append(
                {
                    "title": f"{workload} on {machine}",
                    "omitted": len(rows) - len(drawable),
                    "svg": spread_plot(drawable, f"{workload} — {machine}", samples_cap),
                }
            )
        tables.append(
            {
                "title": f"{workload} on {machine}",
                "rows": group[
                    [
                        "case_label",
                        "backend",
                        "median",
                        "q1",
                        "q3",
                        "iqr",
                        "rel_iqr",
                        "ci95_low",
                        "ci95_high",
                        "n_samples",
                        "first_call_s",
                        "timer",
                        "flag_items",
                    ]
                ].to_dict("records"),
            }
        )
    return {
        "charts": charts,
        "tables": tables,
        "noisy_threshold": NOISY,
        "samples_cap": samples_cap,
        "n_noisy": int((ok["rel_iqr"] > NOISY).sum()),
        "n_ok": len(ok),
    }
