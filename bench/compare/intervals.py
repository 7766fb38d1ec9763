"""Confidence intervals of a ratio of medians from *rounds* (one median per worker process), and the
smallest change each can detect.

A round's median is one observation of the case: samples inside a process share its time slot and
the machine's state, so only rounds are independent (docs/regression-gating.md). On the log scale a
ratio is a difference, and round medians are close to log-normal, so Student's t gives intervals with
honest coverage at the few rounds a CI job can afford, where a percentile bootstrap over 5-10 rounds
covers far less than it claims:

- **paired** (``ab``: round i of both arms ran back to back): a one-sample t interval of
  d_i = log(median(B_i) / median(A_i));
- **unpaired** (``compare`` of separate runs measured with ``--rounds``): Welch's t interval of
  mean(log median(B_j)) - mean(log median(A_i)).

The minimum detectable effect (MDE) is the change the same design would detect with 80 % power at the
chosen confidence: exp((t_{1-alpha/2} + t_{0.8}) * SE) - 1, with the degrees of freedom of the interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

POWER = 0.8
PRIOR_DF = 50.0  # most weight a backend's prior gets in a case's moderated variance, in degrees of freedom
MIN_CASES_FOR_PRIOR = 4  # fewer cases of a backend say too little about its noise: no moderation


def round_medians(rounds: Sequence[np.ndarray]) -> np.ndarray:
    return np.array([float(np.median(np.asarray(r, dtype=float))) for r in rounds])


def _t(q: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def _interval(diff: float, se: float, df: float, confidence: float) -> tuple[float, float, float, float | None]:
    """(ratio, low, high, mde) of exp(diff) with standard error ``se`` on the log scale."""
    alpha = 1.0 - confidence
    if se == 0.0:
        return math.exp(diff), math.exp(diff), math.exp(diff), 0.0
    half = _t(1 - alpha / 2, df) * se
    mde = math.exp((_t(1 - alpha / 2, df) + _t(POWER, df)) * se) - 1.0
    return math.exp(diff), math.exp(diff - half), math.exp(diff + half), mde


def paired_t(
    baseline: Sequence[np.ndarray], candidate: Sequence[np.ndarray], confidence: float
) -> tuple[float, float, float, float | None, float, float]:
    """Ratio, CI, MDE, SE and degrees of freedom from paired rounds (same count on both sides, round i of
    each in the same time slot)."""
    d = np.log(round_medians(candidate)) - np.log(round_medians(baseline))
    n = len(d)
    se = float(d.std(ddof=1)) / math.sqrt(n)
    return (*_interval(float(d.mean()), se, n - 1, confidence), se, n - 1)


def welch_t(
    baseline: Sequence[np.ndarray], candidate: Sequence[np.ndarray], confidence: float, floor: NoiseFloor | None = None
) -> tuple[float, float, float, float | None, float, float]:
    """Ratio, CI, MDE, SE and degrees of freedom from independent rounds on each side (Welch-Satterthwaite).

    With a ``floor`` (the prior fitted to the between-round variances of every case of the backend), the
    case's variance is moderated towards it (the moderated t of Smyth 2004, limma):
    (d0·s0² + d·s²) / (d0 + d) on d + d0 degrees of freedom. Three rounds a side say little about a case's
    own noise; its backend's other cases say a lot when their noise is alike (d0 large), and nothing when
    it is not (d0 small: a launch-bound case's 20 % does not widen a GEMM's 0.3 %).
    """
    a, b = np.log(round_medians(baseline)), np.log(round_medians(candidate))
    if floor is not None:
        d = len(a) + len(b) - 2
        pooled = (float(((a - a.mean()) ** 2).sum()) + float(((b - b.mean()) ** 2).sum())) / d
        d0 = floor.df
        variance = (d0 * floor.variance + d * pooled) / (d0 + d)
        se, df = math.sqrt(variance * (1 / len(a) + 1 / len(b))), d0 + d
    else:
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb > 0 else len(a) + len(b) - 2
    ratio, low, high, mde = _interval(float(b.mean() - a.mean()), se, df, confidence)
    return ratio, low, high, mde, se, df


class NoiseFloor:
    """The prior of the between-round variances of one backend's cases: a typical variance s0² worth d0
    degrees of freedom (limma's empirical Bayes prior, Smyth 2004)."""

    def __init__(self, variance: float, df: float):
        self.variance, self.df = variance, df

    @classmethod
    def fit(cls, cases: Sequence[tuple[float, float]]) -> NoiseFloor | None:
        """From each case's (variance of log round medians, its degrees of freedom), by limma's method of moments
        on log variances (``fitFDist``): d0 is large when the cases' noise is alike, small when it is not, and
        at most ``PRIOR_DF``. None for fewer than ``MIN_CASES_FOR_PRIOR`` cases or a zero variance."""
        from scipy import special

        usable = [(v, d) for v, d in cases if v > 0 and d > 0]
        if len(usable) < MIN_CASES_FOR_PRIOR:
            return None
        v, d = np.array([u[0] for u in usable]), np.array([u[1] for u in usable])
        e = np.log(v) - special.digamma(d / 2) + np.log(d / 2)
        excess = float(e.var(ddof=1) - np.mean(special.polygamma(1, d / 2)))
        d0 = PRIOR_DF if excess <= 0 else min(PRIOR_DF, 2 * _trigamma_inverse(excess))
        return cls(float(np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2))), d0)


def _trigamma_inverse(y: float) -> float:
    """x with trigamma(x) = y (Newton's method from limma's starting point)."""
    from scipy import special

    x = 0.5 + 1 / y if y < 1e6 else 1 / math.sqrt(y)
    for _ in range(50):
        tri = float(special.polygamma(1, x))
        step = tri * (1 - tri / y) / float(special.polygamma(2, x))
        x += step
        if abs(step) < 1e-8 * x:
            break
    return x


def one_sided_p(log_ratio: float, se: float, df: float) -> float:
    """p-value of "no change" against a change in the direction of ``log_ratio`` (t distribution)."""
    from scipy import stats

    if se == 0.0:
        return 0.0 if log_ratio != 0 else 1.0
    return float(stats.t.sf(abs(log_ratio) / se, df))


def holm(p_values: dict[str, float], alpha: float) -> set[str]:
    """Keys whose p-value survives Holm's step-down at family-wise level ``alpha``."""
    kept: set[str] = set()
    ordered = sorted(p_values.items(), key=lambda kv: kv[1])
    for i, (key, p) in enumerate(ordered):
        if p > alpha / (len(ordered) - i):
            break
        kept.add(key)
    return kept


def sigma_between_rounds(rounds: Sequence[np.ndarray]) -> float:
    """SD of the log round medians: the between-process noise of one side."""
    logs = np.log(round_medians(rounds))
    return float(logs.std(ddof=1)) if len(logs) > 1 else math.nan
