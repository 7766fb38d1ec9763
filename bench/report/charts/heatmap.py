"""Heatmap of time relative to the fastest framework per case (1.00× = fastest) on one device."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bench.report.charts.svg import LABEL_LINE_IN, chart, new_figure, wrapped_labels


@chart
def relative_time_heatmap(relative: pd.DataFrame, title: str) -> Figure:
    """``relative``: index case labels, columns frameworks, values time / fastest time (NaN: no result)."""
    values = relative.to_numpy(dtype=float)
    labels, lines = wrapped_labels(list(relative.index))
    fig = new_figure(min(9.0, 4.8 + 0.9 * relative.shape[1]), 1.9 + (0.3 + LABEL_LINE_IN * (lines - 1)) * relative.shape[0])
    ax = fig.add_subplot()
    ax.grid(False)
    finite = values[np.isfinite(values)]
    top = max(2.0, float(finite.max()) if finite.size else 2.0)
    cmap = matplotlib.colormaps["YlOrRd"].with_extremes(bad="#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=LogNorm(1.0, top), aspect="auto")
    for (r, c), v in np.ndenumerate(values):
        text = f"{v:.2f}×" if np.isfinite(v) else "—"
        ax.text(c, r, text, ha="center", va="center", fontsize=7, color="white" if np.isfinite(v) and v > top**0.6 else "black")
    ax.set_xticks(range(relative.shape[1]), list(relative.columns))
    ax.set_yticks(range(relative.shape[0]), labels)
    ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.set_title(title, loc="left")
    bar = fig.colorbar(image, ax=ax, label="time / fastest (lower is better)", shrink=0.8)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    bar.ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}×" if v in (2, 5, 20, 50) else ""))
    return fig
