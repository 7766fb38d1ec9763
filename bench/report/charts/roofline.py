"""Roofline of one device: achieved GFLOP/s against arithmetic intensity (FLOP per byte moved)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report.charts.svg import chart, color, log_axis, new_figure

MARKERS = {"fp32": "o", "fp16": "s", "bf16": "^"}


@dataclass(frozen=True)
class Roof:
    """A ceiling: compute ``gflops`` (flat), optionally bounded by ``bandwidth_gbs`` (slope)."""

    label: str
    gflops: float | None
    bandwidth_gbs: float | None
    measured: bool = False  # a ceiling this suite measured, not a published peak


# The x axis never extends past these (FLOP per byte): a results file's bogus byte count (say 1e-297 bytes)
# would otherwise stretch it until the roof lines overflow to infinity. Points beyond are clipped, not drawn.
INTENSITY_AXIS = (1e-9, 1e12)


@chart
def roofline(points: pd.DataFrame, roofs: list[Roof], title: str) -> Figure:
    """``points``: ``intensity`` (FLOP/byte), ``gflops``, ``framework``, ``dtype`` of ok cases."""
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    xs = points["intensity"].to_numpy(dtype=float)
    ridges = [r.gflops / r.bandwidth_gbs for r in roofs if r.gflops and r.bandwidth_gbs]
    lo = max(min([*xs, *ridges, 1.0]) / 4, INTENSITY_AXIS[0])
    hi = min(max([*xs, *ridges, 1.0]) * 4, INTENSITY_AXIS[1])
    grid = np.geomspace(lo, hi, 200)
    for i, roof in enumerate(roofs):
        style: dict[str, Any] = {"ls": ":" if roof.measured else "-", "color": "#777" if roof.measured else f"C{i % 10}", "lw": 1.4}
        if roof.bandwidth_gbs and roof.gflops:
            ax.plot(grid, np.minimum(grid * roof.bandwidth_gbs, roof.gflops), label=roof.label, **style)
        elif roof.bandwidth_gbs:
            ax.plot(grid, grid * roof.bandwidth_gbs, label=roof.label, **style)
        elif roof.gflops:
            ax.axhline(roof.gflops, label=roof.label, **style)
    frameworks = sorted(points["framework"].unique())
    for (fw, dtype), sub in points.groupby(["framework", "dtype"], sort=True):
        ax.scatter(
            sub["intensity"],
            sub["gflops"],
            s=28,
            marker=MARKERS.get(dtype, "D"),
            color=color(fw, frameworks),
            edgecolor="white",
            linewidth=0.5,
            label=f"{fw} {dtype}",
            zorder=3,
        )
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.set_title(title, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
