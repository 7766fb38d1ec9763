"""One side of a comparison: per case, the rounds of samples and the statuses, gathered from runs.

Cases match on ``case_id`` (workload, params, dtype, mode and backend). Each run a case appears
in is one round of it (one worker process). A side's status is ``mismatch`` if any round was
wrong, ``ok`` if every round was ok, else the first other status seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.results.records import CaseRecord, Run
from bench.results.schema import CONTENDED, UNSTABLE
from bench.results.usable import bad_samples

# Flags whose numbers may not stand for the code alone: a verdict on them never fails a gate.
DISTRUSTED = (UNSTABLE, CONTENDED)


@dataclass
class Side:
    """One case on one side: ``rounds[i]`` is the (n_i,) samples of round ``round_keys[i]``."""

    case_id: str
    rounds: list[np.ndarray] = field(default_factory=list)
    round_keys: list[Any] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    flags: set[str] = field(default_factory=set)  # union over rounds

    @property
    def distrusted(self) -> list[str]:
        """The flags (unstable, contended) that keep this side's number out of gate failures."""
        return [f for f in DISTRUSTED if f in self.flags]

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

    def add(self, case: CaseRecord, round_key: Any, version: str | None = None) -> None:
        """One run's record of the case: one round, or each of its rounds when it was measured with ``--rounds``."""
        if version:
            self.versions.add(version)
        self.flags.update(case.flags)
        if not case.rounds:
            self._add_round(case.status, case.reason, case.samples if case.ok else [], round_key)
            return
        for r in case.rounds:
            self._add_round(r.status, r.reason, r.timing.samples if r.status == "ok" and r.timing else [], (round_key, r.round))

    def _add_round(self, status: str, reason: str | None, samples: list[float], key: Any) -> None:
        values = np.asarray(samples, dtype=float)
        bad = bad_samples(values)
        if status == "ok" and bad:  # the loader already drops these from files; ab's records come straight from workers
            status, reason = "error", f"{bad} of {len(values)} timing samples are not finite positive seconds; not compared"
        self.statuses.append(status)
        self.reasons.append(reason or "")
        if status == "ok" and len(values):
            self.rounds.append(values)
            self.round_keys.append(key)


def collect(runs: Iterable[Run]) -> dict[str, Side]:
    """Sides keyed by case_id from run documents (``bench.results.read_runs``); one round per run."""
    sides: dict[str, Side] = {}
    for run in runs:
        for case in run.cases:
            side = sides.setdefault(case.case_id, Side(case.case_id))
            side.add(case, run.run_id, run.framework_version(case))
    return sides


def pair(baseline: Side, candidate: Side) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """The rounds both sides share a key for, in the same order; None when they share none."""
    keys = [k for k in baseline.round_keys if k in set(candidate.round_keys)]
    if not keys:
        return None
    b = dict(zip(baseline.round_keys, baseline.rounds))
    c = dict(zip(candidate.round_keys, candidate.rounds))
    return [b[k] for k in keys], [c[k] for k in keys]
