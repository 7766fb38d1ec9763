"""Thermal and clock state at one instant, the sensor protocol, and the notes that say a case was throttled.

A note is written when, between two readings around a case (or across the readings taken during it),
the clock fell, a clock-limiting reason was active, the temperature reached the slowdown threshold,
the OS's thermal pressure rose, or the CPU speed limit fell. Any note on an ``ok`` case sets its
``throttled`` flag; the note says what was seen, with numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol, runtime_checkable

# NSProcessInfoThermalState raw values 0..3 (developer.apple.com/documentation/foundation/processinfo/thermalstate-swift.enum).
PRESSURE_LEVELS = ("nominal", "fair", "serious", "critical")
# NVML clock-event reasons that do not slow a busy GPU down: idle, and clocks an administrator pinned.
NOT_SLOWDOWN = frozenset({"gpu_idle", "applications_clocks_setting", "display_clock_setting"})
CLOCK_TOLERANCE = 0.05  # a clock that fell by less than 5 % is within boost-clock wander
# Reasons that mean heat or a hardware limit slowed the device. Others (a software power cap, sync boost, an
# application clock setting) are how a loaded GPU runs every day: recorded as "clock-limited", not throttling.
THERMAL_REASONS = ("sw_thermal_slowdown", "hw_thermal_slowdown", "hw_slowdown", "hw_power_brake_slowdown")
THROTTLED, CLOCK_LIMITED = "throttled", "clock-limited"


def _kind(reasons: Sequence[str]) -> str:
    return THROTTLED if any(r in THERMAL_REASONS for r in reasons) else CLOCK_LIMITED


@dataclass(frozen=True)
class ThermalState:
    source: str  # "nvml", "macos", "linux-cpufreq", "none"
    clock_mhz: float | None = None
    max_clock_mhz: float | None = None
    temperature_c: float | None = None
    slowdown_c: float | None = None  # the temperature at which the hardware starts slowing down
    power_w: float | None = None
    reasons: tuple[str, ...] = ()  # NVML clock-event reasons active now, decoded
    idle: bool | None = None  # NVML's gpu_idle reason; None where the source cannot tell
    pressure: str | None = None  # one of PRESSURE_LEVELS
    speed_limit_pct: int | None = None  # macOS pmset CPU_Speed_Limit
    unavailable: str | None = None  # why nothing could be read

    @property
    def slowdowns(self) -> tuple[str, ...]:
        return tuple(r for r in self.reasons if r not in NOT_SLOWDOWN)

    @property
    def clock_label(self) -> str:
        return "SM" if self.source == "nvml" else "CPU"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return {k: v for k, v in out.items() if v is not None and v != []} | {"source": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThermalState:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["reasons"] = tuple(values.get("reasons") or ())
        return cls(**values)


@runtime_checkable
class ThermalSensor(Protocol):
    def read(self) -> ThermalState: ...


class NullSensor:
    def __init__(self, reason: str):
        self.reason = reason

    def read(self) -> ThermalState:
        return ThermalState("none", unavailable=self.reason)


def pressure_level(state: ThermalState) -> int | None:
    return PRESSURE_LEVELS.index(state.pressure) if state.pressure in PRESSURE_LEVELS else None


def _mhz(value: float) -> str:
    return f"{value:.0f}"


def judge(before: ThermalState, after: ThermalState, clock_tolerance: float = CLOCK_TOLERANCE) -> list[str]:
    """Notes about throttling between two readings; an empty list means nothing was seen."""
    if after.unavailable or before.unavailable:
        return []
    notes: list[str] = []
    b_level, a_level = pressure_level(before), pressure_level(after)
    if b_level is not None and a_level is not None and a_level > b_level:
        notes.append(f"thermal pressure rose from {before.pressure} to {after.pressure}")
    slowdowns = tuple(dict.fromkeys(before.slowdowns + after.slowdowns))
    because = f" (reasons: {', '.join(slowdowns)})" if slowdowns else ""
    comparable = before.idle is not True and after.idle is not True
    if comparable and before.clock_mhz and after.clock_mhz is not None and after.clock_mhz < before.clock_mhz * (1.0 - clock_tolerance):
        notes.append(f"throttled: {after.clock_label} clock fell from {_mhz(before.clock_mhz)} to {_mhz(after.clock_mhz)} MHz{because}")
    elif slowdowns:
        where = (
            f" ({after.clock_label} clock {_mhz(after.clock_mhz)} of max {_mhz(after.max_clock_mhz)} MHz)"
            if after.clock_mhz is not None and after.max_clock_mhz
            else ""
        )
        notes.append(f"{_kind(slowdowns)}: clocks limited by {', '.join(slowdowns)}{where}")
    if after.temperature_c is not None and after.slowdown_c and after.temperature_c >= after.slowdown_c:
        notes.append(f"throttled: temperature {after.temperature_c:.0f} °C reached the slowdown threshold {after.slowdown_c:.0f} °C")
    was = before.speed_limit_pct if before.speed_limit_pct is not None else 100
    if after.speed_limit_pct is not None and after.speed_limit_pct < was:
        notes.append(f"throttled: CPU speed limit fell from {was} to {after.speed_limit_pct} %")
    return notes


def judge_trace(states: Sequence[ThermalState], clock_tolerance: float = CLOCK_TOLERANCE) -> list[str]:
    """Notes over readings taken during a window: first busy reading against the last, plus limits seen between."""
    busy = [s for s in states if not s.unavailable and s.idle is not True]
    if not busy:
        return []
    notes = judge(busy[0], busy[-1], clock_tolerance)
    inner = [s for s in busy[1:-1] if s.slowdowns]
    ends = set(busy[0].slowdowns) | set(busy[-1].slowdowns)
    seen = sorted({r for s in inner for r in s.slowdowns} - ends)
    if seen:
        notes.append(f"{_kind(seen)} during the window: {', '.join(seen)} in {len(inner)} of {len(busy)} readings")
    clocks = [s.clock_mhz for s in busy if s.clock_mhz is not None]
    if clocks and busy[0].clock_mhz and min(clocks) < busy[0].clock_mhz * (1.0 - clock_tolerance) and min(clocks) < clocks[-1]:
        notes.append(f"throttled during the window: {busy[0].clock_label} clock dipped to {_mhz(min(clocks))} MHz")
    return notes
