"""Profile the cases of a finished run and attach each summary to its case record.

Layout next to the run file ``<out>/<run_id>.json``::

    <out>/<run_id>.profile/<case>@<backend>/summary.json     # full summary (all ops)
    <out>/<run_id>.profile/<case>@<backend>/stderr.log       # the child's stderr (MPS tables)
    <out>/<run_id>.profile/<case>@<backend>/<raw artifacts>  # torch_trace.json.gz, jax_trace/, tf_trace/, *.gputrace, mps.trace

Artifact paths in summaries are relative to ``<out>``. The run file is rewritten atomically with a
``profile`` key (``ProfileSummary.compact()`` plus ``summary``, the summary file's path) on every
profiled case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.backends import parse_backend
from bench.profile.launch import ProfileOptions, case_slug, profile_case, profiler
from bench.profile.summary import ProfileSummary
from bench.results.records import CaseRecord
from bench.results.store import write_json_atomic
from bench.runner.orchestrator import RunOptions
from bench.runner.run import RunOutcome
from bench.workloads.base import Case


def eligible(record: CaseRecord) -> bool:
    """Profile cases whose output passed the correctness check and was timed (a failed sync canary
    does not stop a profile); also unsupported cases where the backend's profiler runs them another way
    (torch:mps with PyTorch's CPU fallback on: the fallback story, a missing kernel made visible)."""
    if record.correctness is not None and record.correctness.passed and record.timing is not None:
        return True
    module = profiler(parse_backend(record.backend.name).framework, record.backend.device)
    return record.status == "unsupported" and bool(getattr(module, "PROFILES_UNSUPPORTED", False))


def profile_record(record: CaseRecord, root: Path, run_id: str, run_options: RunOptions, options: ProfileOptions) -> ProfileSummary:
    backend = parse_backend(record.backend.name)
    case = Case.make(record.workload, record.params, record.dtype, record.mode)
    artifact_dir = root / f"{run_id}.profile" / case_slug(case, backend.name)
    summary = profile_case(
        backend,
        case,
        artifact_dir,
        root,
        options,
        run_options.pythons.get(backend.framework),
        run_options.allow_tf32,
        run_options.threads,
        run_options.cpu_affinity,
    )
    median = record.median
    if median and summary.coverage is not None:
        # The benchmark's median, outside the profiler: how much the profiler itself slowed the case.
        summary.extra["benchmark_median_s"] = median
        summary.extra["coverage_vs_benchmark"] = summary.explained_s / summary.calls / median
    summary.write(artifact_dir / "summary.json")
    return summary


def record_key(summary: ProfileSummary) -> dict[str, Any]:
    """The ``profile`` key of a case record."""
    key = summary.compact()
    key["summary"] = summary.extra.get("summary_path")
    for name in ("benchmark_median_s", "coverage_vs_benchmark"):
        if name in summary.extra:
            key[name] = summary.extra[name]
    return key


def profile_run(
    outcome: RunOutcome, run_options: RunOptions, options: ProfileOptions, on_case: Callable[[CaseRecord, ProfileSummary], None] | None = None
) -> dict[str, ProfileSummary]:
    """Profile every eligible case of ``outcome`` (one child process each); attach the keys to the run file."""
    root = Path(outcome.path).parent
    summaries: dict[str, ProfileSummary] = {}
    for record in outcome.cases:
        if not eligible(record):
            continue
        summary = profile_record(record, root, outcome.run_id, run_options, options)
        summaries[record.case_id] = summary
        record.profile = record_key(summary)
        if on_case:
            on_case(record, summary)
    if summaries:
        attach(Path(outcome.path), {cid: record_key(s) for cid, s in summaries.items()})
    return summaries


def attach(run_path: Path, profiles: dict[str, dict[str, Any]]) -> None:
    """Set ``profile`` on the named cases of a final run file, rewriting it atomically."""
    document = json.loads(run_path.read_text(encoding="utf-8"))
    for case in document["cases"]:
        if case.get("case_id") in profiles:
            case["profile"] = profiles[case["case_id"]]
    write_json_atomic(run_path, document)
