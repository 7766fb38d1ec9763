"""One record per case from the records of its rounds (``siliconbench run --rounds N``).

While a run goes, every round of every case is appended to the partial file as its own record with
``round`` set, so a crash keeps every finished round. The final document (and a partial file when it is
read) holds one record per case: its ``rounds`` list, and above it

- ``status``: ``ok`` when every round was; a ``mismatch`` in any round makes the case a mismatch; else the
  first other status, with the round named in the reason;
- ``timing``: the pooled samples of the ok rounds (median, quartiles, CI of the pooled samples) and
  ``between_rounds``: the round medians, their spread and a t interval of their geometric mean, which is
  the honest interval of the case's time across processes; the warm-up, drain check and sync canary of
  the first round;
- ``flags``: those of any round, plus ``noisy`` when the round medians disagree by more than
  ``NOISY_BETWEEN_ROUNDS`` (σ of their logs);
- figures (GFLOP/s, GB/s) from the pooled median.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from bench.results.records import BetweenRounds, CaseRecord, Round, Stability, Status, Timing
from bench.results.schema import NOISY
from bench.stats import summarize

NOISY_BETWEEN_ROUNDS = 0.10  # σ of the log round medians above which the case is flagged noisy
_SEVERITY = {"stable": 0, "noisy": 1, "unstable": 2}


def merge_rounds(records: Iterable[CaseRecord]) -> list[CaseRecord]:
    """Records in their first-seen order, each case's round records merged into one."""
    groups: dict[str, list[CaseRecord]] = {}
    for record in records:
        groups.setdefault(record.case_id, []).append(record)
    return [group[0] if len(group) == 1 and group[0].round is None else merge(group) for group in groups.values()]


def merge(records: list[CaseRecord]) -> CaseRecord:
    """One case from the records of its rounds (each with ``round`` set)."""
    records = sorted(records, key=lambda r: r.round or 0)
    first = records[0]
    rounds = [
        Round(
            round=r.round or 0,
            status=r.status,
            reason=r.reason,
            correctness=r.correctness,
            timing=r.timing,
            memory=r.memory,
            flags=list(r.flags),
            notes=list(r.notes),
            elapsed_s=r.elapsed_s,
        )
        for r in records
    ]
    merged = first.model_copy(deep=True, update={"round": None, "rounds": rounds, "flags": [], "notes": []})
    merged.elapsed_s = sum(r.elapsed_s or 0.0 for r in records)
    merged.status, merged.reason = _status(records)
    worst = max((r.correctness for r in records if r.correctness), key=lambda c: c.rel_error, default=None)
    merged.correctness = worst
    for r in records:
        merged.flags += [f for f in r.flags if f not in merged.flags]
        merged.notes += [f"round {r.round}: {note}" for note in r.notes]
    timed = [r.timing for r in records if r.status == "ok" and r.timing]
    if merged.status != "ok" or not timed:
        merged.timing = None if merged.status != "ok" else merged.timing
        return merged
    merged.timing = _pooled(timed)
    spread = merged.timing.between_rounds
    if spread is not None and spread.sigma_log > NOISY_BETWEEN_ROUNDS and NOISY not in merged.flags:
        merged.flags.append(NOISY)
        merged.notes.append(f"{NOISY}: the medians of the {spread.rounds} rounds spread by σ = {spread.sigma_log:.0%} (between processes)")
    median = merged.timing.median
    merged.gflops = merged.flops / median / 1e9 if merged.flops else None
    merged.gbps = merged.bytes_moved / median / 1e9 if merged.bytes_moved else None
    return merged


def _status(records: list[CaseRecord]) -> tuple[Status, str | None]:
    if all(r.status == "ok" for r in records):
        return "ok", None
    bad = next((r for r in records if r.status == "mismatch"), None) or next(r for r in records if r.status != "ok")
    return bad.status, f"round {bad.round}: {bad.reason}"


def _pooled(timings: list[Timing]) -> Timing:
    """The ok rounds' samples pooled, with the spread of their medians; set-up figures from the first round."""
    first = timings[0]
    samples = [x for t in timings for x in t.samples]
    pooled = first.model_copy(update={**summarize(samples), "samples": samples, "wall_samples": None, "wall_median": None, "resampled": None})
    pooled.stability = max((t.stability for t in timings if t.stability), key=lambda s: _SEVERITY[s.verdict], default=Stability(verdict="stable"))
    pooled.between_rounds = between_rounds([t.median for t in timings])
    return pooled


def between_rounds(medians: list[float]) -> BetweenRounds | None:
    """The spread of round medians and a 95 % t interval of their geometric mean (None for one round)."""
    if len(medians) < 2:
        return None
    from scipy import stats

    logs = np.log(np.asarray(medians, dtype=float))
    sigma = float(logs.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(logs) - 1)) * sigma / math.sqrt(len(logs))
    centre = float(logs.mean())
    return BetweenRounds(
        rounds=len(medians), medians=list(medians), sigma_log=sigma, ci95_low=math.exp(centre - half), ci95_high=math.exp(centre + half)
    )
