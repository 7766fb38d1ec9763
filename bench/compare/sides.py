"""One side of a comparison: per case, the rounds of samples and the statuses, gathered from runs.

Cases match on ``case_id`` (workload, params, dtype, mode and backend). Each run a case appears
in is one round of it (one worker process). A side's status is ``mismatch`` if any round was
wrong, ``ok`` if every round was ok, else the first other status seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np


@dataclass
class Side:
    """One case on one side: ``rounds[i]`` is the (n_i,) samples of round ``round_keys[i]``."""

    case_id: str
    rounds: list[np.ndarray] = field(default_factory=list)
    round_keys: list[Any] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)

    @property
    def status(self) -> str:
        if "mismatch" in self.statuses:
            return "mismatch"
        if self.statuses and all(s == "ok" for s in self.statuses):
            return "ok"
        return next((s for s in self.statuses if s != "ok"), "missing")

    @property
    def reason(self) -> str:
        return next((r for r, s in zip(self.reasons, self.statuses) if s == self.status and r), "")

    @property
    def median(self) -> float | None:
        return float(np.median(np.concatenate(self.rounds))) if self.rounds else None

    def add(self, case: dict[str, Any], round_key: Any, version: str | None = None) -> None:
        self.statuses.append(case["status"])
        self.reasons.append(case.get("reason") or "")
        if version:
            self.versions.add(version)
        samples = (case.get("timing") or {}).get("samples")
        if case["status"] == "ok" and samples:
            self.rounds.append(np.asarray(samples, dtype=float))
            self.round_keys.append(round_key)


def framework_version(run: dict[str, Any], case: dict[str, Any]) -> str | None:
    """``torch 2.13.0+cpu`` for the case's backend, from the run's worker hello."""
    backend = case.get("backend") or {}
    hello = ((run.get("environment") or {}).get("frameworks") or {}).get(backend.get("name")) or {}
    versions = hello.get("versions") or {}
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or None


def collect(runs: Iterable[dict[str, Any]], round_key: str = "run_id") -> dict[str, Side]:
    """Sides keyed by case_id from run documents (``bench.results.read_runs``); one round per run."""
    sides: dict[str, Side] = {}
    for index, run in enumerate(runs):
        key = run.get(round_key, index)
        for case in run.get("cases", []):
            side = sides.setdefault(case["case_id"], Side(case["case_id"]))
            side.add(case, key, framework_version(run, case))
    return sides


def pair(baseline: Side, candidate: Side) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """The rounds both sides share a key for, in the same order; None when they share none."""
    keys = [k for k in baseline.round_keys if k in set(candidate.round_keys)]
    if not keys:
        return None
    b = dict(zip(baseline.round_keys, baseline.rounds))
    c = dict(zip(candidate.round_keys, candidate.rounds))
    return [b[k] for k in keys], [c[k] for k in keys]
