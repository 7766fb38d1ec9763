"""Run files: atomic finalisation, recovery of unfinished runs, and errors that name file and field."""

import json
import math

import pytest

from bench.results import ResultsError, load, read_run
from bench.results.records import CaseRecord
from bench.results.store import RunWriter


def case(status="ok", **extra):
    base = {
        "case_id": f"matmul[k=2,m=2,n=2]/fp32/eager@torch:cpu-{status}",
        "workload": "matmul",
        "params": {"m": 2, "n": 2, "k": 2},
        "dtype": "fp32",
        "mode": "eager",
        "backend": {"name": "torch:cpu", "framework": "torch", "device": "cpu"},
        "status": status,
    }
    if status == "ok":
        base["timing"] = {"samples": [1.0, 2.0, 3.0], "median": 2.0}
    base.update(extra)
    return base


def test_writer_appends_then_finalises_atomically(tmp_path):
    writer = RunWriter(tmp_path, {"environment": {"machine_id": "m1"}, "suite": {"name": "t"}})
    writer.append(CaseRecord.from_dict(case()))
    partial = tmp_path / f"{writer.run_id}.partial.jsonl"
    lines = partial.read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "run" and json.loads(lines[1])["kind"] == "case"
    writer.append(CaseRecord.from_dict(case("mismatch", reason="relative error 1 exceeds tolerance")))
    path = writer.finalize()
    assert not partial.exists()
    doc = read_run(path)
    assert doc.status == "complete" and len(doc.cases) == 2 and doc.finished_at
    frame = load(tmp_path)
    assert list(frame.status) == ["ok", "mismatch"] and frame.loc[0, "median"] == 2.0


def test_non_finite_numbers_are_kept_as_strings(tmp_path):
    writer = RunWriter(tmp_path, {"environment": {}})
    writer.append(CaseRecord.from_dict(case("mismatch", correctness={"rel_error": float("nan"), "tolerance": 1e-5, "passed": False})))
    path = writer.finalize()
    assert json.loads(path.read_text())["cases"][0]["correctness"]["rel_error"] == "nan"
    assert math.isnan(read_run(path).cases[0].correctness.rel_error)


def test_truncated_last_line_of_partial_file_is_dropped(tmp_path):
    writer = RunWriter(tmp_path, {"environment": {}})
    writer.append(CaseRecord.from_dict(case()))
    with open(writer.partial_path, "a") as f:
        f.write('{"kind": "case", "case_id": "half-writ')  # the case in flight when the run died
    doc = read_run(writer.partial_path)
    assert doc.status == "incomplete" and len(doc.cases) == 1


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d.pop("schema_version"), "'schema_version': missing"),
        (lambda d: d.update(schema_version=99), "'schema_version': 99 is not supported"),
        (lambda d: d["cases"][0].pop("timing"), "'cases[0]': an ok case needs a timing with samples"),
        (lambda d: d["cases"][0]["timing"]["samples"].append("fast"), "'cases[0].timing.samples[3]': expected a number, got 'fast'"),
        (lambda d: d["cases"][0].pop("status"), "'cases[0].status': missing"),
        (lambda d: d["cases"][0].update(status="fast"), "'cases[0].status': 'fast' is not one of"),
        (lambda d: d["cases"][0]["timing"].update(samples=[]), "'cases[0].timing.samples'"),
        (lambda d: d.update(cases={}), "'cases': expected a list"),
    ],
)
def test_bad_documents_name_file_and_field(tmp_path, mutate, field):
    doc = {"schema_version": 1, "run_id": "r", "started_at": "t", "environment": {}, "cases": [case()]}
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsError) as info:
        read_run(path)
    assert str(path) in str(info.value) and field in str(info.value)


def test_not_json_and_missing_path(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ResultsError, match=r"broken\.json: not valid JSON at line 1"):
        read_run(path)
    with pytest.raises(ResultsError, match="no such file"):
        load(tmp_path / "missing")
