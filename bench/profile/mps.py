"""torch:mps: ``torch.mps.profiler`` around the calls, and the MPS profiler's exit tables parsed.

Unverified on hardware until run on a Mac (docs/apple-silicon.md): nothing here can run on Linux;
tests cover it with fakes and with log text built from the source's own format strings.

Sources (pytorch/pytorch):
- ``torch/mps/profiler.py``: ``profile(mode="interval", wait_until_completed=False)``,
  ``metal_capture(fname)``, ``is_metal_capture_enabled()`` (2.7+, PR #144561).
- ``aten/src/ATen/mps/MPSProfiler.h``: ``LogOptions`` bits; ``ALL_STATS = 1 << 3`` prints the three
  tables at process exit. ``PYTORCH_MPS_LOG_PROFILE_INFO`` is read once when the profiler is created,
  so it is set in the profiling child's environment.
- ``aten/src/ATen/mps/MPSProfiler.mm``: ``logOperationsProfilingStats``,
  ``logCPUFallbackProfilingStats``, ``logCopyProfilingStats`` (the format strings parsed below);
  ``startCapture`` writes ``%04d-<name>.gputrace`` in the current directory.
- ``aten/src/ATen/mps/MPSFallback.mm``: with ``PYTORCH_ENABLE_MPS_FALLBACK=1`` an op without an
  MPS kernel runs on the CPU and is recorded as a CPU fallback (table 2); without it, it raises.
- Sizes are formatted by the allocator: ``N bytes``, ``x.xx KB|MB|GB`` (``MPSAllocator.mm``) or
  ``KiB|MiB|GiB`` (``c10/core/CachingDeviceAllocator.h`` ``format_size``); both are 1024-based.

The tables accumulate over the whole process, so the summary divides by every call the child made
(``calls``), and copy totals include the input upload done before the first call.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass, field
from typing import Any

from bench.profile.region import ProfileContext, prepare, timed_calls
from bench.profile.summary import DEVICE_TO_DEVICE, DEVICE_TO_HOST, HOST_TO_DEVICE, ProfileSummary

TOOL = "torch.mps.profiler + PYTORCH_MPS_LOG_PROFILE_INFO"
XCTRACE = True  # its signposts can be recorded with Instruments' xctrace (bench/profile/xctrace.py)
PROFILES_UNSUPPORTED = True  # a case without an MPS kernel is profiled with the CPU fallback on, to show it
LOG_ALL_STATS = 1 << 3  # MPSProfiler.h LogOptions::ALL_STATS
# Lets the profiling child run with PyTorch's CPU fallback on (the torch adapter refuses it for benchmarks).
ALLOW_FALLBACK_ENV = "SILICONBENCH_PROFILE_MPS_FALLBACK"
CAPTURE_NAME = "siliconbench"
NO_TABLES = "no MPS profiler tables in the child's stderr (PYTORCH_MPS_LOG_PROFILE_INFO not honoured?)"


def environment(metal_capture: bool = False) -> dict[str, str]:
    """Environment of the profiling child for torch:mps (read by PyTorch at start-up)."""
    env = {
        "PYTORCH_MPS_LOG_PROFILE_INFO": str(LOG_ALL_STATS),
        "PYTORCH_ENABLE_MPS_FALLBACK": "1",  # so missing ops run, and are flagged, instead of raising
        ALLOW_FALLBACK_ENV: "1",
    }
    if metal_capture:
        env["MTL_CAPTURE_ENABLED"] = "1"  # Apple's switch, read when Metal starts (PR #144561)
    return env


def child_environment(options: Any) -> dict[str, str]:
    """``environment`` on macOS (``options.metal_capture``); nothing elsewhere, where MPS cannot run."""
    return environment(metal_capture=options.metal_capture) if platform.system() == "Darwin" else {}


def profile(adapter, fn, ctx: ProfileContext) -> ProfileSummary:
    """Run warm-up and region under ``torch.mps.profiler.profile``; the op tables come at exit."""
    import torch

    mode = ctx.options.get("mps_mode", "interval")
    wait = bool(ctx.options.get("mps_wait", True))
    before = ctx.calls_made()
    with torch.mps.profiler.profile(mode=mode, wait_until_completed=wait):
        calls = prepare(adapter, fn, ctx.plan)
        wall = timed_calls(adapter, fn, calls)
    summary = ProfileSummary(TOOL, "mps", case_time_s=wall / calls)
    summary.extra.update(signpost_calls=ctx.calls_made() - before, mps_mode=mode, wait_until_completed=wait)
    summary.notes.append(
        f"signposts: torch.mps.profiler.profile(mode={mode!r}, wait_until_completed={wait}) around warm-up and region"
        + ("; each op is committed and waited for, so per-op GPU times are exact and the GPU is serialised" if wait else "")
    )
    summary.notes.append("ran with PYTORCH_ENABLE_MPS_FALLBACK=1 so ops without an MPS kernel run on the CPU and are flagged")
    if ctx.options.get("metal_capture"):
        capture_into(adapter, fn, ctx, summary)
    summary.calls = ctx.calls_made()  # the exit tables cover every call of this process
    return summary


def capture_into(adapter, fn, ctx: ProfileContext, summary: ProfileSummary) -> None:
    """One call inside ``torch.mps.profiler.metal_capture``; move the ``.gputrace`` into the artifacts."""
    import torch

    if not torch.mps.profiler.is_metal_capture_enabled():
        summary.notes.append(
            "metal capture skipped: MTLCaptureManager does not support GPU trace documents (needs MTL_CAPTURE_ENABLED=1 before start)"
        )
        return
    cwd = os.getcwd()
    os.chdir(ctx.artifact_dir)  # startCapture writes NNNN-<name>.gputrace relative to the current directory
    try:
        with torch.mps.profiler.metal_capture(CAPTURE_NAME):
            out = fn()
            adapter.synchronize(out)
    finally:
        os.chdir(cwd)
    for path in sorted(ctx.artifact_dir.glob(f"*-{CAPTURE_NAME}.gputrace")):
        summary.artifacts.append(ctx.rel(path))


# -- exit-table parser ------------------------------------------------------------------------

_UNITS = {"bytes": 1, "KB": 1024, "KiB": 1024, "MB": 1024**2, "MiB": 1024**2, "GB": 1024**3, "GiB": 1024**3}
_SIZE = r"\d+(?:\.\d+)?\s+(?:bytes|KB|KiB|MB|MiB|GB|GiB)"
_OPS_TITLE = re.compile(r"-+ MPS Operations Profiling: (\d+) graphs, (\d+) kernels -+")
_FB_TITLE = re.compile(rf"-+ CPU Fallback Profiling: Total (\d+) Runs, ([\d.]+) ms, ({_SIZE}) Copies -+")
_COPY_TITLE = re.compile(rf"-+ MPS Copy Profiling: (\d+) total copies \(({_SIZE})\), (\d+) scalar copies -+")
_OPS_ROW = re.compile(r"\s*([GK]\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s(.+)$")
_FB_ROW = re.compile(rf"\s*(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+({_SIZE})\s(.+)$")
_COPY_ROW = re.compile(rf"\s*(MPS to MPS|MPS to CPU|CPU to MPS)\s+(\d+)\s+({_SIZE})\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+([\d.]+) %\s+(\d+)\s+(\d+)\s*$")
_COPY_KINDS = {"MPS to CPU": DEVICE_TO_HOST, "CPU to MPS": HOST_TO_DEVICE, "MPS to MPS": DEVICE_TO_DEVICE}
# A single ':' separates an op name from its tensors; '::' belongs to the name (aten::add, ns::op).
_KEY_SEPARATOR = re.compile(r"(?<!:):(?!:)")


def parse_size(text: str) -> int:
    number, unit = text.split()
    return round(float(number) * _UNITS[unit])


def op_name(key: str) -> str:
    """``add_kernel_strided:MPS:Float[1, 64]`` → ``add_kernel_strided``; ``aten::`` prefix dropped."""
    key = key.strip()
    key = key[len("aten::") :] if key.startswith("aten::") else key
    return _KEY_SEPARATOR.split(key, maxsplit=1)[0]


@dataclass
class MpsOp:
    id: str
    runs: int
    mean_kernel_ms: float
    mean_gpu_ms: float
    total_gpu_ms: float
    key: str


@dataclass
class MpsFallback:
    id: int
    runs: int
    mean_cpu_ms: float
    total_cpu_ms: float
    copy_overhead_bytes: int
    name: str


@dataclass
class MpsCopy:
    kind: str
    count: int
    bytes: int
    total_kernel_ms: float
    total_gpu_ms: float
    scalars: int
    blocking: int
    memcpy: int


@dataclass
class MpsLog:
    ops: list[MpsOp] = field(default_factory=list)
    fallbacks: list[MpsFallback] = field(default_factory=list)
    copies: list[MpsCopy] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)  # which of "ops", "fallbacks", "copies" were printed


def parse_log(text: str) -> MpsLog:
    """Parse the exit tables from a process's stderr; other lines (warnings, info lines) are skipped."""
    log = MpsLog()
    table = None
    for line in text.splitlines():
        if _OPS_TITLE.search(line) or "There are no MPS operations logged" in line:
            table = "ops"
        elif _FB_TITLE.search(line) or "There are no CPU Fallbacks logged" in line:
            table = "fallbacks"
        elif _COPY_TITLE.search(line) or "There are no copies logged" in line:
            table = "copies"
        elif table == "ops" and (m := _OPS_ROW.match(line)):
            log.ops.append(MpsOp(m[1], int(m[2]), float(m[3]), float(m[4]), float(m[5]), m[6].strip()))
        elif table == "fallbacks" and (m := _FB_ROW.match(line)):
            log.fallbacks.append(MpsFallback(int(m[1]), int(m[2]), float(m[3]), float(m[4]), parse_size(m[5]), m[6].strip()))
        elif table == "copies" and (m := _COPY_ROW.match(line)):
            log.copies.append(MpsCopy(m[1], int(m[2]), parse_size(m[3]), float(m[4]), float(m[5]), int(m[6]), int(m[8]), int(m[9])))
        else:
            continue
        if table:
            log.tables.add(table)
    return log


def apply_log(summary: ProfileSummary, log: MpsLog) -> None:
    """Ops (GPU time, device mps), CPU fallbacks (CPU time, device cpu, flagged) and copies into the summary."""
    for op in log.ops:
        summary.add_op(op_name(op.key), op.total_gpu_ms / 1e3, op.runs, device="mps", detail=op.key)
    for fb in log.fallbacks:
        summary.add_op(
            op_name(fb.name),
            fb.total_cpu_ms / 1e3,
            fb.runs,
            device="cpu",
            fallback=True,
            detail=f"CPU fallback, {fb.copy_overhead_bytes} bytes copied MPS<->CPU",
        )
    for copy in log.copies:
        # Blit copies carry GPU time; memcpy copies on unified memory only CPU time (the KRNL column).
        seconds = (copy.total_gpu_ms if copy.total_gpu_ms > 0 else copy.total_kernel_ms) / 1e3
        summary.add_copy(_COPY_KINDS[copy.kind], copy.bytes, seconds, copy.count)
    if log.tables:
        summary.notes.append(f"MPS exit tables cover all {summary.calls} calls of the profiling process and the input upload before them")
    else:
        summary.notes.append(NO_TABLES)
