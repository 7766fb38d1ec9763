"""The timing engine against a simulated asynchronous device (exact, deterministic: no real timing)."""

import pytest

from bench.timing import TimingConfig, measure
from tests.fakes import LAUNCH_S, QueueAdapter

CONFIG = TimingConfig(warmup_s=0.0, min_warmup_calls=2, block_s=0.004, min_samples=5, max_samples=8, budget_s=0.0)


def test_synchronised_timing_sees_the_device_work(clock):
    adapter = QueueAdapter(clock)
    timing = measure(adapter, lambda: adapter.enqueue(0.002), CONFIG)
    assert timing.median == pytest.approx(0.002, rel=0.02)  # + one launch latency per block
    assert timing.n_samples >= CONFIG.min_samples
    assert len(timing.samples) == timing.n_samples
    assert timing.warmup_calls >= CONFIG.min_warmup_calls
    assert timing.timer == "wall"


def test_escaped_synchronisation_reports_launch_cost_only(clock):
    adapter = QueueAdapter(clock, escape_sync=True)
    timing = measure(adapter, lambda: adapter.enqueue(0.002), CONFIG)
    assert timing.median == pytest.approx(LAUNCH_S)  # what an unsynchronised suite would publish


def test_device_timer_is_primary_and_wall_is_kept_as_cross_check(clock):
    adapter = QueueAdapter(clock, with_event_timer=True)
    timing = measure(adapter, lambda: adapter.enqueue(0.001), CONFIG)
    assert timing.timer == "fake_event"
    assert timing.median == pytest.approx(0.001, rel=0.02)
    assert len(timing.wall_samples) == len(timing.samples)
    assert timing.wall_median >= timing.median


def test_blocks_are_sized_to_the_target_duration(clock):
    adapter = QueueAdapter(clock)
    timing = measure(adapter, lambda: adapter.enqueue(0.0005), CONFIG)
    block = timing.calls_per_sample * timing.median
    assert CONFIG.block_s / 2 <= block <= CONFIG.block_s * 1.5


def test_sync_once_per_block_not_per_call(clock):
    adapter = QueueAdapter(clock)
    timing = measure(adapter, lambda: adapter.enqueue(0.0005), CONFIG)
    timed_calls = timing.calls_per_sample * timing.n_samples
    assert adapter.syncs < timed_calls


def test_first_call_is_kept_apart(clock):
    adapter = QueueAdapter(clock)
    costs = iter([0.5] + [0.001] * 10000)  # a slow first call: compilation
    timing = measure(adapter, lambda: adapter.enqueue(next(costs)), CONFIG)
    assert timing.first_call_s == pytest.approx(0.5 + LAUNCH_S)
    assert timing.max == pytest.approx(0.001, rel=0.03)


def test_drain_check_catches_a_synchronise_that_returns_early(clock):
    adapter = QueueAdapter(clock, escape_sync=True)
    timing = measure(adapter, lambda: adapter.enqueue(0.001), CONFIG)
    assert timing.drain.escaped is True
    assert timing.drain.queued_s > timing.drain.block_s
    honest = QueueAdapter(clock)
    timing = measure(honest, lambda: honest.enqueue(0.001), CONFIG)
    assert timing.drain.escaped is False and timing.drain.queued_s < 1e-5
    assert timing.drain.tries == 2 and measure(adapter, lambda: adapter.enqueue(0.001), CONFIG).drain.tries == 6


class BusyFetch(QueueAdapter):
    """An honest device on a busy host: the first fetch of the first ``slow`` tries is delayed by another process."""

    def __init__(self, clock, slow: int):
        super().__init__(clock)
        self.slow, self.fetches = slow, 0

    def fetch_first(self, value):
        self.fetches += 1
        tries_done = (self.fetches - 1) // 2  # the warm-up fetch is number 1; then two per try
        if self.fetches > 1 and self.fetches % 2 == 0 and tries_done < self.slow:
            self.clock.host += 0.05  # a 50 ms stall while the first fetch of this try waited for the CPU
        return super().fetch_first(value)


def test_drain_check_is_not_fooled_by_a_busy_host(clock):
    """Noise delays some fetches; a real escape delays every one. Up to six tries tell them apart."""
    for slow in (1, 2, 5):
        adapter = BusyFetch(clock, slow)
        timing = measure(adapter, lambda a=adapter: a.enqueue(0.001), CONFIG)
        assert timing.drain.escaped is False and timing.drain.tries == max(2, slow + 1)
    adapter = BusyFetch(clock, 6)  # stalled on every try: indistinguishable from an escape, so it says so
    assert measure(adapter, lambda: adapter.enqueue(0.001), CONFIG).drain.escaped is True


def test_timing_config_rejects_unknown_and_mistyped_keys():
    with pytest.raises(ValueError, match="unknown key"):
        TimingConfig.from_dict({"warmup": 1})
    with pytest.raises(ValueError, match=r"timing\.canary"):
        TimingConfig.from_dict({"canary": 1})
    with pytest.raises(ValueError, match="must be >= 0"):
        TimingConfig.from_dict({"warmup_s": -1})
    assert TimingConfig.from_dict({"min_samples": 3}).min_samples == 3
