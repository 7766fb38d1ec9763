"""Pick the thermal sensor for a backend's device, or a NullSensor that says why there is none."""

from __future__ import annotations

import importlib
import platform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.energy.nvml import NvmlDevice
from bench.thermal.linux import CPU_ROOT, THERMAL_ROOT, LinuxCpuSensor
from bench.thermal.macos import MacThermalSensor
from bench.thermal.nvml import NvmlSensor
from bench.thermal.state import NullSensor, ThermalSensor


def select_sensor(
    device_kind: str,
    device_index: int = 0,
    *,
    uuid: str | None = None,
    system: str | None = None,
    cpu_root: Path = CPU_ROOT,
    thermal_root: Path = THERMAL_ROOT,
    cpuinfo: Path = Path("/proc/cpuinfo"),
    environ: Mapping[str, str] | None = None,
    import_module: Callable[[str], Any] = importlib.import_module,
) -> ThermalSensor:
    """NVIDIA device: NVML clocks/reasons. macOS: thermal pressure (machine-wide). Linux CPU: cpufreq."""
    system = system or platform.system()
    kind = device_kind.lower()
    if system == "Darwin":
        return MacThermalSensor()
    if kind in ("cuda", "gpu"):
        device = NvmlDevice(device_index, uuid, environ=environ, import_module=import_module)
        reason = device.open()
        return NullSensor(reason) if reason else NvmlSensor(device)
    if kind == "cpu" and system == "Linux":
        return LinuxCpuSensor(cpu_root, thermal_root, cpuinfo)
    return NullSensor(f"no thermal sensor for device {kind!r} on {system}")
