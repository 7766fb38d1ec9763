"""Per-machine history of nightly runs and the rolling baseline a new run is compared with.

Layout (asv-style, one folder per machine, so machines are never mixed)::

    results/history/<machine_id>/<run_id>.json           one nightly run each
    results/history/<machine_id>/confirm/<run_id>/...    re-runs of flagged cases
    results/history/<machine_id>/compare/<run_id>.json   the comparison of that night

Rolling baseline, per backend: the last ``n`` earlier complete runs of the same suite on this
machine whose *context* for that backend matches the new run's (framework versions, interpreter
version, precision policy, timing configuration: conbench's "context"; docs/regression-gating.md). A context
change starts a new baseline instead of raising alarms about a different configuration. Each
baseline run is one round of its cases, so the CI sees night-to-night spread on that side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.results import read_runs
from bench.results.records import Run

HISTORY_DIR = "history"


def machine_folder(results_dir: str | Path, machine_id: str) -> Path:
    return Path(results_dir) / HISTORY_DIR / machine_id


def history_runs(folder: Path) -> list[Run]:
    """Complete runs directly in ``folder`` (not confirm re-runs), oldest first."""
    if not folder.is_dir():
        return []
    runs = read_runs(sorted(folder.glob("*.json")))
    return sorted((r for r in runs if r.status == "complete"), key=lambda r: r.started_at)


def context(run: Run, backend_name: str) -> dict[str, Any]:
    """What must not change along a backend's time series."""
    hello = run.environment.frameworks.get(backend_name)
    return {
        "suite": run.suite.name,
        "versions": hello.versions if hello else None,
        "python": hello.python if hello else None,
        "precision": run.environment.precision_policy,
        "timing": run.timing_config,
    }


def backends_of(run: Run) -> list[str]:
    return sorted({c.backend.name for c in run.cases})


def restrict(run: Run, backend_name: str) -> Run:
    """The run with only ``backend_name``'s cases (a round of that backend)."""
    return run.model_copy(update={"cases": [c for c in run.cases if c.backend.name == backend_name]})


def rolling_baseline(history: list[Run], candidate: Run, n: int) -> tuple[list[Run], list[str]]:
    """Baseline rounds for ``candidate``: per backend, the last ``n`` earlier runs with its context.

    Returns (runs restricted to one backend each, notes saying what was used or why nothing was).
    """
    earlier = [r for r in history if r.run_id != candidate.run_id and r.started_at < candidate.started_at]
    rounds: list[Run] = []
    notes: list[str] = []
    for backend in backends_of(candidate):
        want = context(candidate, backend)
        matching = [r for r in earlier if backend in backends_of(r) and context(r, backend) == want]
        chosen = matching[-n:]
        rounds.extend(restrict(r, backend) for r in chosen)
        if chosen:
            notes.append(
                f"{backend}: baseline = pooled samples of the last {len(chosen)} run(s) with the same context "
                f"({chosen[0].run_id} … {chosen[-1].run_id})"
            )
        else:
            other = sum(1 for r in earlier if backend in backends_of(r))
            why = f"{other} earlier run(s) had another context ({json.dumps(want.get('versions'))} now)" if other else "no earlier run"
            notes.append(f"{backend}: no baseline ({why}); this run starts its history")
    return rounds, notes
