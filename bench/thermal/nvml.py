"""NVIDIA clocks, temperature, power and clock-event (throttle) reasons through NVML.

pynvml names (nvidia-ml-py 13.x ``pynvml.py``): ``nvmlDeviceGetClockInfo(h, NVML_CLOCK_SM)`` and
``nvmlDeviceGetMaxClockInfo(h, NVML_CLOCK_SM)`` in MHz; ``nvmlDeviceGetTemperature(h,
NVML_TEMPERATURE_GPU)`` in °C; ``nvmlDeviceGetTemperatureThreshold(h,
NVML_TEMPERATURE_THRESHOLD_SLOWDOWN)``; ``nvmlDeviceGetPowerUsage`` in mW;
``nvmlDeviceGetCurrentClocksEventReasons`` (older releases: ``...ClocksThrottleReasons``), a bitmask of
``nvmlClocksEventReason*`` / ``nvmlClocksThrottleReason*`` constants (GpuIdle 0x1,
ApplicationsClocksSetting 0x2, SwPowerCap 0x4, HwSlowdown 0x8, SyncBoost 0x10, SwThermalSlowdown
0x20, HwThermalSlowdown 0x40, HwPowerBrakeSlowdown 0x80, DisplayClockSetting 0x100, and in the
throttle list BoardLimit 0x200, Reliability 0x400). Names are read from the installed module, so a
newer bit gets its own name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bench.energy.nvml import NvmlDevice
from bench.thermal.state import ThermalState

_PREFIXES = ("nvmlClocksEventReason", "nvmlClocksThrottleReason")
_NOT_BITS = {"None", "All", "UserDefinedClocks"}  # masks, and a deprecated alias of ApplicationsClocksSetting


def reason_table(nvml: Any) -> dict[int, str]:
    """Bit -> snake_case name ("sw_thermal_slowdown") from the module's reason constants."""
    table: dict[int, str] = {}
    for prefix in _PREFIXES:
        for attr in sorted(dir(nvml)):
            suffix = attr[len(prefix) :]
            if not attr.startswith(prefix) or suffix in _NOT_BITS:
                continue
            bit = getattr(nvml, attr)
            if isinstance(bit, int) and bit > 0 and bit & (bit - 1) == 0:
                table.setdefault(bit, re.sub(r"(?<!^)(?=[A-Z])", "_", suffix).lower())
    return table


def decode_reasons(mask: int, table: dict[int, str]) -> tuple[str, ...]:
    names = []
    bit = 1
    while bit <= mask:
        if mask & bit:
            names.append(table.get(bit, f"bit_{bit:#x}"))
        bit <<= 1
    return tuple(names)


class NvmlSensor:
    def __init__(self, device: NvmlDevice):
        self.device = device
        self._static: dict[str, Any] | None = None
        self._table: dict[int, str] = {}

    def _try(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(self.device.handle, *args)
        except Exception:
            return None

    def _reasons_fn(self) -> Callable[[Any], int] | None:
        nvml = self.device.nvml
        # nvmlDeviceGetCurrentClocksEventReasons replaced ...ThrottleReasons, which older releases have alone.
        return getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or getattr(nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", None)

    def read(self) -> ThermalState:
        reason = self.device.open()
        if reason is not None:
            return ThermalState("nvml", unavailable=reason)
        nvml = self.device.nvml
        if self._static is None:
            self._table = reason_table(nvml)
            self._static = {
                "max_clock_mhz": self._try(nvml.nvmlDeviceGetMaxClockInfo, nvml.NVML_CLOCK_SM),
                "slowdown_c": self._try(nvml.nvmlDeviceGetTemperatureThreshold, nvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN),
            }
        fn = self._reasons_fn()
        mask = self._try(fn) if fn is not None else None
        power_mw = self._try(nvml.nvmlDeviceGetPowerUsage)
        reasons = decode_reasons(mask, self._table) if mask is not None else ()
        return ThermalState(
            "nvml",
            clock_mhz=self._try(nvml.nvmlDeviceGetClockInfo, nvml.NVML_CLOCK_SM),
            temperature_c=self._try(nvml.nvmlDeviceGetTemperature, nvml.NVML_TEMPERATURE_GPU),
            power_w=power_mw / 1000.0 if power_mw is not None else None,
            reasons=reasons,
            idle="gpu_idle" in reasons if mask is not None else None,
            **self._static,
        )

    def close(self) -> None:
        self.device.close()
