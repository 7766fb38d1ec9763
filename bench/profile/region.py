"""The profiled region: warm-up outside the profiler, then N back-to-back calls, synchronised once.

The region's wall time divided by N is the case's time under the profiler (``case_time_s``),
the figure a profile's op times are compared against (``coverage``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.backends.base import Adapter

# Name of the annotation around the profiled calls (trace-based profilers keep only events inside it).
REGION_MARK = "siliconbench::region"


@dataclass
class RegionPlan:
    calls: int | None = None  # fixed number of profiled calls; None: sized from target_s
    target_s: float = 0.3  # aim for a region this long
    max_calls: int = 200  # traces grow with calls: cap them
    min_calls: int = 3
    warmup_calls: int = 2
    warmup_s: float = 0.05

    def choose_calls(self, per_call_s: float) -> int:
        if self.calls:
            return self.calls
        wanted = math.ceil(self.target_s / max(per_call_s, 1e-9))
        return int(min(self.max_calls, max(self.min_calls, wanted)))


@dataclass
class ProfileContext:
    """What a framework profiler needs besides the adapter and the call: where to write, how long."""

    artifact_dir: Path
    artifact_root: Path  # artifact paths are stored relative to this folder (the run file's folder)
    plan: RegionPlan = field(default_factory=RegionPlan)
    options: dict[str, Any] = field(default_factory=dict)
    calls_made: Callable[[], int] = lambda: 0  # every call of the workload in this process so far

    def rel(self, path: Path) -> str:
        return relative_path(path, self.artifact_root)


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (how summaries name artifacts), else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


def counted(fn: Callable[[], Any]) -> tuple[Callable[[], Any], Callable[[], int]]:
    """Wrap ``fn`` so every call is counted; returns (wrapped, count)."""
    count = [0]

    def call():
        count[0] += 1
        return fn()

    return call, lambda: count[0]


def warm_up(adapter: Adapter, fn: Callable[[], Any], plan: RegionPlan) -> float:
    """Synchronised calls until both the count and the time are reached; returns the last call's time."""
    start = time.perf_counter()
    calls, last = 0, 0.0
    while calls < plan.warmup_calls or time.perf_counter() - start < plan.warmup_s:
        t0 = time.perf_counter()
        out = fn()
        adapter.materialize(out)
        adapter.synchronize(out)
        last = time.perf_counter() - t0
        calls += 1
    return last


def timed_calls(adapter: Adapter, fn: Callable[[], Any], calls: int, per_call: Callable[[], ContextManager] | None = None) -> float:
    """Run ``calls`` calls back to back (each inside ``per_call()``), synchronise, return wall seconds."""
    per_call = per_call or contextlib.nullcontext
    out = None
    t0 = time.perf_counter()
    for _ in range(calls):
        with per_call():
            out = fn()
            adapter.materialize(out)
    adapter.synchronize(out)
    return time.perf_counter() - t0


def annotated_region(adapter: Adapter, fn: Callable[[], Any], calls: int, annotation: Callable[[str], ContextManager]) -> float:
    """Inside a running trace: one call that absorbs the profiler's start-up, then ``calls`` calls
    inside ``annotation(REGION_MARK)`` (the window the summary keeps). Returns the region's wall time."""
    timed_calls(adapter, fn, 1)
    with annotation(REGION_MARK):
        return timed_calls(adapter, fn, calls)


def prepare(adapter: Adapter, fn: Callable[[], Any], plan: RegionPlan) -> int:
    """Warm up and return how many calls the profiled region should make."""
    return plan.choose_calls(warm_up(adapter, fn, plan))
