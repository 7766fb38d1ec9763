"""Arguments shared by the gate commands (compare, ab, nightly, calibrate) and their output."""

from __future__ import annotations

import argparse

from rich.console import Console

from bench.compare.bootstrap import DEFAULT_RESAMPLES
from bench.compare.comparison import Comparison
from bench.compare.decision import parse_threshold
from bench.compare.formatting import render

FORMATS = ("table", "markdown", "json")


def add_decision_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", default="5%", help="practical-significance margin on the ratio of medians (default 5%%)")
    parser.add_argument("--confidence", type=float, default=0.99, help="confidence of the bootstrap CI (default 0.99)")
    parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, help=f"bootstrap resamples (default {DEFAULT_RESAMPLES})")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed, for reproducible CIs (default 0)")


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default table; markdown fits a PR comment)")


def decision_settings(args: argparse.Namespace) -> dict:
    """threshold, confidence, n_resamples and seed, validated; raises UsageError naming the option."""
    from bench.cli import UsageError

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
