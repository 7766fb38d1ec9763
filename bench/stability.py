"""Stability verdict of one case's samples (docs/design.md, rule 10; docs/measurement.md, "Noise").

A published median means something only if the calls it summarises were stationary and the
interval around it is narrow. From the samples in the order they were taken:

- **trend**: the median of the second half against the first half (``halves_ratio``) and a
  Mann-Whitney U test between the halves (``trend_p``): warm-up that never finished, throttling, or a
  neighbour process that came and went shows as a shift between halves;
- **precision**: the width of the 95 % confidence interval of the median relative to the median
  (``ci_rel_width``);
- **after**: per-call times of blocks run right after the samples (the drain check's): if those calls
  ran faster than the samples' median by more than ``UNSTABLE_RATIO``, the samples were still warming up
  on a plateau that no window before them could see the end of.

Verdicts:

- ``unstable``: the halves differ by more than ``UNSTABLE_RATIO`` whatever the test says, or by more than
  ``SHIFT_RATIO`` with ``trend_p`` < ``TREND_ALPHA``, or the calls after the samples were that much faster.
  The number is not one steady state.
- ``noisy``: steady, but ``ci_rel_width`` > ``NOISY_CI_WIDTH``: the median is imprecise.
- ``stable``: neither.

With fewer than ``MIN_HALF`` samples in a half there is no trend test; the verdict rests on the interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.results.records import Stability

UNSTABLE_RATIO = 1.25  # halves this far apart are unstable whatever the test says
SHIFT_RATIO = 1.10  # a shift this large between halves is unstable when the test says it is real
TREND_ALPHA = 0.01
NOISY_CI_WIDTH = 0.10  # 95 % CI of the median wider than 10 % of the median
MIN_HALF = 4

STABLE, NOISY, UNSTABLE = "stable", "noisy", "unstable"


def verdict(samples: Sequence[float], ci95_low: float, ci95_high: float, after: Sequence[float] = ()) -> Stability:
    """The stability verdict of ``samples`` (seconds per call, in the order they were taken); ``after``: seconds
    per call of blocks run right after them, wall clock (which only adds time, so it can only look slower)."""
    x = np.asarray(samples, dtype=float)
    median = float(np.median(x))
    width = (ci95_high - ci95_low) / median if median > 0 else math.inf
    reasons: list[str] = []
    ratio = p = None
    half = len(x) // 2
    if half >= MIN_HALF:
        first, second = x[:half], x[len(x) - half :]
        ratio = float(np.median(second) / np.median(first))
        p = _trend_p(first, second)
        shift = max(ratio, 1 / ratio)
        if shift > UNSTABLE_RATIO:
            reasons.append(f"second half's median is {ratio:.2f}x the first's")
        elif shift > SHIFT_RATIO and p < TREND_ALPHA:
            reasons.append(f"second half's median is {ratio:.2f}x the first's (Mann-Whitney p = {p:.2g})")
    if len(after) and float(np.median(after)) * UNSTABLE_RATIO < median:
        reasons.append(f"calls right after the samples ran at {float(np.median(after)) / median:.2g}x their median: still warming up")
    if reasons:
        kind = UNSTABLE
    elif width > NOISY_CI_WIDTH:
        kind = NOISY
        reasons.append(f"95% CI of the median spans {width:.0%} of it")
    else:
        kind = STABLE
    return Stability(verdict=kind, halves_ratio=ratio, trend_p=p, ci_rel_width=width, reasons=reasons)


def _trend_p(first: np.ndarray, second: np.ndarray) -> float:
    from scipy import stats  # imported here: a worker's start-up should not pay for scipy

    if np.all(first == first[0]) and np.all(second == first[0]):
        return 1.0
    return float(stats.mannwhitneyu(first, second, alternative="two-sided").pvalue)
