"""A run as a pytest-benchmark JSON file, so ``pytest-benchmark compare out.json`` reads it.

pytest-benchmark's file (``--benchmark-json``, written by its ``pytest_benchmark_generate_json``
hook in ``src/pytest_benchmark/plugin.py``): ``machine_info``, ``commit_info``, ``benchmarks[]``
with ``group, name, fullname, params, param, extra_info, options, stats`` and ``datetime``,
``version``. ``stats`` is computed by pytest-benchmark's own ``Stats`` class from our samples
(one sample = one timed block / ``iterations`` calls, the same meaning as its rounds), so every
figure means what pytest-benchmark means by it. Only ``ok`` cases carry a timing; the others are
returned separately so the caller can say what was left out.
"""

from __future__ import annotations

from typing import Any

from bench.results.load import params_label
from bench.results.records import CaseRecord, Run


def _stats(samples: list[float], iterations: int) -> dict[str, Any]:
    from pytest_benchmark.stats import Stats

    stats = Stats()
    for value in samples:
        stats.update(float(value))
    out = stats.as_dict()
    out["data"] = [float(v) for v in samples]
    out["iterations"] = int(iterations)
    return out


def benchmark_entry(case: CaseRecord, timing_config: dict[str, Any]) -> dict[str, Any]:
    timing = case.timing
    assert timing is not None, "only ok cases carry a timing"
    backend = case.backend.name
    param = f"{params_label(case.params)}-{case.dtype}-{case.mode}-{backend}"
    extra = {"case_id": case.case_id, "gflops": case.gflops, "gbps": case.gbps, "info": case.info}
    return {
        "group": case.workload,
        "name": f"{case.workload}[{param}]",
        "fullname": f"siliconbench::{case.case_id}",
        "params": {**case.params, "dtype": case.dtype, "mode": case.mode, "backend": backend},
        "param": param,
        "extra_info": {k: v for k, v in extra.items() if v is not None}
        | {"timer": timing.timer, "rel_error": case.correctness.rel_error if case.correctness else None},
        "options": {
            "timer": f"siliconbench:{timing.timer}",
            "warmup": True,
            "min_rounds": timing_config.get("min_samples"),
            "max_time": timing_config.get("budget_s"),
            "disable_gc": False,
            "min_time": timing_config.get("block_s"),
        },
        "stats": _stats(timing.samples, timing.calls_per_sample),
    }


def machine_info(run: Run) -> dict[str, Any]:
    env = run.environment
    machine, os_info, python = env.machine, env.os, env.python
    return {
        "node": env.hostname,
        "processor": machine.get("chip"),
        "machine": machine.get("arch"),
        "python_implementation": python.get("implementation"),
        "python_version": python.get("version"),
        "python_compiler": "",
        "python_build": [],
        "release": os_info.get("release"),
        "system": os_info.get("system"),
        "cpu": {"brand_raw": machine.get("chip"), "count": machine.get("logical_cores"), "arch": machine.get("arch")},
        "siliconbench_machine_id": env.machine_id,
    }


def to_pytest_benchmark(run: Run) -> tuple[dict[str, Any], list[CaseRecord]]:
    """(pytest-benchmark document, cases left out because they have no timing)."""
    import pytest_benchmark

    git = run.environment.git
    ok = [c for c in run.cases if c.ok]
    document = {
        "machine_info": machine_info(run),
        "commit_info": {
            "id": git.get("commit") or "unversioned",
            "dirty": bool(git.get("dirty")),
            "project": "siliconbench",
            "branch": None,
            "time": None,
            "author_time": None,
        },
        "benchmarks": [benchmark_entry(c, run.timing_config) for c in ok],
        "datetime": run.started_at,
        "version": pytest_benchmark.__version__,
    }
    return document, [c for c in run.cases if not c.ok]
