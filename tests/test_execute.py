"""run_case: correctness before timing, the sync canary, and failures turned into statuses."""

from types import SimpleNamespace

import numpy as np
import pytest

from bench import workloads
from bench.backends import Unsupported
from bench.runner.execute import run_case
from bench.timing import TimingConfig
from bench.workloads.base import Built, Case, Workload
from tests.fakes import QueueAdapter

CONFIG = TimingConfig(warmup_s=0.0, min_warmup_calls=1, block_s=0.004, min_samples=5, max_samples=6, budget_s=0.0)


class Scale(Workload):
    """y = 2x with a device cost proportional to n (so doubling n doubles the work)."""

    name = "scale"
    required_params = ("n",)

    def make_inputs(self, params, dtype, rng):
        return {"x": rng.standard_normal(params["n"]).astype(np.float32)}

    def reference(self, params, dtype, inputs):
        return 2.0 * inputs["x"].astype(np.float64)

    def flops(self, params):
        return float(params["n"])

    def canary_params(self, params):
        return {"n": params["n"] * 2}


def install(monkeypatch, build):
    monkeypatch.setattr(workloads, "get", lambda name: Scale())
    monkeypatch.setattr(workloads, "implementation", lambda name, fw: SimpleNamespace(build=build))


def good_build(adapter, params, dtype, mode, inputs):
    result = 2.0 * inputs["x"]  # the host gets a handle at once, like an asynchronous GPU call
    cost = params["n"] * 1e-7

    def fn():
        adapter.enqueue(cost)
        return result

    return Built(fn, {"path": "fake"})


CASE = Case.make("scale", {"n": 10000}, "fp32", "eager")


def test_ok_case_has_correctness_timing_canary_and_figures(monkeypatch, clock):
    install(monkeypatch, good_build)
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.status == "ok", record.reason
    assert record.correctness.rel_error == 0.0 and record.correctness.passed
    assert record.timing.sync_canary.passed
    assert record.timing.sync_canary.ratio == pytest.approx(2.0, rel=0.02)
    assert record.gflops == pytest.approx(10000 / record.timing.median / 1e9)
    assert record.info == {"path": "fake"}


def test_escaped_sync_is_an_error_and_not_published_as_ok(monkeypatch, clock):
    install(monkeypatch, good_build)
    record = run_case(QueueAdapter(clock, escape_sync=True), CASE, CONFIG)
    assert record.status == "error"
    assert record.reason.startswith("timing escaped synchronisation")
    assert record.timing.drain.escaped is True
    assert record.timing.sync_canary.passed is False  # the canary saw it too


def test_launch_bound_case_is_published_with_an_overhead_note(monkeypatch, clock):
    def launch_bound_build(adapter, params, dtype, mode, inputs):
        result = 2.0 * inputs["x"]
        cost = params["n"] * 1e-10  # the device work is tiny next to the 20 us launch

        def fn():
            adapter.enqueue(cost)
            return result

        return Built(fn)

    install(monkeypatch, launch_bound_build)
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.status == "ok"
    assert record.timing.drain.escaped is False
    assert record.timing.sync_canary.overhead_bound is True
    assert record.notes[0].startswith("overhead-bound")


def test_wrong_answer_is_mismatch_and_never_timed(monkeypatch, clock):
    def wrong_build(adapter, params, dtype, mode, inputs):
        return Built(lambda: 2.0 * inputs["x"] + 0.01)

    install(monkeypatch, wrong_build)
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.status == "mismatch"
    assert "exceeds tolerance" in record.reason
    assert record.timing is None and record.gflops is None


def test_nan_output_is_mismatch(monkeypatch, clock):
    install(monkeypatch, lambda a, p, d, m, i: Built(lambda: np.full_like(i["x"], np.nan)))
    assert run_case(QueueAdapter(clock), CASE, CONFIG).status == "mismatch"


def test_unsupported_and_errors_become_statuses(monkeypatch, clock):
    def unsupported(*args):
        raise Unsupported("no bf16 kernel here")

    install(monkeypatch, unsupported)
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert (record.status, record.reason) == ("unsupported", "no bf16 kernel here")

    def broken(*args):
        raise RuntimeError("kernel exploded")

    install(monkeypatch, broken)
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.status == "error" and "RuntimeError: kernel exploded" in record.reason

    def oom(*args):
        raise MemoryError("out of memory allocating 64 GiB")

    install(monkeypatch, oom)
    assert run_case(QueueAdapter(clock), CASE, CONFIG).status == "oom"


def test_missing_framework_implementation_is_unsupported(monkeypatch, clock):
    monkeypatch.setattr(workloads, "get", lambda name: Scale())
    monkeypatch.setattr(workloads, "implementation", lambda name, fw: None)
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.status == "unsupported" and "no torch implementation" in record.reason


def test_every_backend_sees_the_same_inputs():
    spec = workloads.get("matmul")
    assert spec.input_seed({"m": 4, "n": 4, "k": 4}) == spec.input_seed({"k": 4, "n": 4, "m": 4})  # order-free
    assert spec.input_seed({"m": 8, "n": 4, "k": 4}) != spec.input_seed({"m": 4, "n": 4, "k": 4})
    sdpa = workloads.get("sdpa")  # variants computing the same result share inputs (the reference key)
    fused = {"b": 1, "h": 2, "l": 8, "d": 4, "causal": False, "variant": "fused"}
    assert sdpa.input_seed(fused) == sdpa.input_seed({**fused, "variant": "naive"})
