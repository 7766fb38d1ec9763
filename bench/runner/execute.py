"""Run one case inside a worker: inputs, correctness check, timing, sync canary, derived figures.

Order matters (docs/design.md, rule 2): a wrong output is ``mismatch`` and is never timed.
"""

from __future__ import annotations

import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from bench import machine_load, workloads
from bench.backends import Adapter, BackendUnavailable, Unsupported
from bench.monitor import CaseMonitor, flag_notes
from bench.results.records import BackendRef, BaselineRecord, Canary, CaseRecord, Correctness, Memory, Timing
from bench.results.schema import NOISY, OVERHEAD_BOUND, THROTTLED, UNSTABLE
from bench.runner.physics import judge_rates
from bench.timing import TimingConfig, measure
from bench.workloads.base import Built, Case, Workload
from bench.workloads.fingerprint import projection


def outputs_to_numpy(adapter: Adapter, built: Built, out: Any) -> Any:
    """The native output as NumPy arrays shaped like the reference (``Built.to_numpy`` where given)."""
    if built.to_numpy is not None:
        return built.to_numpy(out)
    if isinstance(out, dict):
        return {k: outputs_to_numpy(adapter, built, v) for k, v in out.items()}
    if isinstance(out, list | tuple):
        return [outputs_to_numpy(adapter, built, v) for v in out]
    return adapter.to_numpy(out)


# Recent NumPy inputs by (workload, reference_key, dtype): the cases that follow one another in a suite
# (eager/compiled, fused/naive, and the canary's doubled case) reuse them instead of drawing GBs again.
_recent_inputs: OrderedDict[tuple, dict] = OrderedDict()
_RECENT_INPUTS = 2


def _inputs(spec: Workload, params: dict, dtype: str) -> dict:
    key = (spec.name, spec.reference_key(params), dtype)
    if key in _recent_inputs:
        _recent_inputs.move_to_end(key)
        return _recent_inputs[key]
    inputs = spec.make_inputs(params, dtype, np.random.default_rng(spec.input_seed(params)))
    _recent_inputs[key] = inputs
    while len(_recent_inputs) > _RECENT_INPUTS:
        _recent_inputs.popitem(last=False)
    return inputs


# The last reference computed, keyed by (workload, reference_key, dtype): consecutive cases that differ
# only in mode or variant (eager/compiled, fused/naive) reuse it. One entry: references can be GBs.
_last_reference: dict[tuple, Any] = {}


@dataclass
class Prepared:
    """A case ready to check and time: its spec, implementation, params, NumPy inputs and built call."""

    case: Case
    spec: Workload
    impl: ModuleType
    params: dict[str, Any]
    inputs: dict[str, Any]
    built: Built

    def reference(self) -> Any:
        """The float64 reference (shared with the next case that has the same key)."""
        spec, built, inputs = self.spec, self.built, self.inputs
        if built.reference_inputs is not None:  # the kernel re-expressed its inputs: no sharing
            return spec.reference(self.params, self.case.dtype, built.reference_inputs)
        # The same input arrays (the input cache hands out the same dict) through the same reference function.
        key = (spec.name, spec.reference_key(self.params), self.case.dtype, id(inputs), getattr(spec.reference, "__func__", spec.reference))
        if key not in _last_reference:
            _last_reference.clear()
            _last_reference[key] = spec.reference(self.params, self.case.dtype, inputs)
        return _last_reference[key]

    def tolerance(self, adapter: Adapter) -> float:
        return self.spec.tolerance(self.case.dtype, adapter.allow_tf32, self.params)

    def rebuilt(self, adapter: Adapter, params: dict[str, Any]) -> Built:
        """The same case with other params (the canary's doubled work)."""
        return self.impl.build(adapter, params, self.case.dtype, self.case.mode, _inputs(self.spec, params, self.case.dtype))


def prepare(adapter: Adapter, case: Case) -> Prepared:
    """Everything needed to run ``case`` on ``adapter``; Unsupported if it cannot run there."""
    spec = workloads.get(case.workload)
    impl = workloads.implementation(case.workload, adapter.framework)
    if impl is None:
        raise Unsupported(f"{case.workload} has no {adapter.framework} implementation")
    if case.dtype not in spec.dtypes:
        raise Unsupported(f"{case.workload} does not define dtype {case.dtype}")
    why = adapter.supports_dtype(case.dtype)
    if why:
        raise Unsupported(why)
    params = case.params_dict
    inputs = _inputs(spec, params, case.dtype)
    built = impl.build(adapter, params, case.dtype, case.mode, inputs)
    return Prepared(case, spec, impl, params, inputs, built)


def check(adapter: Adapter, spec: Workload, built: Built, ref: Any, tol: float) -> tuple[Correctness, float]:
    """One call of ``built.fn`` compared with the reference (rule 2: before any timing).

    Returns the correctness record and the seconds the call took: the very first call, so it
    includes tracing and compilation.
    """
    start = time.perf_counter()
    out = built.fn()
    adapter.synchronize(out)
    seconds = time.perf_counter() - start
    out_np = outputs_to_numpy(adapter, built, out)
    rel = spec.relative_error(out_np, ref)
    correctness = Correctness(
        rel_error=rel,
        tolerance=tol,
        passed=bool(rel <= tol),  # NaN fails
        per_output=spec.error_breakdown(out_np, ref) or None,
        projection=projection(spec.comparable(out_np), spec.comparable(ref)) if rel <= tol else None,  # rule 12
    )
    return correctness, seconds


def _baseline(adapter: Adapter, spec: Workload, baseline: Built, ref: Any, tol: float, config: TimingConfig) -> BaselineRecord:
    """Check and time the case's baseline (``Built.baseline``) right after the case itself."""
    correctness, _ = check(adapter, spec, baseline, ref, tol)
    if not correctness.passed:
        return BaselineRecord(status="mismatch", info=baseline.info, correctness=correctness)
    return BaselineRecord(status="ok", info=baseline.info, correctness=correctness, timing=measure(adapter, baseline.fn, config))


def _canary(adapter: Adapter, prepared: Prepared, base: Timing, config: TimingConfig) -> Canary | None:
    spec, params = prepared.spec, prepared.params
    doubled = spec.canary_params(params)
    if doubled is None:
        return None
    timing = measure(adapter, prepared.rebuilt(adapter, doubled).fn, config.scaled(0.5))
    # Ratio of minima: interference from other processes only ever adds time, so the minimum is the
    # steadiest estimate of what the work itself costs.
    ratio = timing.min / base.min
    return Canary(
        params=doubled,
        median=timing.median,
        min=timing.min,
        ratio=ratio,
        expected_ratio=(spec.flops(doubled) or 2.0) / (spec.flops(params) or 1.0),
        min_ratio=config.canary_min_ratio,
        passed=bool(ratio >= config.canary_min_ratio),
    )


def _judge_synchronisation(record: CaseRecord, timing: Timing) -> None:
    """Rules 3 and 5: an unsynchronised timing is an error; a time that ignores the work is flagged.

    The drain check (work still queued after the synchronise) proves an escape. A failed canary
    without it means the call costs the same whatever the work: dispatch or launch overhead dominates
    (a host-bound case), the doubled work ran on otherwise idle parallel hardware, or interference.
    That number is real but is not the work's: it is published with a flag, never as a throughput
    claim about the kernel.
    """
    drain, canary = timing.drain, timing.sync_canary
    if drain is not None and drain.escaped:
        record.status = "error"
        record.reason = (
            f"timing escaped synchronisation: {drain.queued_s * 1e3:.3g} ms of work was still queued after "
            f"the synchronise returned (timed block {drain.block_s * 1e3:.3g} ms)"
        )
    elif canary is not None and not canary.passed:
        canary.overhead_bound = True
        record.flags.append(OVERHEAD_BOUND)
        record.notes.append(
            f"{OVERHEAD_BOUND}: twice the work took {canary.ratio:.2f}x the time (expected ~{canary.expected_ratio:.1f}x); "
            "this time is dispatch/launch overhead, idle parallel hardware or interference, not the work"
        )


def measure_steady(adapter: Adapter, fn: Any, config: TimingConfig, monitor: CaseMonitor | None = None) -> Timing:
    """``measure``, and once more after a longer warm-up when the samples were unstable (docs/design.md,
    rule 10). The second attempt is kept whatever it says; the first attempt's verdict stays in ``resampled``."""
    timing = measure(adapter, fn, config, monitor)
    if config.resample_unstable and timing.stability is not None and timing.stability.verdict == UNSTABLE:
        first = timing.stability
        timing = measure(adapter, fn, config.longer_warmup(), monitor)
        timing.resampled = [first]
    return timing


def record_monitor(record: CaseRecord, monitor: CaseMonitor, cooldown: dict[str, Any] | None) -> None:
    """Energy (with --energy), thermal state and cool-down of the timed blocks; clocks that fell or a thermal
    state that rose during them flag the case ``throttled``."""
    fields = monitor.fields or {}
    record.energy, record.thermal, record.cooldown = fields.get("energy"), fields.get("thermal"), cooldown
    notes = flag_notes(fields)
    record.notes.extend(notes)
    if any(note.startswith(THROTTLED) for note in notes):
        record.flags.append(THROTTLED)


def flag_stability(record: CaseRecord, timing: Timing) -> None:
    """An unstable or noisy verdict becomes a flag, with the figures behind it as a note."""
    stability = timing.stability
    if stability is None or stability.verdict not in (UNSTABLE, NOISY):
        return
    record.flags.append(stability.verdict)
    again = " (measured again after a longer warm-up: the first attempt was unstable)" if timing.resampled else ""
    record.notes.append(f"{stability.verdict}{again}: " + "; ".join(stability.reasons))


def _measure(adapter: Adapter, prepared: Prepared, record: CaseRecord, config: TimingConfig, monitor: CaseMonitor | None) -> None:
    """Check, then time; fill ``record`` in place (it stays ``mismatch`` with no timing if the check fails)."""
    spec, built, params = prepared.spec, prepared.built, prepared.params
    record.info = built.info
    ref = prepared.reference()
    tol = prepared.tolerance(adapter)
    record.correctness, first_call_s = check(adapter, spec, built, ref, tol)
    if not record.correctness.passed:
        record.status = "mismatch"
        record.reason = f"relative error {record.correctness.rel_error:.3g} exceeds tolerance {tol:.3g}"
        return
    adapter.reset_peak_memory()
    cooldown = monitor.before_case(*(spec.units(params) or (None, None))) if monitor is not None else None
    load = machine_load.watch()
    timing = measure_steady(adapter, built.fn, config, monitor)
    load.stop(record)  # the machine's load while it ran; flags a contended case
    timing.first_call_s = first_call_s  # compilation included; measure's own first call came after it
    memory = adapter.peak_memory()
    record.memory = Memory(**memory) if memory else None
    if config.canary:
        timing.sync_canary = _canary(adapter, prepared, timing, config)
    record.timing = timing
    record.status, record.reason = "ok", None
    _judge_synchronisation(record, timing)
    flag_stability(record, timing)
    if monitor is not None:
        record_monitor(record, monitor, cooldown)
    record.flops = spec.flops(params)
    record.bytes_moved = spec.bytes_moved(params, prepared.case.dtype)
    record.gflops = record.flops / timing.median / 1e9 if record.flops else None
    record.gbps = record.bytes_moved / timing.median / 1e9 if record.bytes_moved else None
    judge_rates(record, adapter)  # rule 11: faster than the hardware can go is an error
    metrics: dict[str, float | None] = dict(spec.metrics(params, timing.median))
    if built.baseline is not None:
        record.baseline = _baseline(adapter, spec, built.baseline, ref, tol, config)
        if record.baseline.timing is not None:
            metrics[built.baseline_metric] = record.baseline.timing.median / timing.median
    record.metrics = metrics


def backend_ref(adapter: Adapter, device_name: str | None = None) -> BackendRef:
    return BackendRef(
        name=f"{adapter.framework}:{adapter.requested_device}",
        resolved=adapter.name,
        framework=adapter.framework,
        device=adapter.device,
        device_name=device_name,
    )


def run_case(adapter: Adapter, case: Case, config: TimingConfig, backend: BackendRef | None = None, monitor: CaseMonitor | None = None) -> CaseRecord:
    """The case's record: status, reason, correctness, timing and figures. Never raises for the case's own failure."""
    started = time.time()
    backend = backend or backend_ref(adapter)
    record = CaseRecord(case_id=case.case_id(backend.name), **case.to_dict(), backend=backend, status="error", reason="the case did not finish")
    try:
        _measure(adapter, prepare(adapter, case), record, config, monitor)
    except Unsupported as exc:
        record.status, record.reason = "unsupported", str(exc)
    except BackendUnavailable as exc:
        record.status, record.reason = "unavailable", str(exc)
    except Exception as exc:  # one case's failure is that case's status, never the run's
        unsupported = adapter.unsupported_reason(exc)  # a Metal plugin's missing op: the backend cannot run this case
        if unsupported is not None:
            record.status, record.reason = "unsupported", unsupported
        else:
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
            record.status = "oom" if adapter.is_oom(exc) else "error"
            record.reason = f"{type(exc).__name__}: {str(exc).strip()[:500]}{where}"
    record.elapsed_s = time.time() - started
    return record
