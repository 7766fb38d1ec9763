"""Apple-silicon energy: IOReport counters through ``zeus-apple-silicon`` (no root), or ``powermetrics`` as root.

Neither path has run on this project's machines (no Apple hardware): both follow their upstream code.

IOReport (github.com/ml-energy/zeus-apple-silicon, ``README.md`` and ``bindings/energy_bindings.hpp``):
``AppleEnergyMonitor().get_cumulative_energy()`` returns an ``AppleEnergyMetrics`` whose fields are
cumulative **millijoules** from a fixed point, or None where the chip has no such channel:
``cpu_total_mj``, ``gpu_mj``, ``ane_mj``, ``dram_mj`` (and per-core/cluster detail, ``gpu_sram_mj``,
not summed here). The README notes these are model-based estimates from IOReport's "Energy Model"
group, 1 mJ resolution, and that windows under ~10 ms are dominated by quantisation.

powermetrics (needs root; plist output parsed as in github.com/graelo/pumas
``src/modules/powermetrics/plist_parsing.rs`` and ``buffer.rs``): ``powermetrics -f plist -i <ms>
--samplers cpu_power,gpu_power`` writes one plist per interval, separated by NUL bytes; each has
``elapsed_ns`` and ``processor`` with ``cpu_energy``, ``gpu_energy`` and ``ane_energy`` in
millijoules *over that interval*. Summing them gives a cumulative counter with the interval as its
resolution. Plists are parsed with ``plistlib`` (data only, never code).
"""

from __future__ import annotations

import importlib
import os
import plistlib
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

from bench.energy.nvml import INSTALL_HINT
from bench.energy.reading import EnergyReading

# AppleEnergyMetrics field -> domain. gpu_sram_mj is left out: whether "GPU Energy" already contains it is not documented.
IOREPORT_FIELDS = {"cpu": "cpu_total_mj", "gpu": "gpu_mj", "ane": "ane_mj", "dram": "dram_mj"}
POWERMETRICS_FIELDS = {"cpu": "cpu_energy", "gpu": "gpu_energy", "ane": "ane_energy"}


class IOReportMeter:
    name = "ioreport"
    scope = "SoC CPU, GPU, ANE and DRAM (IOReport energy-model estimates), every process on the machine"

    def __init__(self, import_module: Callable[[str], Any] = importlib.import_module):
        self._import = import_module
        self.monitor: Any = None
        self.domains: tuple[str, ...] = ()
        self._reason: str | None = None
        self._checked = False

    def available(self) -> str | None:
        if self._checked:
            return self._reason
        self._checked = True
        try:
            module = self._import("zeus_apple_silicon")
        except ImportError:
            self._reason = f"zeus-apple-silicon not installed: {INSTALL_HINT}"
            return self._reason
        try:
            self.monitor = module.AppleEnergyMonitor()
            metrics = self.monitor.get_cumulative_energy()
        except Exception as exc:  # "Failed to create IOReport subscription."
            self._reason = f"IOReport unavailable: {exc}"
            return self._reason
        self.domains = tuple(d for d, f in IOREPORT_FIELDS.items() if getattr(metrics, f, None) is not None)
        if not self.domains:
            self._reason = "IOReport returned no CPU, GPU, ANE or DRAM energy channel on this chip"
        return self._reason

    def read(self) -> EnergyReading:
        metrics = self.monitor.get_cumulative_energy()
        joules = {d: getattr(metrics, IOREPORT_FIELDS[d]) / 1000.0 for d in self.domains if getattr(metrics, IOREPORT_FIELDS[d], None) is not None}
        return EnergyReading(joules, self.domains)

    def close(self) -> None:
        self.monitor = None


def plist_records(stream: IO[bytes], chunk: int = 65536) -> Iterator[dict[str, Any]]:
    """Each NUL-separated plist document of a powermetrics ``-f plist`` stream, parsed; bad ones skipped."""
    pending = b""
    while True:
        data = stream.read1(chunk) if hasattr(stream, "read1") else stream.read(chunk)
        if not data:
            break
        pending += data
        *docs, pending = pending.split(b"\0")
        for doc in docs:
            if doc.strip():
                try:
                    yield plistlib.loads(doc.strip())
                except Exception:  # a truncated or malformed sample: skip it, keep the stream
                    continue
    if pending.strip():
        try:
            yield plistlib.loads(pending.strip())
        except Exception:
            pass


class PowermetricsMeter:
    name = "powermetrics"
    scope = "SoC CPU, GPU and ANE (powermetrics estimates), every process on the machine"

    def __init__(
        self,
        interval_ms: int = 100,
        *,
        which: Callable[[str], str | None] = shutil.which,
        euid: Callable[[], int] = os.geteuid,
        popen: Callable[..., Any] = subprocess.Popen,
    ):
        self.interval_ms = interval_ms
        self._which, self._euid, self._popen = which, euid, popen
        self.totals_mj = {d: 0.0 for d in POWERMETRICS_FIELDS}
        self.samples = 0
        self.process: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._first = threading.Event()

    def available(self) -> str | None:
        if self._which("powermetrics") is None:
            return "powermetrics not found (it ships with macOS)"
        if self._euid() != 0:
            return "powermetrics needs root (sudo)"
        return None

    def add(self, record: dict[str, Any]) -> None:
        processor = record.get("processor") or {}
        with self._lock:
            for domain, key in POWERMETRICS_FIELDS.items():
                value = processor.get(key)
                if isinstance(value, int | float):
                    self.totals_mj[domain] += float(value)
            self.samples += 1
        self._first.set()

    def _pump(self, stream: IO[bytes]) -> None:
        for record in plist_records(stream):
            self.add(record)

    def start(self, first_sample_timeout_s: float = 5.0) -> None:
        """Start powermetrics and wait for its first sample, so that windows see whole intervals."""
        if self.process is not None:
            return
        self.process = self._popen(
            ["powermetrics", "-f", "plist", "-i", str(self.interval_ms), "--samplers", "cpu_power,gpu_power"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True)
        self._thread.start()
        self._first.wait(first_sample_timeout_s)

    def read(self) -> EnergyReading:
        self.start()
        with self._lock:
            joules = {d: mj / 1000.0 for d, mj in self.totals_mj.items()}
        return EnergyReading(joules, tuple(POWERMETRICS_FIELDS))

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=2)
            except Exception:
                self.process.kill()
        self.process = None
