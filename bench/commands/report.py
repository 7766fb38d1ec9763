"""``siliconbench report``: one self-contained HTML page from run files and folders."""

from __future__ import annotations

from pathlib import Path

from bench.text import plain

NAME = "report"
HELP = "write an HTML report (speedups, achieved vs peak, correctness, failures, spread, trends) of run files or folders"
DEFAULT_OUT = Path("reports") / "index.html"


def add_arguments(parser) -> None:
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="run files (.json, .partial.jsonl) or folders of them")
    parser.add_argument("-o", "--output", default=str(DEFAULT_OUT), metavar="HTML", help=f"where to write the page (default: {DEFAULT_OUT})")
    parser.add_argument("--title", help="page title (default: the suite names)")


def run(args) -> int:
    from bench.report import build_report  # pandas, matplotlib, Jinja2: only when a report is asked for

    path = build_report(args.results, args.output, title=args.title)
    print(plain(f"report: {path}"))
    return 0
