"""Arguments shared by the gate commands (compare, ab, nightly, calibrate) and their output."""

from __future__ import annotations

import argparse

from rich.console import Console

from bench import suite as suites
from bench.commands import values
from bench.commands.common import add_max_cases_argument, parse_backends, thread_options
from bench.commands.run import validate_workloads
from bench.compare.bootstrap import DEFAULT_RESAMPLES
from bench.compare.comparison import Comparison
from bench.compare.decision import parse_threshold
from bench.compare.formatting import render
from bench.errors import UsageError
from bench.threads import describe

FORMATS = ("table", "markdown", "json")


def add_selection_arguments(parser: argparse.ArgumentParser, default_suite: str, timeout: bool = True) -> None:
    parser.add_argument("--suite", default=default_suite, help=f"suite name (suites/NAME.toml) or TOML path (default: {default_suite})")
    parser.add_argument("--backend", action="append", metavar="B", help="backend(s) to run, e.g. torch:cpu (default: the suite's)")
    parser.add_argument("--workload", action="append", metavar="W", help="workload(s) to run (default: all in the suite)")
    add_max_cases_argument(parser)
    if timeout:  # commands using add_runtime_arguments have it already
        parser.add_argument("--timeout", type=values.seconds, default=300.0, metavar="S", help="per-case timeout in seconds (default 300)")


def selected_work(args: argparse.Namespace):
    """(suite, {backend: [cases]}) chosen by --suite/--backend/--workload; UsageError when nothing matches."""
    from bench.runner.run import plan

    suite = suites.load(args.suite, args.max_cases)
    work = dict(plan(suite, parse_backends(args.backend), validate_workloads(args.workload)))
    if not work:
        raise UsageError(f"{suite.path}: no cases match the chosen --backend/--workload")
    return suite, work


def rounds_header(suite, work, args: argparse.Namespace, **extra) -> dict:
    """Header fields (``bench.results.store.new_header`` keywords) of the run files a RoundRunner writes."""
    policy = describe(**thread_options(args))
    return {
        "suite": suite.describe(),
        "options": {"case_timeout_s": args.timeout, "thread_policy": policy},
        "backends": [b.name for b in work],
        **extra,
    }


def add_decision_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", default="5%", help="practical-significance margin on the ratio of medians (default 5%%)")
    parser.add_argument("--confidence", type=values.number(ge=0.5, lt=1.0), default=0.99, help="confidence of the bootstrap CI (default 0.99)")
    parser.add_argument(
        "--resamples", type=values.integer(ge=100), default=DEFAULT_RESAMPLES, help=f"bootstrap resamples (default {DEFAULT_RESAMPLES})"
    )
    parser.add_argument("--seed", type=values.count, default=0, help="bootstrap seed, for reproducible CIs (default 0)")


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default table; markdown fits a PR comment)")


def decision_settings(args: argparse.Namespace) -> dict:
    """threshold, confidence, n_resamples and seed, validated; raises UsageError naming the option."""
    try:
        threshold = parse_threshold(args.threshold)
    except ValueError as exc:
        raise UsageError(f"--threshold: {exc}") from None
    if not 0.5 <= args.confidence < 1:
        raise UsageError(f"--confidence: expected a value in [0.5, 1), got {args.confidence}")
    if args.resamples < 100:
        raise UsageError(f"--resamples: at least 100 are needed for a CI, got {args.resamples}")
    return {"threshold": threshold, "confidence": args.confidence, "n_resamples": args.resamples, "seed": args.seed}


def print_comparison(comparison: Comparison, fmt: str) -> None:
    out = render(comparison, fmt)
    if isinstance(out, str):
        print(out, end="" if out.endswith("\n") else "\n")
    else:
        Console(width=max(Console().width, 160)).print(out)
