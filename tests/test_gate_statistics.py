"""Intervals of the ratio of medians (t over rounds, a bootstrap of samples), their coverage and MDE, and the three-way
decision, on samples with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from bench.compare.bootstrap import (
    MIN_PAIRED_ROUNDS,
    MIN_ROUNDS,
    RatioEstimate,
    _Pool,
    case_rng,
    pooled_median,
    ratio_ci,
)
from bench.compare.decision import (
    IMPROVEMENT,
    INCONCLUSIVE,
    NO_CHANGE,
    REGRESSION,
    decide,
    parse_threshold,
)


def est(ratio: float, low: float, high: float) -> RatioEstimate:
    return RatioEstimate(ratio, low, high, 0.99, (10, 10), "paired rounds")


@pytest.mark.parametrize(
    "ratio, low, high, expected",
    [
        (1.30, 1.25, 1.35, REGRESSION),  # clearly slower
        (1.06, 1.01, 1.11, REGRESSION),  # estimate beyond the margin, CI clears 1.00 (not 1.05)
        (1.06, 0.99, 1.13, INCONCLUSIVE),  # beyond the margin but the CI still includes 1
        (1.04, 1.02, 1.07, INCONCLUSIVE),  # surely slower, maybe beyond the margin
        (1.03, 1.01, 1.045, NO_CHANGE),  # surely slower but surely within the margin
        (1.00, 0.98, 1.02, NO_CHANGE),
        (1.02, 0.90, 1.20, NO_CHANGE),  # docs/regression-gating.md, decision: estimate inside the margin and CI includes 1
        (0.70, 0.66, 0.74, IMPROVEMENT),
        (0.94, 0.90, 0.99, IMPROVEMENT),  # 0.94 < 1/1.05
        (0.94, 0.88, 1.01, INCONCLUSIVE),
        (0.96, 0.93, 0.98, INCONCLUSIVE),  # surely faster, maybe beyond the margin (1/1.05 = 0.952)
    ],
)
def test_decision_table(ratio, low, high, expected):
    assert decide(est(ratio, low, high), 0.05) == expected


def test_decision_threshold_is_a_margin_on_the_estimate():
    e = est(1.08, 1.03, 1.13)
    assert decide(e, 0.05) == REGRESSION
    assert decide(e, 0.10) == INCONCLUSIVE  # inside a 10 % margin, surely slower, may exceed 10 %: more rounds
    assert decide(est(1.08, 1.03, 1.09), 0.10) == NO_CHANGE  # surely slower, surely within 10 %


def test_decision_rejects_non_finite_and_bad_threshold():
    assert decide(est(float("nan"), 1.0, 1.1), 0.05) == INCONCLUSIVE
    with pytest.raises(ValueError):
        decide(est(1.0, 0.9, 1.1), 0.0)


@pytest.mark.parametrize("text, value", [("5%", 0.05), ("0.05", 0.05), (" 10% ", 0.10), ("2.5%", 0.025)])
def test_parse_threshold(text, value):
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["five", "0%", "100%", "-5%", "1.5"])
def test_parse_threshold_rejects(text):
    with pytest.raises(ValueError):
        parse_threshold(text)


@pytest.mark.parametrize("by_round", [True, False])
def test_weighted_median_equals_median_of_concatenated_resample(by_round):
    rng = np.random.default_rng(3)
    rounds = [rng.lognormal(0, 0.2, int(n)) for n in rng.integers(1, 9, size=7)]
    pool = _Pool(rounds, by_round)
    draws = pool.draw(rng, 300)
    flat = np.concatenate(rounds)
    if by_round:
        expected = [np.median(np.concatenate([rounds[j] for j in row])) for row in draws]
    else:
        expected = [np.median(flat[row]) for row in draws]
    np.testing.assert_allclose(pool.medians(draws), expected)


def test_exact_scaling_gives_exact_ratio_and_degenerate_paired_ci():
    rng = np.random.default_rng(0)
    base = [rng.lognormal(0, 0.05, 12) for _ in range(10)]
    cand = [r * 1.3 for r in base]
    e = ratio_ci(base, cand, paired=True, rng=case_rng(0, "x"))
    assert e.ratio == pytest.approx(1.3)
    assert e.low == pytest.approx(1.3) and e.high == pytest.approx(1.3)  # every paired resample has ratio 1.3
    assert e.method == "paired rounds"
    assert decide(e, 0.05) == REGRESSION


def test_ten_percent_slowdown_with_low_noise_is_a_regression_and_ci_covers_truth():
    rng = np.random.default_rng(1)
    base = [rng.lognormal(0, 0.01, 10) * rng.lognormal(0, 0.01) for _ in range(20)]
    cand = [rng.lognormal(np.log(1.10), 0.01, 10) * rng.lognormal(0, 0.01) for _ in range(20)]
    e = ratio_ci(base, cand, rng=case_rng(0, "x"))
    assert e.low < 1.10 < e.high
    assert decide(e, 0.05) == REGRESSION


def test_same_distribution_is_no_change():
    rng = np.random.default_rng(2)
    base = [rng.lognormal(0, 0.02, 10) for _ in range(20)]
    cand = [rng.lognormal(0, 0.02, 10) for _ in range(20)]
    e = ratio_ci(base, cand, rng=case_rng(0, "x"))
    assert e.low < 1.0 < e.high
    assert decide(e, 0.05) == NO_CHANGE


def test_small_change_buried_in_noise_is_inconclusive_not_a_regression():
    rng = np.random.default_rng(4)
    base = [rng.lognormal(0, 0.3, 5) * rng.lognormal(0, 0.3) for _ in range(6)]
    cand = [rng.lognormal(np.log(1.07), 0.3, 5) * rng.lognormal(0, 0.3) for _ in range(6)]
    e = ratio_ci(base, cand, rng=case_rng(0, "x"))
    assert e.high - e.low > 0.3  # very noisy
    assert decide(e, 0.05) in (INCONCLUSIVE, NO_CHANGE)


def test_pairing_cancels_drift_shared_by_a_round():
    """Round offsets of +-30 % hit A and B of the same round alike: paired resampling sees through them."""
    rng = np.random.default_rng(5)
    offsets = rng.lognormal(0, 0.3, 12)
    base = [o * rng.lognormal(0, 0.01, 10) for o in offsets]
    cand = [o * 1.10 * rng.lognormal(0, 0.01, 10) for o in offsets]
    paired = ratio_ci(base, cand, paired=True, rng=case_rng(0, "x"))
    unpaired = ratio_ci(base, cand, paired=False, rng=case_rng(0, "x"))
    assert decide(paired, 0.05) == REGRESSION
    assert paired.high - paired.low < (unpaired.high - unpaired.low) / 5
    assert decide(unpaired, 0.05) != REGRESSION


def test_few_rounds_fall_back_to_samples_and_say_so():
    rng = np.random.default_rng(6)
    few = [rng.lognormal(0, 0.02, 10) for _ in range(MIN_ROUNDS - 1)]
    many = [rng.lognormal(0, 0.02, 10) for _ in range(MIN_ROUNDS)]
    pairs = [rng.lognormal(0, 0.02, 10) for _ in range(MIN_PAIRED_ROUNDS)]
    assert ratio_ci(few, few).method == "samples" and ratio_ci(few, few).evidence == "samples"
    assert ratio_ci(many, few).method == "samples"  # one side's noise between processes is unknown
    assert ratio_ci(many, many).method == "rounds" and ratio_ci(many, many).evidence == "rounds"
    assert ratio_ci(many, many, paired=True).method == "rounds"  # too few pairs to pair: Welch on the rounds
    assert ratio_ci(pairs, pairs, paired=True).method == "paired rounds"
    assert ratio_ci(few, few, paired=True).method == "samples"


@pytest.mark.parametrize("paired, rounds", [(False, MIN_ROUNDS), (False, 6), (True, MIN_PAIRED_ROUNDS), (True, 10)])
def test_round_intervals_cover_as_promised_with_few_rounds(paired, rounds):
    """A/A with 10 % noise between processes (log-normal round offsets): a 99 % interval excludes no change
    in about 1 % of comparisons, at the smallest number of rounds a decision is allowed on (seeded)."""
    rng = np.random.default_rng(rounds + 100 * paired)
    trials, misses = 2000, 0
    for _ in range(trials):
        shared = rng.lognormal(0, 0.05, rounds) if paired else np.ones(rounds)  # time-slot drift both arms see
        a = [shared[i] * rng.lognormal(0, 0.10) * rng.lognormal(0, 0.02, 8) for i in range(rounds)]
        b = [shared[i] * rng.lognormal(0, 0.10) * rng.lognormal(0, 0.02, 8) for i in range(rounds)]
        e = ratio_ci(a, b, confidence=0.99, paired=paired)
        misses += not (e.low <= 1.0 <= e.high)
    assert misses / trials <= 0.02  # 1 % expected; at most twice that (the bound)


def test_minimum_detectable_effect_follows_the_noise_and_the_rounds():
    rng = np.random.default_rng(11)

    def mde(sigma, rounds):
        a = [rng.lognormal(0, sigma) * np.ones(5) for _ in range(rounds)]
        b = [rng.lognormal(0, sigma) * np.ones(5) for _ in range(rounds)]
        return ratio_ci(a, b, confidence=0.99).mde

    assert mde(0.01, 10) < mde(0.05, 10) < mde(0.05, 3)
    # sigma 5 %, 10 rounds a side: (t_0.995 + t_0.8) * 0.05 * sqrt(2/10) with ~18 df: about 8 %
    assert 0.04 < np.median([mde(0.05, 10) for _ in range(50)]) < 0.12


def test_ci_coverage_on_iid_samples():
    """99 % CIs of an A/A ratio on independent samples exclude 1 rarely (seeded, so deterministic)."""
    rng = np.random.default_rng(7)
    misses = 0
    for i in range(150):
        a, b = [rng.lognormal(0, 0.05, 30)], [rng.lognormal(0, 0.05, 30)]
        e = ratio_ci(a, b, n_resamples=1000, rng=case_rng(i, "cov"))
        misses += not (e.low <= 1.0 <= e.high)
    assert misses <= 4  # ~1 % expected; percentile bootstrap of a median runs a little liberal


def test_seeded_and_independent_of_case_order():
    """The bootstrap of samples (one round a side) is seeded by the run's seed and the case id; t intervals
    over rounds need no seed at all."""
    rng = np.random.default_rng(8)
    a = [rng.lognormal(0, 0.1, 40)]
    b = [rng.lognormal(0, 0.1, 40)]
    first = ratio_ci(a, b, rng=case_rng(0, "case-1"))
    ratio_ci(a, b, rng=case_rng(0, "case-2"))
    again = ratio_ci(a, b, rng=case_rng(0, "case-1"))
    other_seed = ratio_ci(a, b, rng=case_rng(1, "case-1"))
    assert (first.low, first.high) == (again.low, again.high)
    assert (first.low, first.high) != (other_seed.low, other_seed.high)


def test_pooled_median_and_input_checks():
    assert pooled_median([np.array([1.0, 3.0]), np.array([2.0, 10.0])]) == 2.5
    with pytest.raises(ValueError):
        ratio_ci([np.array([])], [np.array([1.0])])
    with pytest.raises(ValueError):
        ratio_ci([np.ones(3)] * 5, [np.ones(3)] * 6, paired=True)
    with pytest.raises(ValueError):
        ratio_ci([np.ones(3)], [np.ones(3)], confidence=1.0)


def test_a_suite_compared_on_three_rounds_a_side_stays_green_on_a_a_and_catches_a_real_slowdown():
    """80 cases, 3 rounds a side, 8 % noise between processes: Holm across the cases keeps A/A suites green,
    and the backend's pooled noise floor keeps a +40 % slowdown of one case detectable."""
    from bench.compare.comparison import compare_sides
    from bench.compare.sides import Side

    def sides(rng, factor_of):
        out = {}
        for i in range(80):
            cid = f"matmul[n={i}]/fp32/eager@torch:cpu"
            side = Side(cid)
            for r in range(3):
                side.rounds.append(1e-3 * (1 + i / 80) * factor_of(i) * rng.lognormal(0, 0.08) * rng.lognormal(0, 0.01, 10))
                side.round_keys.append(r)
                side.statuses.append("ok")
                side.reasons.append("")
            out[cid] = side
        return out

    rng = np.random.default_rng(21)
    failed = sum(compare_sides(sides(rng, lambda i: 1.0), sides(rng, lambda i: 1.0)).failed() for _ in range(30))
    assert failed <= 1  # family-wise 1 %: at most one of 30 A/A suite comparisons may fail
    caught = sum(compare_sides(sides(rng, lambda i: 1.0), sides(rng, lambda i: 1.4 if i == 7 else 1.0)).failed() for _ in range(20))
    assert caught >= 14


def test_a_quiet_case_is_not_widened_by_noisy_cases_of_its_backend():
    """A GEMM with 0.3 % between-process noise beside launch-bound cases with 20 %: the fitted prior gives
    little weight when the cases' noise differs, so the GEMM keeps a narrow interval (seen on an H200)."""
    from bench.compare.comparison import compare_sides
    from bench.compare.sides import Side

    rng = np.random.default_rng(31)

    def side(sigmas):
        out = {}
        for i, sigma in enumerate(sigmas):
            s = Side(f"w[n={i}]/bf16/eager@torch:cuda")
            for r in range(3):
                s.rounds.append(1e-4 * rng.lognormal(0, sigma) * rng.lognormal(0, 0.002, 12))
                s.round_keys.append(r)
                s.statuses.append("ok")
                s.reasons.append("")
            out[s.case_id] = s
        return out

    sigmas = [0.003, 0.2, 0.25, 0.22, 0.18]
    comparison = compare_sides(side(sigmas), side(sigmas))
    quiet = next(r for r in comparison.results if r.case_id.startswith("w[n=0]"))
    noisy = [r for r in comparison.results if not r.case_id.startswith("w[n=0]")]
    assert quiet.estimate.mde < 0.06  # pooled with the noisy cases it would be tens of percent
    assert min(r.estimate.mde for r in noisy) > 10 * quiet.estimate.mde
