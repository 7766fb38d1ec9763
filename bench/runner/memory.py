"""Evidence that the kernel's OOM killer ended a worker, so the case reads ``oom``, not ``crashed``.

The kernel's OOM killer sends SIGKILL and says so only in its log. What the orchestrator can see
(Linux, where /proc and cgroups exist; docs/bad-input.md):

1. the cgroup's OOM-kill counter rose while the case ran: ``oom_kill`` in ``memory.events`` (cgroup v2,
   it counts processes of the cgroup killed by any OOM killer) or in ``memory.oom_control`` (cgroup v1);
2. the worker's resident memory, sampled from ``/proc/<pid>/status`` (``VmRSS``) while the case ran,
   reached ``NEAR_LIMIT`` of the smallest memory limit: the machine's ``MemTotal`` or a ``memory.max`` /
   ``memory.limit_in_bytes`` of its cgroup or an ancestor.

A worker that exits by SIGKILL with either piece of evidence is ``oom`` and the reason names it;
without any (macOS, or a SIGKILL from a person) it stays ``crashed``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CGROUP_ROOT = Path("/sys/fs/cgroup")
NEAR_LIMIT = 0.8  # of the limit; the last sample can be up to SAMPLE_S older than the kill
SAMPLE_S = 0.2
_NO_LIMIT = 1 << 60  # cgroup v1 writes "no limit" as a huge page-rounded number


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _field(text: str | None, name: str) -> int | None:
    """``name value`` or ``name: value kB`` line of a /proc or cgroup file, as an int (kB are converted)."""
    for line in (text or "").splitlines():
        key, _, rest = line.partition(":") if ":" in line else line.partition(" ")
        if key.strip() == name:
            parts = rest.split()
            if parts and parts[0].isdigit():
                return int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    return None


def resident_bytes(pid: int, proc: Path = PROC) -> int | None:
    return _field(_read(proc / str(pid) / "status"), "VmRSS")


@dataclass(frozen=True)
class Cgroup:
    """The memory cgroup of a process: its folder and its ancestors' (innermost first), and the version."""

    folders: tuple[Path, ...]
    version: int

    def limits(self) -> list[int]:
        name = "memory.max" if self.version == 2 else "memory.limit_in_bytes"
        values = [(_read(folder / name) or "").strip() for folder in self.folders]
        return [int(v) for v in values if v.isdigit() and int(v) < _NO_LIMIT]

    def oom_kills(self) -> int | None:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        return _field(_read(self.folders[0] / name), "oom_kill") if self.folders else None


def cgroup_of(pid: int, proc: Path = PROC, root: Path = CGROUP_ROOT) -> Cgroup | None:
    """From ``/proc/<pid>/cgroup``: the v1 ``memory`` hierarchy if mounted, else the v2 unified one."""
    lines = (_read(proc / str(pid) / "cgroup") or "").splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        if "memory" in controllers.split(",") and (root / "memory").is_dir():
            return Cgroup(_ancestors(root / "memory", path), 1)
    for line in lines:
        if line.startswith("0::") and (root / "cgroup.controllers").exists():
            return Cgroup(_ancestors(root, line[3:]), 2)
    return None


def _ancestors(base: Path, path: str) -> tuple[Path, ...]:
    parts = [p for p in path.strip().split("/") if p and p != ".."]
    return tuple(base.joinpath(*parts[:n]) for n in range(len(parts), -1, -1))


def memory_limit(pid: int, proc: Path = PROC, root: Path = CGROUP_ROOT) -> tuple[int, str] | None:
    """(bytes, what) of the smallest limit on ``pid``'s memory: the machine's or its cgroup's."""
    found: list[tuple[int, str]] = []
    total = _field(_read(proc / "meminfo"), "MemTotal")
    if total:
        found.append((total, "machine"))
    group = cgroup_of(pid, proc, root)
    if group is not None:
        found += [(limit, "cgroup") for limit in group.limits()]
    return min(found) if found else None


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


class MemoryWatch:
    """Samples one worker's resident memory per request and keeps the OOM evidence (Linux only)."""

    def __init__(self, pid: int, proc: Path = PROC, root: Path = CGROUP_ROOT):
        self.pid, self.proc, self.root = pid, proc, root
        self.cgroup = cgroup_of(pid, proc, root)
        self.limit = memory_limit(pid, proc, root)
        self.peak = 0
        self._kills_before: int | None = None
        self._stop = threading.Event()
        if (proc / str(pid) / "status").exists():
            threading.Thread(target=self._sample, name=f"rss-{pid}", daemon=True).start()

    def start_request(self) -> None:
        """A new case: its own peak, and the OOM-kill count it starts from."""
        self.peak = resident_bytes(self.pid, self.proc) or 0
        self._kills_before = self.cgroup.oom_kills() if self.cgroup else None

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            rss = resident_bytes(self.pid, self.proc)
            if rss is None:  # gone (or a zombie: no VmRSS line)
                return
            self.peak = max(self.peak, rss)

    def stop(self) -> None:
        self._stop.set()

    def oom_evidence(self) -> str | None:
        """Why a SIGKILL of this worker was the OOM killer's, or None when nothing says so."""
        found = []
        after = self.cgroup.oom_kills() if self.cgroup else None
        if after is not None and self._kills_before is not None and after > self._kills_before:
            found.append(f"the cgroup's oom_kill count rose by {after - self._kills_before}")
        if self.limit and self.peak >= NEAR_LIMIT * self.limit[0]:
            found.append(f"its resident memory reached {_gib(self.peak)} of the {_gib(self.limit[0])} {self.limit[1]} limit")
        return "; ".join(found) or None
