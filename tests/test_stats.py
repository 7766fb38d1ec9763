import numpy as np
import pytest
from scipy import stats as sps

from bench.stats import median_ci, summarize


def test_median_ci_uses_binomial_order_statistics():
    x = np.arange(1.0, 21.0)  # n = 20: the 95 % interval is ranks 6 and 15 (1-based)
    assert median_ci(x) == (6.0, 15.0)


def test_median_ci_covers_true_median_at_nominal_rate():
    rng = np.random.default_rng(0)
    hits = 0
    trials = 2000
    for _ in range(trials):
        sample = rng.lognormal(0.0, 0.5, size=25)  # true median is 1.0
        lo, hi = median_ci(sample)
        hits += lo <= 1.0 <= hi
    coverage = hits / trials
    exact = 1 - 2 * sps.binom.cdf(int(sps.binom.ppf(0.025, 25, 0.5)) - 1, 25, 0.5)
    assert abs(coverage - exact) < 0.02 and coverage >= 0.93


def test_median_ci_falls_back_to_range_for_tiny_samples():
    assert median_ci([3.0, 1.0, 2.0]) == (1.0, 3.0)


def test_summarize_fields():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median"] == 3.0
    assert s["q1"] == 2.0 and s["q3"] == 4.0 and s["iqr"] == 2.0
    assert s["min"] == 1.0 and s["max"] == 100.0
    assert s["mean"] == pytest.approx(22.0)
    assert s["n_samples"] == 5


def test_summarize_rejects_empty():
    with pytest.raises(ValueError):
        summarize([])
