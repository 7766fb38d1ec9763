"""One profiled case in its own process: ``python -m bench.profile.child REQUEST.json``.

Each profiled framework runs in a fresh process: profilers are process-wide singletons (CUPTI
accepts one subscriber, reference §0), the MPS profiler prints its tables only at process exit,
and ``xctrace record --launch`` needs a command to launch. Request and reply are files, so the
child needs no pipes (it may run under xctrace). Request (JSON)::

    {"framework", "device", "allow_tf32", "case": {workload, params, dtype, mode},
     "artifact_dir", "artifact_root", "reply_path", "stderr_path"?,
     "plan": {"calls", "target_s", "max_calls"}, "options": {"mps_mode", "mps_wait", "metal_capture"}}

Reply (JSON, at ``reply_path``): ``{"hello": <worker hello>, "summary": ProfileSummary.to_dict()}``.
Flow: start the backend as a worker does, build the case (same seeded inputs), check the output
against the reference once, then hand the call to the framework's profiler module.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from bench.profile.region import ProfileContext, RegionPlan, counted
from bench.profile.summary import ProfileSummary, unavailable

TOOLS = {"torch": "torch.profiler", "jax": "jax.profiler", "tensorflow": "tf.profiler.experimental", "mlx": "mlx.core.metal capture"}


def profiler_module(framework: str, device: str):
    """The module whose ``profile(adapter, fn, ctx)`` profiles this backend."""
    if framework == "torch":
        from bench.profile import mps, torch_profile

        return mps if device == "mps" else torch_profile
    if framework == "jax":
        from bench.profile import jax_profile

        return jax_profile
    if framework == "tensorflow":
        from bench.profile import tf_profile

        return tf_profile
    from bench.profile import mlx_profile

    return mlx_profile


def profile_case(adapter, case, ctx: ProfileContext) -> ProfileSummary:
    from bench.runner.execute import _to_numpy, prepare, reference

    spec, _impl, params, inputs, built = prepare(adapter, case)
    fn, ctx.calls_made = counted(built.fn)
    out = fn()
    adapter.synchronize(out)
    rel = spec.relative_error(_to_numpy(adapter, built, out), reference(spec, case, params, inputs, built))
    tol = spec.tolerance(case.dtype, adapter.allow_tf32)
    module = profiler_module(adapter.framework, adapter.device)
    if not rel <= tol:
        return unavailable(module.TOOL, adapter.device, f"output mismatch: relative error {rel:.3g} exceeds {tol:.3g}; not profiled", status="error")
    del out
    summary = module.profile(adapter, fn, ctx)
    summary.extra.update(correctness={"rel_error": rel, "tolerance": tol}, info=built.info)
    return summary


def run(request: dict[str, Any]) -> dict[str, Any]:
    from bench.backends import Unsupported
    from bench.runner.worker import _hello
    from bench.workloads.base import Case

    framework, device = request["framework"], request["device"]
    hello, adapter = _hello({"op": "hello", "framework": framework, "device": device, "allow_tf32": request.get("allow_tf32", False)})
    tool = TOOLS[framework]
    if adapter is None:
        return {"hello": hello, "summary": unavailable(tool, device, hello.get("reason", "backend unavailable")).to_dict()}
    artifact_dir = Path(request["artifact_dir"])
    artifact_dir.mkdir(parents=True, exist_ok=True)
    ctx = ProfileContext(artifact_dir, Path(request.get("artifact_root", artifact_dir)),
                         RegionPlan(**request.get("plan", {})), request.get("options", {}))
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
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    _redirect_stderr(request.get("stderr_path"))
    reply = run(request)
    from bench.results.store import dumps

    Path(request["reply_path"]).write_text(dumps(reply), encoding="utf-8")
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
