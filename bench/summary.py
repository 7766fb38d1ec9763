"""The table printed at the end of a run: one row per case, status first, numbers with their spread, and
every flag a case carries (overhead-bound, unstable, ...) beside them, its note in the note column."""

from __future__ import annotations

from rich.table import Table

from bench.results.records import CaseRecord
from bench.text import markup as escape

STATUS_STYLE = {
    "ok": "green",
    "mismatch": "bold red",
    "error": "red",
    "crashed": "red",
    "timeout": "red",
    "oom": "red",
    "unavailable": "yellow",
    "unsupported": "yellow",
}


def format_seconds(s: float | None) -> str:
    if s is None:
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def summary_table(cases: list[CaseRecord], title: str = "") -> Table:
    table = Table(title=title)
    for column, justify in (
        ("case", "left"),
        ("backend", "left"),
        ("status", "left"),
        ("flags", "left"),
        ("median", "right"),
        ("IQR", "right"),
        ("GFLOP/s", "right"),
        ("rel err", "right"),
        ("note", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    unavailable: dict[str, list[CaseRecord]] = {}
    for c in cases:
        if c.status == "unavailable":
            unavailable.setdefault(c.backend.name, []).append(c)
    for name, group in sorted(unavailable.items()):  # one row per backend that cannot run here
        table.add_row(
            f"({len(group)} cases)",
            escape(name),
            f"[{STATUS_STYLE['unavailable']}]unavailable[/]",
            "",
            "",
            "",
            "",
            "",
            escape((group[0].reason or "")[:120]),
        )
    for c in sorted((c for c in cases if c.status != "unavailable"), key=lambda c: (c.workload, c.case_id)):
        timing = c.timing if c.ok else None
        rel = c.correctness.rel_error if c.correctness else None
        table.add_row(
            escape(c.case_id.split("@")[0]),
            escape(c.backend.name),
            f"[{STATUS_STYLE.get(c.status, 'white')}]{c.status}[/]",
            f"[yellow]{escape(', '.join(c.flags))}[/]" if c.flags else "",
            format_seconds(timing.median) if timing else "",
            format_seconds(timing.iqr) if timing else "",
            f"{c.gflops:.1f}" if c.ok and c.gflops else "",
            f"{rel:.1e}" if rel is not None else "",
            escape((c.reason or "; ".join(c.notes))[:240]),
        )
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.status] = counts.get(c.status, 0) + 1
    table.caption = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return table
