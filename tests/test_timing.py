import pytest

from bench.timing import TimingConfig, measure
from tests.fakes import QueueAdapter

CONFIG = TimingConfig(warmup_s=0.0, min_warmup_calls=2, block_s=0.004, min_samples=5, max_samples=8, budget_s=0.0)


def test_synchronised_timing_sees_the_device_work():
    adapter = QueueAdapter()
    timing = measure(adapter, lambda: adapter.enqueue(0.002), CONFIG)
    assert timing["median"] == pytest.approx(0.002, rel=0.5)
    assert timing["median"] >= 0.002
    assert timing["n_samples"] >= CONFIG.min_samples
    assert len(timing["samples"]) == timing["n_samples"]
    assert timing["warmup_calls"] >= CONFIG.min_warmup_calls
    assert timing["calls_per_sample"] >= 1
    assert timing["timer"] == "wall"


def test_escaped_synchronisation_reports_too_little_time():
    adapter = QueueAdapter(escape_sync=True)
    timing = measure(adapter, lambda: adapter.enqueue(0.002), CONFIG)
    assert timing["median"] < 0.0002  # what an unsynchronised suite would publish


def test_device_timer_is_primary_and_wall_is_kept_as_cross_check():
    adapter = QueueAdapter(with_event_timer=True)
    timing = measure(adapter, lambda: adapter.enqueue(0.001), CONFIG)
    assert timing["timer"] == "fake_event"
    assert timing["median"] == pytest.approx(0.001, rel=1e-6)  # the fake device clock is exact
    assert len(timing["wall_samples"]) == len(timing["samples"])
    assert timing["wall_median"] >= timing["median"]


def test_blocks_are_sized_to_the_target_duration():
    adapter = QueueAdapter()
    timing = measure(adapter, lambda: adapter.enqueue(0.0005), CONFIG)
    assert timing["calls_per_sample"] >= 4  # 4 ms blocks of 0.5 ms calls


def test_sync_once_per_block_not_per_call():
    adapter = QueueAdapter()
    timing = measure(adapter, lambda: adapter.enqueue(0.0005), CONFIG)
    timed_calls = timing["calls_per_sample"] * timing["n_samples"]
    assert adapter.syncs < timed_calls


def test_timing_config_rejects_unknown_and_mistyped_keys():
    with pytest.raises(ValueError, match="unknown key"):
        TimingConfig.from_dict({"warmup": 1})
    with pytest.raises(ValueError, match="timing.canary"):
        TimingConfig.from_dict({"canary": 1})
    with pytest.raises(ValueError, match="must be >= 0"):
        TimingConfig.from_dict({"block_s": -1})
    assert TimingConfig.from_dict({"min_samples": 3}).min_samples == 3
