"""Read run files (final ``.json`` or unfinished ``.partial.jsonl``) and flatten them for pandas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from bench.results.schema import CASE_REQUIRED, RUN_REQUIRED, SCHEMA_VERSION, STATUSES


class ResultsError(ValueError):
    """A results file that cannot be read; the message names the file, the field and the problem."""


def _read_partial(path: Path) -> dict[str, Any]:
    header: dict[str, Any] | None = None
    cases: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                if number > 1 and not line.endswith("\n"):
                    break  # the line in flight when the run died
                raise ResultsError(f"{path}: line {number}: not JSON ({exc.msg})") from None
            kind = obj.pop("kind", None)
            if kind == "run":
                header = obj
            elif kind == "run_update" and header is not None:
                header.update(obj)
            elif kind == "case":
                cases.append(obj)
    if header is None:
        raise ResultsError(f"{path}: line 1: missing the run header (kind 'run')")
    return {**header, "status": "incomplete", "cases": cases}


def read_run(path: str | Path) -> dict[str, Any]:
    """One run document, validated. Raises ResultsError naming file, field and problem."""
    path = Path(path)
    if path.name.endswith(".partial.jsonl"):
        doc = _read_partial(path)
    else:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ResultsError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except OSError as exc:
            raise ResultsError(f"{path}: cannot read: {exc.strerror}") from None
    validate(doc, str(path))
    doc["_path"] = str(path)
    return doc


def validate(doc: Any, where: str) -> None:
    if not isinstance(doc, dict):
        raise ResultsError(f"{where}: expected a JSON object at the top level")
    for key in RUN_REQUIRED:
        if key not in doc:
            raise ResultsError(f"{where}: field '{key}': missing")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise ResultsError(f"{where}: field 'schema_version': {doc['schema_version']!r} is not supported (this version reads {SCHEMA_VERSION})")
    if not isinstance(doc["cases"], list):
        raise ResultsError(f"{where}: field 'cases': expected a list")
    for i, case in enumerate(doc["cases"]):
        if not isinstance(case, dict):
            raise ResultsError(f"{where}: field 'cases[{i}]': expected an object")
        for key in CASE_REQUIRED:
            if key not in case:
                raise ResultsError(f"{where}: field 'cases[{i}].{key}': missing")
        if case["status"] not in STATUSES:
            raise ResultsError(f"{where}: field 'cases[{i}].status': {case['status']!r} is not one of {', '.join(STATUSES)}")
        if case["status"] == "ok":
            timing = case.get("timing")
            if not isinstance(timing, dict) or not isinstance(timing.get("samples"), list) or not timing["samples"]:
                raise ResultsError(f"{where}: field 'cases[{i}].timing.samples': an ok case needs a non-empty list of samples")


def _in_profile_folder(path: Path, top: Path) -> bool:
    """Profile artifacts live in ``<run_id>.profile/`` next to the run (bench/profile/session.py)."""
    return any(part.endswith(".profile") for part in path.relative_to(top).parts[:-1])


def run_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their run files (final and partial), sorted; files pass through."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.is_file() and (x.suffix == ".json" or x.name.endswith(".partial.jsonl"))
                              and not _in_profile_folder(x, p)))
        elif p.exists():
            out.append(p)
        else:
            raise ResultsError(f"{p}: no such file or directory")
    return out


def read_runs(paths: str | Path | Iterable[str | Path]) -> list[dict[str, Any]]:
    if isinstance(paths, str | Path):
        paths = [paths]
    return [read_run(p) for p in run_files(paths)]


def params_label(params: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        return "x".join(map(str, v)) if isinstance(v, list) else str(v)

    return ",".join(f"{k}={fmt(params[k])}" for k in sorted(params))


def flatten_case(run: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    timing = case.get("timing") or {}
    correctness = case.get("correctness") or {}
    backend = case.get("backend") or {}
    memory = case.get("memory") or {}
    env = run.get("environment") or {}
    framework = backend.get("framework")
    versions = ((env.get("frameworks") or {}).get(backend.get("name")) or {}).get("versions") or {}
    canary = timing.get("sync_canary") or {}
    return {
        "run_id": run.get("run_id"),
        "machine_id": env.get("machine_id"),
        "run_started_at": run.get("started_at"),
        "suite": (run.get("suite") or {}).get("name"),
        "case_id": case.get("case_id"),
        "workload": case.get("workload"),
        "params": case.get("params"),
        "params_label": params_label(case.get("params") or {}),
        "dtype": case.get("dtype"),
        "mode": case.get("mode"),
        "backend": backend.get("name"),
        "framework": framework,
        "device": backend.get("device"),
        "device_name": backend.get("device_name"),
        "framework_version": versions.get(framework) if framework else None,
        "status": case.get("status"),
        "reason": case.get("reason"),
        "rel_error": correctness.get("rel_error"),
        "tolerance": correctness.get("tolerance"),
        "timer": timing.get("timer"),
        "median": timing.get("median"),
        "q1": timing.get("q1"),
        "q3": timing.get("q3"),
        "iqr": timing.get("iqr"),
        "min": timing.get("min"),
        "mean": timing.get("mean"),
        "std": timing.get("std"),
        "ci95_low": timing.get("ci95_low"),
        "ci95_high": timing.get("ci95_high"),
        "n_samples": timing.get("n_samples"),
        "samples": timing.get("samples"),
        "first_call_s": timing.get("first_call_s"),
        "canary_ratio": canary.get("ratio"),
        "gflops": case.get("gflops"),
        "gbps": case.get("gbps"),
        "peak_bytes": memory.get("peak_bytes"),
        "info": case.get("info"),
        "metrics": case.get("metrics"),
    }


def load(path_or_dir: str | Path | Iterable[str | Path]):
    """Every case of every run under the given files or folders as a pandas DataFrame, one row per case."""
    import pandas as pd

    rows = [flatten_case(run, case) for run in read_runs(path_or_dir) for case in run["cases"]]
    return pd.DataFrame(rows, columns=list(flatten_case({}, {}).keys()))
