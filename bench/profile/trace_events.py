"""Timeline events from Chrome-trace JSON (torch, JAX) or XPlane (TF), and self time per event.

Chrome trace format (Trace Event Format, used by ``torch.profiler.export_chrome_trace`` and the
``*.trace.json.gz`` JAX writes): ``{"traceEvents": [...]}``; complete events have ``"ph": "X"``,
``ts`` and ``dur`` in microseconds, ``pid``/``tid``, ``name``, optional ``args``; metadata events
(``"ph": "M"``, ``name`` ``process_name``/``thread_name``) name processes and threads.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.profile.region import REGION_MARK
from bench.profile.summary import DEVICE_TO_DEVICE, DEVICE_TO_HOST, HOST_TO_DEVICE, ProfileSummary

# CUPTI copy events as XLA/TSL's collector names them, with ``memcpy_details = "kind_src:… size:N …"``
# (openxla/xla ``xla/backends/profiler/gpu/cupti_collector.cc``); JAX and TF traces share them.
CUPTI_COPIES = {"MemcpyH2D": HOST_TO_DEVICE, "MemcpyD2H": DEVICE_TO_HOST, "MemcpyD2D": DEVICE_TO_DEVICE, "MemcpyP2P": DEVICE_TO_DEVICE}
_MEMCPY_SIZE = re.compile(r"\bsize:(\d+)")

# Nested events share clock ticks with their parent; allow this much slack (us) at the edges.
_EDGE_US = 1e-3


@dataclass
class TraceEvent:
    name: str
    start_us: float
    dur_us: float
    process: str = ""  # "/host:CPU", "/device:GPU:0", ...
    thread: str = ""
    track: tuple = ()  # (pid, tid): events nest only within one track
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def end_us(self) -> float:
        return self.start_us + self.dur_us


def load_chrome_trace(path: str | Path) -> dict[str, Any]:
    """Read a Chrome trace, gzipped when the name ends in ``.gz``."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, list):  # the format also allows a bare event array
        data = {"traceEvents": data}
    if not isinstance(data, dict) or not isinstance(data.get("traceEvents"), list):
        raise ValueError(f"{path}: field 'traceEvents': missing or not a list")
    return data


def complete_events(trace: dict[str, Any]) -> list[TraceEvent]:
    """The ``ph: X`` events, with their process and thread names resolved."""
    processes: dict[Any, str] = {}
    threads: dict[tuple, str] = {}
    for e in trace["traceEvents"]:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            processes[e.get("pid")] = str((e.get("args") or {}).get("name", ""))
        elif e.get("ph") == "M" and e.get("name") == "thread_name":
            threads[(e.get("pid"), e.get("tid"))] = str((e.get("args") or {}).get("name", ""))
    out = []
    for e in trace["traceEvents"]:
        if e.get("ph") != "X" or "dur" not in e or "ts" not in e:
            continue
        track = (e.get("pid"), e.get("tid"))
        out.append(
            TraceEvent(
                str(e.get("name", "")),
                float(e["ts"]),
                float(e["dur"]),
                processes.get(e.get("pid"), ""),
                threads.get(track, ""),
                track,
                e.get("args") or {},
            )
        )
    return out


def self_times(events: Iterable[TraceEvent], selected: Callable[[TraceEvent], bool]) -> list[tuple[TraceEvent, float]]:
    """For each selected event, its duration minus the selected events nested directly inside it.

    Nesting is per track (one thread or one GPU stream). Events that are not selected neither
    count nor hide time, so runtime bookkeeping inside an op stays part of that op.
    Returns ``(event, self_us)`` pairs.
    """
    by_track: dict[tuple, list[TraceEvent]] = {}
    for event in events:
        if selected(event):
            by_track.setdefault(event.track, []).append(event)
    out: list[tuple[TraceEvent, float]] = []
    for track_events in by_track.values():
        track_events.sort(key=lambda e: (e.start_us, -e.dur_us))
        stack: list[list] = []  # [event, child time]
        for event in track_events:
            while stack and event.start_us >= stack[-1][0].end_us - _EDGE_US:
                parent, child = stack.pop()
                out.append((parent, max(parent.dur_us - child, 0.0)))
            if stack and event.end_us <= stack[-1][0].end_us + _EDGE_US:
                stack[-1][1] += event.dur_us
            stack.append([event, 0.0])
        while stack:
            parent, child = stack.pop()
            out.append((parent, max(parent.dur_us - child, 0.0)))
    return out


def add_cupti_copies(summary: ProfileSummary, device_events: Iterable[TraceEvent]) -> None:
    """Copies from device-plane events named ``MemcpyH2D`` etc., bytes from ``memcpy_details``."""
    for event in device_events:
        direction = CUPTI_COPIES.get(event.name)
        if direction:
            size = _MEMCPY_SIZE.search(str(event.args.get("memcpy_details", "")))
            summary.add_copy(direction, int(size[1]) if size else 0, event.dur_us / 1e6)


def in_window(events: list[TraceEvent], mark: str) -> list[TraceEvent] | None:
    """Events that lie inside the (first) event named ``mark``, the mark excluded; None without the mark."""
    marks = [e for e in events if e.name == mark]
    if not marks:
        return None
    start, end = marks[0].start_us - _EDGE_US, marks[0].end_us + _EDGE_US
    return [e for e in events if e.name != mark and e.start_us >= start and e.end_us <= end]


def region_events(summary: ProfileSummary, events: list[TraceEvent]) -> list[TraceEvent]:
    """The events inside the region annotation; all of them (with a note) if the annotation is missing."""
    inside = in_window(events, REGION_MARK)
    if inside is None:
        summary.notes.append(f"no {REGION_MARK} annotation in the trace: the warm-up call inside the trace is counted too")
        return events
    return inside


def newest_output(summary: ProfileSummary, log_dir: Path, pattern: str) -> Path | None:
    """The newest ``log_dir/plugins/profile/<run>/<pattern>`` file; marks the summary failed if none."""
    found = sorted(Path(log_dir).glob(f"plugins/profile/*/{pattern}"))
    if not found:
        summary.status, summary.reason = "error", f"{summary.tool} wrote no {pattern} under {log_dir}"
        return None
    return found[-1]
