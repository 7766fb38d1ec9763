"""Parent side: start the profiling child for one case, then finish its summary from the outside.

The child runs with the backend's worker environment plus what its profiler needs (set before the
framework starts). Its stderr goes in full to ``stderr.log`` in the case's artifact folder: the
MPS profiler prints its tables there at exit, after the child has written its reply, so the
parent parses them once the process has ended. With ``--xctrace`` the child is launched under
``xcrun xctrace record`` and the signpost intervals are exported after it ends.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.backends import BackendName, adapter_class, adapter_reference
from bench.profile import mps, none_profile, xctrace
from bench.profile.region import relative_path
from bench.profile.summary import ProfileSummary, unavailable
from bench.runner.orchestrator import worker_env
from bench.runner.process import PROJECT_ROOT, describe_exit
from bench.workloads.base import Case

SUMMARY_NAME = "summary.json"
STDERR_NAME = "stderr.log"


@dataclass
class ProfileOptions:
    calls: int | None = None  # profiled calls per case (default: sized to target_s)
    target_s: float = 0.3
    max_calls: int = 200
    xctrace: bool = False
    metal_capture: bool = False
    mps_mode: str = "interval"
    mps_wait: bool = True
    timeout_s: float = 600.0

    def plan(self) -> dict[str, Any]:
        return {"calls": self.calls, "target_s": self.target_s, "max_calls": self.max_calls}

    def child_options(self) -> dict[str, Any]:
        return {"mps_mode": self.mps_mode, "mps_wait": self.mps_wait, "metal_capture": self.metal_capture}


def profiler(framework: str, device: str) -> ModuleType:
    """The profiler module the backend's adapter names for ``device`` (``none_profile`` when it names none)."""
    name = adapter_class(framework).profiler_module(device)
    return importlib.import_module(name) if name else none_profile


def profiler_environment(backend: BackendName, options: ProfileOptions) -> dict[str, str]:
    """Variables the profiler reads once at start-up (its ``child_environment``); set in the child's environment."""
    module = profiler(backend.framework, backend.device)
    child_environment = getattr(module, "child_environment", None)
    return child_environment(options) if child_environment else {}


def case_slug(case: Case, backend: str) -> str:
    """A folder name for the case's artifacts: the case label with unsafe characters replaced."""
    text = f"{case.label}@{backend}"
    return "".join(c if c.isalnum() or c in "-_.=,@" else "_" for c in text)


def profile_case(
    backend: BackendName,
    case: Case,
    artifact_dir: Path,
    artifact_root: Path,
    options: ProfileOptions,
    python: str | None = None,
    allow_tf32: bool = False,
    threads: int | None = None,
    cpu_affinity: tuple[int, ...] | None = None,
) -> ProfileSummary:
    """Profile one case in a fresh child; write ``summary.json`` next to its artifacts; return the summary."""
    artifact_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = artifact_dir / STDERR_NAME
    request_path, reply_path = artifact_dir / "request.json", artifact_dir / "reply.json"
    reply_path.unlink(missing_ok=True)
    request = {
        "framework": backend.framework,
        "adapter": adapter_reference(backend.framework),
        "device": backend.device,
        "allow_tf32": allow_tf32,
        "threads": threads,
        "cpu_affinity": cpu_affinity,
        "case": case.to_dict(),
        "artifact_dir": str(artifact_dir.resolve()),
        "artifact_root": str(artifact_root.resolve()),
        "reply_path": str(reply_path.resolve()),
        "stderr_path": str(stderr_path.resolve()),
        "plan": options.plan(),
        "options": options.child_options(),
    }
    request_path.write_text(json.dumps(request, indent=1), encoding="utf-8")
    child_env = {**worker_env(backend, allow_tf32, threads), **profiler_environment(backend, options)}
    env = {
        **os.environ,
        **child_env,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [python or sys.executable, "-m", "bench.profile.child", str(request_path.resolve())]
    trace_path = artifact_dir / "mps.trace"
    module = profiler(backend.framework, backend.device)
    use_xctrace = options.xctrace and getattr(module, "XCTRACE", False) and platform.system() == "Darwin"
    if use_xctrace:
        command = xctrace.record_command(trace_path, command, child_env)

    summary = _run_child(command, env, artifact_dir, reply_path, stderr_path, options.timeout_s, module.TOOL, backend.device)
    stderr_text = stderr_path.read_text(encoding="utf-8", errors="replace") if stderr_path.exists() else ""
    if summary.status == "ok" and summary.tool == mps.TOOL:
        log = mps.parse_log(stderr_text)
        summary.extra["mps_log_tables"] = sorted(log.tables)
        mps.apply_log(summary, log)
    if options.xctrace and not use_xctrace:
        summary.notes.append("--xctrace applies to torch:mps on macOS (Instruments' xctrace); not recorded here")
    elif use_xctrace:
        _add_signposts(summary, trace_path, artifact_dir, artifact_root)
    if summary.status == "ok" and summary.tool == mps.TOOL and not summary.ops:
        summary.status, summary.reason = "error", mps.NO_TABLES
    summary.artifacts.append(relative_path(stderr_path, artifact_root))
    request_path.unlink(missing_ok=True)
    reply_path.unlink(missing_ok=True)
    summary.extra["summary_path"] = relative_path(artifact_dir / SUMMARY_NAME, artifact_root)
    summary.write(artifact_dir / SUMMARY_NAME)
    return summary


def _run_child(
    command: list[str], env: dict[str, str], cwd: Path, reply_path: Path, stderr_path: Path, timeout_s: float, tool: str, device: str
) -> ProfileSummary:
    with open(stderr_path, "a", encoding="utf-8") as err, open(cwd / "stdout.log", "w", encoding="utf-8") as out:
        try:
            proc = subprocess.run(
                command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=timeout_s, start_new_session=True
            )
        except subprocess.TimeoutExpired:
            return unavailable(tool, device, f"profiling child exceeded {timeout_s:g} s and was killed", status="timeout")
        except OSError as exc:
            return unavailable(tool, device, f"cannot start {command[0]}: {exc}", status="error")
    if (cwd / "stdout.log").stat().st_size == 0:
        (cwd / "stdout.log").unlink()
    if not reply_path.exists():
        tail = " | ".join(stderr_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:])
        return unavailable(tool, device, f"profiling child {describe_exit(proc.returncode)} without a reply; last stderr: {tail}", status="crashed")
    reply = json.loads(reply_path.read_text(encoding="utf-8"))
    summary = ProfileSummary.from_dict(reply["summary"])
    resolved = ((reply.get("hello") or {}).get("device") or {}).get("backend")
    if resolved:
        summary.extra["backend"] = resolved
    return summary


def _add_signposts(summary: ProfileSummary, trace_path: Path, artifact_dir: Path, artifact_root: Path) -> None:
    """Export the signpost interval table and keep its summary under ``extra['signposts']``."""
    if not trace_path.exists():
        summary.notes.append(f"xctrace wrote no {trace_path.name}")
        return
    summary.artifacts.append(relative_path(trace_path, artifact_root))
    toc = subprocess.run(xctrace.toc_command(trace_path), capture_output=True, text=True, timeout=300)
    schema = xctrace.signpost_schema(toc.stdout) if toc.returncode == 0 and toc.stdout.strip() else None
    if schema is None:
        summary.notes.append("xctrace export: no signpost interval table in the trace's TOC")
        return
    xml_path = artifact_dir / "signposts.xml"
    subprocess.run(xctrace.export_command(trace_path, schema, xml_path), capture_output=True, timeout=600, check=False)
    if not xml_path.exists():
        summary.notes.append(f"xctrace export of {schema} wrote nothing")
        return
    signposts = ProfileSummary(xctrace.TOOL, "mps", calls=int(summary.extra.get("signpost_calls", 0)), case_time_s=summary.case_time_s)
    used = xctrace.apply_intervals(signposts, xctrace.iter_rows(xml_path))
    signposts.notes.append(f"{used} PyTorchMPS intervals from table {schema}")
    summary.extra["signposts"] = signposts.to_dict()
    summary.artifacts.append(relative_path(xml_path, artifact_root))
    if not summary.ops:  # the MPS log was lost: the signposts are the op table
        summary.ops, summary.copies = signposts.ops, signposts.copies
