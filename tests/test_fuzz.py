"""Property-based tests (hypothesis): generated suite files, results documents and command lines, with
random bytes, wrong types, non-finite numbers, rich markup, terminal escapes and lone surrogates.

Whatever the input, a command ends with exit 0 (it was valid), 1 (a check failed) or 2 with exactly one
line on stderr; never a traceback, never a raw escape sequence on the terminal, and nothing that was on
disk before changes. Commands run in-process (``bench.cli.main``); no worker process is started: the
orchestrator's ``run_backend`` is replaced by one that records every case as an error at once.
Example counts are bounded so the file runs in under a minute (about 30 s on an idle 2-core machine);
each run draws new examples, so CI keeps exploring.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bench.cli import main
from bench.runner import orchestrator
from tests._gate_helpers import case, run_doc

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TERMINAL_HAZARDS = ("\x1b", "\x07", "\r", "\x9b", "\u202e", "\x00")

# Text a careless or hostile file might hold: markup, escapes, controls, bidi overrides, surrogates.
nasty_text = st.one_of(
    st.sampled_from(["[/b]", "[bold red]x", "\x1b[2J\x1b[H", "\x1b]0;title\x07", "a\rb", "\x9b31m", "\u202eevil", "\ud800", "x\udfffy", "\\", ""]),
    st.text(alphabet=st.characters(codec=None, categories=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=12),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1, 0, -1]),  # more than a float or a TOML integer holds
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
json_scalars = st.one_of(st.none(), numbers, nasty_text)
json_values = st.recursive(
    json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(nasty_text, inner, max_size=3)), max_leaves=6
)


@contextlib.contextmanager
def workspace():
    """A fresh working folder holding one file that must survive every command unchanged."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        sentinel = path / "results" / "keep.json"
        sentinel.parent.mkdir()
        sentinel.write_bytes(b'{"do not": "touch"}')
        cwd = os.getcwd()
        os.chdir(path)
        try:
            yield path
        finally:
            os.chdir(cwd)
        assert sentinel.read_bytes() == b'{"do not": "touch"}'


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Reached(Exception):
    """Raised where a command would start measuring: its input passed validation."""


def check_outcome(capsys, run) -> int | None:
    """Run ``run()``; assert the contract on exit code and output; the code, or None when it got to measuring."""
    capsys.readouterr()
    try:
        code = run()
    except Reached:
        code = None
    captured = capsys.readouterr()
    event(f"exit {code}")
    assert "Traceback" not in captured.err + captured.out
    for hazard in TERMINAL_HAZARDS:
        assert hazard not in captured.err + captured.out, repr(hazard)
    (captured.out + captured.err).encode("utf-8")
    if code == 2:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
    else:
        assert code in (0, 1, None), (code, captured.err[-500:])
    return code


@pytest.fixture
def no_workers(monkeypatch):
    """Every case an immediate error with a hostile reason: the whole run path, no process started."""

    def run_backend(self, backend, cases, on_record):
        for c in cases:
            on_record(orchestrator.failed_record(c, backend, None, "error", "fuzz \x1b[31m[/b]\ud800"))

    monkeypatch.setattr(orchestrator.Orchestrator, "run_backend", run_backend)


# -- suite files -----------------------------------------------------------------------------------


def toml_string(text: str) -> str:
    """A TOML basic string: controls, quote and backslash escaped; a lone surrogate written as the \\uD800
    escape, which TOML forbids (it is not a Unicode scalar), so such a file is invalid, as it should be."""
    out = []
    for c in text:
        code = ord(c)
        out.append(f"\\u{code:04x}" if code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF or c in '"\\' else c)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """A tiny TOML writer for generated values (floats as inf/nan, strings JSON-escaped, tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    return '""'


BASE_SUITE: dict[str, Any] = {
    "name": "fuzz",
    "backends": ["torch:cpu"],
    "timing": {"warmup_s": 0.0, "min_samples": 1, "max_samples": 2, "budget_s": 0.0},
    "workload": [{"name": "matmul", "dtypes": ["fp32"], "grid": {"mnk": [[8, 8, 8]]}}],
}
SUITE_SPOTS = [
    ("name",),
    ("backends",),
    ("timing", "warmup_s"),
    ("timing", "block_s"),
    ("timing", "min_samples"),
    ("timing", "max_samples"),
    ("timing", "budget_s"),
    ("timing", "canary"),
    ("timing", "drain_max_fraction"),
    ("timing", "nonsense"),
    ("workload", 0, "name"),
    ("workload", 0, "dtypes"),
    ("workload", 0, "modes"),
    ("workload", 0, "grid"),
    ("workload", 0, "grid", "mnk"),
    ("description",),
]


def suite_text(mutations: list[tuple[tuple, Any]]) -> str:
    doc = json.loads(json.dumps(BASE_SUITE))
    for spot, value in mutations:
        target = doc
        for key in spot[:-1]:
            target = target[key]
        target[spot[-1]] = value
    lines = [f"{k} = {toml_value(v)}" for k, v in doc.items() if k not in ("timing", "workload")]
    lines += ["[timing]"] + [f"{k} = {toml_value(v)}" for k, v in doc["timing"].items()]
    for entry in doc["workload"]:
        lines += ["[[workload]]"] + [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


@FUZZ
@given(content=st.binary(max_size=300))
def test_suite_of_random_bytes(capsys, content):
    with workspace() as folder:
        (folder / "s.toml").write_bytes(content)
        before = snapshot(folder)
        assert check_outcome(capsys, lambda: main(["list", "cases", "--suite", "s.toml"])) == 2
        assert check_outcome(capsys, lambda: main(["run", "--suite", "s.toml", "--out", "results"])) == 2
        assert snapshot(folder) == before


@FUZZ
@given(mutations=st.lists(st.tuples(st.sampled_from(SUITE_SPOTS), json_values), min_size=1, max_size=3))
def test_suite_with_wrong_values(capsys, no_workers, mutations):
    with workspace() as folder:
        (folder / "s.toml").write_text(suite_text(mutations), encoding="utf-8", errors="surrogatepass")
        before = snapshot(folder)
        listed = check_outcome(capsys, lambda: main(["list", "cases", "--suite", "s.toml"]))
        ran = check_outcome(capsys, lambda: main(["run", "--suite", "s.toml", "--out", "results"]))
        assert listed == ran  # the same validation: both accept or both refuse
        after = snapshot(folder)
        assert {k: v for k, v in after.items() if k in before} == before
        assert (len(after) == len(before)) == (ran == 2)  # a refused suite writes nothing; an accepted one its run


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=nasty_text, description=nasty_text)
def test_suite_name_and_description_of_any_text(capsys, no_workers, name, description):
    text = suite_text([(("name",), name), (("description",), description)])
    with workspace() as folder:
        (folder / "s.toml").write_text(text, encoding="utf-8")
        code = check_outcome(capsys, lambda: main(["run", "--suite", "s.toml", "--out", "results", "--report", "-o", "page.html"]))
        surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in name + description)
        assert code == (2 if surrogate else 0)  # a lone surrogate cannot be written in TOML; anything else is a name
        if code == 0:
            assert "page.html" in os.listdir(folder)  # the summary printed, then the report was written


# -- results documents -----------------------------------------------------------------------------


def base_document() -> dict[str, Any]:
    doc = run_doc([case("a", [1e-3, 1.1e-3, 1.2e-3]), case("b", [2e-3, 2.2e-3, 2.1e-3], backend="jax:cpu"), case("c", status="error", reason="r")])
    doc["cases"][0].update(flags=["overhead-bound"], notes=["overhead-bound: n"], gflops=1.0, flops=1e6, bytes=1e3)
    machine = {"chip": "Apple M3 Max", "logical_cores": 2, "physical_cores": 2, "gpu_cores": 30, "memory_bytes": 2**34}
    doc["environment"] = {"machine_id": "m", "hostname": "h", "machine": machine, "frameworks": {}}
    doc["cases"][1]["backend"].update(name="torch:mps", framework="torch", device="mps", device_name="Apple M3 Max")  # an accelerator with a peak
    return doc


def spots(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path into the document (to replace a value at)."""
    out = [path] if path else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        out += spots(item, (*path, key))
    return out


DOC_SPOTS = spots(base_document())


def _value_at(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def mutated_document(mutations: list[tuple[tuple, Any]]) -> dict[str, Any]:
    doc = base_document()
    for spot, value in mutations:
        target = doc
        try:
            for key in spot[:-1]:
                target = target[key]
            target[spot[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced the container
    return doc


def results_commands(path: str) -> list[list[str]]:
    return [
        ["compare", path, path, "--format", "table"],
        ["compare", path, path, "--format", "markdown"],
        ["compare", path, path, "--format", "json"],
        ["export", path, "-o", "exported.json"],
    ]


@FUZZ
@given(content=st.binary(max_size=300))
def test_results_file_of_random_bytes(capsys, content):
    with workspace() as folder:
        (folder / "run.json").write_bytes(content)
        (folder / "run.partial.jsonl").write_bytes(content)
        before = snapshot(folder)
        for path in ("run.json", "run.partial.jsonl"):
            for argv in [*results_commands(path), ["report", path, "-o", "page.html"]]:
                assert check_outcome(capsys, lambda argv=argv: main(argv)) == 2
        assert snapshot(folder) == before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(st.tuples(st.sampled_from(DOC_SPOTS), json_values), min_size=1, max_size=3))
def test_results_document_with_wrong_values(capsys, mutations):
    doc = mutated_document(mutations)
    # Non-finite floats as JSON allows them in Python (NaN, Infinity); surrogates as \\u escapes.
    text = json.dumps(doc, allow_nan=True)
    with workspace() as folder:
        (folder / "run.json").write_text(text, encoding="utf-8")
        before = snapshot(folder)
        codes = {tuple(argv): check_outcome(capsys, lambda argv=argv: main(argv)) for argv in results_commands("run.json")}
        report = check_outcome(capsys, lambda: main(["report", "run.json", "-o", "page.html"]))
        assert len(set(codes.values()) | {report}) == 1  # one loader: every command accepts or refuses the same file
        if report == 0:
            (folder / "page.html").read_text(encoding="utf-8")
        after = snapshot(folder)
        assert {k: v for k, v in after.items() if k in before} == before


STRING_SPOTS = [p for p in DOC_SPOTS if isinstance(_value_at(base_document(), p), str) and p[-1] not in ("status", "schema_version")]
NUMBER_SPOTS = [
    p for p in DOC_SPOTS if isinstance(_value_at(base_document(), p), int | float) and not isinstance(_value_at(base_document(), p), bool)
]
REPORT_FUZZ = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def accepted_everywhere(capsys, doc: dict[str, Any]) -> set[int | None]:
    with workspace() as folder:
        (folder / "run.json").write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
        codes = {check_outcome(capsys, lambda argv=argv: main(argv)) for argv in results_commands("run.json")}
        codes.add(check_outcome(capsys, lambda: main(["report", "run.json", "-o", "page.html"])))
        if 0 in codes:
            for name in ("page.html", "exported.json"):
                (folder / name).read_text(encoding="utf-8")
        return codes


@REPORT_FUZZ
@given(mutations=st.lists(st.tuples(st.sampled_from(STRING_SPOTS), nasty_text), min_size=1, max_size=4))
def test_results_strings_of_any_text(capsys, mutations):
    """Names, ids, reasons, notes and flags are data: any text is read, shown inert, written encodable."""
    assert accepted_everywhere(capsys, mutated_document(mutations)) == {0}


@REPORT_FUZZ
@given(mutations=st.lists(st.tuples(st.sampled_from(NUMBER_SPOTS), numbers), min_size=1, max_size=4))
def test_results_numbers_of_any_value(capsys, mutations):
    """nan, infinities, negatives, huge integers, booleans where numbers are: read or refused, never a crash."""
    codes = accepted_everywhere(capsys, mutated_document(mutations))
    assert len(codes) == 1  # every command agrees


# -- command lines -----------------------------------------------------------------------------------

OPTIONS = {
    "run": ["--suite", "--backend", "--workload", "--out", "--timeout", "--max-cases", "--python", "-o", "--report", "--allow-tf32"],
    "list": ["--suite", "--max-cases", "workloads", "cases", "backends"],
    "compare": ["--threshold", "--confidence", "--resamples", "--seed", "--format", "--fail-on-regression"],
    "report": ["-o", "--title"],
    "export": ["--format", "-o"],
    "profile": ["--workload", "--backend", "--case", "--suite", "--calls", "--timeout", "--max-cases", "--mps-mode"],
    "nightly": ["--suite", "--results", "--baseline-runs", "--confirm-rounds", "--confidence", "--resamples", "--timeout", "--max-cases"],
    "ab": ["--a", "--b", "--stages", "--timeout", "--confidence", "--seed", "--max-cases"],
    "calibrate": ["--pool-rounds", "--trials", "--stages", "--inject-slowdown", "--timeout", "--resamples", "--from-pool"],
    "doctor": ["--timeout", "--python", "--allow-tf32"],
}
VALUES = st.one_of(
    st.sampled_from(["-1", "0", "1", "2.5", "1e3", "nan", "inf", "-inf", "1e309", "10", "quick", "matmul", "torch:cpu", "fp32", "5%", "x"]),
    nasty_text.filter(lambda s: ".." not in s and not s.startswith(("/", "~"))),  # never a path outside the workspace
)


@st.composite
def command_lines(draw) -> list[str]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    argv = [command]
    if command in ("compare", "report", "export"):
        argv += draw(st.lists(VALUES, min_size=1, max_size=2))
    for _ in range(draw(st.integers(0, 4))):
        argv.append(draw(st.sampled_from(OPTIONS[command])))
        if draw(st.booleans()):
            argv.append(draw(VALUES))
    return argv


@FUZZ
@given(argv=command_lines())
def test_command_lines(capsys, monkeypatch, argv):
    def reached(*args, **kwargs):
        raise Reached

    for target in (
        "bench.commands.run.execute",
        "bench.commands.profile.execute",
        "bench.commands.nightly.run_nightly",
        "bench.commands.ab.run_ab",
        "bench.commands.calibrate._measured_pool",
        "bench.commands.calibrate._stored_pool",
    ):
        monkeypatch.setattr(target, reached)
    monkeypatch.setattr(orchestrator.Orchestrator, "probe", lambda self, backend: {"available": False, "reason": "fuzz"})
    with workspace() as folder:
        before = snapshot(folder)
        code = check_outcome(capsys, lambda: main(argv))
        if code == 2:
            assert snapshot(folder) == before  # refused: nothing written, no partial file


def write_run(mutations: list[tuple[tuple, Any]]) -> None:
    Path("run.json").write_text(json.dumps(mutated_document(mutations), allow_nan=True), encoding="utf-8")


def report_page(mutations: list[tuple[tuple, Any]]) -> str:
    """The report of the base document with ``mutations``, which must be written (exit 0)."""
    write_run(mutations)
    assert main(["report", "run.json", "-o", "page.html"]) == 0
    return Path("page.html").read_text(encoding="utf-8")


def test_report_survives_a_byte_count_near_zero(tmp_path, monkeypatch):
    """Hypothesis found this one: 2.4e-297 bytes stretched the roofline's intensity axis until its roof
    lines overflowed to infinity and matplotlib crashed formatting the ticks."""
    monkeypatch.chdir(tmp_path)
    assert report_page([(("cases", 0, "bytes"), 2.4153371981555568e-297)])


def test_report_survives_an_infinite_rate(tmp_path, monkeypatch):
    """Hypothesis found this one: a GFLOP/s of inf from the file left no finite value on a log-scaled chart axis."""
    monkeypatch.chdir(tmp_path)
    page = report_page([(("cases", 0, "gflops"), math.inf)])
    assert "field &#39;cases[0].gflops&#39; is inf, not a finite non-negative number; left out" in page


def test_export_survives_an_infinite_timing_sample(tmp_path, monkeypatch, capsys):
    """Hypothesis found this one: a sample of inf reached the statistics of the pytest-benchmark export."""
    monkeypatch.chdir(tmp_path)
    write_run([(("cases", 0, "timing", "samples", 0), math.inf)])
    assert main(["export", "run.json", "-o", "exported.json"]) == 0
    assert "left out (status error, no timing): matmul[n=a]/fp32/eager@torch:cpu" in capsys.readouterr().err
    exported = json.loads(Path("exported.json").read_text(encoding="utf-8"))
    assert [b["fullname"] for b in exported["benchmarks"]] == ["siliconbench::matmul[n=b]/fp32/eager@jax:cpu"]


def test_report_survives_an_intensity_that_overflows(tmp_path, monkeypatch):
    """Found by probing every number spot: 1e6 FLOP over 5e-324 bytes is an intensity of inf, which left the
    roofline's y axis nothing finite to scale."""
    monkeypatch.chdir(tmp_path)
    assert report_page([(("cases", 0, "bytes"), 5e-324)])


def test_report_of_a_run_with_no_case(tmp_path, monkeypatch):
    """Hypothesis found this one: a run cut short before its first case (``"cases": []``) gave the report an
    untyped empty table, whose empty masks selected columns instead of rows."""
    monkeypatch.chdir(tmp_path)
    assert "No accelerator speedups" in report_page([(("cases",), [])])
