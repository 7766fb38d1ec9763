"""``siliconbench calibrate``: measure this machine's gate: false alarms (A/A) and detection of an
injected slowdown (``--inject-slowdown``, default 10 %), as rates with 95 % intervals.

The injection multiplies the candidate's samples of real A/A rounds by 1 + slowdown (see
bench/compare/calibration.py and docs/regression-gating.md). ``--from-pool DIR`` re-simulates
from the rounds a previous calibration stored, without measuring again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.commands import values
from bench.commands.common import add_thread_arguments, resolve_interpreter, thread_options
from bench.commands.gate_args import (
    add_decision_arguments,
    add_selection_arguments,
    decision_settings,
    rounds_header,
    selected_work,
)
from bench.compare.ab import parse_stages
from bench.compare.calibration import (
    POOL_ARM,
    POOL_PHASE,
    CalibrationResult,
    CalibrationSettings,
    collect_pool,
    pool_of,
    simulate,
)
from bench.compare.decision import parse_threshold
from bench.compare.rounds import RoundRunner, same_interpreter
from bench.compare.sides import collect
from bench.errors import UsageError
from bench.results import read_runs
from bench.results.store import new_run_id
from bench.runner.orchestrator import RunOptions
from bench.text import markup, plain

NAME = "calibrate"
HELP = "measure the gate on this machine: A/A false-alarm rate and detection rate of an injected slowdown"

TARGET_FALSE_ALARM = 0.01  # of suite runs
TARGET_DETECTION = 0.95  # of injected +10 % slowdowns
TARGET_INTERVAL_MISSES = 0.02  # of A/A case decisions whose 99 % interval excludes 1 (1 % if the interval is honest)


def add_arguments(parser) -> None:
    add_selection_arguments(parser, "quick")
    parser.add_argument("--interpreter", default=sys.executable, help="interpreter of both arms: a path or tox:ENV (default: this one)")
    parser.add_argument("--pool-rounds", type=values.positive_int, default=40, help="A/A rounds to measure (default 40)")
    parser.add_argument("--stages", default="5,10", help="round pairs after which the simulated gate decides (default 5,10)")
    parser.add_argument("--trials", type=values.positive_int, default=200, help="simulated suite runs (default 200)")
    parser.add_argument(
        "--inject-slowdown", default="10%", metavar="PCT", help="slowdown injected into the candidate's samples to measure detection (default 10%%)"
    )
    parser.add_argument("--no-confirm", action="store_true", help="simulate the gate without its confirming re-run")
    parser.add_argument("--from-pool", metavar="DIR", help="re-simulate from a stored pool (a previous calibration's folder) instead of measuring")
    parser.add_argument("--out", default="results/calibration", help="folder for the measured rounds (default results/calibration)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the targets (<= 1%% false alarms, >= 95%% detection) are not met")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    add_thread_arguments(parser)
    add_decision_arguments(parser)


def _settings(args) -> CalibrationSettings:
    try:
        stages = parse_stages(args.stages)
        slowdown = parse_threshold(args.inject_slowdown)
    except ValueError as exc:
        raise UsageError(f"--stages/--inject-slowdown: {exc}") from None
    if args.trials < 1:
        raise UsageError(f"--trials: expected >= 1, got {args.trials}")
    return CalibrationSettings(stages, args.trials, slowdown, confirm=not args.no_confirm, **decision_settings(args))


def _stored_pool(folder: str) -> tuple[dict, dict, Path]:
    path = Path(folder) / POOL_PHASE / POOL_ARM
    if not path.is_dir():
        raise UsageError(f"--from-pool {folder}: no {POOL_PHASE}/{POOL_ARM}/ folder of rounds in it")
    runs = read_runs(path)
    complete = [r for r in runs if r.status == "complete"]  # a round cut short (Ctrl-C, a time limit) is left out
    if not complete:
        raise UsageError(f"--from-pool {folder}: none of its {len(runs)} round(s) finished")
    pool, excluded = pool_of(collect(complete), len(complete))
    if len(complete) < len(runs):
        excluded["(rounds)"] = f"{len(runs) - len(complete)} unfinished round(s) ignored; replaying the {len(complete)} complete one(s)"
    return pool, excluded, Path(folder)


def _measured_pool(args, console: Console) -> tuple[dict, dict, Path]:
    suite, work = selected_work(args)
    out = Path(args.out) / new_run_id()
    header = rounds_header(suite, work, args, calibration=True)
    runner = RoundRunner(
        {POOL_ARM: same_interpreter(resolve_interpreter(args.interpreter, "--interpreter"))},
        RunOptions(case_timeout_s=args.timeout, **thread_options(args)),
        suite.timing,
        out,
        header,
        args.seed,
        on_event=lambda msg: console.print(plain(msg), markup=False),
    )
    pool, excluded = collect_pool(runner, work, args.pool_rounds)
    return pool, excluded, out


def _table(result: CalibrationResult) -> Table:
    s = result.settings
    table = Table(
        title=f"gate calibration: {result.pool_rounds} A/A rounds, {s.trials} simulated suite runs",
        caption=f"threshold {s.threshold * 100:g}%, {s.confidence * 100:g}% CI, stages {s.stages} pairs, "
        f"confirmation {'on' if s.confirm else 'off'}, injected slowdown +{s.slowdown * 100:g}%",
    )
    for column in ("case", "σ round", "rounds for ±3.5%", "false alarm 1st", "false alarm", "detected 1st", "detected"):
        table.add_column(column, justify="left" if column == "case" else "right", overflow="fold")
    for c in result.cases:
        table.add_row(
            markup(c.case_id),
            f"{c.sigma_round * 100:.2f}%",
            str(c.rounds_for_budget),
            f"{c.false_alarm_first.value * 100:.1f}%",
            f"{c.false_alarm.value * 100:.1f}%",
            f"{c.detection_first.value * 100:.1f}%",
            f"{c.detection.value * 100:.1f}%",
        )
    return table


def _summary(result: CalibrationResult) -> list[str]:
    fa, det = result.suite_false_alarm, result.detection
    return [
        f"suite runs with a false alarm: {fa.describe()}  target <= {TARGET_FALSE_ALARM * 100:g}%: "
        + ("met" if fa.value <= TARGET_FALSE_ALARM else "NOT met"),
        f"  (before confirmation: {result.suite_false_alarm_first.describe()}; per case: {result.case_false_alarm.describe()})",
        f"injected +{result.settings.slowdown * 100:g}% slowdowns caught: {det.describe()}  target >= {TARGET_DETECTION * 100:g}%: "
        + ("met" if det.value >= TARGET_DETECTION else "NOT met"),
        f"A/A decisions whose {result.settings.confidence * 100:g}% interval excluded no change: {result.interval_misses.describe()}  "
        f"target <= {TARGET_INTERVAL_MISSES * 100:g}%: " + ("met" if result.interval_misses.value <= TARGET_INTERVAL_MISSES else "NOT met"),
        f"pool: {result.pool_rounds} complete rounds",
    ] + [f"excluded {cid}: {why}" for cid, why in sorted(result.excluded.items())]


def to_dict(result: CalibrationResult, pool_dir: Path) -> dict:
    s = result.settings
    return {
        "pool": str(pool_dir),
        "pool_rounds": result.pool_rounds,
        "settings": {
            "stages": list(s.stages),
            "trials": s.trials,
            "slowdown": s.slowdown,
            "threshold": s.threshold,
            "confidence": s.confidence,
            "resamples": s.n_resamples,
            "seed": s.seed,
            "confirm": s.confirm,
        },
        "suite_false_alarm": result.suite_false_alarm.to_dict(),
        "suite_false_alarm_first": result.suite_false_alarm_first.to_dict(),
        "case_false_alarm": result.case_false_alarm.to_dict(),
        "detection": result.detection.to_dict(),
        "interval_misses": result.interval_misses.to_dict(),
        "cases": [
            {
                "case_id": c.case_id,
                "sigma_round": c.sigma_round,
                "rounds_for_budget": c.rounds_for_budget,
                "false_alarm_first": c.false_alarm_first.to_dict(),
                "false_alarm": c.false_alarm.to_dict(),
                "detection_first": c.detection_first.to_dict(),
                "detection": c.detection.to_dict(),
                "interval_misses": c.interval_misses.to_dict(),
            }
            for c in result.cases
        ],
        "excluded": result.excluded,
    }


def run(args) -> int:
    settings = _settings(args)
    if not args.from_pool and args.pool_rounds < 2 * settings.pairs_needed:
        raise UsageError(f"--pool-rounds: stages up to {max(settings.stages)} pairs need at least {2 * settings.pairs_needed} rounds")
    console = Console(stderr=True)
    pool, excluded, pool_dir = _stored_pool(args.from_pool) if args.from_pool else _measured_pool(args, console)
    try:
        result = simulate(pool, settings, excluded)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.format == "json":
        print(json.dumps(to_dict(result, pool_dir), indent=1))
    else:
        out = Console(width=max(Console().width, 140))
        out.print(_table(result))
        for line in _summary(result):
            out.print(plain(line), markup=False)
        out.print(plain(f"pool: {pool_dir} (re-simulate with --from-pool {pool_dir})"), markup=False)
    met = result.suite_false_alarm.value <= TARGET_FALSE_ALARM and result.detection.value >= TARGET_DETECTION
    return 1 if args.check and not met else 0
