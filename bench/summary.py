"""The table printed at the end of a run: one row per case, status first, numbers with their spread."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

STATUS_STYLE = {"ok": "green", "mismatch": "bold red", "error": "red", "crashed": "red", "timeout": "red", "oom": "red",
                "unavailable": "yellow", "unsupported": "yellow"}


def format_seconds(s: float | None) -> str:
    if s is None:
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def summary_table(cases: list[dict[str, Any]], title: str = "") -> Table:
    table = Table(title=title)
    for column, justify in (("case", "left"), ("backend", "left"), ("status", "left"), ("median", "right"),
                            ("IQR", "right"), ("GFLOP/s", "right"), ("rel err", "right"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    unavailable: dict[str, list[dict[str, Any]]] = {}
    for c in cases:
        if c["status"] == "unavailable":
            unavailable.setdefault(c["backend"]["name"], []).append(c)
    for name, group in sorted(unavailable.items()):  # one row per backend that cannot run here
        table.add_row(f"({len(group)} cases)", escape(name), f"[{STATUS_STYLE['unavailable']}]unavailable[/]", "", "", "", "",
                      escape((group[0].get("reason") or "")[:120]))
    for c in sorted((c for c in cases if c["status"] != "unavailable"), key=lambda c: (c["workload"], c["case_id"])):
        timing = c.get("timing") or {}
        correctness = c.get("correctness") or {}
        status = c["status"]
        ok = status == "ok"
        rel = correctness.get("rel_error")
        table.add_row(
            escape(c["case_id"].split("@")[0]),
            escape(c["backend"]["name"]),
            f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]",
            format_seconds(timing.get("median")) if ok else "",
            format_seconds(timing.get("iqr")) if ok else "",
            f"{c['gflops']:.1f}" if ok and c.get("gflops") else "",
            f"{rel:.1e}" if isinstance(rel, float) else "",
            escape((c.get("reason") or "; ".join(c.get("notes") or []))[:120]),
        )
    counts: dict[str, int] = {}
    for c in cases:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    table.caption = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return table
