"""Linux CPU clock and temperature from sysfs.

``/sys/devices/system/cpu/cpu<N>/cpufreq/scaling_cur_freq`` and ``cpuinfo_max_freq`` are in kHz
(docs.kernel.org/admin-guide/pm/cpufreq.html); ``/sys/class/thermal/thermal_zone<N>/temp`` is in
millidegrees Celsius and ``type`` names the sensor (x86_pkg_temp on Intel packages)
(docs.kernel.org/driver-api/thermal/sysfs-api.html). Virtual machines usually expose neither.
"""

from __future__ import annotations

from pathlib import Path

from bench.energy.rapl import virtualisation_hint
from bench.thermal.state import ThermalState

CPU_ROOT = Path("/sys/devices/system/cpu")
THERMAL_ROOT = Path("/sys/class/thermal")
CPU_ZONE_TYPES = ("x86_pkg_temp", "cpu-thermal", "cpu_thermal", "soc_thermal")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class LinuxCpuSensor:
    def __init__(self, cpu_root: Path = CPU_ROOT, thermal_root: Path = THERMAL_ROOT, cpuinfo: Path = Path("/proc/cpuinfo")):
        self.cpu_root, self.thermal_root, self.cpuinfo = Path(cpu_root), Path(thermal_root), Path(cpuinfo)

    def read(self) -> ThermalState:
        cpus = sorted(self.cpu_root.glob("cpu[0-9]*/cpufreq"))
        current = [v for v in (_read_int(c / "scaling_cur_freq") for c in cpus) if v is not None]
        maxima = [v for v in (_read_int(c / "cpuinfo_max_freq") for c in cpus) if v is not None]
        temps = []
        for zone in sorted(self.thermal_root.glob("thermal_zone*")):
            try:
                kind = (zone / "type").read_text().strip()
            except OSError:
                continue
            if kind in CPU_ZONE_TYPES and (t := _read_int(zone / "temp")) is not None:
                temps.append(t / 1000.0)
        if not current and not temps:
            hint = virtualisation_hint(self.cpuinfo)
            freq = self.cpu_root / "cpu0" / "cpufreq"
            what = f"{freq}/scaling_cur_freq unreadable" if freq.is_dir() else f"{freq} does not exist"
            return ThermalState("linux-cpufreq", unavailable=(f"no CPU frequency or temperature in sysfs: {what}" + (f" ({hint})" if hint else "")))
        return ThermalState(
            "linux-cpufreq",
            clock_mhz=sum(current) / len(current) / 1000.0 if current else None,
            max_clock_mhz=max(maxima) / 1000.0 if maxima else None,
            temperature_c=max(temps) if temps else None,
        )
