"""The strong gate: baseline (A) and candidate (B) interleaved in one job, decided sequentially,
regressions confirmed by a re-run before they fail (docs/regression-gating.md).

1. Rounds of fresh worker processes for both arms in random order (``RoundRunner``).
2. After 10, 20 and 40 rounds (``stages``) each still-undecided case is decided on its paired
   rounds (bootstrap over whole rounds, ``decide``); decided cases stop, inconclusive ones go on.
3. Cases flagged as regressions are run again from round zero in new processes (phase
   ``confirm``); a regression stands only if the re-run flags it too, else it is reported as
   inconclusive with both estimates. Improvements and mismatches are not re-run.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bench.compare.bootstrap import DEFAULT_RESAMPLES
from bench.compare.comparison import (
    KINDS,
    CaseResult,
    Comparison,
    apply_confirmation,
    compare_case,
    method_notes,
)
from bench.compare.decision import INCONCLUSIVE, REGRESSION
from bench.compare.rounds import Plan, RoundRunner

DEFAULT_STAGES = (10, 20, 40)
BASELINE_ARM, CANDIDATE_ARM = "A", "B"


@dataclass
class AbSettings:
    stages: tuple[int, ...] = DEFAULT_STAGES
    threshold: float = 0.05
    confidence: float = 0.99
    n_resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    confirm: bool = True


@dataclass
class AbOutcome:
    comparison: Comparison
    gate: dict[str, CaseResult]
    confirm: dict[str, CaseResult] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)  # rounds run per phase


def parse_stages(text: str) -> tuple[int, ...]:
    """``10,20,40`` → (10, 20, 40): increasing round counts, each >= 1."""
    try:
        stages = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"expected increasing round counts like 10,20,40, got {text!r}") from None
    if not stages or stages[0] < 1 or any(b <= a for a, b in itertools.pairwise(stages)):
        raise ValueError(f"expected increasing round counts >= 1 like 10,20,40, got {text!r}")
    return stages


def sequential(runner: RoundRunner, phase: str, plan: Plan, settings: AbSettings) -> dict[str, CaseResult]:
    """Run rounds of ``plan`` up to each stage; stop a case as soon as it is decided."""
    pending = {backend: list(cases) for backend, cases in plan.items() if cases}
    results: dict[str, CaseResult] = {}
    for target in settings.stages:
        while pending and runner.rounds_run.get(phase, 0) < target:
            runner.run_round(phase, pending)
        sides = runner.sides.get(phase, {})
        for backend in list(pending):
            undecided = []
            for case in pending[backend]:
                cid = case.case_id(backend.name)
                results[cid] = compare_case(
                    sides[BASELINE_ARM].get(cid),
                    sides[CANDIDATE_ARM].get(cid),
                    settings.threshold,
                    settings.confidence,
                    settings.n_resamples,
                    settings.seed,
                    paired=True,
                )
                if results[cid].kind == INCONCLUSIVE:
                    undecided.append(case)
            if undecided:
                pending[backend] = undecided
            else:
                del pending[backend]
        if not pending:
            break
    return results


def run_ab(runner: RoundRunner, plan: Plan, settings: AbSettings, labels: tuple[str, str] = ("A", "B")) -> AbOutcome:
    gate = sequential(runner, "gate", plan, settings)
    confirm: dict[str, CaseResult] = {}
    flagged = {cid for cid, r in gate.items() if r.kind == REGRESSION}
    if settings.confirm and flagged:
        confirm_plan = {b: [c for c in cases if c.case_id(b.name) in flagged] for b, cases in plan.items()}
        confirm = sequential(runner, "confirm", confirm_plan, settings)
        for cid in flagged:
            apply_confirmation(gate[cid], confirm[cid])
    results = sorted(gate.values(), key=lambda r: (KINDS.index(r.kind), r.case_id))
    comparison = Comparison(results, settings.threshold, settings.confidence, labels[0], labels[1], settings.n_resamples, settings.seed)
    comparison.notes.extend(method_notes(results))
    comparison.notes.append(
        f"A/B interleaved in one job: {runner.rounds_run.get('gate', 0)} round(s) (stages {', '.join(map(str, settings.stages))}), "
        + (
            f"{len(flagged)} flagged case(s) re-run for confirmation ({runner.rounds_run.get('confirm', 0)} round(s))."
            if flagged and settings.confirm
            else "no confirmation re-run needed."
            if settings.confirm
            else "confirmation disabled."
        )
        + f" Raw rounds: {runner.out_dir}"
    )
    return AbOutcome(comparison, gate, confirm, dict(runner.rounds_run))
