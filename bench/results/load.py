"""Read run files (final ``.json`` or unfinished ``.partial.jsonl``) into typed ``Run`` records, and flatten
them for pandas. Anything malformed is a ``ResultsError`` naming the file, the field and the problem."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bench.results.migrate import MigrationError, migrate
from bench.results.records import BackendRef, CaseRecord, Run
from bench.results.rounds import merge_rounds
from bench.results.usable import drop_unusable_numbers
from bench.text import encodable


class ResultsError(ValueError):
    """A results file that cannot be read; the message names the file, the field and the problem."""


def field_path(loc: tuple[Any, ...]) -> str:
    """('cases', 3, 'timing', 'samples') -> ``cases[3].timing.samples``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_EXPECTED = {
    "list": "a list",
    "dict": "an object",
    "model": "an object",
    "float": "a number",
    "int": "an integer",
    "string": "a string",
    "bool": "true or false",
}


def _problem(error: Any) -> str:
    """One pydantic error in the words of this project's other messages."""
    kind, value = error["type"], error.get("input")
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if kind == "missing":
        return "missing"
    if kind == "literal_error":
        return f"{shown} is not one of {error.get('ctx', {}).get('expected', '')}"
    family = kind.split("_")[0]
    if family in _EXPECTED and kind.endswith(("_type", "_parsing", "_from_float", "attributes_type")):
        return f"expected {_EXPECTED[family]}, got {shown}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']} (got {shown})"


def _first_error(exc: ValidationError, where: str) -> ResultsError:
    error = exc.errors(include_url=False)[0]
    return ResultsError(f"{where}: field '{field_path(error['loc'])}': {_problem(error)}")


def encodable_strings(value: Any) -> Any:
    """``value`` with lone UTF-16 surrogates (valid in JSON, not encodable as UTF-8) replaced in every
    string and key, so whatever reads a run can write it to a file, a page or a terminal."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, dict):
        return {encodable(k) if isinstance(k, str) else k: encodable_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encodable_strings(v) for v in value]
    return value


def parse_run(doc: Any, where: str) -> Run:
    """A run document (a dict from JSON) migrated to the current schema and validated."""
    if not isinstance(doc, dict):
        raise ResultsError(f"{where}: expected a JSON object at the top level, got {type(doc).__name__}")
    try:
        run = Run.from_dict(migrate(encodable_strings(doc)))
        for index, case in enumerate(run.cases):
            drop_unusable_numbers(case, f"cases[{index}]")
        run.cases = merge_rounds(run.cases)  # a partial file holds the records of single rounds
        return run
    except MigrationError as exc:
        raise ResultsError(f"{where}: {exc}") from None
    except ValidationError as exc:
        raise _first_error(exc, where) from None
    except RecursionError:
        raise ResultsError(f"{where}: nested too deeply") from None


def _read_partial(path: Path) -> dict[str, Any]:
    header: dict[str, Any] | None = None
    cases: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, ValueError, RecursionError) as exc:
                if number > 1 and not line.endswith("\n"):
                    break  # the line in flight when the run died
                raise ResultsError(f"{path}: line {number}: not JSON ({_json_problem(exc)})") from None
            if not isinstance(obj, dict):
                raise ResultsError(f"{path}: line {number}: expected a JSON object")
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


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).split(";")[0]


def read_run(path: str | Path) -> Run:
    """One run document, migrated and validated. Raises ResultsError naming file, field and problem."""
    path = Path(path)
    try:
        if path.name.endswith(".partial.jsonl"):
            doc = _read_partial(path)
        else:
            doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except (ValueError, RecursionError) as exc:  # an integer of more digits than Python converts, nesting too deep
        raise ResultsError(f"{path}: not valid JSON: {_json_problem(exc)}") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    run = parse_run(doc, str(path))
    run.path = str(path)
    return run


def _in_profile_folder(path: Path, top: Path) -> bool:
    """Profile artifacts live in ``<run_id>.profile/`` next to the run (bench/profile/session.py)."""
    return any(part.endswith(".profile") for part in path.relative_to(top).parts[:-1])


def run_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their run files (final and partial), sorted; files pass through."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                sorted(
                    x
                    for x in p.rglob("*")
                    if x.is_file() and (x.suffix == ".json" or x.name.endswith(".partial.jsonl")) and not _in_profile_folder(x, p)
                )
            )
        elif p.exists():
            out.append(p)
        else:
            raise ResultsError(f"{p}: no such file or directory")
    return out


def read_runs(paths: str | Path | Iterable[str | Path]) -> list[Run]:
    if isinstance(paths, str | Path):
        paths = [paths]
    return [read_run(p) for p in run_files(paths)]


def params_label(params: dict[str, Any]) -> str:
    """``m=1,n=2`` with list values as ``2x3``: the case label's parameter part (bench.workloads.base.Case)."""
    from bench.workloads.base import format_params

    return format_params(params)


def flatten_case(run: Run, case: CaseRecord) -> dict[str, Any]:
    """One row of ``load``'s frame: the case's identity, status, correctness, timing summary and figures."""
    timing, correctness = case.timing, case.correctness
    canary = timing.sync_canary if timing else None
    hello = run.hello(case)
    return {
        "run_id": run.run_id,
        "machine_id": run.environment.machine_id,
        "run_started_at": run.started_at,
        "suite": run.suite.name,
        "case_id": case.case_id,
        "workload": case.workload,
        "params": case.params,
        "params_label": params_label(case.params),
        "dtype": case.dtype,
        "mode": case.mode,
        "backend": case.backend.name,
        "framework": case.backend.framework,
        "device": case.backend.device,
        "device_name": case.backend.device_name,
        "framework_version": hello.versions.get(case.backend.framework) if hello else None,
        "status": case.status,
        "reason": case.reason,
        "flags": list(case.flags),
        "notes": list(case.notes),
        "rel_error": correctness.rel_error if correctness else None,
        "tolerance": correctness.tolerance if correctness else None,
        **{
            key: getattr(timing, key) if timing else None
            for key in ("timer", "median", "q1", "q3", "iqr", "min", "mean", "std", "ci95_low", "ci95_high", "n_samples", "first_call_s")
        },
        "samples": list(timing.samples) if timing else None,
        "canary_ratio": canary.ratio if canary else None,
        "flops": case.flops,
        "bytes": case.bytes_moved,
        "gflops": case.gflops,
        "gbps": case.gbps,
        "peak_bytes": case.memory.peak_bytes if case.memory else None,
        "info": case.info,
        "metrics": case.metrics,
        "profile": case.profile,
        "energy": case.energy,
        "thermal": case.thermal,
    }


COLUMNS = tuple(
    flatten_case(
        Run(schema_version=0, run_id="", started_at=""),
        CaseRecord(case_id="", workload="", params={}, dtype="", mode="", status="error", backend=BackendRef(name="", framework="", device="")),
    ).keys()
)


def load(path_or_dir: str | Path | Iterable[str | Path]):
    """Every case of every run under the given files or folders as a pandas DataFrame, one row per case."""
    import pandas as pd

    rows = [flatten_case(run, case) for run in read_runs(path_or_dir) for case in run.cases]
    return pd.DataFrame(rows, columns=list(COLUMNS))
