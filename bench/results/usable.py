"""Numbers in a results file that no clock or counter could have produced, and what readers do with them.

A results file is data: hand-edited, cut short, written by a plug-in or by another version. A timing
sample of nan, infinity, zero or less, or a timing statistic that is not a finite non-negative number,
did not come from a clock; a work count or rate (flops, bytes, GFLOP/s, GB/s, a metric) that is not a
finite non-negative number did not come from a workload. One such number should cost its case, not the
file: the loader (``bench.results.load``) keeps every record and drops the unusable number, saying so
where the reader looks — an ok case whose timing is unusable becomes ``error`` with the field in its
reason; a dropped figure leaves a note beside the case (docs/bad-input.md). Every command reads through
the loader, so report, compare, export and nightly treat such a case alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.results.records import BaselineRecord, CaseRecord, Round, Timing

_POSITIVE = ("median", "min", "max", "q1", "q3", "mean")  # statistics of positive samples are positive
_NON_NEGATIVE = ("iqr", "std", "ci95_low", "ci95_high")
_OPTIONAL_TIMES = ("first_call_s", "warmup_s", "wall_median")
_FIGURES = {"flops": "flops", "bytes_moved": "bytes", "gflops": "gflops", "gbps": "gbps"}  # attribute -> field


def usable_number(value: float) -> bool:
    """A finite number of at least zero (the records' validation already made every such field a float)."""
    return math.isfinite(value) and value >= 0


def bad_samples(samples: Sequence[float] | np.ndarray) -> int:
    """How many timing samples are not finite positive seconds."""
    values = np.asarray(samples, dtype=float)
    return int(np.sum(~(np.isfinite(values) & (values > 0))))


def timing_problem(timing: Timing) -> str | None:
    """Why a timing cannot be used as measured seconds, or None when it can."""
    bad = bad_samples(timing.samples)
    if bad:
        return f"{bad} of {len(timing.samples)} timing samples are not finite positive seconds"
    for name in _POSITIVE:
        value = getattr(timing, name)
        if not (usable_number(value) and value > 0):
            return f"timing.{name} is {value!r}, not a finite positive time"
    for name in _NON_NEGATIVE:
        if not usable_number(getattr(timing, name)):
            return f"timing.{name} is {getattr(timing, name)!r}, not a finite non-negative number"
    for name in ("n_samples", "calls_per_sample"):
        if getattr(timing, name) < 1:
            return f"timing.{name} is {getattr(timing, name)!r}, less than 1"
    return None


def _drop_timing(record: CaseRecord | Round | BaselineRecord, field: str) -> str | None:
    """Drop an unusable timing; an ok record becomes an error naming the field. Returns a note, if any."""
    timing = record.timing
    if timing is None:
        return None
    for name in _OPTIONAL_TIMES:
        if getattr(timing, name) is not None and not usable_number(getattr(timing, name)):
            setattr(timing, name, None)
    problem = timing_problem(timing)
    if problem is None:
        return None
    record.timing = None
    text = f"results file: field '{field}.timing': {problem}; not used"
    if record.status == "ok":
        record.status, record.reason = "error", text
        return None
    return text


def drop_unusable_numbers(case: CaseRecord, field: str) -> None:
    """Make ``case`` (read from the file at ``field``, e.g. ``cases[3]``) safe to compute with, in place."""
    notes = [_drop_timing(case, field)]
    for r in case.rounds or []:
        notes.append(_drop_timing(r, f"{field}.rounds[{r.round}]"))
    if case.baseline is not None:
        notes.append(_drop_timing(case.baseline, f"{field}.baseline"))
    for attribute, name in _FIGURES.items():
        value = getattr(case, attribute)
        if value is not None and not usable_number(value):
            setattr(case, attribute, None)
            notes.append(f"results file: field '{field}.{name}' is {value!r}, not a finite non-negative number; left out")
    for key, value in (case.metrics or {}).items():
        if value is not None and not usable_number(value):
            case.metrics[key] = None  # type: ignore[index]
            notes.append(f"results file: field '{field}.metrics.{key}' is {value!r}, not a finite non-negative number; left out")
    case.notes += [note for note in notes if note]
