"""Per-case energy and thermal monitoring: the one object a worker's timing engine talks to.

A worker makes one ``CaseMonitor`` for its backend's device and calls, per run and per case:

    monitor.start_run()                                   # idle baseline for --cooldown
    cooldown = monitor.before_case(units_per_call, unit)  # waits (bounded) when --cooldown S > 0
    ... first call, warm-up, block sizing (ends with a synchronise) ...
    monitor.open()                                        # thermal "before", energy window opens
    ... the timed sample blocks (the last ends with a synchronise) ...
    fields = monitor.close(calls)                         # {"energy": ..., "thermal": ...}

``fields`` go into the case record as they are (docs/energy.md); ``flag_notes(fields)`` gives the
notes for the record's ``notes`` list, each starting with "throttled: ". Thermal readings are also
taken in the background while the window is open, so a clock that dips and recovers inside the case
is seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.energy import EnergyMeter, EnergyWindow, select_meter
from bench.energy.sampler import BackgroundSampler
from bench.thermal import ThermalSensor, ThermalState, cooldown, judge, judge_trace, select_sensor
from bench.thermal.state import CLOCK_LIMITED, THROTTLED


@dataclass(frozen=True)
class MonitorConfig:
    energy: bool = False  # --energy
    cooldown_s: float = 0.0  # --cooldown S (0: never wait)
    interval_s: float = 0.1  # background sampling period while a window is open
    poll_s: float = 1.0  # cool-down polling period


class CaseMonitor:
    def __init__(
        self,
        device_kind: str,
        device_index: int = 0,
        *,
        uuid: str | None = None,
        config: MonitorConfig = MonitorConfig(),
        meter: EnergyMeter | None = None,
        sensor: ThermalSensor | None = None,
        threaded: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self.meter = meter if meter is not None else (select_meter(device_kind, device_index, uuid=uuid) if config.energy else None)
        self.sensor = sensor if sensor is not None else select_sensor(device_kind, device_index, uuid=uuid)
        self.threaded, self.clock, self.sleep = threaded, clock, sleep
        self.baseline: ThermalState | None = None
        self.window: EnergyWindow | None = None
        self.sampler: BackgroundSampler | None = None
        self.before: ThermalState | None = None
        self.units: tuple[float | None, str | None] = (None, None)
        self.fields: dict[str, Any] | None = None

    @property
    def energy_unavailable(self) -> str | None:
        return self.meter.available() if self.meter is not None else "energy not requested (--energy)"

    def start_run(self) -> ThermalState:
        self.baseline = self.sensor.read()
        return self.baseline

    def before_case(self, units_per_call: float | None = None, unit: str | None = None) -> dict[str, Any] | None:
        """Remember the case's work units (images, tokens per call); cool down when --cooldown asks to."""
        self.units = (units_per_call, unit)
        self.fields = None
        if self.config.cooldown_s <= 0 or self.baseline is None:
            return None
        return cooldown(self.sensor, self.baseline, self.config.cooldown_s, self.config.poll_s, sleep=self.sleep, clock=self.clock).to_dict()

    def open(self) -> None:
        self.before = self.sensor.read()
        probes = {"thermal": self.sensor.read}
        if self.config.energy and self.energy_unavailable is None and self.meter is not None:
            self.window = EnergyWindow(
                self.meter, interval_s=self.config.interval_s, clock=self.clock, threaded=self.threaded, extra_probes=probes
            ).start()
            self.sampler = self.window.sampler
        else:
            self.sampler = BackgroundSampler(probes, interval_s=self.config.interval_s, clock=self.clock)
            self.sampler.start(threaded=self.threaded)

    def close(self, calls: int, units_per_call: float | None = None, unit: str | None = None) -> dict[str, Any]:
        """Close the window: the case's ``energy`` (with --energy) and ``thermal`` fields, also kept in ``self.fields``."""
        if units_per_call is None:
            units_per_call, unit = self.units
        out: dict[str, Any] = {}
        if self.window is not None:
            result = self.window.stop()
            rows = result.samples
            out["energy"] = result.to_record(calls, units_per_call, unit)
        else:
            rows = self.sampler.stop() if self.sampler is not None else []
            if self.config.energy:
                out["energy"] = {"unavailable": self.energy_unavailable}
        after = self.sensor.read()
        trace = [v["thermal"] for _, v in rows if isinstance(v.get("thermal"), ThermalState)]
        notes = list(dict.fromkeys(judge(self.before, after) + judge_trace(trace))) if self.before else []
        out["thermal"] = {
            "before": self.before.to_dict() if self.before else None,
            "after": after.to_dict(),
            "during": _during(trace),
            "notes": notes,
        }
        self.window = self.sampler = self.before = None
        self.fields = out
        return out


def flag_notes(fields: dict[str, Any]) -> list[str]:
    """The thermal notes as case notes. Those starting "throttled" (clocks fell, thermal limits, pressure rose)
    flag the case; "clock-limited" ones (a power cap holding clocks steady below their maximum, as a loaded GPU
    runs) are information only."""
    notes = ((fields or {}).get("thermal") or {}).get("notes") or []
    return [n if n.startswith((THROTTLED, CLOCK_LIMITED)) else f"{THROTTLED}: {n}" for n in notes]


def _during(trace: list[ThermalState]) -> dict[str, Any]:
    clocks = [s.clock_mhz for s in trace if s.clock_mhz is not None and s.idle is not True]
    temps = [s.temperature_c for s in trace if s.temperature_c is not None]
    return {
        "readings": len(trace),
        "min_clock_mhz": min(clocks) if clocks else None,
        "max_clock_mhz": max(clocks) if clocks else None,
        "max_temperature_c": max(temps) if temps else None,
        "reasons_seen": sorted({r for s in trace for r in s.slowdowns}),
    }
