"""One profiled case in its own process: ``python -m bench.profile.child REQUEST.json``.

Each profiled framework runs in a fresh process: profilers are process-wide singletons (CUPTI
accepts one subscriber: JAX's trace fails with CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED after
torch.profiler in the same process, seen on an H100), the MPS profiler prints its tables only at process
exit, and ``xctrace record --launch`` needs a command to launch. Request and reply are files, so the
child needs no pipes (it may run under xctrace). Request (JSON)::

    {"framework", "device", "allow_tf32", "case": {workload, params, dtype, mode},
     "artifact_dir", "artifact_root", "reply_path", "stderr_path"?,
     "plan": {"calls", "target_s", "max_calls"}, "options": {"mps_mode", "mps_wait", "metal_capture"}}

Reply (JSON, at ``reply_path``): ``{"hello": <worker hello>, "summary": ProfileSummary.to_dict()}``.
Flow: start the backend as a worker does, build the case (same seeded inputs), check the output
against the reference once, then hand the call to the framework's profiler module.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from bench.profile.region import ProfileContext, RegionPlan, counted
from bench.profile.summary import ProfileSummary, unavailable


def profile_case(adapter, case, ctx: ProfileContext) -> ProfileSummary:
    from bench.profile.launch import profiler
    from bench.runner.execute import check, prepare

    prepared = prepare(adapter, case)
    module = profiler(adapter.framework, adapter.device)
    fn, ctx.calls_made = counted(prepared.built.fn)
    correctness, _ = check(adapter, prepared.spec, dataclasses.replace(prepared.built, fn=fn), prepared.reference(), prepared.tolerance(adapter))
    if not correctness.passed:
        return unavailable(
            module.TOOL,
            adapter.device,
            f"output mismatch: relative error {correctness.rel_error:.3g} exceeds {correctness.tolerance:.3g}; not profiled",
            status="error",
        )
    summary = module.profile(adapter, fn, ctx)
    summary.extra.update(correctness={"rel_error": correctness.rel_error, "tolerance": correctness.tolerance}, info=prepared.built.info)
    return summary


def run(request: dict[str, Any]) -> dict[str, Any]:
    from bench.backends import Unsupported
    from bench.profile.launch import profiler
    from bench.runner.worker import start_backend
    from bench.workloads.base import Case

    framework, device = request["framework"], request["device"]
    hello, adapter = start_backend(
        {
            "op": "hello",
            "framework": framework,
            "device": device,
            "adapter": request.get("adapter"),
            "allow_tf32": request.get("allow_tf32", False),
            "threads": request.get("threads"),
            "cpu_affinity": request.get("cpu_affinity"),
        }
    )
    tool = profiler(framework, adapter.device if adapter is not None else device).TOOL
    if adapter is None:
        return {"hello": hello, "summary": unavailable(tool, device, hello.get("reason", "backend unavailable")).to_dict()}
    artifact_dir = Path(request["artifact_dir"])
    artifact_dir.mkdir(parents=True, exist_ok=True)
    ctx = ProfileContext(
        artifact_dir, Path(request.get("artifact_root", artifact_dir)), RegionPlan(**request.get("plan", {})), request.get("options", {})
    )
    try:
        summary = profile_case(adapter, Case.from_dict(request["case"]), ctx)
    except Unsupported as exc:
        summary = unavailable(tool, adapter.device, str(exc), status="unsupported")
    except Exception as exc:
        traceback.print_exc()
        summary = unavailable(tool, adapter.device, f"{type(exc).__name__}: {str(exc).strip()[:500]}", status="error")
    return {"hello": hello, "summary": summary.to_dict()}


def _redirect_stderr(path: str | None) -> None:
    """Send fd 2 to ``path`` so exit-time output (the MPS tables) lands there however we were launched."""
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.profile.child REQUEST.json", file=sys.stderr)
        return 2
    from bench.runner.lifeline import tie_to_parent

    tie_to_parent()  # a profiling child ends with the process that started it, like a worker
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    _redirect_stderr(request.get("stderr_path"))
    reply = run(request)
    from bench.results.store import dumps

    Path(request["reply_path"]).write_text(dumps(reply), encoding="utf-8")
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
