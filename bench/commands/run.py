"""``siliconbench run``: run a suite on the chosen backends, write the run file, print a summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from bench import suite as suites
from bench import workloads
from bench.commands import values
from bench.commands.common import add_max_cases_argument, add_runtime_arguments, check_selection, parse_backends, runtime_options
from bench.errors import UsageError
from bench.results.records import CaseRecord
from bench.runner.run import execute
from bench.summary import summary_table
from bench.text import markup

NAME = "run"
HELP = "run a suite (quick, nightly or a TOML file) and write results/<run_id>.json"


def add_arguments(parser) -> None:
    parser.add_argument("--suite", default="quick", help="suite name (suites/NAME.toml) or path to a TOML file (default: quick)")
    parser.add_argument("--backend", action="append", metavar="B", help="backend(s) to run, e.g. torch:cpu or jax:gpu (default: the suite's)")
    parser.add_argument("--workload", action="append", metavar="W", help="workload(s) to run (default: all in the suite)")
    parser.add_argument("--out", default="results", help="folder for the run file (default: results)")
    parser.add_argument("--report", action="store_true", help="also write the HTML report of this run (reports/<run_id>.html, or -o)")
    parser.add_argument("-o", "--report-output", metavar="HTML", help="where --report writes the page (implies --report)")
    parser.add_argument("--profile", action="store_true", help="then profile every ok case in its own process (see `siliconbench profile`)")
    parser.add_argument(
        "--rounds",
        type=values.positive_int,
        metavar="N",
        help="measure every case in N fresh worker processes, interleaved (default: the suite's; quick 1, nightly 3)",
    )
    add_max_cases_argument(parser)
    add_runtime_arguments(parser)


def validate_workloads(names: list[str] | None) -> list[str] | None:
    for name in names or []:
        if name not in workloads.names():
            raise UsageError(f"--workload: unknown workload {name!r} (known: {', '.join(workloads.names())})")
    return names


def run(args) -> int:
    suite = suites.load(args.suite, args.max_cases)
    backends = parse_backends(args.backend)
    selected = validate_workloads(args.workload)
    check_selection(suite, backends, selected)
    options = runtime_options(args)
    console = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)
    tasks: dict[str, TaskID] = {}

    def on_backend(name: str, count: int) -> None:
        tasks[name] = progress.add_task(name, total=count)

    def on_record(record: CaseRecord) -> None:
        task = tasks[record.backend.name]
        round_text = f" (round {record.round + 1})" if record.round is not None else ""
        progress.update(task, advance=1, description=markup(f"{record.backend.name}: {record.status} {record.case_id.split('@')[0]}{round_text}"))

    with progress:
        outcome = execute(suite, args.out, options, backends, selected, on_record=on_record, on_backend=on_backend, rounds=args.rounds)
    Console(width=max(Console().width, 140)).print(summary_table(outcome.cases, title=markup(f"{suite.name}: run {outcome.run_id}")))
    if args.profile and outcome.status == "complete":
        from bench.profile.launch import ProfileOptions
        from bench.profile.session import profile_run

        summaries = profile_run(outcome, options, ProfileOptions(timeout_s=max(args.timeout, 60.0)))
        console.print(markup(f"profiled {len(summaries)} case(s): {Path(outcome.path).parent / (outcome.run_id + '.profile')}"))
    console.print(markup(f"results: {outcome.path}" + (" (interrupted)" if outcome.status != "complete" else "")))
    args.run_path = Path(outcome.path)
    if args.report or args.report_output:
        from bench.report import build_report

        page = build_report([args.run_path], args.report_output or Path("reports") / f"{outcome.run_id}.html")
        console.print(markup(f"report: {page}"))
    return 130 if outcome.status == "interrupted" else 0
