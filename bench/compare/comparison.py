"""Compare a baseline with a candidate, case by case: ratio, CI, decision, and everything that
could not be compared (one side only, failures, mismatches), so nothing is silently dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.compare.bootstrap import DEFAULT_RESAMPLES, MIN_ROUNDS, RatioEstimate, case_rng, ratio_ci
from bench.compare.decision import (
    IMPROVEMENT,
    INCONCLUSIVE,
    NO_CHANGE,
    REGRESSION,
    decide,
)
from bench.compare.intervals import NoiseFloor, holm, round_medians
from bench.compare.sides import Side, collect, pair
from bench.results.records import Run

MISMATCH = "mismatch"  # the candidate's output is wrong and the baseline's was not: always a failure
# Wrong on both sides: a known finding (e.g. a kernel that sums in bf16), listed loudly, not a change to fail on.
KNOWN_MISMATCH = "mismatch on both sides"
# A change the samples of one process per side suggest, or that an unstable side shows: worth a look, never a failure.
POSSIBLE_REGRESSION = "possible regression"
POSSIBLE_IMPROVEMENT = "possible improvement"
BASELINE_ONLY = "baseline only"
CANDIDATE_ONLY = "candidate only"
NOT_COMPARED = "not compared"  # a side has no timing: failed, unavailable, unsupported, ...

# Display and severity order.
KINDS = (
    MISMATCH,
    KNOWN_MISMATCH,
    REGRESSION,
    POSSIBLE_REGRESSION,
    INCONCLUSIVE,
    IMPROVEMENT,
    POSSIBLE_IMPROVEMENT,
    NO_CHANGE,
    NOT_COMPARED,
    BASELINE_ONLY,
    CANDIDATE_ONLY,
)
NOMINATED = {REGRESSION: POSSIBLE_REGRESSION, IMPROVEMENT: POSSIBLE_IMPROVEMENT}


@dataclass
class CaseResult:
    case_id: str
    kind: str  # one of KINDS
    baseline_status: str
    candidate_status: str
    baseline_median: float | None = None
    candidate_median: float | None = None
    estimate: RatioEstimate | None = None
    reason: str = ""
    baseline_versions: tuple[str, ...] = ()
    candidate_versions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "kind": self.kind,
            "baseline": {"status": self.baseline_status, "median_s": self.baseline_median, "versions": list(self.baseline_versions)},
            "candidate": {"status": self.candidate_status, "median_s": self.candidate_median, "versions": list(self.candidate_versions)},
            "estimate": self.estimate.to_dict() if self.estimate else None,
            "reason": self.reason,
        }


@dataclass
class Comparison:
    results: list[CaseResult]
    threshold: float
    confidence: float
    baseline_label: str = "baseline"
    candidate_label: str = "candidate"
    n_resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[CaseResult]:
        return [r for r in self.results if r.kind == kind]

    def counts(self) -> dict[str, int]:
        return {kind: len(self.of_kind(kind)) for kind in KINDS if self.of_kind(kind)}

    @property
    def has_regression(self) -> bool:
        return bool(self.of_kind(REGRESSION))

    @property
    def has_mismatch(self) -> bool:
        return bool(self.of_kind(MISMATCH))

    def failed(self) -> bool:
        """Whether a gate should turn red: a regression, or a wrong output on the candidate side."""
        return self.has_regression or self.has_mismatch

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline_label,
            "candidate": self.candidate_label,
            "threshold": self.threshold,
            "confidence": self.confidence,
            "bootstrap": {"resamples": self.n_resamples, "seed": self.seed},
            "counts": self.counts(),
            "failed": self.failed(),
            "notes": self.notes,
            "cases": [r.to_dict() for r in self.results],
        }


def _not_compared_reason(base: Side, cand: Side) -> str:
    if base.status == cand.status and base.reason == cand.reason:
        return f"both {base.status}" + (f": {base.reason}" if base.reason else "")
    parts = []
    for label, side in (("baseline", base), ("candidate", cand)):
        if side.status != "ok":
            parts.append(f"{label} {side.status}" + (f": {side.reason}" if side.reason else ""))
    return "; ".join(parts)


def compare_case(
    base: Side | None,
    cand: Side | None,
    threshold: float,
    confidence: float,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    paired: bool = False,
    floor: NoiseFloor | None = None,
) -> CaseResult:
    """The result for one case_id; ``paired`` pairs rounds by their key (the ``ab`` layout); ``floor``: the
    backend's pooled between-round noise for unpaired round intervals."""
    some = base or cand
    assert some is not None
    result = CaseResult(
        some.case_id,
        NOT_COMPARED,
        base.status if base else "absent",
        cand.status if cand else "absent",
        base.median if base else None,
        cand.median if cand else None,
        baseline_versions=tuple(sorted(base.versions)) if base else (),
        candidate_versions=tuple(sorted(cand.versions)) if cand else (),
    )
    if cand is None:
        result.kind = BASELINE_ONLY
    elif cand.status == MISMATCH:
        known = base is not None and base.status == MISMATCH
        result.kind, result.reason = (KNOWN_MISMATCH if known else MISMATCH), cand.reason
    elif base is None:
        result.kind = CANDIDATE_ONLY
    elif base.status != "ok" or cand.status != "ok":
        result.reason = _not_compared_reason(base, cand)
    else:
        rng = case_rng(seed, some.case_id)
        paired_rounds = pair(base, cand) if paired else None
        if paired_rounds is not None:
            estimate = ratio_ci(*paired_rounds, confidence, n_resamples, rng, paired=True)
        else:
            estimate = ratio_ci(base.rounds, cand.rounds, confidence, n_resamples, rng, floor=floor)
        result.estimate = estimate
        result.kind = decide(estimate, threshold)
        _demote_weak_evidence(result, base, cand)
    return result


def _demote_weak_evidence(result: CaseResult, base: Side, cand: Side) -> None:
    """A regression or improvement stands only on round-level evidence from stable sides; otherwise it is a
    nomination ("possible ..."), with the reason, and never fails a gate (docs/regression-gating.md)."""
    if result.kind not in NOMINATED or result.estimate is None:
        return
    doubts = [
        f"the {label} side measured {' and '.join(side.distrusted)}" for label, side in (("baseline", base), ("candidate", cand)) if side.distrusted
    ]
    if result.estimate.evidence == "samples":
        why = (
            "samples of one process per side: the noise between processes is not measured "
            "(measure both sides with `run --rounds 3` or more, or gate with `siliconbench ab`)"
        )
    elif doubts:
        why = "; ".join(doubts)
    else:
        return
    result.kind = NOMINATED[result.kind]
    result.reason = f"{result.estimate.describe()}, but the evidence is {why}; not failing"


def apply_confirmation(first: CaseResult, confirm: CaseResult) -> None:
    """A flagged regression stands only if the re-run in fresh processes flags it too."""
    flagged = first.estimate.describe() if first.estimate else "?"
    second = confirm.estimate.describe() if confirm.estimate else confirm.reason or confirm.kind
    if confirm.kind == REGRESSION:
        first.kind = REGRESSION  # a nomination (one process a side) becomes a regression on round-level evidence
        first.reason = f"confirmed by a re-run in fresh processes: {second}"
    else:
        first.kind = INCONCLUSIVE
        first.reason = f"flagged at {flagged}, but the confirming re-run said {confirm.kind}: {second}; not failing"


def compare_sides(
    baseline: dict[str, Side],
    candidate: dict[str, Side],
    threshold: float = 0.05,
    confidence: float = 0.99,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    paired: bool = False,
    labels: tuple[str, str] = ("baseline", "candidate"),
) -> Comparison:
    """Every case of either side compared. Unpaired round intervals use each backend's noise floor, and a
    regression or improvement on them stands only if it survives Holm's correction for the number of
    cases compared (family-wise level 1 - confidence), so a suite of many cases does not fail on the one
    that noise pushed past a per-case interval."""
    floors = noise_floors(baseline, candidate) if not paired else {}
    results = [
        compare_case(baseline.get(cid), candidate.get(cid), threshold, confidence, n_resamples, seed, paired, floors.get(backend_of(cid)))
        for cid in sorted(set(baseline) | set(candidate))
    ]
    notes = method_notes(results)
    if not paired:
        notes += family_wise(results, 1.0 - confidence)
    results.sort(key=lambda r: (KINDS.index(r.kind), r.case_id))
    comparison = Comparison(results, threshold, confidence, labels[0], labels[1], n_resamples, seed)
    comparison.notes.extend(notes)
    return comparison


def backend_of(case_id: str) -> str:
    return case_id.rpartition("@")[2]


def noise_floors(baseline: dict[str, Side], candidate: dict[str, Side]) -> dict[str, NoiseFloor]:
    """Per backend: the prior of its cases' between-round variances (pooled over both sides of each case with
    2+ ok rounds a side), for the moderated intervals."""
    by_backend: dict[str, list[tuple[float, float]]] = {}
    for cid in set(baseline) & set(candidate):
        a, b = baseline[cid].rounds, candidate[cid].rounds
        if len(a) >= 2 and len(b) >= 2:
            la, lb = np.log(round_medians(a)), np.log(round_medians(b))
            df = len(la) + len(lb) - 2
            variance = (float(((la - la.mean()) ** 2).sum()) + float(((lb - lb.mean()) ** 2).sum())) / df
            by_backend.setdefault(backend_of(cid), []).append((variance, df))
    floors = {backend: NoiseFloor.fit(cases) for backend, cases in by_backend.items()}
    return {backend: floor for backend, floor in floors.items() if floor is not None}


def family_wise(results: list[CaseResult], alpha: float) -> list[str]:
    """Demote regressions and improvements on round evidence that do not survive Holm's step-down across every
    case compared on rounds (one-sided p-values, family-wise ``alpha`` split between the two directions)."""
    on_rounds = {r.case_id: r for r in results if r.estimate is not None and r.estimate.p_value() is not None}
    p_values = {cid: r.estimate.p_value() for cid, r in on_rounds.items() if r.estimate is not None}
    kept = holm({cid: p for cid, p in p_values.items() if p is not None}, alpha / 2)
    demoted = 0
    for cid, r in on_rounds.items():
        if r.kind in NOMINATED and cid not in kept:
            r.kind = NOMINATED[r.kind]
            r.reason = (
                f"{r.estimate.describe() if r.estimate else ''}: beyond its own interval, but not beyond the noise "
                f"expected across the {len(on_rounds)} cases compared (Holm, family-wise {alpha:.0%}); not failing"
            )
            demoted += 1
    if not on_rounds:
        return []
    return [
        f"{len(on_rounds)} case(s) compared on rounds: a regression must survive Holm's correction across all of them "
        f"(family-wise false-alarm rate {alpha:.0%}); {demoted} did not and are listed as possible."
    ]


def compare_runs(baseline_runs: list[Run], candidate_runs: list[Run], **kwargs: Any) -> Comparison:
    """Compare run documents (``bench.results.read_runs``); each run is one round of its cases."""
    return compare_sides(collect(baseline_runs), collect(candidate_runs), **kwargs)


def method_notes(results: list[CaseResult]) -> list[str]:
    """Warnings a reader needs to weigh the decisions: sample-level CIs are optimistic."""
    if not any(r.estimate and r.estimate.evidence == "samples" for r in results):
        return []
    return [
        f"Some cases have fewer than {MIN_ROUNDS} rounds on a side: their intervals resample the samples of one process, "
        "ignore the noise between processes and are optimistic, so they can only nominate ('possible regression'), "
        "never fail. Measure both sides with `siliconbench run --rounds 3` (or more), or gate with `siliconbench ab`, "
        "which runs both sides interleaved in one job."
    ]
