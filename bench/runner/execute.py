"""Run one case inside a worker: inputs, correctness check, timing, sync canary, derived figures.

Order matters (DESIGN.md rule 2): a wrong output is ``mismatch`` and is never timed.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import numpy as np

from bench import workloads
from bench.backends import Adapter, BackendUnavailable, Unsupported
from bench.timing import TimingConfig, measure
from bench.workloads.base import Built, Case


def _to_numpy(adapter: Adapter, built: Built, out: Any) -> Any:
    if built.to_numpy is not None:
        return built.to_numpy(out)
    if isinstance(out, dict):
        return {k: _to_numpy(adapter, built, v) for k, v in out.items()}
    if isinstance(out, list | tuple):
        return [_to_numpy(adapter, built, v) for v in out]
    return adapter.to_numpy(out)


def _build(adapter: Adapter, spec, impl, params: dict, case: Case):
    rng = np.random.default_rng(Case.make(case.workload, params, case.dtype, case.mode).seed)
    inputs = spec.make_inputs(params, case.dtype, rng)
    built = impl.build(adapter, params, case.dtype, case.mode, inputs)
    return inputs, built


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


def run_case(adapter: Adapter, case: Case, config: TimingConfig) -> dict[str, Any]:
    """Return the measured part of a case record: status, reason, correctness, timing, figures."""
    started = time.time()
    record: dict[str, Any] = {"status": "ok", "reason": None}
    try:
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
        record["info"] = built.info

        out = built.fn()
        adapter.synchronize(out)
        out_np = _to_numpy(adapter, built, out)
        ref = spec.reference(params, case.dtype, inputs)
        rel = spec.relative_error(out_np, ref)
        tol = spec.tolerance(case.dtype, adapter.allow_tf32)
        record["correctness"] = {"rel_error": rel, "tolerance": tol, "passed": bool(rel <= tol)}
        per_output = spec.error_breakdown(out_np, ref)
        if per_output:
            record["correctness"]["per_output"] = per_output
        if not rel <= tol:  # also catches NaN
            record.update(status="mismatch", reason=f"relative error {rel:.3g} exceeds tolerance {tol:.3g}")
            return record
        del out, out_np

        adapter.reset_peak_memory()
        timing = measure(adapter, built.fn, config)
        record["memory"] = adapter.peak_memory()
        if config.canary:
            canary = _canary(adapter, spec, impl, case, params, timing, config)
            timing["sync_canary"] = canary
            if canary is not None and not canary["passed"]:
                record.update(
                    status="error",
                    reason=(
                        f"sync canary failed: twice the work took {canary['ratio']:.2f}x the time "
                        f"(expected ~{canary['expected_ratio']:.1f}x); the timing escaped synchronisation "
                        "or the case is too small to measure"
                    ),
                )
        record["timing"] = timing
        median = timing["median"]
        flops = spec.flops(params)
        nbytes = spec.bytes_moved(params, case.dtype)
        record["flops"] = flops
        record["bytes"] = nbytes
        record["gflops"] = flops / median / 1e9 if flops else None
        record["gbps"] = nbytes / median / 1e9 if nbytes else None
        record["metrics"] = spec.metrics(params, median)
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

