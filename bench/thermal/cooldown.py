"""``--cooldown S``: wait, at most S seconds, until the thermal state is back at the run's baseline.

Back at baseline means every criterion the sensor can observe holds: thermal pressure no higher than
the baseline's, temperature within ``temperature_margin_c`` of it, no clock-limiting reason that the
baseline did not have, a CPU speed limit no lower, and (for a busy GPU only: an idle GPU parks its
clocks) the clock within CLOCK_TOLERANCE of the baseline's. Clock and sleep are injected so tests run
on a simulated clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.thermal.state import CLOCK_TOLERANCE, ThermalSensor, ThermalState, pressure_level

TEMPERATURE_MARGIN_C = 5.0


@dataclass(frozen=True)
class CooldownResult:
    waited_s: float
    recovered: bool
    reason: str  # "recovered: ...", "gave up after ...: ...", "nothing to wait for: ..."
    polls: int
    state: ThermalState | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "waited_s": self.waited_s,
            "recovered": self.recovered,
            "reason": self.reason,
            "polls": self.polls,
            "state": self.state.to_dict() if self.state else None,
        }


def assess(state: ThermalState, baseline: ThermalState, temperature_margin_c: float = TEMPERATURE_MARGIN_C) -> tuple[str, str]:
    """("recovered" | "hot" | "unobservable", why) for ``state`` against ``baseline``."""
    if state.unavailable:
        return "unobservable", state.unavailable
    met: list[str] = []
    unmet: list[str] = []
    level, base_level = pressure_level(state), pressure_level(baseline)
    if level is not None:
        limit = base_level if base_level is not None else 0
        (met if level <= limit else unmet).append(f"thermal pressure {state.pressure}")
    if state.temperature_c is not None and baseline.temperature_c is not None:
        limit_c = baseline.temperature_c + temperature_margin_c
        ok = state.temperature_c <= limit_c
        (met if ok else unmet).append(f"temperature {state.temperature_c:.0f} °C {'<=' if ok else '>'} {limit_c:.0f} °C")
    new = [r for r in state.slowdowns if r not in baseline.slowdowns]
    if state.idle is not None:
        (unmet if new else met).append(f"clocks limited by {', '.join(new)}" if new else "no clock-limiting reason")
    if state.speed_limit_pct is not None:
        base = baseline.speed_limit_pct if baseline.speed_limit_pct is not None else 100
        (met if state.speed_limit_pct >= base else unmet).append(f"CPU speed limit {state.speed_limit_pct} %")
    if state.idle is False and baseline.idle is False and state.clock_mhz is not None and baseline.clock_mhz:
        ok = state.clock_mhz >= baseline.clock_mhz * (1.0 - CLOCK_TOLERANCE)
        (met if ok else unmet).append(f"{state.clock_label} clock {state.clock_mhz:.0f} of {baseline.clock_mhz:.0f} MHz")
    if unmet:
        return "hot", ", ".join(unmet)
    if not met:
        return "unobservable", f"{state.source} reports no temperature, pressure, limit or clock reason"
    return "recovered", ", ".join(met)


def cooldown(
    sensor: ThermalSensor,
    baseline: ThermalState,
    max_wait_s: float,
    poll_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    temperature_margin_c: float = TEMPERATURE_MARGIN_C,
) -> CooldownResult:
    """Poll ``sensor`` every ``poll_s`` until it is back at ``baseline`` or ``max_wait_s`` has passed."""
    t0 = clock()
    polls = 0
    while True:
        state = sensor.read()
        polls += 1
        status, why = assess(state, baseline, temperature_margin_c)
        waited = clock() - t0
        if status == "unobservable":
            return CooldownResult(waited, False, f"nothing to wait for: {why}", polls, state)
        if status == "recovered":
            return CooldownResult(waited, True, f"recovered: {why}", polls, state)
        if waited >= max_wait_s:
            return CooldownResult(waited, False, f"gave up after {max_wait_s:g} s: {why}", polls, state)
        sleep(max(0.0, min(poll_s, max_wait_s - waited)))
