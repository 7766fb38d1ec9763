"""Which aten ops and device kernels one call of a torch function ran (recorded in ``Built.info``).

Used by the torch modules of workloads that compare paths (fused vs naive, eager vs compiled), so a
result names the kernel that actually ran rather than the API that was called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_MAX_NAMES = 32
_MAX_NAME_LEN = 120


def ops_of_one_call(fn: Callable[[], Any], device: str) -> list[str] | str:
    """Names of the CUDA kernels, then the aten ops, of one call of ``fn``; a string if profiling failed.

    ``fn`` is called once before the profiled call: a compiled function's first call traces and
    compiles, and the profiler would record the tracing instead of the compiled graph.

    On CPU the legacy autograd profiler is used: it records the same aten op names in milliseconds,
    where the first kineto profile of a process costs seconds. CUDA kernel names need kineto (CUPTI).
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    fn()
    try:
        if device == "cuda":
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                fn()
                torch.cuda.synchronize()
        else:
            with torch.autograd.profiler.profile(use_kineto=False) as prof:
                fn()
    except Exception as exc:  # the profiler is a diagnostic: never fail a case over it
        return f"profiler failed: {type(exc).__name__}: {exc}"
    kernels, ops = set(), set()
    for event in prof.key_averages():
        if str(getattr(event, "device_type", "")).endswith("CUDA"):
            kernels.add(event.key[:_MAX_NAME_LEN])
        elif "CompiledFxGraph" in event.key:
            ops.add("inductor CompiledFxGraph")  # the key carries a hash: keep results comparable
        elif event.key.startswith(("aten::", "mkldnn::")):
            ops.add(event.key[:_MAX_NAME_LEN])
    return (sorted(kernels) + sorted(ops))[:_MAX_NAMES]  # device kernels first: they say what really ran
