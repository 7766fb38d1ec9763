"""Rule 11 in the worker: a case faster than its device can possibly run did not do the work.

Called once a case has its GFLOP/s and GB/s. Above the bound (``bench.hardware.bounds``) the case is an
``error`` whatever its correctness check and sync canary said (a cached output passes both); the timing
stays in the record for the post-mortem.
"""

from __future__ import annotations

from bench.backends import Adapter
from bench.hardware.bounds import upper_bound
from bench.results.records import CaseRecord

FASTER_THAN_PEAK = "faster than the hardware's peak: the timed call did not do the work"


def judge_rates(record: CaseRecord, adapter: Adapter) -> None:
    """Turn an ``ok`` record whose rates exceed the device's bound into an ``error`` naming the figures."""
    if record.status != "ok" or not (record.gflops or record.gbps):
        return
    bound = upper_bound(record.backend.device_name, adapter.accelerator, record.dtype, adapter.allow_tf32)
    over = bound.violations(record.gflops, record.gbps)
    if over:
        record.status = "error"
        record.reason = f"{FASTER_THAN_PEAK} ({'; '.join(over)}; bound from {bound.source})"
