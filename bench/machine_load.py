"""How busy the machine was while a case was measured (docs/design.md, rule 10).

Around a case's measurement the worker reads, before and after: the CPU time of the CPUs it may run
on (Linux ``/proc/stat``: busy, idle and steal ticks per CPU), its own CPU time (all its threads,
``time.process_time``) and the load average. The difference is what other processes (and, in a
virtual machine, the hypervisor: steal) took from those CPUs while the case ran. Where there is no
``/proc/stat`` (macOS) only the load average is read.

A case is ``contended`` when others took at least ``OTHER_CORES_LIMIT`` of a CPU on average and less
than ``FREE_CORES`` stayed idle (so something waited for a CPU); without ``/proc/stat``, when the
1-minute load average exceeded the CPU count. The thresholds and the measurements behind them are in
docs/measurement.md, "CPU noise and the thread policy".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.results.records import CaseRecord, Load
from bench.results.schema import CONTENDED

OTHER_CORES_LIMIT = 0.25  # CPUs taken by other processes and steal, on average over the case
FREE_CORES = 1.0  # ... unless at least this much CPU stayed idle meanwhile: then nobody had to wait


@dataclass(frozen=True)
class Ticks:
    """Clock ticks summed over some CPUs: busy (user, nice, system, irq, softirq), idle (idle, iowait), steal."""

    busy: int
    idle: int
    steal: int

    @property
    def total(self) -> int:
        return self.busy + self.idle + self.steal

    def __sub__(self, other: Ticks) -> Ticks:
        return Ticks(self.busy - other.busy, self.idle - other.idle, self.steal - other.steal)


def parse_stat(text: str, cpus: Iterable[int] | None = None) -> Ticks | None:
    """Ticks of the ``cpuN`` lines of /proc/stat for ``cpus`` (all CPUs when None); None if none is there.

    Fields (proc(5)): user nice system idle iowait irq softirq steal guest guest_nice; guest time is
    already counted in user, so it is left out.
    """
    wanted = None if cpus is None else {f"cpu{c}" for c in cpus}
    busy = idle = steal = 0
    found = False
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu" or (wanted is not None and name not in wanted):
            continue
        fields = [int(x) for x in rest.split()[:8]] + [0] * 8
        busy += fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
        idle += fields[3] + fields[4]
        steal += fields[7]
        found = True
    return Ticks(busy, idle, steal) if found else None


@dataclass(frozen=True)
class Snapshot:
    wall_s: float
    own_cpu_s: float
    cores: int
    ticks: Ticks | None
    loadavg: tuple[float, float, float] | None


def _allowed_cpus() -> list[int] | None:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


class LoadReader:
    """Takes snapshots; every source can be replaced (tests give it fake /proc files and clocks)."""

    def __init__(
        self,
        proc: Path = Path("/proc"),
        clock: Callable[[], float] = time.monotonic,
        own_cpu: Callable[[], float] = time.process_time,
        cpus: Callable[[], list[int] | None] = _allowed_cpus,
        hz: int | None = None,
    ):
        self.proc, self.clock, self.own_cpu, self.cpus = proc, clock, own_cpu, cpus
        self.hz = hz or (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)

    def _loadavg(self) -> tuple[float, float, float] | None:
        try:
            one, five, fifteen = (float(x) for x in (self.proc / "loadavg").read_text().split()[:3])
            return one, five, fifteen
        except (OSError, ValueError):
            pass
        try:
            return os.getloadavg()
        except OSError:
            return None

    def snapshot(self) -> Snapshot:
        cpus = self.cpus()
        try:
            ticks = parse_stat((self.proc / "stat").read_text(), cpus)
        except (OSError, ValueError):
            ticks = None
        cores = len(cpus) if cpus else (os.cpu_count() or 1)
        return Snapshot(self.clock(), self.own_cpu(), cores, ticks, self._loadavg())


def between(before: Snapshot, after: Snapshot, hz: int) -> Load:
    """The load while the case ran, and whether it was contended."""
    window = max(after.wall_s - before.wall_s, 1e-9)
    own = max(0.0, after.own_cpu_s - before.own_cpu_s)
    load = Load(window_s=window, cores=after.cores, own_cores=own / window, loadavg=list(after.loadavg) if after.loadavg else None)
    if before.ticks is not None and after.ticks is not None and (after.ticks - before.ticks).total > 0:
        delta = after.ticks - before.ticks
        total_s = delta.total / hz
        other_s = max(0.0, delta.busy / hz - own)
        load.source = "/proc/stat"
        load.other_cpu_fraction = other_s / total_s
        load.steal_fraction = delta.steal / hz / total_s
        load.idle_fraction = delta.idle / hz / total_s
        taken = (other_s + delta.steal / hz) / window
        load.contended = taken >= OTHER_CORES_LIMIT and delta.idle / hz / window < FREE_CORES
    elif after.loadavg is not None:
        load.source = "loadavg"
        load.contended = after.loadavg[0] > after.cores
    return load


def note(load: Load) -> str:
    """The human note beside the ``contended`` flag, with the figures."""
    avg = f", load average {load.loadavg[0]:.2f}" if load.loadavg else ""
    if load.other_cpu_fraction is None:
        return f"{CONTENDED}: the 1-minute load average exceeded the {load.cores} CPUs while the case ran{avg}"
    taken = (load.other_cpu_fraction + (load.steal_fraction or 0.0)) * load.cores
    return (
        f"{CONTENDED}: other processes took {taken:.2f} of the {load.cores} CPUs this worker may use while the case ran "
        f"(steal {load.steal_fraction or 0.0:.0%}, idle {load.idle_fraction or 0.0:.0%}{avg}); its time includes waiting for a CPU"
    )


default_reader = LoadReader()


class Watch:
    """``watch()`` before the measurement, ``stop(record)`` after: sets ``record.load``, flags a contended case."""

    def __init__(self, reader: LoadReader):
        self.reader = reader
        self.before = reader.snapshot()

    def stop(self, record: CaseRecord) -> Load:
        load = between(self.before, self.reader.snapshot(), self.reader.hz)
        record.load = load
        if load.contended and CONTENDED not in record.flags:
            record.flags.append(CONTENDED)
            record.notes.append(note(load))
        return load


def watch(reader: LoadReader | None = None) -> Watch:
    return Watch(reader or default_reader)
