"""The ratio of medians (candidate / baseline) with a confidence interval, from whatever evidence there is.

A *round* is the samples of one case from one worker process (one run file, one round of ``run --rounds``
or of ``siliconbench ab``). Samples inside a round are not independent: the noise that matters comes
from the process, the time slot and the machine (docs/regression-gating.md). So (``ratio_ci``):

- ``paired rounds``: both sides have the same ``MIN_PAIRED_ROUNDS`` or more rounds in the same time slots
  (the ``ab`` layout): a paired t interval of the log round ratios (bench/compare/intervals.py);
- ``rounds``: both sides have ``MIN_ROUNDS`` or more rounds: Welch's t interval of the log round medians;
- ``samples``: otherwise, a percentile bootstrap of the pooled samples. It knows nothing of the noise
  between processes, so it is optimistic: its decisions are *evidence from samples* (``RatioEstimate.evidence``)
  and may nominate a case, never fail a gate.

Shapes: a side is a list of 1-D arrays of seconds per call, one array per round (lengths may differ).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.compare.intervals import POWER, NoiseFloor, one_sided_p, paired_t, welch_t

MIN_ROUNDS = 3  # rounds per side before an unpaired interval says anything about between-process noise
MIN_PAIRED_ROUNDS = 5  # paired rounds before a paired interval is used
DEFAULT_RESAMPLES = 2000
_MAX_CELLS = 4_000_000  # resamples x pooled samples per batch, to bound memory

Rounds = Sequence[np.ndarray]


@dataclass(frozen=True)
class RatioEstimate:
    """r = median(pooled candidate) / median(pooled baseline); [low, high] its CI at ``confidence``."""

    ratio: float
    low: float
    high: float
    confidence: float
    rounds: tuple[int, int]  # (baseline, candidate)
    method: str  # "paired rounds", "rounds" or "samples"
    mde: float | None = None  # smallest relative change this design detects with 80 % power (0.1 = 10 %)
    se_log: float | None = None  # standard error of the log ratio (rounds only)
    df: float | None = None  # its degrees of freedom

    def p_value(self) -> float | None:
        """One-sided p of "no change" against the direction of the estimate (rounds only)."""
        if self.se_log is None or self.df is None:
            return None
        return one_sided_p(math.log(self.ratio), self.se_log, self.df)

    @property
    def evidence(self) -> str:
        """``rounds`` when the interval covers between-process noise, else ``samples`` (within one process)."""
        return "samples" if self.method == "samples" else "rounds"

    @property
    def log_halfwidth(self) -> float:
        """Half the width of the CI of log(r): the precision the decision had."""
        return float((np.log(self.high) - np.log(self.low)) / 2)

    def describe(self) -> str:
        """``+30.0% (CI +28.1% … +31.9%, 10/10 rounds)``."""
        pct = lambda v: f"{(v - 1) * 100:+.1f}%"
        return f"{pct(self.ratio)} (CI {pct(self.low)} … {pct(self.high)}, {self.rounds[0]}/{self.rounds[1]} rounds)"

    def to_dict(self) -> dict:
        return {
            "ratio": self.ratio,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "rounds": list(self.rounds),
            "method": self.method,
            "evidence": self.evidence,
            "mde": self.mde,
        }


def pooled_median(rounds: Rounds) -> float:
    return float(np.median(np.concatenate([np.asarray(r, dtype=float) for r in rounds])))


def case_rng(seed: int, key: str) -> np.random.Generator:
    """A generator seeded by the run's seed and the case's id: results do not depend on case order."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


class _Pool:
    """A side's samples sorted once, with the group (round, or sample) each belongs to.

    A bootstrap resample is a count per group; the pooled median of the resample is then a weighted
    median of the sorted values, found with one cumulative sum per resample instead of a sort.
    """

    def __init__(self, rounds: Rounds, by_round: bool):
        values = np.concatenate([np.asarray(r, dtype=float) for r in rounds])
        groups = np.repeat(np.arange(len(rounds)), [len(r) for r in rounds]) if by_round else np.arange(len(values))
        order = np.argsort(values, kind="stable")
        self.values = values[order]
        self.groups = groups[order]
        self.n_groups = len(rounds) if by_round else len(values)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, self.n_groups, (n, self.n_groups))

    def medians(self, draws: np.ndarray) -> np.ndarray:
        """(B,) pooled medians for (B, n_groups) group indices drawn with replacement."""
        out = np.empty(len(draws))
        step = max(1, _MAX_CELLS // len(self.values))
        for start in range(0, len(draws), step):
            idx = draws[start : start + step]
            rows = len(idx)
            counts = (
                np.bincount((idx + self.n_groups * np.arange(rows)[:, None]).ravel(), minlength=rows * self.n_groups)
                .reshape(rows, self.n_groups)
                .astype(np.int32)
            )
            cum = np.cumsum(counts[:, self.groups], axis=1, dtype=np.int32)  # (rows, N): positions covered so far
            total = cum[:, -1:]
            lower = (cum <= (total - 1) // 2).sum(axis=1)  # first sorted value past the lower middle
            upper = (cum <= total // 2).sum(axis=1)
            out[start : start + rows] = (self.values[lower] + self.values[upper]) / 2
        return out


def ratio_ci(
    baseline: Rounds,
    candidate: Rounds,
    confidence: float = 0.99,
    n_resamples: int = DEFAULT_RESAMPLES,
    rng: np.random.Generator | None = None,
    paired: bool = False,
    floor: NoiseFloor | None = None,
) -> RatioEstimate:
    """median(candidate) / median(baseline) with its ``confidence`` interval, by the best method the rounds allow.

    ``floor``: the backend's pooled between-round noise, the least standard error an unpaired interval uses.

    ``paired`` requires the same number of rounds on both sides, round i of each taken in the same time
    slot. The estimate is the ratio of pooled medians for samples, the geometric mean of the round ratios
    for rounds (what the t interval is centred on).
    """
    if not baseline or not candidate or any(len(r) == 0 for r in (*baseline, *candidate)):
        raise ValueError("ratio_ci: every round needs at least one sample")
    if not 0 < confidence < 1:
        raise ValueError(f"ratio_ci: confidence must be in (0, 1), got {confidence}")
    if paired and len(baseline) != len(candidate):
        raise ValueError(f"ratio_ci: paired rounds need equal counts, got {len(baseline)} and {len(candidate)}")
    rounds = (len(baseline), len(candidate))
    if paired and len(baseline) >= MIN_PAIRED_ROUNDS:
        ratio, low, high, mde, se, df = paired_t(baseline, candidate, confidence)
        return RatioEstimate(ratio, low, high, confidence, rounds, "paired rounds", mde, se, df)
    if min(rounds) >= MIN_ROUNDS:
        ratio, low, high, mde, se, df = welch_t(baseline, candidate, confidence, floor)
        return RatioEstimate(ratio, low, high, confidence, rounds, "rounds", mde, se, df)
    return _samples_bootstrap(baseline, candidate, confidence, n_resamples, rng or np.random.default_rng(0))


def _samples_bootstrap(baseline: Rounds, candidate: Rounds, confidence: float, n_resamples: int, rng: np.random.Generator) -> RatioEstimate:
    """Percentile bootstrap of the pooled samples of each side: within-process evidence only."""
    pools = [_Pool(side, by_round=False) for side in (baseline, candidate)]
    base_medians, cand_medians = (pool.medians(pool.draw(rng, n_resamples)) for pool in pools)
    alpha = 1.0 - confidence
    low, high = np.quantile(cand_medians / base_medians, [alpha / 2, 1 - alpha / 2])
    # As if the bootstrap interval were a normal one: the MDE it implies, within one process only.
    z = float(np.log(high / low) / 2) / _z(1 - alpha / 2)
    mde = float(np.exp((_z(1 - alpha / 2) + _z(POWER)) * z) - 1)
    return RatioEstimate(
        ratio=pooled_median(candidate) / pooled_median(baseline),
        low=float(low),
        high=float(high),
        confidence=confidence,
        rounds=(len(baseline), len(candidate)),
        method="samples",
        mde=mde,
    )


def _z(q: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(q))
