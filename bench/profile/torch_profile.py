"""torch:cpu / torch:cuda: ``torch.profiler`` around the region; key averages into the summary.

Op times are the key averages' *self* times (``self_cpu_time_total`` for CPU ops,
``self_device_time_total`` for CUDA kernel rows), so nested ops are not counted twice. The
Chrome trace (``export_chrome_trace``; a ``.gz`` name is gzipped) is kept as the artifact and read
back for copies: Kineto writes memcpy events named ``Memcpy DtoH (Device -> Pageable)`` with
``args.bytes`` (pytorch/kineto ``libkineto/src/output_json.cpp``). Signatures: pytorch
``torch/profiler/profiler.py``.
torch:mps is profiled by ``bench.profile.mps`` (torch.profiler records no MPS activity, #99037).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from bench.profile.fallback import Step, host_window_ops
from bench.profile.region import ProfileContext, prepare, timed_calls
from bench.profile.summary import DEVICE_TO_DEVICE, DEVICE_TO_HOST, HOST_TO_DEVICE, ProfileSummary
from bench.profile.trace_events import complete_events, load_chrome_trace

TOOL = "torch.profiler"
CALL_MARK = "siliconbench::call"  # record_function around each call: marks the call's top-level ops
TRACE_NAME = "torch_trace.json.gz"

_COPY_DIRECTIONS = {"HtoD": HOST_TO_DEVICE, "DtoH": DEVICE_TO_HOST, "DtoD": DEVICE_TO_DEVICE, "PtoP": DEVICE_TO_DEVICE}


def profile(adapter, fn, ctx: ProfileContext) -> ProfileSummary:
    import torch
    from torch.profiler import ProfilerActivity, record_function

    activities = [ProfilerActivity.CPU]
    if adapter.device == "cuda":
        activities.append(ProfilerActivity.CUDA)
    calls = prepare(adapter, fn, ctx.plan)
    trace_path = ctx.artifact_dir / TRACE_NAME
    results: dict[str, Any] = {}

    def ready(prof) -> None:  # called when the active step ends; only that step's events are kept
        prof.export_chrome_trace(str(trace_path))
        results.update(rows=list(prof.key_averages()), events=list(prof.events()))

    # One warm-up step inside the profiler (discarded): the first profiled call pays the profiler's start-up.
    schedule = torch.profiler.schedule(wait=0, warmup=1, active=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Profiler clears events at the end of each cycle.*")
        with torch.profiler.profile(activities=activities, schedule=schedule, on_trace_ready=ready) as prof:
            timed_calls(adapter, fn, 1)
            prof.step()
            wall = timed_calls(adapter, fn, calls, per_call=lambda: record_function(CALL_MARK))
            prof.step()

    summary = ProfileSummary(TOOL, adapter.device, calls=calls, case_time_s=wall / calls, artifacts=[ctx.rel(trace_path)])
    add_key_averages(summary, results.get("rows", []))
    add_trace_copies(summary, load_chrome_trace(trace_path))
    summary.mark_fallbacks(host_window_ops(call_steps(results.get("events", [])), adapter.device))
    if adapter.device == "cuda":
        summary.notes.append("host rows (device cpu) are CPU-side dispatch overlapping the kernels; coverage counts kernels, copies and fallbacks")
    return summary


def _device_of(row: Any) -> str:
    return "cpu" if str(getattr(row, "device_type", "CPU")).rsplit(".", 1)[-1] == "CPU" else "cuda"


def add_key_averages(summary: ProfileSummary, rows: Iterable[Any]) -> None:
    """One op per key-average row: CPU rows by self CPU time, device rows (kernels) by self device time.

    ``rows`` are ``FunctionEventAvg``: ``key``, ``count``, ``self_cpu_time_total`` and
    ``self_device_time_total`` (microseconds), ``device_type``, ``is_user_annotation``.
    Memcpy rows are left to the copies (read from the trace, with their bytes).
    """
    for row in rows:
        if getattr(row, "is_user_annotation", False) or row.key.startswith("ProfilerStep"):
            continue
        device = _device_of(row)
        if device == "cpu":
            summary.add_op(row.key, row.self_cpu_time_total / 1e6, row.count, device="cpu")
        elif not row.key.startswith("Memcpy"):
            summary.add_op(row.key, row.self_device_time_total / 1e6, row.count, device=device)


def add_trace_copies(summary: ProfileSummary, trace: dict[str, Any]) -> None:
    for event in complete_events(trace):
        if not event.name.startswith("Memcpy"):
            continue
        kind = next((k for k in _COPY_DIRECTIONS if k in event.name), None)
        if kind is not None:
            summary.add_copy(_COPY_DIRECTIONS[kind], int(event.args.get("bytes", 0) or 0), event.dur_us / 1e6)


def _subtree_kernels(event: Any) -> tuple[str, ...]:
    names = [k.name for k in getattr(event, "kernels", [])]
    for child in getattr(event, "cpu_children", []):
        names.extend(_subtree_kernels(child))
    return tuple(names)


def call_steps(events: Iterable[Any]) -> list[Step]:
    """Top-level ops of every profiled call, in time order, each with the device work it launched."""
    steps: list[Step] = []
    marks = sorted((e for e in events if e.name == CALL_MARK), key=lambda e: e.time_range.start)
    for mark in marks:
        for child in sorted(mark.cpu_children, key=lambda e: e.time_range.start):
            steps.append(Step(child.name, _subtree_kernels(child)))
    return steps
