"""A simulated asynchronous device with a simulated clock, so timing tests are exact and deterministic.

Each call costs the host a fixed launch time and queues ``cost_s`` of device work; ``synchronize``
moves the host clock to when the device finishes. With ``escape_sync=True`` it returns at once, as a
backend that escaped synchronisation would. ``install_clock`` makes the timing engine read this clock.
"""

from __future__ import annotations

import types

import numpy as np

from bench.backends.base import Adapter, Timer

LAUNCH_S = 20e-6  # host cost of one launch, like a CUDA kernel launch


class FakeClock:
    def __init__(self):
        self.host = 0.0
        self.device_free_at = 0.0

    def perf_counter(self) -> float:
        return self.host


def install_clock(monkeypatch, clock: FakeClock) -> None:
    import bench.backends.base as base
    import bench.timing as timing

    fake_time = types.SimpleNamespace(perf_counter=clock.perf_counter)
    monkeypatch.setattr(timing, "time", fake_time)
    monkeypatch.setattr(base, "time", fake_time)


class QueueAdapter(Adapter):
    framework = "torch"

    def __init__(self, clock: FakeClock, escape_sync: bool = False, with_event_timer: bool = False):
        self.clock = clock
        self.escape_sync = escape_sync
        self.with_event_timer = with_event_timer
        self.syncs = 0
        super().__init__("cpu")

    def resolve_device(self, device):
        return device

    def enqueue(self, cost_s: float) -> np.ndarray:
        clock = self.clock
        clock.host += LAUNCH_S
        clock.device_free_at = max(clock.device_free_at, clock.host) + cost_s
        return np.zeros(1)  # a handle to the output

    def from_numpy(self, array, dtype=None):
        return np.asarray(array, dtype=np.float64)

    def to_numpy(self, value):
        return np.asarray(value, dtype=np.float64)

    def synchronize(self, out=None):
        self.syncs += 1
        if not self.escape_sync:
            self.clock.host = max(self.clock.host, self.clock.device_free_at)

    def fetch_first(self, value):
        # A data dependency waits for the device whatever synchronize did.
        self.clock.host = max(self.clock.host, self.clock.device_free_at) + 1e-6
        return float(np.asarray(value).reshape(-1)[0])

    def device_timer(self):
        if not self.with_event_timer:
            return None
        marks = {}
        clock = self.clock
        # An event records when the device reaches it in its queue.
        return Timer(
            "fake_event",
            start=lambda: marks.__setitem__("t0", max(clock.device_free_at, clock.host)),
            stop=lambda: marks.__setitem__("t1", max(clock.device_free_at, clock.host)),
            elapsed_s=lambda: marks["t1"] - marks["t0"],
        )

    def apply_precision_policy(self):
        return {}


class QuietLoadReader:
    """A machine-load reader (bench/machine_load.py) for a machine where only this process runs:
    each snapshot is one second later, in which this process used one of two CPUs and the other idled."""

    hz = 100

    def __init__(self):
        self.seconds = 0

    def snapshot(self):
        from bench.machine_load import Snapshot, Ticks

        self.seconds += 1
        s = self.seconds
        return Snapshot(wall_s=float(s), own_cpu_s=float(s), cores=2, ticks=Ticks(busy=100 * s, idle=100 * s, steal=0), loadavg=(1.0, 1.0, 1.0))
