"""A fake backend whose device work happens on synchronise, like an asynchronous GPU queue."""

from __future__ import annotations

import time

import numpy as np

from bench.backends.base import Adapter, Timer


class QueueAdapter(Adapter):
    """Calls enqueue ``cost_s`` of work; ``synchronize`` drains it by sleeping.

    With ``escape_sync=True`` the synchronise returns at once, as a backend that escaped
    synchronisation would: timings then see only the (near zero) enqueue cost.
    """

    framework = "torch"

    def __init__(self, escape_sync: bool = False, with_event_timer: bool = False):
        self.escape_sync = escape_sync
        self.with_event_timer = with_event_timer
        self.pending = 0.0
        self.syncs = 0
        self.device_clock = 0.0  # seconds of device work executed so far
        super().__init__("cpu")

    def resolve_device(self, device):
        return device

    def enqueue(self, cost_s: float) -> None:
        self.pending += cost_s

    def from_numpy(self, array, dtype=None):
        return np.asarray(array, dtype=np.float64)

    def to_numpy(self, value):
        return np.asarray(value, dtype=np.float64)

    def synchronize(self, out=None):
        self.syncs += 1
        if self.escape_sync:
            return
        time.sleep(self.pending)
        self.device_clock += self.pending
        self.pending = 0.0

    def device_timer(self):
        if not self.with_event_timer:
            return None
        marks = {}
        return Timer(
            "fake_event",
            start=lambda: marks.__setitem__("t0", self.device_clock + self.pending),
            stop=lambda: marks.__setitem__("t1", self.device_clock + self.pending),
            elapsed_s=lambda: marks["t1"] - marks["t0"],
        )

    def apply_precision_policy(self):
        return {}
