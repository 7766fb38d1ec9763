"""Median time per case over a machine's runs, with framework-version changes marked."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from bench.report.charts.svg import chart, log_axis, new_figure


@chart
def trend_plot(lines: list[dict[str, Any]], changes: list[dict[str, Any]], title: str) -> Figure:
    """``lines``: label, times (datetimes), medians (seconds). ``changes``: time, text (version change)."""
    fig = new_figure(7.5, 3.8)
    ax = fig.add_subplot()
    for i, line in enumerate(lines):
        ax.plot(line["times"], line["medians"], marker="o", ms=3, lw=1.2, color=f"C{i % 10}", label=line["label"])
    for change in changes:
        ax.axvline(change["time"], color="#999", ls=":", lw=1)
        ax.annotate(
            change["text"], (change["time"], 1.0), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right", fontsize=6.5, color="#555"
        )
    log_axis(ax, "y", seconds=True)
    ax.set_ylabel("median time per call (log)")
    ax.set_title(title, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.autofmt_xdate()
    return fig
