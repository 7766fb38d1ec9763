"""The HTML report: one self-contained page (inline SVG charts, no network) from any set of run files.

``build_report(["results/"], "reports/index.html")`` reads the run files, renders the sections
(summary, speedup over CPU, achieved vs peak, correctness, failures, spread, trends, LLM inference,
energy, profiles) and writes the page, shrinking what is drawn until it fits ``Limits.max_bytes`` (10 MB).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from bench.report.data import load
from bench.report.limits import Limits
from bench.report.render import render
from bench.text import encodable, plain

__all__ = ["Limits", "build_report"]

SHRINK_TRIES = 4


def build_report(paths: Iterable[str | Path], out: str | Path, limits: Limits | None = None, title: str | None = None) -> Path:
    """Write the report of the run files/folders ``paths`` to ``out``; return its path."""
    limits = limits or Limits()
    paths = [Path(p) for p in paths]
    data = load(paths)
    sources = [str(p) for p in paths]
    title = title or ", ".join(sorted({str(r.suite.name or "?") for r in data.runs}))
    for _ in range(SHRINK_TRIES):
        html = encodable(render(data, limits, title, sources))
        size = len(html.encode("utf-8"))
        if size <= limits.max_bytes:
            break
        limits = limits.shrink()
    else:
        print(plain(f"siliconbench: warning: report is {size / 1e6:.1f} MB, over the {limits.max_bytes / 1e6:.0f} MB budget"), file=sys.stderr)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
