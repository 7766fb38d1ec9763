"""CPU package energy on Linux through the powercap RAPL zones in sysfs.

Layout (Linux "Power Capping Framework", docs.kernel.org/power/powercap/powercap.html):
``/sys/class/powercap/intel-rapl:<N>`` is a top-level zone (``name``: ``package-<N>`` or ``psys``),
``intel-rapl:<N>:<M>`` one of its subzones (``core``, ``uncore``, ``dram``). Each has ``energy_uj``
(the counter, microjoules) and ``max_energy_range_uj`` (its range: the counter wraps to 0 there).
AMD Zen parts appear under the same ``intel-rapl`` names. ``core``/``uncore`` lie inside the
package; ``dram`` does not and ``psys`` covers the whole platform, so the total is packages + dram.
Since Linux 5.10 ``energy_uj`` is readable by root only (commit "powercap: restrict energy meter to
root access", CVE-2020-8694). Virtual machines usually expose no zones at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from bench.energy.reading import Counter, EnergyReading

POWERCAP = Path("/sys/class/powercap")
_ZONE = re.compile(r"^intel-rapl:(\d+)(?::(\d+))?$")  # intel-rapl-mmio:* duplicates package-0: left out


def virtualisation_hint(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """'virtual machine: ...' when the CPU flags say so (the x86 'hypervisor' bit), else None."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags") and "hypervisor" in line.split(":", 1)[-1].split():
            return "virtual machine: the CPU flags include 'hypervisor'"
    return None


class _Zone:
    def __init__(self, path: Path, domain: str, modulus: int):
        self.path = path
        self.domain = domain
        self.counter = Counter(modulus=modulus)


class RaplMeter:
    name = "rapl"
    scope = "CPU package(s) and DRAM (RAPL), every process on the machine"

    def __init__(self, root: Path = POWERCAP, cpuinfo: Path = Path("/proc/cpuinfo")):
        self.root = Path(root)
        self.cpuinfo = Path(cpuinfo)
        self.zones: list[_Zone] = []
        self.summed: tuple[str, ...] = ()
        self._reason: str | None = None
        self._checked = False

    def _no_zones(self, what: str) -> str:
        hint = virtualisation_hint(self.cpuinfo)
        return f"no RAPL domains: {what}" + (f" ({hint})" if hint else "")

    def available(self) -> str | None:
        if not self._checked:
            self._checked = True
            self._reason = self._discover()
        return self._reason

    def _discover(self) -> str | None:
        if not self.root.is_dir():
            return self._no_zones(f"{self.root} does not exist")
        found = sorted((tuple(int(g) if g else -1 for g in m.groups()), p) for p in self.root.iterdir() if (m := _ZONE.match(p.name)))
        if not found:
            return self._no_zones(f"no intel-rapl zones in {self.root}")
        names: dict[int, str] = {}
        for (top, sub), path in found:
            try:
                name = (path / "name").read_text().strip()
                modulus = int((path / "max_energy_range_uj").read_text())
                raw = int((path / "energy_uj").read_text())
            except PermissionError as exc:
                return (
                    f"RAPL not readable: {exc.filename or path} permission denied "
                    "(energy_uj is root-only since Linux 5.10, CVE-2020-8694: run as root or grant read access)"
                )
            except (OSError, ValueError) as exc:
                return f"RAPL not readable: {path}: {exc}"
            domain = name if sub < 0 else f"{names.get(top, f'zone-{top}')}/{name}"
            if sub < 0:
                names[top] = name
            zone = _Zone(path, domain, modulus)
            zone.counter.update(raw)
            self.zones.append(zone)
        # The kernel's counter runs 0..max_energy_range_uj; the one-unit difference between that range and
        # the true modulus (range + one energy unit, a few microjoules) is below the counter's resolution.
        packages = [z.domain for z in self.zones if ("/" not in z.domain and z.domain.startswith("package")) or z.domain.split("/")[-1] == "dram"]
        self.summed = tuple(packages) or tuple(z.domain for z in self.zones if "/" not in z.domain)
        return None

    def read(self) -> EnergyReading:
        joules = {z.domain: z.counter.update(int((z.path / "energy_uj").read_text())) / 1e6 for z in self.zones}
        return EnergyReading(joules, self.summed)

    def probes(self) -> dict[str, Callable[[], float | None]]:
        """Read the counters in the background so that no wrap goes unseen during a long window."""

        def poll() -> None:
            self.read()

        return {"rapl_poll": poll}

    def close(self) -> None:
        pass
