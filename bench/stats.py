"""Summary statistics of timing samples: median with IQR and a distribution-free CI of the median."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def median_ci(samples: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Order-statistic (binomial) confidence interval of the median; no normality assumed.

    With fewer samples than the confidence needs (n < 6 at 95 %), the interval is the sample range.
    """
    from scipy import stats as sps  # imported here: a worker's start-up should not pay for scipy

    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    if n == 0:
        return (math.nan, math.nan)
    alpha = 1.0 - confidence
    lo = int(sps.binom.ppf(alpha / 2, n, 0.5))  # number of samples below the lower bound
    if lo < 1:
        return (float(x[0]), float(x[-1]))
    # Ranks lo and n-lo+1 (1-based) bracket the median with probability >= confidence.
    return (float(x[lo - 1]), float(x[n - lo]))


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """median, q1, q3, iqr, min, max, mean, std, ci95_low, ci95_high, n_samples (seconds)."""
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        raise ValueError("no samples to summarize")
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    lo, hi = median_ci(x.tolist(), 0.95)
    return {
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "iqr": float(q3 - q1),
        "min": float(x.min()),
        "max": float(x.max()),
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "ci95_low": lo,
        "ci95_high": hi,
        "n_samples": int(x.size),
    }
