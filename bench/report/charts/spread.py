"""Spread of timing samples per case: box (median, IQR, min–max) from the stored statistics, plus the samples."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bench.report.charts.svg import LABEL_LINE_IN, chart, color, log_axis, new_figure, row_height, wrapped_labels


def thin(samples: list[float], cap: int) -> list[float]:
    """At most ``cap`` samples, evenly spaced in sorted order so the shape survives."""
    if len(samples) <= cap:
        return list(samples)
    ordered = np.sort(np.asarray(samples))
    return ordered[np.linspace(0, len(ordered) - 1, cap).round().astype(int)].tolist()


@chart
def spread_plot(rows: list[dict[str, Any]], title: str, samples_cap: int) -> Figure:
    """``rows``: label, framework, median, q1, q3, min, max (seconds) and samples (list of seconds)."""
    labels, lines = wrapped_labels([r["label"] for r in rows])
    fig = new_figure(7.5, row_height(len(rows), per_row=0.3 + LABEL_LINE_IN * (lines - 1)))
    ax = fig.add_subplot()
    frameworks = sorted({r["framework"] for r in rows})
    stats = [{"med": r["median"], "q1": r["q1"], "q3": r["q3"], "whislo": r["min"], "whishi": r["max"], "fliers": []} for r in rows]
    ax.bxp(
        stats,
        positions=range(len(rows)),
        orientation="horizontal",
        widths=0.55,
        showfliers=False,
        boxprops={"color": "#444"},
        medianprops={"color": "#c00", "lw": 1.5},
        whiskerprops={"color": "#888"},
    )
    rng = np.random.default_rng(0)
    for i, r in enumerate(rows):
        shown = thin(r["samples"], samples_cap)
        if shown:
            jitter = rng.uniform(-0.18, 0.18, len(shown))
            ax.scatter(shown, i + jitter, s=6, alpha=0.55, color=color(r["framework"], frameworks), linewidth=0, zorder=3)
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    log_axis(ax, "x", seconds=True)
    ax.set_xlabel("time per call (log scale)")
    ax.set_title(title, loc="left")
    return fig
