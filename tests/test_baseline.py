"""Built.baseline: the unoptimised variant is checked, timed right after the case, and the ratio stored."""

import pytest

from bench.runner.execute import run_case
from bench.workloads.base import Built
from tests.test_execute import CASE, CONFIG, install


def build_with_baseline(cost_factor, baseline_scale=2.0):
    def build(adapter, params, dtype, mode, inputs):
        cost = params["n"] * 1e-7

        def timed(scale, factor):
            result = scale * inputs["x"]

            def fn():
                adapter.enqueue(cost * factor)
                return result

            return fn

        baseline = Built(timed(baseline_scale, cost_factor), {"path": "unfused"})
        return Built(timed(2.0, 1.0), {"path": "fused"}, baseline=baseline, baseline_metric="fusion_gain")

    return build


def test_baseline_is_timed_and_its_ratio_is_a_metric(monkeypatch, clock):
    from tests.fakes import QueueAdapter

    install(monkeypatch, build_with_baseline(cost_factor=3.0))
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.status == "ok", record.reason
    baseline = record.baseline
    assert baseline.status == "ok" and baseline.correctness.passed
    assert baseline.info == {"path": "unfused"}
    # Simulated device: the baseline queues 3x the work per call, launch costs aside.
    assert record.metrics["fusion_gain"] == pytest.approx(3.0, rel=0.01)
    assert record.metrics["fusion_gain"] == pytest.approx(baseline.timing.median / record.timing.median)


def test_wrong_baseline_is_a_mismatch_and_gets_no_ratio(monkeypatch, clock):
    from tests.fakes import QueueAdapter

    install(monkeypatch, build_with_baseline(cost_factor=3.0, baseline_scale=2.5))
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.status == "ok", "the case itself is right; only its baseline is wrong"
    assert record.baseline.status == "mismatch"
    assert not record.baseline.correctness.passed and record.baseline.timing is None
    assert "fusion_gain" not in record.metrics
