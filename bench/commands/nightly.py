"""``siliconbench nightly``: run into results/history/<machine_id>/, compare with the rolling baseline
of the same machine and framework versions, confirm flagged regressions, regenerate the report.

Exit 0 when nothing regressed, 1 when a regression was confirmed or an output mismatched,
130 when interrupted.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bench import suite as suites
from bench.commands import values
from bench.commands.common import add_runtime_arguments, check_selection, parse_backends, runtime_options
from bench.commands.gate_args import (
    add_decision_arguments,
    add_format_argument,
    add_selection_arguments,
    decision_settings,
    print_comparison,
)
from bench.commands.run import validate_workloads
from bench.compare.formatting import to_json, to_markdown
from bench.compare.history import history_runs, machine_folder
from bench.compare.nightly import run_nightly
from bench.compare.report_hook import regenerate
from bench.errors import UsageError
from bench.text import markup, plain

NAME = "nightly"
HELP = "nightly run: store in this machine's history, compare with its rolling baseline, confirm and alert"


def add_arguments(parser) -> None:
    add_selection_arguments(parser, "nightly", timeout=False)
    parser.add_argument("--results", default="results", help="results folder; history goes to RESULTS/history/<machine_id>/ (default results)")
    parser.add_argument("--reports", default="reports", help="folder for the comparison and the report (default reports)")
    parser.add_argument(
        "--baseline-runs", type=values.positive_int, default=5, help="rolling baseline: the last N runs with the same context (default 5)"
    )
    parser.add_argument("--confirm-rounds", type=values.count, default=5, help="fresh rounds to confirm a flagged regression; 0 disables (default 5)")
    add_decision_arguments(parser)
    add_format_argument(parser)
    add_runtime_arguments(parser)


def run(args) -> int:
    settings = decision_settings(args)
    if args.baseline_runs < 1 or args.confirm_rounds < 0:
        raise UsageError("--baseline-runs must be >= 1 and --confirm-rounds >= 0")
    suite = suites.load(args.suite, args.max_cases)
    backends, selected = parse_backends(args.backend), validate_workloads(args.workload)
    check_selection(suite, backends, selected)
    options = runtime_options(args)
    console = Console(stderr=True)
    outcome = run_nightly(
        suite,
        args.results,
        options,
        settings,
        args.baseline_runs,
        args.confirm_rounds,
        backends,
        selected,
        on_record=lambda rec: console.print(plain(f"{rec.status:>11}  {rec.case_id}"), markup=False),
        on_event=lambda msg: console.print(plain(msg), markup=False),
    )
    console.print(markup(f"run: {outcome.run_path}"))
    if outcome.comparison is None:
        console.print(f"run {outcome.status}: not compared")
        return 130
    comparison = outcome.comparison
    folder = Path(outcome.run_path).parent
    reports = Path(args.reports) / "nightly" / folder.name
    reports.mkdir(parents=True, exist_ok=True)
    stem = Path(outcome.run_path).stem
    (reports / f"{stem}-compare.json").write_text(to_json(comparison), encoding="utf-8")
    (reports / f"{stem}-compare.md").write_text(to_markdown(comparison), encoding="utf-8")
    runs = [Path(r.path) for r in history_runs(machine_folder(args.results, folder.name)) if r.path]
    _done, message = regenerate(runs, reports / "index.html")
    print_comparison(comparison, args.format)
    console.print(markup(message))
    if outcome.confirm_dir:
        console.print(markup(f"confirmation rounds: {outcome.confirm_dir}"))
    for line in outcome.alerts:
        console.print(plain(f"ALERT {line}"), markup=False)
    console.print(f"{len(outcome.alerts)} alert(s); baseline: {outcome.baseline_runs} earlier run(s)")
    return 1 if comparison.failed() else 0
