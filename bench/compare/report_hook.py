"""Regenerate the HTML report after a nightly run (bench/report)."""

from __future__ import annotations

from pathlib import Path

from bench.results import ResultsError


def regenerate(inputs: list[Path], out_file: Path) -> tuple[bool, str]:
    """Write the report of ``inputs`` to ``out_file``; returns (done, message). Never fails the nightly."""
    from bench.report import build_report  # pandas, matplotlib, Jinja2: only when the report is built

    try:
        path = build_report(inputs, out_file)
    except (ResultsError, OSError, ValueError) as exc:
        return False, f"report not regenerated: {exc}"
    return True, f"report: {path}"
