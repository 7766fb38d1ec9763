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


def paired_t(baseline: Sequence[np.ndarray], candidate: Sequence[np.ndarray], confidence: float) -> tuple[float, float, float, float | None]:
    """Ratio, CI and MDE from paired rounds (same count on both sides, round i of each in the same time slot)."""
    d = np.log(round_medians(candidate)) - np.log(round_medians(baseline))
    n = len(d)
    return _interval(float(d.mean()), float(d.std(ddof=1)) / math.sqrt(n), n - 1, confidence)


def welch_t(baseline: Sequence[np.ndarray], candidate: Sequence[np.ndarray], confidence: float) -> tuple[float, float, float, float | None]:
    """Ratio, CI and MDE from independent rounds on each side (Welch-Satterthwaite degrees of freedom)."""
    a, b = np.log(round_medians(baseline)), np.log(round_medians(candidate))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb > 0 else len(a) + len(b) - 2
    return _interval(float(b.mean() - a.mean()), se, df, confidence)


def sigma_between_rounds(rounds: Sequence[np.ndarray]) -> float:
    """SD of the log round medians: the between-process noise of one side."""
    logs = np.log(round_medians(rounds))
    return float(logs.std(ddof=1)) if len(logs) > 1 else math.nan
