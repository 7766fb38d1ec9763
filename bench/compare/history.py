"""Per-machine history of nightly runs and the rolling baseline a new run is compared with.

Layout (asv-style, one folder per machine, so machines are never mixed)::

    results/history/<machine_id>/<run_id>.json           one nightly run each
    results/history/<machine_id>/confirm/<run_id>/...    re-runs of flagged cases
    results/history/<machine_id>/compare/<run_id>.json   the comparison of that night

Rolling baseline, per backend: the last ``n`` earlier complete runs of the same suite on this
machine whose *context* for that backend matches the new run's (framework versions, interpreter
version, precision policy, timing configuration: conbench's "context", reference §5). A context
change starts a new baseline instead of raising alarms about a different configuration. Each
baseline run is one round of its cases, so the CI sees night-to-night spread on that side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.results import read_runs

HISTORY_DIR = "history"


def machine_folder(results_dir: str | Path, machine_id: str) -> Path:
    return Path(results_dir) / HISTORY_DIR / machine_id


def history_runs(folder: Path) -> list[dict[str, Any]]:
    """Complete runs directly in ``folder`` (not confirm re-runs), oldest first."""
    if not folder.is_dir():
        return []
    runs = read_runs(sorted(folder.glob("*.json")))
    return sorted((r for r in runs if r.get("status") == "complete"), key=lambda r: r["started_at"])


def context(run: dict[str, Any], backend_name: str) -> dict[str, Any]:
    """What must not change along a backend's time series."""
    env = run.get("environment") or {}
    hello = (env.get("frameworks") or {}).get(backend_name) or {}
    return {
        "suite": (run.get("suite") or {}).get("name"),
        "versions": hello.get("versions"),
        "python": hello.get("python"),
        "precision": env.get("precision_policy"),
        "timing": run.get("timing_config"),
    }


def backends_of(run: dict[str, Any]) -> list[str]:
    return sorted({(c.get("backend") or {}).get("name") for c in run.get("cases", [])} - {None})


def restrict(run: dict[str, Any], backend_name: str) -> dict[str, Any]:
    """The run with only ``backend_name``'s cases (a round of that backend)."""
    return {**run, "cases": [c for c in run["cases"] if (c.get("backend") or {}).get("name") == backend_name]}


def rolling_baseline(history: list[dict[str, Any]], candidate: dict[str, Any], n: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Baseline rounds for ``candidate``: per backend, the last ``n`` earlier runs with its context.

    Returns (runs restricted to one backend each, notes saying what was used or why nothing was).
    """
    earlier = [r for r in history if r["run_id"] != candidate["run_id"] and r["started_at"] < candidate["started_at"]]
    rounds: list[dict[str, Any]] = []
    notes: list[str] = []
    for backend in backends_of(candidate):
        want = context(candidate, backend)
        matching = [r for r in earlier if backend in backends_of(r) and context(r, backend) == want]
        chosen = matching[-n:]
        rounds.extend(restrict(r, backend) for r in chosen)
        if chosen:
            notes.append(f"{backend}: baseline = pooled samples of the last {len(chosen)} run(s) with the same context "
                         f"({chosen[0]['run_id']} … {chosen[-1]['run_id']})")
        else:
            other = sum(1 for r in earlier if backend in backends_of(r))
            why = f"{other} earlier run(s) had another context ({json.dumps(want.get('versions'))} now)" if other else "no earlier run"
            notes.append(f"{backend}: no baseline ({why}); this run starts its history")
    return rounds, notes
