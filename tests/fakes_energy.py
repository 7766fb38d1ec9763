"""Fakes for energy and thermal tests: a simulated clock, a meter, a sensor, and a ``pynvml`` module.

``fake_pynvml`` carries the real module's function and constant names (nvidia-ml-py 13.x
``pynvml.py``) over a ``FakeGpu`` whose counters the test moves; test_energy.py checks the names
against the real module where it is installed.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.energy.reading import EnergyReading
from bench.thermal.state import ThermalState


class SimClock:
    """Monotonic seconds that move only when told to; ``sleep`` advances them."""

    def __init__(self, t: float = 0.0):
        self.t = t
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


class FakeMeter:
    """Energy that grows by ``watts`` x simulated seconds per domain; ``probes`` give that power."""

    name = "fake"
    scope = "a fake device"

    def __init__(self, clock: SimClock, watts: dict[str, float], reason: str | None = None):
        self.clock = clock
        self.watts = dict(watts)
        self.joules = {d: 0.0 for d in watts}
        self._t = clock()
        self.reason = reason

    def _catch_up(self) -> None:
        dt = self.clock() - self._t
        for d, w in self.watts.items():
            self.joules[d] += w * dt
        self._t = self.clock()

    def available(self) -> str | None:
        return self.reason

    def read(self) -> EnergyReading:
        self._catch_up()
        return EnergyReading(dict(self.joules), tuple(self.joules))

    def probes(self) -> dict[str, Callable[[], float]]:
        return {"power_w": lambda: sum(self.watts.values())}


class FakeSensor:
    """Returns ``state_at(t)`` for the simulated time, counting reads."""

    def __init__(self, clock: SimClock, state_at: Callable[[float], ThermalState]):
        self.clock = clock
        self.state_at = state_at
        self.reads = 0

    def read(self) -> ThermalState:
        self.reads += 1
        return self.state_at(self.clock())


# Constant values as in nvidia-ml-py 13.615.71 pynvml.py.
EVENT_REASONS = {
    "GpuIdle": 0x1,
    "ApplicationsClocksSetting": 0x2,
    "UserDefinedClocks": 0x2,
    "SwPowerCap": 0x4,
    "HwSlowdown": 0x8,
    "SyncBoost": 0x10,
    "SwThermalSlowdown": 0x20,
    "HwThermalSlowdown": 0x40,
    "HwPowerBrakeSlowdown": 0x80,
    "DisplayClockSetting": 0x100,
    "None": 0x0,
}
THROTTLE_ONLY = {"BoardLimit": 0x200, "Reliability": 0x400}
NVML_ERRORS = {
    1: "Uninitialized",
    3: "Not Supported",
    4: "Insufficient Permissions",
    6: "Not Found",
    9: "Driver Not Loaded",
    12: "NVML Shared Library Not Found",
}


@dataclass
class FakeGpu:
    energy_mj: int = 0
    power_mw: int = 0
    instant_mw: int | None = None  # None: NVML_FI_DEV_POWER_INSTANT not supported
    sm_clock: int = 1980
    max_sm_clock: int = 1980
    temperature: int = 40
    slowdown_threshold: int | None = 87
    reasons: int = 0
    init_error: int | None = None
    energy_error: int | None = None
    handles: list = field(default_factory=list)  # which handles were asked for
    inits: int = 0
    shutdowns: int = 0


def fake_pynvml(gpu: FakeGpu, event_reasons: bool = True) -> types.ModuleType:
    """A ``pynvml`` look-alike over ``gpu``; ``event_reasons=False`` mimics releases before the Event names."""
    m = types.ModuleType("pynvml")

    class NVMLError(Exception):
        def __init__(self, value: int):
            super().__init__(value)
            self.value = value

        def __str__(self) -> str:
            return NVML_ERRORS.get(self.value, f"NVML Error with code {self.value}")

    m.NVMLError = NVMLError
    m.NVML_CLOCK_SM = 1
    m.NVML_TEMPERATURE_GPU = 0
    m.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1
    m.NVML_FI_DEV_POWER_INSTANT = 186
    for name, bit in {**EVENT_REASONS, **THROTTLE_ONLY}.items():
        setattr(m, f"nvmlClocksThrottleReason{name}", bit)
    if event_reasons:
        for name, bit in EVENT_REASONS.items():
            setattr(m, f"nvmlClocksEventReason{name}", bit)

    def nvmlInit():
        if gpu.init_error is not None:
            raise NVMLError(gpu.init_error)
        gpu.inits += 1

    def nvmlShutdown():
        gpu.shutdowns += 1

    def by_index(index):
        gpu.handles.append(("index", index))
        if index != 0 and index not in (1, 3):
            raise NVMLError(6)
        return ("handle", index)

    def by_uuid(uuid):
        gpu.handles.append(("uuid", uuid))
        return ("handle", uuid)

    def energy(handle):
        if gpu.energy_error is not None:
            raise NVMLError(gpu.energy_error)
        return gpu.energy_mj

    def field_values(handle, field_ids):
        value = types.SimpleNamespace(uiVal=gpu.instant_mw or 0, dVal=0.0)
        ret = 0 if gpu.instant_mw is not None and field_ids == [186] else 3
        return [types.SimpleNamespace(fieldId=field_ids[0], nvmlReturn=ret, valueType=1, value=value)]

    def threshold(handle, kind):
        if gpu.slowdown_threshold is None:
            raise NVMLError(3)
        return gpu.slowdown_threshold

    m.nvmlInit = nvmlInit
    m.nvmlShutdown = nvmlShutdown
    m.nvmlDeviceGetHandleByIndex = by_index
    m.nvmlDeviceGetHandleByUUID = by_uuid
    m.nvmlDeviceGetTotalEnergyConsumption = energy
    m.nvmlDeviceGetPowerUsage = lambda handle: gpu.power_mw
    m.nvmlDeviceGetFieldValues = field_values
    m.nvmlDeviceGetClockInfo = lambda handle, kind: gpu.sm_clock if kind == 1 else 0
    m.nvmlDeviceGetMaxClockInfo = lambda handle, kind: gpu.max_sm_clock if kind == 1 else 0
    m.nvmlDeviceGetTemperature = lambda handle, sensor: gpu.temperature
    m.nvmlDeviceGetTemperatureThreshold = threshold
    m.nvmlDeviceGetCurrentClocksThrottleReasons = lambda handle: gpu.reasons
    if event_reasons:
        m.nvmlDeviceGetCurrentClocksEventReasons = lambda handle: gpu.reasons
    return m


def importer(modules: dict[str, types.ModuleType]) -> Callable[[str], types.ModuleType]:
    """An ``import_module`` that knows only ``modules`` and raises ImportError for anything else."""

    def import_module(name: str) -> types.ModuleType:
        if name not in modules:
            raise ImportError(f"No module named {name!r}")
        return modules[name]

    return import_module
