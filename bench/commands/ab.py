"""``siliconbench ab --a ENV_A --b ENV_B``: the strong gate, baseline and candidate interleaved in one job.

ENV_A (baseline) and ENV_B (candidate) are interpreter paths or ``tox:ENV``; every framework's
worker runs under that interpreter. ``--a-root``/``--b-root`` name the checkout whose ``bench``
package (workloads included) an arm's workers import, to compare two checkouts of this project.
Exit 1 when a regression is confirmed or B's output mismatches.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bench.commands.common import add_thread_arguments, resolve_interpreter, thread_options
from bench.commands.gate_args import (
    add_decision_arguments,
    add_format_argument,
    add_selection_arguments,
    decision_settings,
    print_comparison,
    rounds_header,
    selected_work,
)
from bench.compare.ab import (
    BASELINE_ARM,
    CANDIDATE_ARM,
    DEFAULT_STAGES,
    AbSettings,
    parse_stages,
    run_ab,
)
from bench.compare.rounds import RoundRunner, same_interpreter
from bench.errors import UsageError
from bench.results.store import new_run_id
from bench.runner.orchestrator import RunOptions
from bench.text import markup, plain

NAME = "ab"
HELP = "A/B gate: run two environments interleaved in rounds of fresh processes, decide per case, confirm regressions"


def add_arguments(parser) -> None:
    parser.add_argument("--a", required=True, metavar="ENV_A", help="baseline interpreter: a path, or tox:ENV")
    parser.add_argument("--b", required=True, metavar="ENV_B", help="candidate interpreter: a path, or tox:ENV")
    parser.add_argument("--a-root", metavar="DIR", help="checkout whose bench package A's workers import (default: this one)")
    parser.add_argument("--b-root", metavar="DIR", help="checkout whose bench package B's workers import (default: this one)")
    add_selection_arguments(parser, "quick")
    parser.add_argument(
        "--stages", default=",".join(map(str, DEFAULT_STAGES)), help="rounds after which undecided cases are decided (default 10,20,40)"
    )
    parser.add_argument("--no-confirm", action="store_true", help="fail on a first-pass regression without the confirming re-run")
    parser.add_argument("--out", default="results/ab", help="folder for the raw rounds (default results/ab)")
    parser.add_argument("--allow-tf32", action="store_true", help="allow TF32 for fp32 matmul/conv in every framework")
    add_thread_arguments(parser)
    add_decision_arguments(parser)
    add_format_argument(parser)


def checkout_env(root: str | None, option: str) -> dict[str, str]:
    if root is None:
        return {}
    if not (Path(root) / "bench" / "__init__.py").is_file():
        raise UsageError(f"{option} {root}: not a siliconbench checkout (no bench/__init__.py in it)")
    return {"PYTHONPATH": str(Path(root).resolve())}


def run(args) -> int:
    settings = decision_settings(args)
    try:
        stages = parse_stages(args.stages)
    except ValueError as exc:
        raise UsageError(f"--stages: {exc}") from None
    arms = {BASELINE_ARM: same_interpreter(resolve_interpreter(args.a, "--a")), CANDIDATE_ARM: same_interpreter(resolve_interpreter(args.b, "--b"))}
    arm_env = {BASELINE_ARM: checkout_env(args.a_root, "--a-root"), CANDIDATE_ARM: checkout_env(args.b_root, "--b-root")}
    suite, work = selected_work(args)
    session = new_run_id()
    out_dir = Path(args.out) / session
    console = Console(stderr=True)
    header = rounds_header(suite, work, args, ab_session=session, ab_roots={"A": args.a_root, "B": args.b_root})
    runner = RoundRunner(
        arms,
        RunOptions(allow_tf32=args.allow_tf32, case_timeout_s=args.timeout, **thread_options(args)),
        suite.timing,
        out_dir,
        header,
        seed=args.seed,
        on_event=lambda msg: console.print(plain(msg), markup=False),
        arm_env=arm_env,
    )
    labels = (f"A: {args.a}" + (f" ({args.a_root})" if args.a_root else ""), f"B: {args.b}" + (f" ({args.b_root})" if args.b_root else ""))
    try:
        outcome = run_ab(runner, work, AbSettings(stages, confirm=not args.no_confirm, **settings), labels=labels)
    except KeyboardInterrupt:
        console.print(markup(f"interrupted; raw rounds so far are in {out_dir}"))
        return 130
    print_comparison(outcome.comparison, args.format)
    return 1 if outcome.comparison.failed() else 0
