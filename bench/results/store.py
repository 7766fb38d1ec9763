"""Run files: cases appended as JSON lines while the run goes, one JSON document at the end.

While a run is going, ``results/<run_id>.partial.jsonl`` holds a header line then one line per
finished case, each flushed and fsynced, so a crash or Ctrl-C loses at most the case in flight.
``finalize`` writes ``results/<run_id>.json`` atomically (temp file + rename) and removes the
partial file. ``bench.results.load`` reads both kinds, so an unfinished run is not lost.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from bench.results.records import CaseRecord
from bench.results.rounds import merge_rounds
from bench.results.schema import SCHEMA_VERSION


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any, **kwargs: Any) -> str:
    # allow_nan=False would lose a measured case over one NaN: encode non-finite floats as strings.
    return json.dumps(_finite(value), default=_json_default, **kwargs)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_json_atomic(path: Path, document: Any) -> None:
    """Write ``document`` as JSON via a temp file in the same folder and a rename: never half-written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(dumps(document, indent=1))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a second Ctrl-C mid-write: no stray temp file (the partial file keeps the run)
        Path(tmp).unlink(missing_ok=True)
        raise


def precision_policy(allow_tf32: bool) -> dict[str, Any]:
    return {"fp32": "tf32" if allow_tf32 else "ieee", "allow_tf32": allow_tf32}


def new_header(
    suite: dict[str, Any] | None = None,
    timing_config: dict[str, Any] | None = None,
    *,
    allow_tf32: bool = False,
    options: dict[str, Any] | None = None,
    backends: list[str] | None = None,
    environment: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The header of a run document (every writer of run files builds it here). The environment is
    captured now unless given; ``extra`` adds fields of the writer's own (``ab_arm``, ``confirms_run``, ...)."""
    from bench.results.environment import capture

    return {
        "suite": suite or {},
        "environment": environment if environment is not None else capture(precision_policy(allow_tf32)),
        "timing_config": timing_config or {},
        "options": options or {},
        "backends_requested": list(backends or []),
        **extra,
    }


class RunWriter:
    """Writes one run: the partial JSON-lines file as cases finish, then the final document."""

    def __init__(self, out_dir: str | Path, header: dict[str, Any], run_id: str | None = None):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id or new_run_id()
        self.header = {"schema_version": SCHEMA_VERSION, "run_id": self.run_id, "started_at": now_iso(), "status": "running", **header}
        self.cases: list[CaseRecord] = []
        self.partial_path = self.out_dir / f"{self.run_id}.partial.jsonl"
        self.final_path = self.out_dir / f"{self.run_id}.json"
        self._file = open(self.partial_path, "w", encoding="utf-8")
        self._write_line({"kind": "run", **self.header})

    def _write_line(self, obj: dict[str, Any]) -> None:
        self._file.write(dumps(obj) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, case: CaseRecord) -> None:
        self.cases.append(case)
        self._write_line({"kind": "case", **case.to_dict()})

    def update_header(self, **fields: Any) -> None:
        self.header.update(fields)
        self._write_line({"kind": "run_update", **fields})

    def finalize(self, status: str = "complete") -> Path:
        self.cases = merge_rounds(self.cases)
        document = {**self.header, "status": status, "finished_at": now_iso(), "cases": [c.to_dict() for c in self.cases]}
        write_json_atomic(self.final_path, document)
        self._file.close()
        self.partial_path.unlink(missing_ok=True)
        return self.final_path
