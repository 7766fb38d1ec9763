"""``siliconbench compare BASELINE CANDIDATE``: per case ratio of medians, bootstrap CI, decision.

BASELINE and CANDIDATE are run files or folders of them; every run of a case is one round of it.
Exit 1 with ``--fail-on-regression`` when a case regressed or the candidate's output is wrong.
"""

from __future__ import annotations

from bench.commands.gate_args import (
    add_decision_arguments,
    add_format_argument,
    decision_settings,
    print_comparison,
)
from bench.compare.comparison import compare_runs
from bench.errors import UsageError
from bench.results import read_runs
from bench.results.records import Run

NAME = "compare"
HELP = "compare two runs (files or folders): ratio of medians with a bootstrap CI and a decision per case"


def add_arguments(parser) -> None:
    parser.add_argument("baseline", help="baseline run file or folder of run files")
    parser.add_argument("candidate", help="candidate run file or folder of run files")
    add_decision_arguments(parser)
    parser.add_argument("--fail-on-regression", action="store_true", help="exit 1 when a case regressed or the candidate's output mismatches")
    add_format_argument(parser)


def load_side(path: str, option: str) -> list[Run]:
    runs = read_runs(path)
    if not runs:
        raise UsageError(f"{option} {path}: no run files (*.json, *.partial.jsonl) found")
    return runs


def run(args) -> int:
    settings = decision_settings(args)
    baseline = load_side(args.baseline, "BASELINE")
    candidate = load_side(args.candidate, "CANDIDATE")
    comparison = compare_runs(baseline, candidate, labels=(args.baseline, args.candidate), **settings)
    print_comparison(comparison, args.format)
    return 1 if args.fail_on_regression and comparison.failed() else 0
