"""Grouped horizontal bars: speedup of each framework's accelerator over its own CPU, per case."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report.charts.svg import chart, color, log_axis, new_figure, row_height, wrapped_labels


@chart
def speedup_bars(pairs: pd.DataFrame, title: str) -> Figure:
    """``pairs``: one row per (case_label, framework) with ``speedup`` (CPU median / accelerator median) and,
    optionally, ``flagged``: such a bar's label says "flagged" (its flags are in the table)."""
    cases = list(dict.fromkeys(pairs["case_label"]))
    frameworks = sorted(pairs["framework"].unique())
    labels, lines = wrapped_labels(cases)
    fig = new_figure(7.5, row_height(len(cases) * max(1, len(frameworks), lines) * 0.6 + 1))
    ax = fig.add_subplot()
    height = 0.8 / len(frameworks)
    y = np.arange(len(cases))
    for i, fw in enumerate(frameworks):
        sub = pairs[pairs["framework"] == fw].set_index("case_label").reindex(cases)
        pos = y + (i - (len(frameworks) - 1) / 2) * height
        values = sub["speedup"].to_numpy(dtype=float)
        flagged = sub["flagged"].fillna(False).to_numpy(dtype=bool) if "flagged" in sub else np.zeros(len(values), dtype=bool)
        ax.barh(pos, np.nan_to_num(values, nan=0.0), height=height * 0.9, color=color(fw, frameworks), label=fw)
        for p, v, f in zip(pos, values, flagged):
            if np.isfinite(v):
                text = (f"{v:,.0f}×" if v >= 100 else f"{v:.3g}×") + (" flagged" if f else "")
                ax.annotate(text, (v, p), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
    log_axis(ax, "x")
    ax.axvline(1.0, color="#555", lw=1, ls="--")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("speedup over the same framework on CPU (×, log scale; dashed line = 1×)")
    ax.set_title(title, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.margins(x=0.15)
    return fig
