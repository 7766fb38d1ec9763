"""A nightly run: run the suite into this machine's history, compare with the rolling baseline,
confirm flagged regressions with fresh rounds, and list the alerts.

A night measured in one round can only *nominate* regressions ("possible regression": its interval
knows nothing of the noise between processes); a night measured in several rounds (the nightly suite
runs 3) is compared round by round. Either way a flagged case is re-run in ``confirm_rounds`` fresh
processes; the confirmation compares those rounds with the baseline rounds (t intervals over rounds)
and the regression stands only if it is flagged again (docs/regression-gating.md: the detector
nominates, a better-controlled measurement decides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.backends import parse_backend
from bench.compare.comparison import (
    KNOWN_MISMATCH,
    MISMATCH,
    NOT_COMPARED,
    POSSIBLE_REGRESSION,
    Comparison,
    apply_confirmation,
    compare_case,
    compare_runs,
)
from bench.compare.decision import INCONCLUSIVE, REGRESSION
from bench.compare.history import history_runs, machine_folder, rolling_baseline
from bench.compare.rounds import RoundRunner
from bench.compare.sides import collect
from bench.results import read_run
from bench.results.environment import machine, machine_id
from bench.results.records import Run
from bench.runner.orchestrator import RunOptions
from bench.runner.run import execute
from bench.suite import Suite
from bench.workloads.base import Case

CONFIRM_ARM = "candidate"


@dataclass
class NightlyOutcome:
    run_path: Path
    status: str
    comparison: Comparison | None = None
    baseline_runs: int = 0
    confirm_dir: Path | None = None
    alerts: list[str] = field(default_factory=list)


def confirm_flagged(
    comparison: Comparison, baseline_runs: list[Run], candidate: Run, rounds: int, runner_factory: Callable[[], RoundRunner]
) -> Path | None:
    """Re-run flagged cases ``rounds`` times in fresh processes; keep only regressions flagged again."""
    flagged = {r.case_id: r for r in comparison.results if r.kind in (REGRESSION, POSSIBLE_REGRESSION)}
    if not flagged or rounds < 1:
        return None
    plan: dict = {}
    for case in candidate.cases:
        if case.case_id in flagged:
            plan.setdefault(parse_backend(case.backend.name), []).append(Case.make(case.workload, case.params, case.dtype, case.mode))
    runner = runner_factory()
    for _ in range(rounds):
        runner.run_round("confirm", plan)
    base = collect(baseline_runs)
    again = runner.sides["confirm"][CONFIRM_ARM]
    for cid, first in flagged.items():
        confirm = compare_case(base.get(cid), again.get(cid), comparison.threshold, comparison.confidence, comparison.n_resamples, comparison.seed)
        apply_confirmation(first, confirm)
    return runner.out_dir


def alerts(comparison: Comparison) -> list[str]:
    """One line per thing a person should look at tomorrow morning."""
    out = []
    for r in comparison.results:
        change = r.estimate.describe() if r.estimate else ""
        if r.kind == MISMATCH:
            out.append(f"MISMATCH {r.case_id}: wrong output ({r.reason})")
        elif r.kind == KNOWN_MISMATCH:
            out.append(f"KNOWN MISMATCH {r.case_id}: wrong output again, as in the baseline ({r.reason})")
        elif r.kind == REGRESSION:
            out.append(f"REGRESSION {r.case_id}: {change}; {r.reason}")
        elif r.kind == INCONCLUSIVE and r.reason.startswith("flagged"):
            out.append(f"unconfirmed {r.case_id}: {r.reason}")
        elif r.kind == NOT_COMPARED and r.baseline_status == "ok":
            out.append(f"NEW FAILURE {r.case_id}: {r.candidate_status} ({r.reason})")
    return out


def run_nightly(
    suite: Suite,
    results_dir: str | Path,
    options: RunOptions,
    settings: dict[str, Any],
    baseline_runs: int = 5,
    confirm_rounds: int = 5,
    backends=None,
    workloads=None,
    on_record=None,
    on_event=None,
) -> NightlyOutcome:
    """Run ``suite`` into ``results/history/<machine_id>/`` and compare it with the rolling baseline."""
    mid = machine_id(machine())
    folder = machine_folder(results_dir, mid)
    history = history_runs(folder)
    run = execute(suite, folder, options, backends, workloads, on_record=on_record)
    outcome = NightlyOutcome(run.path, run.status)
    if run.status != "complete":
        return outcome
    candidate = read_run(run.path)
    baseline, notes = rolling_baseline(history, candidate, baseline_runs)
    comparison = compare_runs(baseline, [candidate], labels=(f"rolling baseline of machine {mid}", f"run {run.run_id}"), **settings)
    comparison.notes[:0] = notes

    def runner_factory() -> RoundRunner:
        header = {"suite": suite.describe(), "options": {"case_timeout_s": options.case_timeout_s}, "confirms_run": run.run_id}
        out = Path(results_dir) / "confirm" / mid / run.run_id
        return RoundRunner({CONFIRM_ARM: options.pythons}, options, suite.timing, out, header, settings.get("seed", 0), on_event)

    outcome.confirm_dir = confirm_flagged(comparison, baseline, candidate, confirm_rounds, runner_factory)
    outcome.comparison = comparison
    outcome.baseline_runs = len({r.run_id for r in baseline})
    outcome.alerts = alerts(comparison)
    return outcome
