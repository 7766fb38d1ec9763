"""Comparing runs and gating on regressions (docs/regression-gating.md).

bootstrap (ratio of pooled medians, CI over whole rounds) -> decision (regression, improvement,
no change, inconclusive) -> comparison (every case, nothing dropped) -> formatting (table,
Markdown, JSON). rounds/ab: the interleaved A/B gate; history/nightly: per-machine history and
rolling baseline; calibration: this machine's false-alarm and detection rates.
"""
