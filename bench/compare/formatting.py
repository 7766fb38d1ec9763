"""A Comparison as a terminal table (rich), Markdown for a pull-request comment, or JSON."""

from __future__ import annotations

import json

from rich.console import Group
from rich.table import Table
from rich.text import Text

from bench.compare.comparison import (
    BASELINE_ONLY,
    CANDIDATE_ONLY,
    KNOWN_MISMATCH,
    MISMATCH,
    NOT_COMPARED,
    POSSIBLE_IMPROVEMENT,
    POSSIBLE_REGRESSION,
    CaseResult,
    Comparison,
)
from bench.compare.decision import IMPROVEMENT, INCONCLUSIVE, NO_CHANGE, REGRESSION
from bench.summary import format_seconds
from bench.text import encodable, markup, one_line, plain

ICON = {
    MISMATCH: "❌",
    KNOWN_MISMATCH: "⛔",
    REGRESSION: "🔴",
    POSSIBLE_REGRESSION: "🟠",
    INCONCLUSIVE: "🟡",
    IMPROVEMENT: "🟢",
    POSSIBLE_IMPROVEMENT: "🔵",
    NO_CHANGE: "⚪",
    NOT_COMPARED: "⚠️",
    BASELINE_ONLY: "➖",
    CANDIDATE_ONLY: "➕",
}
STYLE = {
    MISMATCH: "bold white on red",
    KNOWN_MISMATCH: "red",
    REGRESSION: "bold red",
    POSSIBLE_REGRESSION: "dark_orange",
    INCONCLUSIVE: "yellow",
    IMPROVEMENT: "green",
    POSSIBLE_IMPROVEMENT: "blue",
    NO_CHANGE: "dim",
    NOT_COMPARED: "yellow",
    BASELINE_ONLY: "cyan",
    CANDIDATE_ONLY: "cyan",
}


def headline(comparison: Comparison) -> str:
    counts = comparison.counts()
    if not counts:
        return "no cases"
    words = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    if comparison.has_mismatch:
        return f"FAILED: candidate output mismatch. {words}"
    if comparison.has_regression:
        return f"FAILED: regression. {words}"
    return words


def ratio_text(r: CaseResult) -> tuple[str, str]:
    """('+30.0%', '+28.1% … +31.9%') or empty strings when not measured on both sides."""
    if r.estimate is None:
        return "", ""
    e = r.estimate
    return f"{(e.ratio - 1) * 100:+.1f}%", f"{(e.low - 1) * 100:+.1f}% … {(e.high - 1) * 100:+.1f}%"


def settings_line(c: Comparison) -> str:
    return (
        f"threshold ±{c.threshold * 100:g}% on the ratio of medians; {c.confidence * 100:g}% CI: t over rounds (paired in ab), "
        f"else a bootstrap of samples ({c.n_resamples} resamples, seed {c.seed}); MDE = smallest change detectable with 80% power"
    )


def mde_text(r: CaseResult) -> str:
    """``±4.2%`` (rounds), ``≥±1.1% (1 process)`` for samples: the within-process figure is only a lower bound."""
    if r.estimate is None or r.estimate.mde is None:
        return ""
    text = f"±{r.estimate.mde * 100:.1f}%"
    return text if r.estimate.evidence == "rounds" else f"≥{text} (1 process)"


# -- terminal ------------------------------------------------------------------------------------


def to_table(comparison: Comparison) -> Group:
    table = Table(title=markup(f"{comparison.baseline_label} → {comparison.candidate_label}"), caption=settings_line(comparison))
    for column, justify in (
        ("case", "left"),
        ("decision", "left"),
        ("baseline", "right"),
        ("candidate", "right"),
        ("change", "right"),
        ("CI", "right"),
        ("MDE", "right"),
        ("rounds", "right"),
        ("note", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in comparison.results:
        change, ci = ratio_text(r)
        rounds = f"{r.estimate.rounds[0]}/{r.estimate.rounds[1]}" if r.estimate else ""
        table.add_row(
            markup(r.case_id),
            f"[{STYLE[r.kind]}]{r.kind}[/]",
            format_seconds(r.baseline_median) or markup(r.baseline_status),
            format_seconds(r.candidate_median) or markup(r.candidate_status),
            change,
            ci,
            mde_text(r),
            rounds,
            markup(r.reason[:160]),
        )
    style = "bold red" if comparison.failed() else "bold green"
    parts: list[Table | Text] = [table, Text(plain(headline(comparison)), style=style)]
    parts += [Text(plain(note), style="yellow") for note in comparison.notes]
    return Group(*parts)


# -- Markdown ------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell (no pipes, no line breaks, no raw HTML, no control characters)."""
    text = one_line(text.replace("\n", " ").replace("\r", " "))
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    """A code span in a table cell: HTML is inert inside it, only pipes and backticks need care."""
    return "`" + one_line(text.replace("\n", " ").replace("\r", " ")).replace("`", "'").replace("|", "\\|") + "`"


def _timing_rows(results: list[CaseResult]) -> list[str]:
    rows = ["| | case | baseline | candidate | change | CI | MDE | rounds |", "|---|---|---:|---:|---:|---|---:|---:|"]
    for r in results:
        change, ci = ratio_text(r)
        rounds = f"{r.estimate.rounds[0]}/{r.estimate.rounds[1]}" if r.estimate else ""
        rows.append(
            f"| {ICON[r.kind]} | {_code(r.case_id)} | {format_seconds(r.baseline_median)} | "
            f"{format_seconds(r.candidate_median)} | **{change}** | {ci} | {mde_text(r)} | {rounds} |"
        )
    return rows


def _status_rows(results: list[CaseResult]) -> list[str]:
    rows = ["| | case | baseline | candidate | reason |", "|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {ICON[r.kind]} | {_code(r.case_id)} | {_md(r.baseline_status)} | {_md(r.candidate_status)} | {_md(r.reason[:300])} |")
    return rows


def _details(summary: str, lines: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *lines, "", "</details>", ""]


def to_markdown(comparison: Comparison) -> str:
    c = comparison
    verdict = "❌" if c.failed() else "✅"
    lines = [
        f"## {verdict} siliconbench: {_md(headline(c))}",
        "",
        f"**baseline** {_code(c.baseline_label)} → **candidate** {_code(c.candidate_label)}  ",
        f"{settings_line(c)}.",
        "",
    ]
    mismatches = c.of_kind(MISMATCH)
    if mismatches:
        lines += [f"### ❌ Candidate output mismatch ({len(mismatches)}): wrong results, never timed", "", *_status_rows(mismatches), ""]
    known = c.of_kind(KNOWN_MISMATCH)
    if known:
        lines += [f"### ⛔ Wrong on both sides ({len(known)}): known wrong results, not a change", "", *_status_rows(known), ""]
    for kind, title in (
        (REGRESSION, "🔴 Regressions"),
        (POSSIBLE_REGRESSION, "🟠 Possible regressions (weak evidence: not failing)"),
        (INCONCLUSIVE, "🟡 Inconclusive (too noisy to decide)"),
        (IMPROVEMENT, "🟢 Improvements"),
        (POSSIBLE_IMPROVEMENT, "🔵 Possible improvements (weak evidence)"),
    ):
        found = c.of_kind(kind)
        if found:
            lines += [f"### {title} ({len(found)})", "", *_timing_rows(found), ""]
    unchanged = c.of_kind(NO_CHANGE)
    if unchanged:
        lines += _details(f"⚪ No change ({len(unchanged)})", _timing_rows(unchanged))
    for kind, title in (
        (NOT_COMPARED, "⚠️ Not compared (no timing on a side)"),
        (BASELINE_ONLY, "➖ Only in baseline"),
        (CANDIDATE_ONLY, "➕ Only in candidate"),
    ):
        found = c.of_kind(kind)
        if found:
            lines += [f"### {title} ({len(found)})", "", *_status_rows(found), ""]
    lines += [f"> {_md(note)}" for note in c.notes]
    return encodable("\n".join(lines).rstrip() + "\n")


# -- JSON ------------------------------------------------------------------------------------------


def to_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=1)


def render(comparison: Comparison, fmt: str):
    """The object to print for ``fmt`` (table: a rich renderable; markdown and json: a string)."""
    return {"table": to_table, "markdown": to_markdown, "json": to_json}[fmt](comparison)
