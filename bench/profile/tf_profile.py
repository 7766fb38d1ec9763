"""tensorflow: ``tf.profiler.experimental`` around the region; the XPlane it writes summarised.

Sources: tensorflow ``tensorflow/python/profiler/profiler_v2.py`` (``start(logdir, options)``,
``stop()``, ``ProfilerOptions(host_tracer_level, python_tracer_level, device_tracer_level)``);
TF 2.21 writes only ``logdir/plugins/profile/<ts>/<host>.xplane.pb`` (seen with TF 2.21), an
``XSpace`` protobuf (``tsl/profiler/protobuf/xplane.proto``, shipped as
``tensorflow.tsl.profiler.protobuf.xplane_pb2``). The xplane is kept as the artifact (open it in
TensorBoard/xprof); the summary keeps what it exposes:
- executor op events on the host plane: ``<op name>:<OpType>`` with ``display_name`` = op type
  (verified TF 2.21: ``MatMul:MatMul``, ``PyFuncStateless:PyFuncStateless``);
- eagerly executed ops, which run inline without executor events: ``EagerLocalExecute: <OpType>``
  on the calling thread (function calls ``EagerLocalExecute: __inference_…`` are left out: their
  ops appear as executor events);
- device planes ``/device:GPU:N``: kernels and ``MemcpyH2D``/``MemcpyD2H`` events with
  ``memcpy_details`` (CUPTI collector, same format as JAX's; not run here).
With tensorflow-metal the device plane's contents are not documented; only host events are certain.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.profile.fallback import is_tf_host_only
from bench.profile.region import ProfileContext, annotated_region, prepare
from bench.profile.summary import ProfileSummary
from bench.profile.trace_events import TraceEvent, add_cupti_copies, newest_output, region_events, self_times

TOOL = "tf.profiler.experimental"
TRACE_DIR = "tf_trace"
_EAGER_PREFIX = "EagerLocalExecute: "


def profile(adapter, fn, ctx: ProfileContext) -> ProfileSummary:
    import tensorflow as tf

    log_dir = ctx.artifact_dir / TRACE_DIR
    options = tf.profiler.experimental.ProfilerOptions(host_tracer_level=2, python_tracer_level=0, device_tracer_level=1)
    calls = prepare(adapter, fn, ctx.plan)
    tf.profiler.experimental.start(str(log_dir), options=options)
    try:
        wall = annotated_region(adapter, fn, calls, tf.profiler.experimental.Trace)
    finally:
        tf.profiler.experimental.stop()
    summary = ProfileSummary(TOOL, adapter.device, calls=calls, case_time_s=wall / calls, artifacts=[ctx.rel(log_dir)])
    plane = newest_output(summary, log_dir, "*.xplane.pb")
    if plane:
        summarize_events(summary, region_events(summary, xplane_events(plane)))
    return summary


def _stat_value(stat: Any, plane: Any) -> Any:
    kind = stat.WhichOneof("value")
    if kind == "ref_value":
        return plane.stat_metadata[stat.ref_value].name
    return getattr(stat, kind) if kind else None


def xplane_events(path: Path) -> list[TraceEvent]:
    """Every event of every plane as a TraceEvent (track = plane and line)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(path).read_bytes())
    events = []
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                meta = plane.event_metadata[event.metadata_id]
                args = {plane.stat_metadata[s.metadata_id].name: _stat_value(s, plane) for s in list(meta.stats) + list(event.stats)}
                if meta.display_name:
                    args["display_name"] = meta.display_name
                start_us = line.timestamp_ns / 1e3 + event.offset_ps / 1e6
                events.append(TraceEvent(meta.name, start_us, event.duration_ps / 1e6, plane.name, line.name, (plane.id, plane.name, line.id), args))
    return events


def _eager_call(event: TraceEvent) -> str | None:
    """The op or function name of an eager execution on the host (``EagerLocalExecute: X``)."""
    if event.process == "/host:CPU" and event.name.startswith(_EAGER_PREFIX):
        return event.name[len(_EAGER_PREFIX) :]
    return None


def _function_calls(events: list[TraceEvent]) -> list[tuple[TraceEvent, str]]:
    """tf.function calls as seen from Python: events with a ``tf_function_call`` stat (the Python
    function's name, TF 2.21), else the eager executions of ``__inference_<name>_<n>`` functions."""
    calls = [(e, e.name) for e in events if e.process == "/host:CPU" and "tf_function_call" in e.args]
    if calls:
        return calls
    return [(e, re.sub(r"_\d+$", "", name)) for e in events if (name := _eager_call(e) or "").startswith("__")]


def _op_type(event: TraceEvent) -> str | None:
    """The op type of an executor op event, an eager op, or a device kernel's name."""
    if event.process.startswith("/device:"):
        return event.name if event.thread.startswith("Stream") and not event.name.startswith("Memcpy") else None
    if event.process == "/host:CPU" and event.args.get("display_name") and ":" in event.name:
        return str(event.args["display_name"])
    name = _eager_call(event)
    return None if name is None or name.startswith("__") else name  # __inference_*: tf.function calls


def summarize_events(summary: ProfileSummary, events: list[TraceEvent]) -> None:
    """Ops by self time; each tf.function call adds a row for its time not spent in its host ops."""
    add_cupti_copies(summary, [e for e in events if e.process.startswith("/device:")])
    host_ops: list[tuple[TraceEvent, float]] = []
    for event, self_us in self_times(events, lambda e: _op_type(e) is not None):
        op_type = _op_type(event) or ""
        on_device = event.process.startswith("/device:")
        if on_device:
            detail = str(event.args.get("tf_op", "")) or None
        else:
            host_ops.append((event, self_us))
            detail = "eager" if _eager_call(event) else event.name.split(":")[0]
        fallback = not on_device and is_tf_host_only(op_type, summary.device)
        summary.add_op(op_type, self_us / 1e6, device=summary.device if on_device else "cpu", fallback=fallback, detail=detail)
    for call, name in _function_calls(events):
        inside = sum(us for e, us in host_ops if e.start_us >= call.start_us and e.end_us <= call.end_us)
        summary.add_op(
            f"tf.function {name}",
            max(call.dur_us - inside, 0.0) / 1e6,
            device="cpu",
            detail="function call: Python, dispatch and executor time outside its ops",
        )
    if summary.device != "cpu":
        summary.notes.append("host events (device cpu) of a GPU case overlap the kernels; only flagged host-only ops count towards coverage")
