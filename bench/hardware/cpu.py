"""The host CPU as a rate bound needs it: logical cores, the highest clock anything reports, ISA features.

Linux: ``/proc/cpuinfo`` (processors, model name, ``flags`` on x86 / ``Features`` on Arm, ``cpu MHz``)
and ``/sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq`` (kHz). macOS: ``sysctl`` (``hw.logicalcpu``,
``hw.cpufrequency_max`` on Intel Macs; Apple silicon publishes no clock there, so ``bench/hardware/bounds.py``
keeps a per-chip table). Readers take a root directory so that tests can hand them a fake tree.
"""

from __future__ import annotations

import functools
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.backends.host import cpu_model_name, logical_cores, sysctl


@dataclass(frozen=True)
class HostCPU:
    name: str  # "AMD EPYC 7B13", "Apple M3 Max"
    arch: str  # platform.machine(): x86_64, aarch64, arm64
    logical_cores: int
    clock_ghz: float | None  # the highest clock any source reported, before headroom
    clock_source: str  # where clock_ghz came from
    features: frozenset[str] = field(default_factory=frozenset)  # lower-case ISA flags

    @property
    def apple_silicon(self) -> bool:
        return self.name.startswith("Apple M")


def _cpuinfo_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current.setdefault(key.strip(), value.strip())
    if current:
        blocks.append(current)
    return blocks


def _brand_ghz(name: str) -> float | None:
    """The nominal clock printed in a brand string: 'Intel(R) Xeon(R) CPU @ 2.20GHz' -> 2.2."""
    match = re.search(r"@\s*([0-9.]+)\s*GHz", name, re.IGNORECASE)
    return float(match.group(1)) if match else None


def _max_freq_ghz(root: Path) -> float | None:
    best = None
    for path in (root / "sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/cpuinfo_max_freq"):
        try:
            khz = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
        best = max(best or 0.0, khz / 1e6)
    return best


def read_linux(root: Path = Path("/"), arch: str | None = None) -> HostCPU:
    """The CPU described by ``root``/proc/cpuinfo and ``root``/sys (a fake tree in tests)."""
    try:
        text = (root / "proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    blocks = _cpuinfo_blocks(text)
    processors = [b for b in blocks if "processor" in b]
    first = processors[0] if processors else (blocks[0] if blocks else {})
    name = first.get("model name") or first.get("Model name") or first.get("Hardware") or "unknown CPU"
    features = frozenset((first.get("flags") or first.get("Features") or "").lower().split())
    mhz = [float(b["cpu MHz"]) for b in processors if _is_number(b.get("cpu MHz"))]
    candidates = [
        (_max_freq_ghz(root), "cpufreq cpuinfo_max_freq"),
        (max(mhz) / 1e3 if mhz else None, "/proc/cpuinfo cpu MHz"),
        (_brand_ghz(name), "the brand string"),
    ]
    known = [(ghz, source) for ghz, source in candidates if ghz]
    clock, source = max(known) if known else (None, "no clock reported")
    return HostCPU(name, arch or platform.machine(), len(processors) or logical_cores(), clock, source, features)


def _is_number(text: str | None) -> bool:
    try:
        return text is not None and float(text) > 0
    except ValueError:
        return False


# Arm features as macOS names them (sysctl hw.optional.arm.*) -> the Linux /proc/cpuinfo name.
_MACOS_ARM_FEATURES = {"hw.optional.arm.FEAT_BF16": "bf16", "hw.optional.arm.FEAT_SME": "sme", "hw.optional.arm.FEAT_FP16": "asimdhp"}


def read_macos(query: Callable[[str], str | None] = sysctl) -> HostCPU:
    """The CPU as macOS ``sysctl`` describes it (``query`` is replaced in tests)."""
    name = query("machdep.cpu.brand_string") or "unknown CPU"
    cores = query("hw.logicalcpu")
    hz = query("hw.cpufrequency_max")
    features = " ".join(filter(None, (query("machdep.cpu.features"), query("machdep.cpu.leaf7_features")))).lower()
    arm = {flag for key, flag in _MACOS_ARM_FEATURES.items() if query(key) == "1"}
    return HostCPU(
        name,
        "arm64" if name.startswith("Apple") else "x86_64",
        int(cores) if cores and cores.isdigit() else logical_cores(),
        int(hz) / 1e9 if hz and hz.isdigit() else None,
        "sysctl hw.cpufrequency_max" if hz and hz.isdigit() else "no clock reported",
        frozenset(features.split()) | frozenset(arm),
    )


@functools.lru_cache(maxsize=1)
def host_cpu() -> HostCPU:
    if platform.system() == "Darwin":
        return read_macos()
    if platform.system() == "Linux":
        return read_linux()
    return HostCPU(cpu_model_name(), platform.machine(), logical_cores(), None, "no clock reported")
