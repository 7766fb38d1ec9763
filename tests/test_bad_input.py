"""Bad input of every kind ends in one line naming the file or option, the key and the problem (exit 2),
before anything is measured or written (docs/bad-input.md). The fuzzed versions are in test_fuzz.py."""

from __future__ import annotations

import json

import pytest

from bench import suite as suites
from bench.cli import main
from bench.results import ResultsError, read_run
from bench.results.schema import SCHEMA_PATH, render
from bench.suite import SuiteError
from tests._gate_helpers import case, run_doc

SUITE = """
name = "bad-input"
backends = ["torch:cpu"]
[timing]
{timing}
[[workload]]
name = "matmul"
dtypes = ["fp32"]
grid = {{ mnk = [[8, 8, 8]] }}
"""


def write(tmp_path, text: str | bytes, name: str = "suite.toml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    return lines[0]


# -- suite files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timing, key, problem",
    [
        ("warmup_s = inf", "timing.warmup_s", "expected a finite number, got inf"),
        ("budget_s = nan", "timing.budget_s", "expected a finite number, got nan"),
        ("budget_s = -inf", "timing.budget_s", "expected a finite number, got -inf"),
        ("max_samples = 0", "timing.max_samples", "must be >= 1, got 0"),
        ("min_samples = 0", "timing.min_samples", "must be >= 1, got 0"),
        ("min_samples = 20\nmax_samples = 10", "timing.min_samples", "must be <= max_samples (10), got 20"),
        ("block_s = 0", "timing.block_s", "must be > 0, got 0"),
        ("block_s = 1e9", "timing.block_s", "must be <= 86400, got 1000000000.0"),
        ("budget_s = -1", "timing.budget_s", "must be >= 0, got -1"),
        ("drain_max_fraction = 2.0", "timing.drain_max_fraction", "must be <= 1, got 2.0"),
        ("canary_min_ratio = 0.5", "timing.canary_min_ratio", "must be >= 1, got 0.5"),
        ("max_samples = 3.7", "timing.max_samples", "expected an integer, got 3.7 (a float is not rounded)"),
        ("max_samples = 30.0", "timing.max_samples", "expected an integer, got 30.0 (a float is not rounded)"),
        ("min_warmup_calls = true", "timing.min_warmup_calls", "expected an integer, got True"),
        ("warmup_s = true", "timing.warmup_s", "expected a number, got True"),
        ("warmup_s = '1'", "timing.warmup_s", "expected a number, got '1'"),
        ("canary = 1", "timing.canary", "expected true or false, got 1"),
        ("canary_min_ratio = 1" + "0" * 400, "timing.canary_min_ratio", "expected a finite number, got 1" + "0" * 56 + "..."),
    ],
)
def test_nonsense_timing_is_named(tmp_path, timing, key, problem):
    path = write(tmp_path, SUITE.format(timing=timing))
    with pytest.raises(SuiteError) as info:
        suites.load(str(path))
    assert str(info.value) == f"{path}: key '{key}': {problem}"


def test_sensible_timing_is_kept_with_ints_for_floats(tmp_path):
    timing = "warmup_s = 0\nblock_s = 1\nbudget_s = 0\nmin_samples = 1\nmax_samples = 1"
    suite = suites.load(str(write(tmp_path, SUITE.format(timing=timing))))
    assert suite.timing.warmup_s == 0.0 and isinstance(suite.timing.block_s, float) and suite.timing.max_samples == 1


@pytest.mark.parametrize(
    "text, key, problem",
    [
        (SUITE.format(timing="").replace("[[8, 8, 8]]", "[[8, nan, 8]]"), "workload[0].grid.mnk[0][1]", "expected a finite number, got nan"),
        (SUITE.format(timing="").replace('dtypes = ["fp32"]', "dtypes = []"), "workload[0].dtypes", "must not be empty"),
        (SUITE.format(timing="").replace('backends = ["torch:cpu"]', "backends = []"), "backends", "must not be empty"),
        (SUITE.format(timing="").replace('name = "bad-input"', "name = 5"), "name", "expected a string, got 5"),
        (SUITE.format(timing="").replace('name = "matmul"', "name = [1]"), "workload[0].name", "expected a string, got [1]"),
        (SUITE.format(timing="").replace("[[8, 8, 8]]", "[[8, true, 8]]"), "workload[0].grid", "must be a positive integer"),
        (SUITE.format(timing="").replace("[[8, 8, 8]]", "[[8, 8.5, 8]]"), "workload[0].grid", "must be a positive integer"),
    ],
)
def test_bad_suite_values_are_named(tmp_path, text, key, problem):
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as info:
        suites.load(str(path))
    assert str(path) in str(info.value) and f"'{key}" in str(info.value) and problem in str(info.value)


def test_suite_that_is_not_utf8_or_not_a_file(tmp_path, capsys):
    path = write(tmp_path, b'name = "caf\xe9"\n')
    with pytest.raises(SuiteError, match=r"suite\.toml: not UTF-8 text \(byte 11\)"):
        suites.load(str(path))
    assert main(["list", "cases", "--suite", str(path)]) == 2
    assert "not UTF-8" in one_error_line(capsys)
    with pytest.raises(SuiteError, match="cannot read"):
        suites.load(str(tmp_path))  # a folder


def big_grid(n_m: int, n_n: int, dtypes: str = '["fp32"]') -> str:
    ms = ", ".join(f"[{m}, {n}, 8]" for m in range(1, n_m + 1) for n in range(1, n_n + 1))
    return SUITE.format(timing="").replace('dtypes = ["fp32"]', f"dtypes = {dtypes}").replace("[[8, 8, 8]]", f"[{ms}]")


def test_grid_past_the_limit_needs_max_cases(tmp_path, capsys):
    path = write(tmp_path, big_grid(101, 50, '["fp32", "fp16"]'))  # 5,050 shapes x 2 dtypes
    with pytest.raises(SuiteError) as info:
        suites.load(str(path))
    assert "10,100 cases, over the limit of 10,000" in str(info.value) and "--max-cases 10100" in str(info.value)
    assert main(["list", "cases", "--suite", str(path)]) == 2
    assert "--max-cases 10100" in one_error_line(capsys)
    assert main(["run", "--suite", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "--max-cases 10100" in one_error_line(capsys) and not (tmp_path / "r").exists()
    assert main(["list", "cases", "--suite", str(path), "--max-cases", "10100"]) == 0
    assert "10100 cases" in capsys.readouterr().out
    assert len(suites.load(str(path), max_cases=10_100).cases) == 10_100


def test_selection_that_matches_nothing_is_an_error_and_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, SUITE.format(timing=""))
    out = tmp_path / "r"
    assert main(["run", "--suite", str(path), "--workload", "sdpa", "--out", str(out)]) == 2
    assert one_error_line(capsys).endswith("has no case of sdpa (its workloads: matmul)")
    assert not out.exists()


# -- command-line values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--timeout", "-1"], "argument --timeout: must be a finite number > 0, got '-1'"),
        (["run", "--timeout", "0"], "argument --timeout: must be a finite number > 0, got '0'"),
        (["run", "--timeout", "nan"], "argument --timeout: must be a finite number > 0, got 'nan'"),
        (["run", "--timeout", "inf"], "argument --timeout: must be a finite number > 0, got 'inf'"),
        (["run", "--timeout", "soon"], "argument --timeout: expected a number, got 'soon'"),
        (["run", "--max-cases", "0"], "argument --max-cases: must be >= 1, got '0'"),
        (["run", "--max-cases", "1e5"], "argument --max-cases: expected a whole number, got '1e5'"),
        (["profile", "--workload", "matmul", "--backend", "torch:cpu", "--calls", "0"], "argument --calls: must be >= 1"),
        (["profile", "--workload", "matmul", "--backend", "torch:cpu", "--calls", "2.5"], "argument --calls: expected a whole number"),
        (["compare", "a", "b", "--confidence", "nan"], "argument --confidence: must be a finite number >= 0.5 and < 1, got 'nan'"),
        (["compare", "a", "b", "--confidence", "1"], "argument --confidence: must be a finite number >= 0.5 and < 1"),
        (["compare", "a", "b", "--resamples", "10"], "argument --resamples: must be >= 100, got '10'"),
        (["compare", "a", "b", "--seed", "-1"], "argument --seed: must be >= 0"),
        (["nightly", "--baseline-runs", "0"], "argument --baseline-runs: must be >= 1"),
        (["nightly", "--confirm-rounds", "-2"], "argument --confirm-rounds: must be >= 0"),
        (["calibrate", "--trials", "0"], "argument --trials: must be >= 1"),
        (["calibrate", "--pool-rounds", "x"], "argument --pool-rounds: expected a whole number"),
        (["ab", "--a", "x", "--b", "y", "--timeout", "-5"], "argument --timeout: must be a finite number > 0"),
        (["run", "--timeout", "\x1b[31m"], "got '\\\\x1b[31m'"),
    ],
)
def test_bad_option_values_are_one_line(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"siliconbench {argv[0]}: error: ") and message in line and "\x1b" not in line
    assert list(tmp_path.iterdir()) == []  # nothing written: no results folder, no partial file


def test_help_and_unknown_options(capsys):
    assert main(["run", "--help"]) == 0
    assert "--max-cases" in capsys.readouterr().out
    assert main(["run", "--no-such-option"]) == 2
    assert "unrecognized arguments: --no-such-option" in one_error_line(capsys)


# -- results documents ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text (byte 0)"),
        (b'{"run_id": "caf\xe9"}', "not UTF-8 text (byte 15)"),
        (b"[1, 2]", "expected a JSON object at the top level, got list"),
        (b'"text"', "expected a JSON object at the top level, got str"),
        (b"null", "expected a JSON object at the top level, got NoneType"),
        (b"[" * 100_000, "not valid JSON: nested too deeply"),
        (b'{"schema_version": ' + b"9" * 5000 + b"}", "not valid JSON: Exceeds the limit (4300 digits)"),
        (b"", "not valid JSON at line 1 column 1"),
    ],
)
def test_results_file_that_is_not_a_run_is_one_line(tmp_path, capsys, content, problem):
    path = write(tmp_path, content, "run.json")
    with pytest.raises(ResultsError) as info:
        read_run(path)
    assert str(info.value).startswith(f"{path}: ") and problem in str(info.value)
    for argv in (["report", str(path), "-o", str(tmp_path / "p.html")], ["compare", str(path), str(path)], ["export", str(path)]):
        assert main(argv) == 2
        assert problem in one_error_line(capsys)
    assert not (tmp_path / "p.html").exists()


def test_partial_file_of_bytes_is_one_line(tmp_path, capsys):
    path = write(tmp_path, b'{"kind": "run"}\n\xff\xfe\n', "r.partial.jsonl")
    assert main(["report", str(path), "-o", str(tmp_path / "p.html")]) == 2
    assert "not UTF-8" in one_error_line(capsys)


def test_lone_surrogates_are_read_and_written_safely(tmp_path, capsys):
    doc = run_doc([case("a\ud800", [1.0, 1.1, 1.2]), case("b", status="error", reason="bad \udfff byte")])
    doc["suite"]["name"] = "suite \ud83d"
    text = json.dumps(doc)  # ensure_ascii: the surrogates are \\u escapes, valid JSON
    assert "\\ud800" in text
    path = write(tmp_path, text, "run.json")
    run = read_run(path)
    assert run.cases[0].params["n"] == "a\ufffd" and run.suite.name == "suite \ufffd"
    page = tmp_path / "p.html"
    assert main(["report", str(path), "-o", str(page)]) == 0
    assert "a\ufffd" in page.read_text(encoding="utf-8")
    capsys.readouterr()
    for fmt in ("table", "markdown", "json"):
        assert main(["compare", str(path), str(path), "--format", fmt]) == 0
        out = capsys.readouterr().out
        out.encode("utf-8")  # printable: no lone surrogate left
    assert main(["export", str(path), "-o", str(tmp_path / "x.json")]) in (0, 2)


def test_published_json_schema_is_the_generated_one():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), "run `python -m bench.results.schema` and commit docs/results-schema.json"


def test_json_schema_accepts_written_runs_and_rejects_bad_ones(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    good = run_doc([case("a", [1.0, 2.0, 3.0]), case("b", status="mismatch", reason="wrong")])
    good["cases"][1]["correctness"] = {"rel_error": "nan", "tolerance": 1e-5, "passed": False}  # as the writer stores nan
    jsonschema.validate(good, schema)
    bad = json.loads(json.dumps(good))
    bad["cases"][0]["timing"]["samples"][0] = "fast"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_timing_no_clock_produced_is_not_compared(tmp_path, capsys):
    doc = run_doc([case("a", [1.0, 1.1, 1.2]), case("b", [1.0, 1.1, 1.2])])
    doc["cases"][1]["timing"]["samples"] = [1.0, "nan", -1.0]  # as stored: nan as a string
    path = write(tmp_path, json.dumps(doc), "run.json")
    assert main(["compare", str(path), str(path), "--format", "json"]) == 0
    result = {c["case_id"]: c for c in json.loads(capsys.readouterr().out)["cases"]}
    bad = result["matmul[n=b]/fp32/eager@torch:cpu"]
    assert bad["kind"] == "not compared" and "2 of 3 timing samples are not finite positive seconds" in bad["reason"]
    assert result["matmul[n=a]/fp32/eager@torch:cpu"]["kind"] == "no change"


def test_a_timing_no_clock_produced_costs_its_case_not_the_file(tmp_path):
    doc = run_doc([case("a", [1.0, 1.1, 1.2]), case("b", [1.0, 1.1, 1.2]), case("c", [1.0, 1.1, 1.2], status="mismatch")])
    doc["cases"][1]["timing"]["median"] = -1.0
    doc["cases"][2]["timing"]["samples"][0] = "inf"
    doc["cases"][2]["correctness"] = {"rel_error": "nan", "tolerance": 1e-5, "passed": False}  # a NaN output is a finding, kept
    a, b, c = read_run(write(tmp_path, json.dumps(doc), "run.json")).cases
    assert a.status == "ok" and a.timing is not None and a.notes == []
    assert b.status == "error" and b.timing is None
    assert b.reason == "results file: field 'cases[1].timing': timing.median is -1.0, not a finite positive time; not used"
    assert c.status == "mismatch" and c.timing is None and c.correctness is not None and c.correctness.rel_error != c.correctness.rel_error
    assert c.notes == ["results file: field 'cases[2].timing': 1 of 3 timing samples are not finite positive seconds; not used"]


def test_unusable_figures_are_left_out_with_a_note(tmp_path):
    doc = run_doc([case("a", [1.0, 1.1, 1.2])])
    doc["cases"][0].update(flops=1e9, bytes="nan", gflops=float("inf"), gbps=-3.0, metrics={"tokens_per_s": "inf", "speedup": 2.0})
    doc["cases"][0]["timing"]["first_call_s"] = "nan"
    (a,) = read_run(write(tmp_path, json.dumps(doc), "run.json")).cases
    assert a.status == "ok" and a.flops == 1e9 and a.bytes_moved is None and a.gflops is None and a.gbps is None
    assert a.metrics == {"tokens_per_s": None, "speedup": 2.0}
    assert a.timing is not None and a.timing.first_call_s is None and a.timing.median == 1.1
    assert [note.split("'")[1] for note in a.notes] == ["cases[0].bytes", "cases[0].gflops", "cases[0].gbps", "cases[0].metrics.tokens_per_s"]


def test_a_round_with_an_unusable_timing_makes_its_case_an_error(tmp_path):
    """A partial file holds one record per round; the bad round is named, the good rounds stay in the record."""
    doc = run_doc([case("a", [1.0, 1.1, 1.2]), case("a", [1.0, 1.1, 1.2]), case("b", [2.0, 2.1])])
    doc["cases"][0]["round"], doc["cases"][1]["round"] = 0, 1
    doc["cases"][1]["timing"]["samples"][2] = 0.0
    lines = [{"kind": "run", **{k: v for k, v in doc.items() if k != "cases"}}] + [{"kind": "case", **c} for c in doc["cases"]]
    path = write(tmp_path, "".join(json.dumps(line) + "\n" for line in lines), "run.partial.jsonl")
    a, b = read_run(path).cases
    assert a.status == "error" and a.timing is None and "round 1" in (a.reason or "")
    assert "field 'cases[1].timing': 1 of 3 timing samples are not finite positive seconds" in (a.reason or "")
    assert [r.status for r in a.rounds or []] == ["ok", "error"]
    assert b.status == "ok" and b.median == 2.05
