"""``siliconbench compare``: acceptance (self-compare passes; a 30 % slower case fails and is named),
one-sided cases listed, candidate mismatch fails in every format, bad input exits 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from tests._gate_helpers import case, case_in_rounds, lognormal, run_doc, tiny_suite, write_run

SLOW = "matmul[n=b]/fp32/eager@torch:cpu"


@pytest.fixture
def runs(tmp_path):
    """baseline.json with cases a, b, c (3 % within-run spread), and candidate.json with b 30 % slower."""
    rng = np.random.default_rng(11)
    samples = {name: lognormal(rng, 25, median=m, sigma=0.03) for name, m in (("a", 1e-3), ("b", 4e-3), ("c", 2e-2))}
    base = run_doc([case(n, s) for n, s in samples.items()], run_id="base")
    slower = run_doc([case(n, s * (1.3 if n == "b" else 1.0)) for n, s in samples.items()], run_id="cand")
    return write_run(tmp_path / "base", base), write_run(tmp_path / "cand", slower)


@pytest.fixture
def runs_in_rounds(tmp_path):
    """The same cases measured in 3 rounds a side (3 % spread between processes); b 30 % slower in the candidate."""
    rng = np.random.default_rng(12)

    def side(factor_b: float, run_id: str):
        cases = []
        for name, m in (("a", 1e-3), ("b", 4e-3), ("c", 2e-2)):
            f = factor_b if name == "b" else 1.0
            cases.append(case_in_rounds(name, [lognormal(rng, 15, median=m * f * rng.lognormal(0, 0.03), sigma=0.03) for _ in range(3)]))
        return write_run(tmp_path / run_id, run_doc(cases, run_id=run_id))

    return side(1.0, "base"), side(1.3, "cand")


def compare(capsys, *argv: str) -> tuple[int, str]:
    code = main(["compare", *map(str, argv)])
    return code, capsys.readouterr().out


def test_run_compared_with_itself_passes(runs, capsys):
    base, _ = runs
    code, out = compare(capsys, base, base, "--fail-on-regression", "--format", "json")
    doc = json.loads(out)
    assert code == 0
    assert doc["failed"] is False
    assert {c["kind"] for c in doc["cases"]} == {"no change"}
    assert all(c["estimate"]["ratio"] == 1.0 for c in doc["cases"])


def test_single_runs_nominate_a_slower_case_but_never_fail(runs, capsys):
    """One process per side says nothing about the noise between processes: a possible regression, not a failure."""
    base, cand = runs
    code, out = compare(capsys, base, cand, "--fail-on-regression", "--format", "json")
    assert code == 0
    (slow,) = [c for c in json.loads(out)["cases"] if c["case_id"] == SLOW]
    assert slow["kind"] == "possible regression" and "samples of one process per side" in slow["reason"]
    assert slow["estimate"]["evidence"] == "samples" and slow["estimate"]["mde"] > 0
    code, out = compare(capsys, base, cand, "--format", "markdown")
    assert "### 🟠 Possible regressions (weak evidence: not failing) (1)" in out and "run --rounds 3" in out


def test_thirty_percent_slower_case_fails_and_is_named(runs_in_rounds, capsys):
    base, cand = runs_in_rounds
    code, out = compare(capsys, base, cand, "--fail-on-regression", "--format", "markdown")
    assert code == 1
    assert "### 🔴 Regressions (1)" in out
    (flagged,) = [line for line in out.splitlines() if line.startswith("| 🔴")]
    assert f"`{SLOW}`" in flagged and re.search(r"\*\*\+(2[5-9]|3[0-5])\.\d%\*\*", flagged), flagged
    code, out = compare(capsys, base, cand, "--format", "json")
    assert code == 0  # reported, but only --fail-on-regression turns it into a failure
    kinds = {c["case_id"]: c["kind"] for c in json.loads(out)["cases"]}
    assert kinds[SLOW] == "regression"
    assert kinds["matmul[n=a]/fp32/eager@torch:cpu"] == "no change"


def test_improvement_is_reported_and_does_not_fail(runs_in_rounds, capsys):
    base, cand = runs_in_rounds
    code, out = compare(capsys, cand, base, "--fail-on-regression", "--format", "json")
    assert code == 0
    assert {c["case_id"]: c["kind"] for c in json.loads(out)["cases"]}[SLOW] == "improvement"


def test_cases_on_one_side_only_are_listed(tmp_path, capsys):
    rng = np.random.default_rng(1)
    base = write_run(tmp_path / "b", run_doc([case("a", lognormal(rng, 20)), case("gone", lognormal(rng, 20))], "b"))
    cand = write_run(tmp_path / "c", run_doc([case("a", lognormal(rng, 20)), case("new", lognormal(rng, 20))], "c"))
    code, out = compare(capsys, base, cand, "--fail-on-regression", "--format", "markdown")
    assert code == 0
    assert "Only in baseline (1)" in out and "`matmul[n=gone]/fp32/eager@torch:cpu`" in out
    assert "Only in candidate (1)" in out and "`matmul[n=new]/fp32/eager@torch:cpu`" in out
    _, table = compare(capsys, base, cand)
    assert "baseline only" in table and "candidate only" in table


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_candidate_mismatch_fails_loudly_in_every_format(tmp_path, capsys, fmt):
    rng = np.random.default_rng(2)
    samples = lognormal(rng, 20)
    base = write_run(tmp_path / "b", run_doc([case("a", samples), case("x", samples)], "b"))
    wrong = case("x", status="mismatch", reason="relative error 0.3 exceeds tolerance 2e-05")
    cand = write_run(tmp_path / "c", run_doc([case("a", samples), wrong], "c"))
    code, out = compare(capsys, base, cand, "--fail-on-regression", "--format", fmt)
    assert code == 1
    assert "mismatch" in out.lower() and "matmul[n=x]" in out
    if fmt == "json":
        doc = json.loads(out)
        assert doc["failed"] is True and doc["counts"]["mismatch"] == 1
    else:
        assert "FAILED: candidate output mismatch" in out
    assert compare(capsys, base, cand, "--format", fmt)[0] == 0  # without the flag it reports, exit 0


def test_other_statuses_are_listed_with_reasons(tmp_path, capsys):
    rng = np.random.default_rng(3)
    base = write_run(tmp_path / "b", run_doc([case("a", lognormal(rng, 20)), case("u", status="unsupported", reason="no bf16")], "b"))
    cand = write_run(
        tmp_path / "c", run_doc([case("a", status="crashed", reason="killed by SIGSEGV"), case("u", status="unsupported", reason="no bf16")], "c")
    )
    code, out = compare(capsys, base, cand, "--fail-on-regression", "--format", "markdown")
    assert code == 0
    section = out.split("Not compared")[1]
    assert "killed by SIGSEGV" in section and "| ok | crashed |" in section
    assert "both unsupported: no bf16" in section


def test_markdown_cells_cannot_break_the_table(tmp_path, capsys):
    base = write_run(tmp_path / "b", run_doc([case("a", status="error", reason="bad | pipe <script>x</script>\nline")], "b"))
    _code, out = compare(capsys, base, base, "--format", "markdown")
    row = next(line for line in out.splitlines() if "matmul[n=a]" in line)
    assert "\\|" in row and "<script>" not in row and "&lt;script&gt;" in row
    assert row.count(" | ") + row.count("| ") >= 5 and "\n" not in row


def test_folders_pool_runs_as_rounds(tmp_path, capsys):
    rng = np.random.default_rng(4)
    for i in range(6):
        write_run(tmp_path / "b", run_doc([case("a", lognormal(rng, 10) * rng.lognormal(0, 0.01))], f"b{i}"))
        write_run(tmp_path / "c", run_doc([case("a", lognormal(rng, 10) * rng.lognormal(0, 0.01) * 1.2)], f"c{i}"))
    code, out = compare(capsys, tmp_path / "b", tmp_path / "c", "--format", "json", "--fail-on-regression")
    estimate = json.loads(out)["cases"][0]["estimate"]
    assert code == 1
    assert estimate["rounds"] == [6, 6] and estimate["method"] == "rounds"


def test_seeded_output_is_reproducible(runs, capsys):
    base, cand = runs
    first = compare(capsys, base, cand, "--format", "json", "--seed", "3")[1]
    assert first == compare(capsys, base, cand, "--format", "json", "--seed", "3")[1]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threshold", "lots"], "--threshold"),
        (["--confidence", "1.5"], "--confidence"),
    ],
)
def test_bad_options_exit_2(runs, capsys, argv, message):
    base, cand = runs
    assert main(["compare", str(base), str(cand), *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_and_broken_files_exit_2(tmp_path, runs, capsys):
    base, _ = runs
    assert main(["compare", str(base), str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1}')
    assert main(["compare", str(base), str(broken)]) == 2
    assert "broken.json: field 'run_id': missing" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(base), str(tmp_path / "empty")]) == 2
    assert "no run files" in capsys.readouterr().err


@pytest.mark.slow
def test_real_run_compared_with_itself(tmp_path):
    """End to end through a worker: a real run of a tiny suite, compared with itself, exits 0."""
    suite = tiny_suite(tmp_path)
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "bench", "run", "--suite", str(suite), "--out", str(tmp_path / "r")],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=300,
    )
    run_file = next((tmp_path / "r").glob("*.json"))
    out = subprocess.run(
        [sys.executable, "-m", "bench", "compare", str(run_file), str(run_file), "--fail-on-regression", "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)["cases"]
    assert result["kind"] == "no change" and result["estimate"]["ratio"] == 1.0


def test_a_mismatch_on_both_sides_is_listed_but_does_not_fail(tmp_path, capsys):
    """A known wrong result (say a kernel that sums in bf16) on both sides is not a change; a new one fails."""
    rng = np.random.default_rng(3)
    wrong = case("w", status="mismatch", reason="relative error 1.4e-2 exceeds tolerance 7.1e-3")
    base = write_run(tmp_path / "b", run_doc([case("a", lognormal(rng, 20)), wrong], "b"))
    cand = write_run(tmp_path / "c", run_doc([case("a", lognormal(rng, 20)), wrong], "c"))
    code, out = compare(capsys, base, cand, "--fail-on-regression", "--format", "markdown")
    assert code == 0 and "### ⛔ Wrong on both sides (1)" in out
    fixed = write_run(tmp_path / "f", run_doc([case("a", lognormal(rng, 20)), case("w", lognormal(rng, 20))], "f"))
    code, _ = compare(capsys, fixed, cand, "--fail-on-regression", "--format", "json")
    assert code == 1  # wrong now, right before: a failure
