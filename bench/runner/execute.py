"""Run one case inside a worker: inputs, correctness check, timing, sync canary, derived figures.

Order matters (DESIGN.md rule 2): a wrong output is ``mismatch`` and is never timed.
"""

from __future__ import annotations

import time
import traceback
from collections import OrderedDict
from typing import Any

import numpy as np

from bench import workloads
from bench.backends import Adapter, BackendUnavailable, Unsupported
from bench.timing import TimingConfig, measure
from bench.workloads.base import Built, Case, input_seed


def _to_numpy(adapter: Adapter, built: Built, out: Any) -> Any:
    if built.to_numpy is not None:
        return built.to_numpy(out)
    if isinstance(out, dict):
        return {k: _to_numpy(adapter, built, v) for k, v in out.items()}
    if isinstance(out, list | tuple):
        return [_to_numpy(adapter, built, v) for v in out]
    return adapter.to_numpy(out)


# Recent NumPy inputs by (workload, reference_key, dtype): the cases that follow one another in a suite
# (eager/compiled, fused/naive, and the canary's doubled case) reuse them instead of drawing GBs again.
_recent_inputs: OrderedDict[tuple, dict] = OrderedDict()
_RECENT_INPUTS = 2


def _inputs(spec, workload: str, params: dict, dtype: str) -> dict:
    key = (workload, spec.reference_key(params), dtype)
    if key in _recent_inputs:
        _recent_inputs.move_to_end(key)
        return _recent_inputs[key]
    rng = np.random.default_rng(input_seed(workload, spec.reference_key(params)))
    inputs = spec.make_inputs(params, dtype, rng)
    _recent_inputs[key] = inputs
    while len(_recent_inputs) > _RECENT_INPUTS:
        _recent_inputs.popitem(last=False)
    return inputs


def _build(adapter: Adapter, spec, impl, params: dict, case: Case):
    inputs = _inputs(spec, case.workload, params, case.dtype)
    built = impl.build(adapter, params, case.dtype, case.mode, inputs)
    return inputs, built


# The last reference computed, keyed by (workload, reference_key, dtype): consecutive cases that differ
# only in mode or variant (eager/compiled, fused/naive) reuse it. One entry: references can be GBs.
_last_reference: dict[tuple, Any] = {}


def reference(spec, case: Case, params: dict, inputs: dict, built: Built) -> Any:
    """The float64 reference for a built case (shared with the next case that has the same key)."""
    if built.reference_inputs is not None:  # the kernel re-expressed its inputs: no sharing
        return spec.reference(params, case.dtype, built.reference_inputs)
    # The same input arrays (the input cache hands out the same dict) through the same reference function.
    key = (case.workload, spec.reference_key(params), case.dtype, id(inputs), getattr(spec.reference, "__func__", spec.reference))
    if key not in _last_reference:
        _last_reference.clear()
        _last_reference[key] = spec.reference(params, case.dtype, inputs)
    return _last_reference[key]


def _check(adapter: Adapter, spec, built: Built, ref: Any, tol: float) -> tuple[dict[str, Any], float]:
    """One call of ``built.fn`` compared with the reference (rule 2: before any timing).

    Returns the correctness record and the seconds the call took: the very first call, so it
    includes tracing and compilation.
    """
    start = time.perf_counter()
    out = built.fn()
    adapter.synchronize(out)
    seconds = time.perf_counter() - start
    out_np = _to_numpy(adapter, built, out)
    rel = spec.relative_error(out_np, ref)
    correctness = {"rel_error": rel, "tolerance": tol, "passed": bool(rel <= tol)}  # NaN fails
    per_output = spec.error_breakdown(out_np, ref)
    if per_output:
        correctness["per_output"] = per_output
    return correctness, seconds


def _baseline(adapter: Adapter, spec, baseline: Built, ref: Any, tol: float, config: TimingConfig) -> dict[str, Any]:
    """Check and time the case's baseline (``Built.baseline``) right after the case itself."""
    record: dict[str, Any] = {"status": "ok", "info": baseline.info}
    record["correctness"], _ = _check(adapter, spec, baseline, ref, tol)
    if not record["correctness"]["passed"]:
        record["status"] = "mismatch"
        return record
    record["timing"] = measure(adapter, baseline.fn, config)
    return record


def _canary(adapter, spec, impl, case: Case, params: dict, base: dict, config: TimingConfig) -> dict | None:
    doubled = spec.canary_params(params)
    if doubled is None:
        return None
    _, built = _build(adapter, spec, impl, doubled, case)
    timing = measure(adapter, built.fn, config.scaled(0.5))
    # Ratio of minima: interference from other processes only ever adds time, so the minimum is the
    # steadiest estimate of what the work itself costs.
    ratio = timing["min"] / base["min"]
    expected = (spec.flops(doubled) or 2.0) / (spec.flops(params) or 1.0)
    return {
        "params": doubled,
        "median": timing["median"],
        "min": timing["min"],
        "ratio": ratio,
        "expected_ratio": expected,
        "min_ratio": config.canary_min_ratio,
        "passed": bool(ratio >= config.canary_min_ratio),
    }


def prepare(adapter: Adapter, case: Case):
    """The case's spec, implementation, params, NumPy inputs and built call; Unsupported if it cannot run."""
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
    inputs, built = _build(adapter, spec, impl, params, case)
    return spec, impl, params, inputs, built


def _judge_synchronisation(record: dict[str, Any], timing: dict[str, Any]) -> None:
    """Rules 3 and 5: an unsynchronised timing is an error; a time that ignores the work is flagged.

    The drain check (work still queued after the synchronise) proves an escape. A failed canary
    without it means the call costs the same whatever the work: dispatch or launch overhead dominates
    (a host-bound case), the doubled work ran on otherwise idle parallel hardware, or interference. That number is real but is not the work's: it is published
    with a note, never as a throughput claim about the kernel.
    """
    drain = timing["drain"]
    canary = timing.get("sync_canary")
    if drain["escaped"]:
        record.update(status="error", reason=(
            f"timing escaped synchronisation: {drain['queued_s'] * 1e3:.3g} ms of work was still queued after "
            f"the synchronise returned (timed block {drain['block_s'] * 1e3:.3g} ms)"))
    elif canary is not None and not canary["passed"]:
        canary["overhead_bound"] = True
        record.setdefault("notes", []).append(
            f"overhead-bound: twice the work took {canary['ratio']:.2f}x the time (expected ~{canary['expected_ratio']:.1f}x); "
            "this time is dispatch/launch overhead, idle parallel hardware or interference, not the work")


def run_case(adapter: Adapter, case: Case, config: TimingConfig) -> dict[str, Any]:
    """Return the measured part of a case record: status, reason, correctness, timing, figures."""
    started = time.time()
    record: dict[str, Any] = {"status": "ok", "reason": None}
    try:
        spec, impl, params, inputs, built = prepare(adapter, case)
        record["info"] = built.info

        ref = reference(spec, case, params, inputs, built)
        tol = spec.tolerance(case.dtype, adapter.allow_tf32)
        record["correctness"], first_call_s = _check(adapter, spec, built, ref, tol)
        if not record["correctness"]["passed"]:
            rel = record["correctness"]["rel_error"]
            record.update(status="mismatch", reason=f"relative error {rel:.3g} exceeds tolerance {tol:.3g}")
            return record

        adapter.reset_peak_memory()
        timing = measure(adapter, built.fn, config)
        timing["first_call_s"] = first_call_s  # compilation included; measure's own first call came after it
        record["memory"] = adapter.peak_memory()
        if config.canary:
            timing["sync_canary"] = _canary(adapter, spec, impl, case, params, timing, config)
        _judge_synchronisation(record, timing)
        record["timing"] = timing
        median = timing["median"]
        flops = spec.flops(params)
        nbytes = spec.bytes_moved(params, case.dtype)
        record["flops"] = flops
        record["bytes"] = nbytes
        record["gflops"] = flops / median / 1e9 if flops else None
        record["gbps"] = nbytes / median / 1e9 if nbytes else None
        record["metrics"] = spec.metrics(params, median)
        if built.baseline is not None:
            record["baseline"] = _baseline(adapter, spec, built.baseline, ref, tol, config)
            if record["baseline"]["status"] == "ok":
                record["metrics"][built.baseline_metric] = record["baseline"]["timing"]["median"] / median
    except Unsupported as exc:
        record.update(status="unsupported", reason=str(exc))
    except BackendUnavailable as exc:
        record.update(status="unavailable", reason=str(exc))
    except Exception as exc:  # one case's failure is that case's status, never the run's
        status = "oom" if adapter.is_oom(exc) else "error"
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
        record.update(status=status, reason=f"{type(exc).__name__}: {str(exc).strip()[:500]}{where}")
    record["elapsed_s"] = time.time() - started
    return record

