"""Warm-up until stationary, the stability verdict, and the re-measurement of unstable cases.

All on the simulated asynchronous device and clock (tests/fakes.py): every time here is exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.runner.execute import measure_steady, run_case
from bench.stability import NOISY, STABLE, UNSTABLE, verdict
from bench.stats import summarize
from bench.suite import load as load_suite
from bench.timing import TimingConfig, measure
from bench.workloads.base import Built, Case
from tests.fakes import QueueAdapter
from tests.test_execute import Scale, install

STEADY_S = 0.3e-3
CONFIG = TimingConfig(warmup_s=0.05, min_warmup_calls=2, block_s=0.01, min_samples=8, max_samples=40, budget_s=0.1, canary=False)


def judge(samples):
    s = summarize(samples)
    return verdict(samples, s["ci95_low"], s["ci95_high"])


class SlowStart:
    """A call whose first ``slow_calls`` calls cost ``factor`` times the steady state (caches, autotuning, JIT)."""

    def __init__(self, adapter: QueueAdapter, slow_calls: int = 20, factor: float = 100.0):
        self.adapter, self.slow_calls, self.factor, self.calls = adapter, slow_calls, factor, 0

    def __call__(self):
        self.calls += 1
        cost = STEADY_S * (self.factor if self.calls <= self.slow_calls else 1.0)
        return self.adapter.enqueue(cost)


def test_verdicts_on_known_samples():
    rng = np.random.default_rng(0)
    steady = list(1e-3 * rng.lognormal(0, 0.01, 20))
    assert judge(steady).verdict == STABLE
    step = steady[:10] + [x * 1.3 for x in steady[10:]]  # a 30 % shift half-way
    result = judge(step)
    assert result.verdict == UNSTABLE and result.halves_ratio == pytest.approx(1.3, rel=0.02)
    small_shift = steady[:10] + [x * 1.12 for x in steady[10:]]  # 12 %, and clearly real
    assert judge(small_shift).verdict == UNSTABLE and judge(small_shift).trend_p < 0.01
    wide = list(1e-3 * rng.lognormal(0, 0.4, 20))
    assert judge(wide).verdict in (NOISY, UNSTABLE) and judge(wide).ci_rel_width > 0.10
    noisy = list(1e-3 * np.tile(rng.lognormal(0, 0.3, 10), 2))  # no trend by construction, wide spread
    assert judge(noisy).verdict == NOISY and judge(noisy).halves_ratio == pytest.approx(1.0)
    assert judge([1e-3] * 5).verdict == STABLE and judge([1e-3] * 5).trend_p is None  # too few for a trend test


def test_no_published_stable_timing_drifts_by_more_than_the_unstable_ratio():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(8, 60))
        drift = rng.uniform(0.7, 1.5)
        x = 1e-3 * rng.lognormal(0, rng.uniform(0, 0.3), n) * np.linspace(1, drift, n)
        result = judge(list(x))
        if result.verdict == STABLE and result.halves_ratio is not None:
            assert max(result.halves_ratio, 1 / result.halves_ratio) <= 1.25


def test_slow_warmup_within_the_window_is_waited_out(clock):
    """Slow calls that end while the warm-up windows watch: warm-up goes on until they are over."""
    adapter = QueueAdapter(clock)
    fn = SlowStart(adapter, slow_calls=5, factor=30.0)
    timing = measure(adapter, fn, TimingConfig(**{**CONFIG.to_dict(), "warmup_s": 0.0, "min_warmup_calls": 1}))
    assert timing.warmup.converged and timing.warmup.stop == "stationary"
    assert timing.warmup.calls > fn.slow_calls  # the slow calls were all warm-up
    assert timing.median == pytest.approx(STEADY_S, rel=0.1)  # the steady state, not the slow start
    assert timing.stability.verdict == STABLE


def test_a_slow_plateau_longer_than_the_warmup_is_caught_and_measured_again(clock):
    """20 calls 100x slower look stationary to every window inside them: the calls right after the samples
    show they were not the steady state; the case is measured again after a longer warm-up."""
    adapter = QueueAdapter(clock)
    first = measure(adapter, SlowStart(adapter), CONFIG)
    assert first.median == pytest.approx(100 * STEADY_S, rel=0.01)  # every sample on the plateau...
    assert first.stability.verdict == UNSTABLE and "still warming up" in first.stability.reasons[0]  # ...and said so
    adapter = QueueAdapter(clock)
    again = measure_steady(adapter, SlowStart(adapter), CONFIG)
    assert again.resampled[0].verdict == UNSTABLE
    assert again.stability.verdict == STABLE and again.median == pytest.approx(STEADY_S, rel=0.1)


def test_warmup_cap_leaves_a_drifting_case_unstable_then_a_longer_warmup_measures_it(clock):
    capped = TimingConfig(**{**CONFIG.to_dict(), "warmup_s": 0.0, "min_warmup_calls": 1, "max_warmup_s": 0.03})
    adapter = QueueAdapter(clock)
    first = measure(adapter, SlowStart(adapter, slow_calls=150, factor=3.0), capped)
    assert not first.warmup.converged and first.warmup.stop.startswith("time cap")
    assert first.stability.verdict == UNSTABLE  # the published samples still carry the slow start

    adapter = QueueAdapter(clock)
    again = measure_steady(adapter, SlowStart(adapter, slow_calls=150, factor=3.0), capped)
    assert again.resampled and again.resampled[0].verdict == UNSTABLE
    assert again.stability.verdict == STABLE and again.median == pytest.approx(STEADY_S, rel=0.1)


def test_a_slow_warming_case_is_never_a_plain_ok_median_of_its_slow_calls(monkeypatch, clock):
    """The issue's case: the first 20 calls 100x slower. Published at its steady state, or flagged unstable."""

    def build(adapter, params, dtype, mode, inputs):
        result = 2.0 * inputs["x"]
        slow = SlowStart(adapter)
        return Built(lambda: (slow(), result)[1], {"path": "slow start"})

    quick = load_suite("quick").timing  # before install(): it replaces every workload by the test's
    install(monkeypatch, build)
    for config in (TimingConfig(), quick, TimingConfig(**{**quick.to_dict(), "resample_unstable": False})):
        record = run_case(QueueAdapter(clock), Case.make("scale", {"n": 100}, "fp32", "eager"), config)
        assert record.status == "ok", record.reason
        steady = record.timing.median == pytest.approx(STEADY_S + 20e-6 / record.timing.calls_per_sample, rel=0.15)
        assert steady or "unstable" in record.flags, (record.timing.median, record.flags)
        assert record.timing.median < 10 * STEADY_S or "unstable" in record.flags


def test_unstable_verdict_becomes_a_flag_and_a_note(monkeypatch, clock):
    def build(adapter, params, dtype, mode, inputs):
        result = 2.0 * inputs["x"]
        calls = [0]

        def fn():  # every call slower than the one before: no warm-up ends this
            calls[0] += 1
            adapter.enqueue(STEADY_S * (1 + calls[0] / 200))
            return result

        return Built(fn, {"path": "drifts"})

    install(monkeypatch, build)
    config = TimingConfig(**{**CONFIG.to_dict(), "max_warmup_s": 0.05, "budget_s": 0.5, "max_samples": 100})
    record = run_case(QueueAdapter(clock), Case.make("scale", {"n": 100}, "fp32", "eager"), config)
    assert record.status == "ok" and record.flags == ["unstable"]
    assert record.notes[0].startswith("unstable (measured again after a longer warm-up: the first attempt was unstable): second half")
    assert record.timing.resampled[0].verdict == UNSTABLE


def test_scale_workload_is_the_one_from_test_execute():
    assert Scale.name == "scale"
