"""The profiler of a backend whose adapter names none (``Adapter.profiler_module`` returns None)."""

from __future__ import annotations

from bench.profile.region import ProfileContext
from bench.profile.summary import ProfileSummary, unavailable

TOOL = "none"


def profile(adapter, fn, ctx: ProfileContext) -> ProfileSummary:
    return unavailable(TOOL, adapter.device, f"the {adapter.framework} backend names no profiler (Adapter.profiler_module)")
