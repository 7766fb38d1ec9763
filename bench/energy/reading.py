"""What every energy source returns, the protocol it follows, and the cumulative-counter arithmetic.

A meter reports *cumulative* joules per domain ("gpu", "cpu", "package-0", ...) since some fixed
point of its own; a window subtracts two readings. Hardware counters are finite: a counter that
wraps (RAPL's ``energy_uj`` wraps at ``max_energy_range_uj``) is unwrapped by ``Counter`` as long as
it is read at least once per wrap period, which the window's background sampler makes sure of.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class EnergyReading:
    """Cumulative joules per domain at one instant.

    ``summed`` names the domains whose sum is the total: domains can nest (RAPL's ``package-0/core``
    is inside ``package-0``), so summing every domain would count some energy twice.
    """

    joules: dict[str, float]
    summed: tuple[str, ...]

    @property
    def total(self) -> float:
        return sum(self.joules[d] for d in self.summed if d in self.joules)

    def minus(self, earlier: EnergyReading) -> dict[str, float]:
        """Joules per domain between ``earlier`` and this reading (domains present in both)."""
        return {d: self.joules[d] - earlier.joules[d] for d in self.joules if d in earlier.joules}


@runtime_checkable
class EnergyMeter(Protocol):
    name: str  # "nvml", "rapl", "ioreport", "powermetrics", "none"
    scope: str  # what the energy includes, in words, e.g. "whole GPU board"

    def available(self) -> str | None:
        """None when the meter can be read, else the reason it cannot (one line)."""

    def read(self) -> EnergyReading:
        """Cumulative joules per domain; only called when ``available()`` is None."""


class NullMeter:
    """No energy source: says why, and is never read."""

    name = "none"
    scope = "nothing"

    def __init__(self, reason: str):
        self.reason = reason

    def available(self) -> str | None:
        return self.reason

    def read(self) -> EnergyReading:
        raise RuntimeError(f"energy unavailable: {self.reason}")

    def close(self) -> None:
        pass


@dataclass
class Counter:
    """Unwraps one raw hardware counter into a monotonic total, in the counter's own units.

    ``modulus``: the value at which the raw counter wraps back to 0 (None: it never wraps, as
    NVML's 64-bit millijoule counter). A raw value below the previous one is a wrap when the
    counter has a modulus; without one it is a reset (driver reload), counted as no energy and
    reported in ``resets``. Thread-safe: the background sampler and the caller both read it.
    """

    modulus: int | None = None
    _last: int | None = None
    _total: int = 0
    wraps: int = 0
    resets: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, raw: int) -> int:
        with self._lock:
            if self._last is not None:
                step = raw - self._last
                if step < 0:
                    if self.modulus is not None:
                        step += self.modulus
                        self.wraps += 1
                    else:
                        step = 0
                        self.resets += 1
                self._total += step
            self._last = raw
            return self._total
