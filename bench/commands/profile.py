"""``siliconbench profile``: benchmark a workload's cases on one backend, then profile each in its own process.

Cases come from the suite (default ``quick``) filtered to the workload, or from the workload's
default grid in fp32/eager when the suite has none; ``--case`` keeps the cases whose label
contains the text. The run file gets a ``profile`` key per profiled case; raw artifacts and one
``summary.json`` per case go to ``<out>/<run_id>.profile/`` (see bench/profile/session.py).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import suite as suites
from bench import workloads
from bench.commands import values
from bench.commands.common import add_max_cases_argument, add_runtime_arguments, parse_backends, runtime_options
from bench.commands.run import validate_workloads
from bench.errors import UsageError
from bench.profile.launch import ProfileOptions
from bench.profile.session import profile_run
from bench.profile.summary import ProfileSummary
from bench.runner.run import execute
from bench.summary import format_seconds
from bench.text import markup as escape
from bench.text import plain
from bench.workloads.base import Case

NAME = "profile"
HELP = "profile a workload's cases on one backend (torch.profiler, jax/tf profilers, MPS profiler, Metal capture)"

FAILED = ("error", "crashed", "timeout")


def add_arguments(parser) -> None:
    parser.add_argument("--workload", required=True, metavar="W", help="workload to profile")
    parser.add_argument("--backend", required=True, metavar="B", help="one backend, e.g. torch:cpu, jax:cuda, torch:mps")
    parser.add_argument("--case", metavar="FILTER", help="only cases whose label contains FILTER (e.g. fp32/eager)")
    parser.add_argument("--suite", default="quick", help="suite whose cases of W are profiled (default: quick)")
    parser.add_argument("--out", default="results", help="folder for the run file and its profile artifacts (default: results)")
    parser.add_argument("--calls", type=values.positive_int, metavar="N", help="profiled calls per case (default: enough for ~0.3 s, at most 200)")
    parser.add_argument(
        "--xctrace",
        action="store_true",
        help="torch on macOS: record a Metal System Trace with os_signpost (xcrun xctrace) and export its signpost intervals",
    )
    parser.add_argument("--metal-capture", action="store_true", help="torch:mps: also write a .gputrace (MTL_CAPTURE_ENABLED=1)")
    parser.add_argument("--mps-mode", default="interval", choices=["interval", "event", "interval,event"], help="torch.mps.profiler signpost mode")
    parser.add_argument("--mps-no-wait", action="store_true", help="torch.mps.profiler without wait_until_completed (ops share command buffers)")
    add_max_cases_argument(parser)
    add_runtime_arguments(parser)


def select_cases(workload: str, suite: suites.Suite, text: str | None) -> list[Case]:
    cases = [c for c in suite.cases if c.workload == workload]
    if not cases:
        spec = workloads.get(workload)
        dtype = "fp32" if "fp32" in spec.dtypes else spec.dtypes[0]
        cases = [Case.make(workload, p, dtype, "eager") for p in spec.expand(spec.default_grid)]
    return [c for c in cases if not text or text in c.label]


def profile_options(args) -> ProfileOptions:
    if args.calls is not None and args.calls < 1:
        raise UsageError(f"--calls: must be a positive integer, got {args.calls}")
    return ProfileOptions(
        calls=args.calls,
        xctrace=args.xctrace,
        metal_capture=args.metal_capture,
        mps_mode=args.mps_mode,
        mps_wait=not args.mps_no_wait,
        timeout_s=max(args.timeout, 60.0),
    )


def summary_table(title: str, summary: ProfileSummary, top: int = 8) -> Table:
    """Top ops (fallbacks always), then copies; names escaped for rich markup."""
    coverage = summary.coverage
    caption = f"{summary.tool}: {summary.calls} calls, {format_seconds(summary.case_time_s)}/call"
    table = Table(title=escape(title), caption=escape(caption + (f", coverage {coverage:.0%}" if coverage is not None else "")))
    for column, justify in (
        ("op", "left"),
        ("device", "left"),
        ("count", "right"),
        ("total", "right"),
        ("mean", "right"),
        ("share", "right"),
        ("fallback", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    ops = summary.sorted_ops()
    shown = ops[:top] + [op for op in ops[top:] if op.fallback]
    for op in shown:
        share = summary.share(op.total_s)
        table.add_row(
            escape(op.name[:90]),
            escape(op.device),
            str(op.count),
            format_seconds(op.total_s),
            format_seconds(op.mean_s),
            f"{share:.1%}" if share is not None else "",
            "[bold red]CPU fallback[/]" if op.fallback else "",
        )
    for copy in summary.copies:
        table.add_row(escape(f"copy {copy.direction}"), "", str(copy.count), format_seconds(copy.total_s), "", "", escape(f"{copy.bytes} bytes"))
    return table


def run(args) -> int:
    validate_workloads([args.workload])
    backends = parse_backends([args.backend]) or []
    if len(backends) != 1:
        raise UsageError(f"--backend: profile one backend at a time, got {args.backend!r}")
    suite = suites.load(args.suite, args.max_cases)
    cases = select_cases(args.workload, suite, args.case)
    if not cases:
        raise UsageError(f"--case: no case of {args.workload} matches {args.case!r}")
    options = profile_options(args)
    run_options = runtime_options(args)
    subset = suites.Suite(f"profile-{args.workload}", suite.path, backends, suite.timing, cases, f"cases of {args.workload} for profiling")
    console = Console(stderr=True)
    console.print(plain(f"benchmarking {len(cases)} case(s) of {args.workload} on {backends[0].name}"), markup=False)
    outcome = execute(subset, args.out, run_options, backends, [args.workload])
    out = Console(width=max(Console().width, 120))

    def show(record, summary: ProfileSummary) -> None:
        if summary.status == "ok":
            out.print(summary_table(record.case_id, summary))
        else:
            out.print(plain(f"{record.case_id}: profile {summary.status}: {summary.reason}"), markup=False)

    summaries = profile_run(outcome, run_options, options, on_case=show)
    if not summaries:
        reasons = sorted({f"{c.status}: {c.reason}" for c in outcome.cases})
        console.print(plain("nothing profiled: no case passed its benchmark; " + "; ".join(reasons)), markup=False)
    console.print(plain(f"results: {outcome.path}; profiles: {Path(outcome.path).parent / (outcome.run_id + '.profile')}"), markup=False)
    return 1 if any(s.status in FAILED for s in summaries.values()) else 0
