"""Pick the energy source for a backend's device, or a NullMeter that says why there is none."""

from __future__ import annotations

import importlib
import os
import platform
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.energy.apple import IOReportMeter, PowermetricsMeter
from bench.energy.nvml import NvmlDevice, NvmlMeter
from bench.energy.rapl import POWERCAP, RaplMeter
from bench.energy.reading import EnergyMeter, NullMeter

ACCELERATOR_KINDS = {"cuda", "gpu", "mps", "metal"}


_EUID: Callable[[], int] = getattr(os, "geteuid", lambda: -1)  # -1 where there is no euid (Windows)


def select_meter(
    device_kind: str,
    device_index: int = 0,
    *,
    uuid: str | None = None,
    system: str | None = None,
    machine: str | None = None,
    powercap: Path = POWERCAP,
    cpuinfo: Path = Path("/proc/cpuinfo"),
    environ: Mapping[str, str] | None = None,
    import_module: Callable[[str], Any] = importlib.import_module,
    which: Callable[[str], str | None] = shutil.which,
    euid: Callable[[], int] = _EUID,
) -> EnergyMeter:
    """The first available meter for ``device_kind`` ("cuda", "gpu", "mps", "metal", "cpu").

    NVIDIA device: NVML. Apple silicon (any device: CPU, GPU and ANE share the SoC): IOReport through
    zeus-apple-silicon, else powermetrics when running as root. Linux CPU: RAPL. Otherwise, or when
    none is readable, a NullMeter whose reason names every source tried and why it failed.
    """
    system = system or platform.system()
    machine = machine or platform.machine()
    kind = device_kind.lower()
    if system == "Darwin":
        if machine != "arm64":
            return NullMeter(f"no energy source for {kind} on an Intel Mac (IOReport energy counters are Apple silicon only)")
        candidates: list[EnergyMeter] = [IOReportMeter(import_module=import_module), PowermetricsMeter(which=which, euid=euid)]
    elif kind in ("cuda", "gpu"):
        candidates = [NvmlMeter(NvmlDevice(device_index, uuid, environ=environ, import_module=import_module))]
    elif kind == "cpu" and system == "Linux":
        candidates = [RaplMeter(powercap, cpuinfo)]
    else:
        return NullMeter(f"no energy source for device {kind!r} on {system}")
    reasons = []
    for meter in candidates:
        reason = meter.available()
        if reason is None:
            return meter
        reasons.append(reason)
    return NullMeter("; ".join(reasons))
