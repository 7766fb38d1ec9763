"""Calibrate the gate on this machine: false-alarm rate (A/A) and detection rate (A/A + injected slowdown).

1. ``collect_pool``: run the suite ``pool_rounds`` times, each round a fresh worker process per
   backend, all under the same interpreter: real A/A data with this machine's process-to-process,
   time-slot and neighbour noise.
2. ``simulate``: many times over, split the pool as ``ab`` would see it. Consecutive rounds
   (2i, 2i+1) form a pair (adjacent in time, like an ``ab`` round); pairs are shuffled, a coin flip
   decides which of the two is A, the first ``max(stages)`` pairs feed the sequential gate and the
   next ``max(stages)`` pairs its confirming re-run. A suite run raises a false alarm when any of
   its cases ends as a confirmed regression.
3. Detection: the same splits with every candidate sample multiplied by ``1 + slowdown``. This
   injects an exact, known slowdown into real resampled data (documented in
   docs/regression-gating.md); it assumes a slowdown scales a case's timings without adding noise.

Rates are conditional on the pool: a longer pool, or pools taken at different times, measure the
machine better. Intervals are exact binomial (Clopper-Pearson) 95 % intervals over the trials.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.compare.bootstrap import DEFAULT_RESAMPLES, RatioEstimate, case_rng, ratio_ci
from bench.compare.decision import INCONCLUSIVE, REGRESSION, decide
from bench.compare.rounds import Plan, RoundRunner
from bench.compare.sides import Side

POOL_PHASE, POOL_ARM = "pool", "A"


@dataclass
class CalibrationSettings:
    stages: tuple[int, ...] = (5, 10)  # pairs per arm after which the gate decides
    trials: int = 200
    slowdown: float = 0.10
    threshold: float = 0.05
    confidence: float = 0.99
    n_resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    confirm: bool = True

    @property
    def pairs_needed(self) -> int:
        return max(self.stages) * (2 if self.confirm else 1)


@dataclass
class Rate:
    hits: int
    trials: int

    @property
    def value(self) -> float:
        return self.hits / self.trials if self.trials else float("nan")

    def interval(self) -> tuple[float, float]:
        if not self.trials:
            return (float("nan"), float("nan"))
        from scipy import stats as sps  # slow to import: only when rates are reported

        ci = sps.binomtest(self.hits, self.trials).proportion_ci(0.95, method="exact")
        return (float(ci.low), float(ci.high))

    def describe(self) -> str:
        lo, hi = self.interval()
        return f"{self.value * 100:.2f}% ({self.hits}/{self.trials}; 95% CI {lo * 100:.2f}–{hi * 100:.2f}%)"

    def to_dict(self) -> dict:
        lo, hi = self.interval()
        return {"hits": self.hits, "trials": self.trials, "rate": self.value, "ci95": [lo, hi]}


@dataclass
class CaseCalibration:
    case_id: str
    sigma_round: float  # SD of the per-pair log ratio, A/A (the sizing rule in docs/regression-gating.md)
    false_alarm_first: Rate
    false_alarm: Rate  # after confirmation
    detection_first: Rate
    detection: Rate  # after confirmation
    interval_misses: Rate  # A/A decisions whose interval excluded 1: the coverage a confidence level promises

    @property
    def rounds_for_budget(self) -> int:
        """Rounds per arm for SE(log ratio) <= 1.35 %: (1.25 sigma_r / 0.0135)^2 (docs/regression-gating.md)."""
        return int(np.ceil((1.25 * self.sigma_round / 0.0135) ** 2))


@dataclass
class CalibrationResult:
    settings: CalibrationSettings
    pool_rounds: int
    cases: list[CaseCalibration]
    suite_false_alarm: Rate
    suite_false_alarm_first: Rate
    excluded: dict[str, str] = field(default_factory=dict)  # case_id -> why it is not in the pool

    @property
    def detection(self) -> Rate:
        return Rate(sum(c.detection.hits for c in self.cases), sum(c.detection.trials for c in self.cases))

    @property
    def interval_misses(self) -> Rate:
        """A/A case decisions whose interval excluded no change (at most 1 - confidence if the interval is honest)."""
        return Rate(sum(c.interval_misses.hits for c in self.cases), sum(c.interval_misses.trials for c in self.cases))

    @property
    def case_false_alarm(self) -> Rate:
        return Rate(sum(c.false_alarm.hits for c in self.cases), sum(c.false_alarm.trials for c in self.cases))


def collect_pool(runner: RoundRunner, plan: Plan, rounds: int) -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    """Run ``rounds`` rounds; return (case_id -> per-round samples, case_id -> why excluded).

    Ctrl-C or a time limit ends the pool early: the rounds finished so far are kept (each round's run file
    is finalised as it ends), so ``calibrate --from-pool`` can replay them."""
    try:
        for _ in range(rounds):
            runner.run_round(POOL_PHASE, plan)
    except KeyboardInterrupt:
        pass
    return pool_of(runner.sides.get(POOL_PHASE, {}).get(POOL_ARM, {}), runner.rounds_run.get(POOL_PHASE, 0))


def pool_of(sides: dict[str, Side], rounds: int) -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    """The cases ok in all ``rounds`` complete rounds, and why each other case is left out."""
    pool, excluded = {}, {}
    for cid, side in sides.items():
        if side.status == "ok" and len(side.rounds) == rounds:
            pool[cid] = side.rounds
        else:
            excluded[cid] = f"{side.status}: {side.reason}" if side.status != "ok" else f"ok in {len(side.rounds)} of {rounds} rounds"
    return pool, excluded


def gate(base: list[np.ndarray], cand: list[np.ndarray], s: CalibrationSettings, rng: np.random.Generator) -> tuple[str, RatioEstimate]:
    """The sequential decision ``ab`` takes on paired rounds (stages of pairs), and the estimate it rests on."""
    kind = INCONCLUSIVE
    for stage in s.stages:
        estimate = ratio_ci(base[:stage], cand[:stage], s.confidence, s.n_resamples, rng, paired=True)
        kind = decide(estimate, s.threshold)
        if kind != INCONCLUSIVE:
            break
    return kind, estimate


def sigma_round(rounds: list[np.ndarray]) -> float:
    """SD of log(median(round 2i+1) / median(round 2i)): the A/A noise of one ``ab`` round."""
    medians = np.array([np.median(r) for r in rounds])
    pairs = len(medians) // 2
    return float(np.std(np.log(medians[1 : 2 * pairs : 2] / medians[0 : 2 * pairs : 2]), ddof=1)) if pairs > 1 else float("nan")


def _split(n_rounds: int, s: CalibrationSettings, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(A round, B round) pairs for one trial: adjacent rounds, shuffled, arms by coin flip."""
    pairs = [(2 * i, 2 * i + 1) if rng.random() < 0.5 else (2 * i + 1, 2 * i) for i in range(n_rounds // 2)]
    order = rng.permutation(len(pairs))
    return [pairs[i] for i in order[: s.pairs_needed]]


def _outcome(
    rounds: list[np.ndarray], pairs: list[tuple[int, int]], factor: float, s: CalibrationSettings, rng: np.random.Generator
) -> tuple[bool, bool, bool]:
    """(flagged by the first pass, confirmed by the re-run, the first pass's interval excluded no change)
    for one case and one split."""
    half = max(s.stages)

    def run(chunk: list[tuple[int, int]]) -> tuple[bool, bool]:
        base = [rounds[a] for a, _ in chunk]
        cand = [rounds[b] * factor for _, b in chunk]
        kind, estimate = gate(base, cand, s, rng)
        return kind == REGRESSION, not estimate.low <= 1.0 <= estimate.high

    first, excludes_one = run(pairs[:half])
    confirmed = first and (run(pairs[half:])[0] if s.confirm else True)
    return first, confirmed, excludes_one


def simulate(pool: dict[str, list[np.ndarray]], s: CalibrationSettings, excluded: dict[str, str] | None = None) -> CalibrationResult:
    """Rates of the gate on ``pool`` (case_id -> per-round samples, every case the same rounds)."""
    if not pool:
        raise ValueError("calibration pool is empty: no case was ok in every round")
    n_rounds = len(next(iter(pool.values())))
    if n_rounds // 2 < s.pairs_needed:
        raise ValueError(
            f"the pool has {n_rounds // 2} round pairs; stages up to {max(s.stages)} "
            f"{'with confirmation ' if s.confirm else ''}need {s.pairs_needed} pairs ({2 * s.pairs_needed} rounds)"
        )
    split_rng = np.random.default_rng(s.seed)
    # per case: fa first, fa confirmed, det first, det confirmed, A/A interval excluding no change
    counts = {cid: np.zeros(5, dtype=int) for cid in pool}
    suite_fa = suite_fa_first = 0
    for _trial in range(s.trials):
        pairs = _split(n_rounds, s, split_rng)
        any_first = any_confirmed = False
        for cid, rounds in pool.items():
            rng = case_rng(int(split_rng.integers(1 << 31)), cid)
            null = _outcome(rounds, pairs, 1.0, s, rng)
            injected = _outcome(rounds, pairs, 1.0 + s.slowdown, s, rng)
            counts[cid] += np.array([null[0], null[1], injected[0], injected[1], null[2]], dtype=int)
            any_first |= null[0]
            any_confirmed |= null[1]
        suite_fa_first += any_first
        suite_fa += any_confirmed
    cases = [CaseCalibration(cid, sigma_round(pool[cid]), *(Rate(int(c[i]), s.trials) for i in range(5))) for cid, c in sorted(counts.items())]
    return CalibrationResult(s, n_rounds, cases, Rate(suite_fa, s.trials), Rate(suite_fa_first, s.trials), dict(excluded or {}))
