"""mlx: Metal GPU capture (``.gputrace``) on macOS; unavailable elsewhere, with the reason.

MLX has no profiler of its own and emits no per-op signposts. Sources
(ml-explore/mlx): ``python/src/metal.cpp`` — ``mx.metal.start_capture(path)`` /
``mx.metal.stop_capture()``; ``docs/src/dev/metal_debugger.rst`` — needs ``MTL_CAPTURE_ENABLED=1``
when the program starts, the path should end in ``.gputrace`` and must not exist;
``mlx/backend/metal/no_metal.cpp`` — without Metal both calls are silent no-ops (so on Linux a
capture would "succeed" and write nothing: this module says unavailable instead).
Unverified on hardware until run on a Mac. The capture is an Xcode document; no op table is
parsed from it, so the summary has artifacts and notes but no ops (coverage stays empty).
"""

from __future__ import annotations

import platform

from bench.profile.region import ProfileContext, prepare, timed_calls
from bench.profile.summary import ProfileSummary, unavailable

TOOL = "mlx.core.metal capture"
CAPTURE_FILE = "mlx.gputrace"
CAPTURE_CALLS = 1  # a capture records every Metal command: keep it to one call


def environment() -> dict[str, str]:
    return {"MTL_CAPTURE_ENABLED": "1"}


def child_environment(options: object) -> dict[str, str]:
    return environment() if platform.system() == "Darwin" else {}


def unavailable_reason(adapter) -> str | None:
    import mlx.core as mx

    if platform.system() != "Darwin" or not mx.metal.is_available():
        return (
            "MLX has no profiler; its only capture is a Metal GPU trace (mx.metal.start_capture), which needs macOS "
            "with Metal — on this build start/stop_capture are no-ops (mlx/backend/metal/no_metal.cpp)"
        )
    if adapter.device != "gpu":
        return "mlx:cpu runs no Metal work, so a Metal capture would be empty; profile mlx:gpu"
    return None


def profile(adapter, fn, ctx: ProfileContext) -> ProfileSummary:
    import mlx.core as mx

    reason = unavailable_reason(adapter)
    if reason:
        return unavailable(TOOL, adapter.device, reason)
    calls = prepare(adapter, fn, ctx.plan)
    wall = timed_calls(adapter, fn, calls)  # uncaptured: the capture slows the GPU down
    path = ctx.artifact_dir / CAPTURE_FILE
    mx.metal.start_capture(str(path))
    try:
        timed_calls(adapter, fn, CAPTURE_CALLS)
    finally:
        mx.metal.stop_capture()
    summary = ProfileSummary(TOOL, adapter.device, calls=calls, case_time_s=wall / calls)
    if path.exists():
        summary.artifacts.append(ctx.rel(path))
    else:
        summary.status, summary.reason = "error", f"mx.metal capture wrote no {path.name} (was MTL_CAPTURE_ENABLED=1 set before start?)"
    summary.notes.append(f"{CAPTURE_FILE} holds {CAPTURE_CALLS} call(s); open it in Xcode. MLX exposes no per-op timings to parse.")
    return summary
