"""``siliconbench ab --a ENV_A --b ENV_B``: the strong gate, baseline and candidate interleaved in one job.

ENV_A (baseline) and ENV_B (candidate) are interpreter paths or ``tox:ENV``; every framework's
worker runs under that interpreter. Exit 1 when a regression is confirmed or B's output mismatches.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from bench import suite as suites
from bench.commands.common import parse_backends, resolve_interpreter
from bench.commands.gate_args import add_decision_arguments, add_format_argument, decision_settings, print_comparison
from bench.commands.run import validate_workloads
from bench.compare.ab import BASELINE_ARM, CANDIDATE_ARM, DEFAULT_STAGES, AbSettings, parse_stages, run_ab
from bench.compare.rounds import RoundRunner, same_interpreter
from bench.results.store import new_run_id
from bench.runner.orchestrator import RunOptions
from bench.runner.run import plan

NAME = "ab"
HELP = "A/B gate: run two environments interleaved in rounds of fresh processes, decide per case, confirm regressions"


def add_arguments(parser) -> None:
    parser.add_argument("--a", required=True, metavar="ENV_A", help="baseline interpreter: a path, or tox:ENV")
    parser.add_argument("--b", required=True, metavar="ENV_B", help="candidate interpreter: a path, or tox:ENV")
    parser.add_argument("--suite", default="quick", help="suite name or TOML path (default: quick)")
    parser.add_argument("--backend", action="append", metavar="B", help="backend(s) to run (default: the suite's)")
    parser.add_argument("--workload", action="append", metavar="W", help="workload(s) to run (default: all in the suite)")
    parser.add_argument("--stages", default=",".join(map(str, DEFAULT_STAGES)),
                        help="rounds after which undecided cases are decided (default 10,20,40)")
    parser.add_argument("--no-confirm", action="store_true", help="fail on a first-pass regression without the confirming re-run")
    parser.add_argument("--out", default="results/ab", help="folder for the raw rounds (default results/ab)")
    parser.add_argument("--allow-tf32", action="store_true", help="allow TF32 for fp32 matmul/conv in every framework")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="S", help="per-case timeout in seconds (default 300)")
    add_decision_arguments(parser)
    add_format_argument(parser)


def run(args) -> int:
    from bench.cli import UsageError

    settings = decision_settings(args)
    try:
        stages = parse_stages(args.stages)
    except ValueError as exc:
        raise UsageError(f"--stages: {exc}") from None
    arms = {BASELINE_ARM: same_interpreter(resolve_interpreter(args.a, "--a")),
            CANDIDATE_ARM: same_interpreter(resolve_interpreter(args.b, "--b"))}
    suite = suites.load(args.suite)
    work = dict(plan(suite, parse_backends(args.backend), validate_workloads(args.workload)))
    if not work:
        raise UsageError(f"{suite.path}: no cases match the chosen --backend/--workload")
    session = new_run_id()
    out_dir = Path(args.out) / session
    console = Console(stderr=True)
    header = {"suite": suite.describe(), "options": {"case_timeout_s": args.timeout}, "ab_session": session,
              "backends_requested": [b.name for b in work]}
    runner = RoundRunner(arms, RunOptions(allow_tf32=args.allow_tf32, case_timeout_s=args.timeout), suite.timing,
                         out_dir, header, seed=args.seed, on_event=lambda msg: console.print(msg, markup=False))
    try:
        outcome = run_ab(runner, work, AbSettings(stages, confirm=not args.no_confirm, **settings),
                         labels=(f"A: {args.a}", f"B: {args.b}"))
    except KeyboardInterrupt:
        console.print(f"interrupted; raw rounds so far are in {out_dir}")
        return 130
    print_comparison(outcome.comparison, args.format)
    sys.stdout.flush()
    return 1 if outcome.comparison.failed() else 0
