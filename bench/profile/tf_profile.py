"""tensorflow: ``tf.profiler.experimental`` around the region; the XPlane it writes summarised.

Sources: tensorflow ``tensorflow/python/profiler/profiler_v2.py`` (``start(logdir, options)``,
``stop()``, ``ProfilerOptions(host_tracer_level, python_tracer_level, device_tracer_level)``);
TF 2.21 writes only ``logdir/plugins/profile/<ts>/<host>.xplane.pb`` (reference §5.1), an
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

from pathlib import Path
from typing import Any

from bench.profile.fallback import is_tf_host_only
from bench.profile.region import ProfileContext, prepare, timed_calls
from bench.profile.summary import ProfileSummary
from bench.profile.trace_events import TraceEvent, add_cupti_copies, self_times

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
        wall = timed_calls(adapter, fn, calls)
    finally:
        tf.profiler.experimental.stop()
    summary = ProfileSummary(TOOL, adapter.device, calls=calls, case_time_s=wall / calls, artifacts=[ctx.rel(log_dir)])
    planes = sorted(log_dir.glob("plugins/profile/*/*.xplane.pb"))
    if not planes:
        summary.status, summary.reason = "error", f"tf.profiler wrote no *.xplane.pb under {log_dir}"
        return summary
    summarize_events(summary, xplane_events(planes[-1]))
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
                events.append(TraceEvent(meta.name, start_us, event.duration_ps / 1e6, plane.name, line.name,
                                         (plane.id, plane.name, line.id), args))
    return events


def _eager_op(event: TraceEvent) -> str | None:
    if event.process == "/host:CPU" and event.name.startswith(_EAGER_PREFIX):
        op = event.name[len(_EAGER_PREFIX):]
        return None if op.startswith("__") else op  # __inference_* etc. are tf.function calls
    return None


def _op_type(event: TraceEvent) -> str | None:
    """The op type of an executor op event, an eager op, or a device kernel's name."""
    if event.process.startswith("/device:"):
        return event.name if event.thread.startswith("Stream") and not event.name.startswith("Memcpy") else None
    if event.process == "/host:CPU" and event.args.get("display_name") and ":" in event.name:
        return str(event.args["display_name"])
    return _eager_op(event)


def summarize_events(summary: ProfileSummary, events: list[TraceEvent]) -> None:
    add_cupti_copies(summary, [e for e in events if e.process.startswith("/device:")])
    for event, self_us in self_times(events, lambda e: _op_type(e) is not None):
        op_type = _op_type(event)
        on_device = event.process.startswith("/device:")
        device = summary.device if on_device else "cpu"
        fallback = not on_device and is_tf_host_only(op_type, summary.device)
        detail = str(event.args.get("tf_op", "")) if on_device else (event.name.split(":")[0] if ":" in event.name else "eager")
        summary.add_op(op_type, self_us / 1e6, device=device, fallback=fallback, detail=detail or None)
    if summary.device != "cpu":
        summary.notes.append("host op events (device cpu) of a GPU case are launches overlapping the kernels; only flagged host-only ops count towards coverage")
