"""Energy over a region of code: joules per domain, seconds, mean watts, joules per call and per unit.

Open the window after the synchronise that ends warm-up and block sizing, close it after the
synchronise that ends the last timed block, so that it holds the timed calls and nothing else.
Where the meter gives power probes (NVML), power is sampled in the background while the window is
open and the counter's energy is checked against mean sampled power x seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.energy.reading import EnergyMeter, EnergyReading
from bench.energy.sampler import BackgroundSampler

CROSS_CHECK_TOLERANCE = 0.10  # issue 13: counter energy within 10 % of mean power x time
CROSS_CHECK_MIN_SAMPLES = 5


def cross_check(total_j: float, seconds: float, powers_w: list[float], tolerance: float = CROSS_CHECK_TOLERANCE) -> dict[str, Any]:
    """Counter energy against mean sampled power x seconds; ``ratio`` is counter / power-based."""
    out: dict[str, Any] = {"samples": len(powers_w), "tolerance": tolerance}
    if len(powers_w) < CROSS_CHECK_MIN_SAMPLES or seconds <= 0:
        out["verdict"] = f"too few power samples ({len(powers_w)} < {CROSS_CHECK_MIN_SAMPLES})"
        return out
    mean_w = sum(powers_w) / len(powers_w)
    from_power = mean_w * seconds
    ratio = total_j / from_power if from_power > 0 else None
    out.update(mean_sampled_w=mean_w, energy_from_power_j=from_power, ratio=ratio)
    out["verdict"] = "agree" if ratio is not None and abs(ratio - 1.0) <= tolerance else "disagree"
    return out


@dataclass
class EnergyResult:
    source: str
    scope: str
    domains_j: dict[str, float]
    total_j: float
    seconds: float
    samples: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    sampler_errors: dict[str, str] = field(default_factory=dict)

    @property
    def mean_w(self) -> float | None:
        return self.total_j / self.seconds if self.seconds > 0 else None

    def power_series(self, name: str = "power_w") -> list[float]:
        return [v[name] for _, v in self.samples if name in v]

    def cross_checks(self) -> dict[str, Any] | None:
        """One check per power probe that produced samples ("power_w", "instant_power_w")."""
        names = sorted({k for _, v in self.samples for k in v if k.endswith("power_w")})  # numbers only
        if not names:
            return None
        return {name: cross_check(self.total_j, self.seconds, self.power_series(name)) for name in names}

    def to_record(self, calls: int | None = None, units_per_call: float | None = None, unit: str | None = None) -> dict[str, Any]:
        """The case record's ``energy`` field (docs/energy.md)."""
        j_per_call = self.total_j / calls if calls else None
        j_per_unit = j_per_call / units_per_call if j_per_call is not None and units_per_call else None
        record: dict[str, Any] = {
            "source": self.source,
            "scope": self.scope,
            "domains_j": dict(self.domains_j),
            "total_j": self.total_j,
            "seconds": self.seconds,
            "mean_w": self.mean_w,
            "calls": calls,
            "j_per_call": j_per_call,
            "unit": unit if j_per_unit is not None else None,
            "j_per_unit": j_per_unit,
            "cross_check": self.cross_checks(),
        }
        if self.sampler_errors:
            record["sampler_errors"] = dict(self.sampler_errors)
        return record


class EnergyWindow:
    """``start()`` / ``stop()`` (or ``with``) around a region; ``stop()`` returns an EnergyResult.

    ``extra_probes`` are sampled on the same thread (thermal readings during the window). ``threaded=False``
    leaves the background sampling to the caller (``window.sampler.sample_once()``), for tests with a
    simulated clock.
    """

    def __init__(
        self,
        meter: EnergyMeter,
        *,
        interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        threaded: bool = True,
        extra_probes: dict[str, Callable[[], Any]] | None = None,
    ):
        reason = meter.available()
        if reason is not None:
            raise RuntimeError(f"energy unavailable: {reason}")
        self.meter = meter
        self.clock = clock
        self.threaded = threaded
        probes = {**(meter.probes() if hasattr(meter, "probes") else {}), **(extra_probes or {})}
        self.sampler = BackgroundSampler(probes, interval_s=interval_s, clock=clock)
        self._t0: float | None = None
        self._r0: EnergyReading | None = None
        self.result: EnergyResult | None = None

    def start(self) -> EnergyWindow:
        self._r0 = self.meter.read()  # first: a meter may block until its first sample (powermetrics)
        self._t0 = self.clock()
        self.sampler.start(threaded=self.threaded)
        return self

    def stop(self) -> EnergyResult:
        if self._r0 is None or self._t0 is None:
            raise RuntimeError("EnergyWindow.stop() before start()")
        rows = self.sampler.stop()
        r1 = self.meter.read()
        t1 = self.clock()
        domains = r1.minus(self._r0)
        total = sum(domains[d] for d in r1.summed if d in domains)
        self.result = EnergyResult(self.meter.name, self.meter.scope, domains, total, t1 - self._t0, rows, dict(self.sampler.errors))
        return self.result

    def __enter__(self) -> EnergyWindow:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
