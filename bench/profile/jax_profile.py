"""jax: ``jax.profiler.trace`` around the region; the trace events (``*.trace.json.gz``) summarised.

Source: jax-ml/jax ``jax/_src/profiler.py`` (``trace(log_dir, create_perfetto_link=False,
create_perfetto_trace=False, profiler_options=None)``).
Output: ``log_dir/plugins/profile/<timestamp>/<host>.trace.json.gz`` (+ ``.xplane.pb``).

What the events look like (verified on jax 0.10.2 CPU; CUDA per the reference, verified on H100):
- every executed XLA op carries ``args.hlo_op`` and ``args.hlo_module``. On CPU the op events are
  thunk executions on XLA's client threads, named after the HLO op (``ynn_fusion``,
  ``pure_callback.1``); on GPU they are kernels on ``/device:GPU:N`` streams, named by the kernel.
- GPU copies are CUPTI events ``MemcpyH2D`` / ``MemcpyD2H`` / ``MemcpyD2D`` with
  ``args.memcpy_details = "kind_src:… kind_dst:… size:N …"`` (openxla/xla
  ``xla/backends/profiler/gpu/cupti_collector.cc``, formerly in tensorflow ``core/profiler``).
"""

from __future__ import annotations

import bisect
import re

from bench.profile.fallback import is_host_callback
from bench.profile.region import ProfileContext, annotated_region, prepare
from bench.profile.summary import ProfileSummary
from bench.profile.trace_events import (
    CUPTI_COPIES,
    TraceEvent,
    add_cupti_copies,
    complete_events,
    load_chrome_trace,
    newest_output,
    region_events,
    self_times,
)

TOOL = "jax.profiler"
TRACE_DIR = "jax_trace"


def child_environment(options: object) -> dict[str, str]:
    return {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}  # do not grab 75 % of the GPU next to other processes


def profile(adapter, fn, ctx: ProfileContext) -> ProfileSummary:
    import jax

    log_dir = ctx.artifact_dir / TRACE_DIR
    options = jax.profiler.ProfileOptions()
    if hasattr(options, "python_tracer_level"):
        options.python_tracer_level = 0  # Python call events would swamp the trace and slow eager calls
    calls = prepare(adapter, fn, ctx.plan)
    with jax.profiler.trace(str(log_dir), profiler_options=options):
        wall = annotated_region(adapter, fn, calls, jax.profiler.TraceAnnotation)
    summary = ProfileSummary(TOOL, adapter.device, calls=calls, case_time_s=wall / calls, artifacts=[ctx.rel(log_dir)])
    trace = newest_output(summary, log_dir, "*.trace.json.gz")
    if trace:
        summarize_events(summary, region_events(summary, complete_events(load_chrome_trace(trace))))
    return summary


def _on_device(event: TraceEvent) -> bool:
    return event.process.startswith("/device:")


def _is_op(event: TraceEvent) -> bool:
    """A kernel on a device stream (copies aside), or on the host an executed XLA op (``hlo_op``).

    Device lines other than ``Stream #…`` (xprof may derive "XLA Ops"/"XLA Modules" lines from the
    kernels) are left out so that kernel time is not counted twice.
    """
    if _on_device(event):
        return event.thread.startswith("Stream") and event.name not in CUPTI_COPIES
    return "hlo_op" in event.args


def summarize_events(summary: ProfileSummary, events: list[TraceEvent]) -> None:
    """XLA ops (events with ``hlo_op``) by self time, copies with bytes, host callbacks flagged."""
    add_cupti_copies(summary, [e for e in events if _on_device(e)])
    ops = self_times(events, _is_op)
    for event, self_us in ops:
        hlo_op = str(event.args.get("hlo_op", ""))
        device = summary.device if _on_device(event) else "cpu"
        fallback = is_host_callback(hlo_op, summary.device)
        module = str(event.args.get("hlo_module", ""))
        detail = (f"{module}/{hlo_op}" if hlo_op and event.name != hlo_op else module) or None
        summary.add_op(event.name, self_us / 1e6, device=device, fallback=fallback, detail=detail)
    if summary.device != "cpu":
        summary.notes.append("host-side XLA events (device cpu) overlap the device timeline; coverage counts device ops, copies and host callbacks")
    else:
        add_dispatch_rows(summary, events, [e for e, _ in ops])


DISPATCH = re.compile(r"^PjitFunction\((.+)\)$")


def add_dispatch_rows(summary: ProfileSummary, events: list[TraceEvent], op_events: list[TraceEvent]) -> None:
    """Host dispatch of eager JAX on the CPU: ``PjitFunction(name)`` events, less the XLA op time inside them.

    In eager mode every jnp call is dispatched from Python on its own; that host time is real case
    time with no XLA op event. Only outermost dispatches count (a nested one is part of its parent),
    and the op time overlapping a dispatch is subtracted, so nothing is counted twice.
    """
    ops = sorted((e.start_us, e.end_us) for e in op_events)
    starts = [a for a, _ in ops]
    outer_end = -1.0
    for event in sorted((e for e in events if DISPATCH.match(e.name)), key=lambda e: (e.start_us, -e.dur_us)):
        if event.end_us <= outer_end:
            continue  # nested inside a dispatch already counted
        outer_end = event.end_us
        first = max(bisect.bisect_left(starts, event.start_us) - 1, 0)
        overlap = 0.0
        for a, b in ops[first : bisect.bisect_right(starts, event.end_us)]:
            overlap += max(0.0, min(b, event.end_us) - max(a, event.start_us))
        match = DISPATCH.match(event.name)
        name = match.group(1) if match else event.name
        summary.add_op(
            f"dispatch {name}",
            max(event.dur_us - overlap, 0.0) / 1e6,
            device="cpu",
            detail="host: JAX dispatch (PjitFunction) minus the XLA op time inside it",
        )
