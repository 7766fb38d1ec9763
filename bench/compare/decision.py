"""Three-way decision on a ratio estimate (Pinpoint-style; docs/regression-gating.md).

With threshold t (the practical-significance margin, 5 % by default) and the CI [lo, hi] of
r = candidate / baseline:

- regression   r > 1+t and lo > 1            (beyond the margin, and surely slower)
- improvement  r < 1/(1+t) and hi < 1        (the mirror image, in log space)
- no change    on each side either the CI stays inside the margin (hi < 1+t, lo > 1/(1+t)),
               or the estimate is inside the margin and the CI does not exclude 1
- inconclusive anything else: the estimate is beyond the margin but the CI still includes 1,
               or the CI excludes 1 but reaches beyond the margin. ``ab`` adds rounds.

The threshold is a margin on the *estimate*, not a significance level: the CI only has to clear
1.00. So a true change of 2t is caught with high power while noise has to fake both a t-sized
estimate and a CI that excludes 1 (docs/regression-gating.md: a threshold equal to the effect you must catch
detects it only half the time).
"""

from __future__ import annotations

import math

from bench.compare.bootstrap import RatioEstimate

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NO_CHANGE = "no change"
INCONCLUSIVE = "inconclusive"
DECISIONS = (REGRESSION, IMPROVEMENT, NO_CHANGE, INCONCLUSIVE)


def decide(estimate: RatioEstimate, threshold: float) -> str:
    """One of DECISIONS for ``estimate`` with margin ``threshold`` (0.05 for 5 %)."""
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    r, lo, hi = estimate.ratio, estimate.low, estimate.high
    if not all(math.isfinite(v) and v > 0 for v in (r, lo, hi)):
        return INCONCLUSIVE
    up, down = 1.0 + threshold, 1.0 / (1.0 + threshold)
    if r > up and lo > 1.0:
        return REGRESSION
    if r < down and hi < 1.0:
        return IMPROVEMENT
    slower_ruled_out = hi < up or (r <= up and lo <= 1.0)
    faster_ruled_out = lo > down or (r >= down and hi >= 1.0)
    return NO_CHANGE if slower_ruled_out and faster_ruled_out else INCONCLUSIVE


def parse_threshold(text: str) -> float:
    """``5%`` or ``0.05`` → 0.05. Raises ValueError with the problem."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"expected a percentage like 5% or a fraction like 0.05, got {text!r}") from None
    if not 0 < value < 1:
        raise ValueError(f"must be between 0% and 100% (exclusive), got {text!r}")
    return value
