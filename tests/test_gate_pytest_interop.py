"""pytest-benchmark interoperability: export a run so ``pytest-benchmark compare`` reads it, and the
``siliconbench_timer`` fixture timing a user's callable on a backend (in a pytest subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from tests._gate_helpers import case, lognormal, run_doc, write_run

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("pytest_benchmark")


@pytest.fixture
def run_file(tmp_path):
    rng = np.random.default_rng(0)
    cases = [case("a", lognormal(rng, 15, 2e-3)), case("b", lognormal(rng, 15, 5e-3)), case("x", status="mismatch", reason="wrong")]
    return write_run(tmp_path, run_doc(cases, run_id="exp"))


def test_export_matches_the_run_and_leaves_out_untimed_cases(run_file, tmp_path, capsys):
    out = tmp_path / "pb.json"
    assert main(["export", "--format", "pytest-benchmark", str(run_file), "-o", str(out)]) == 0
    assert "left out (status mismatch, no timing): matmul[n=x]" in capsys.readouterr().err
    doc = json.loads(out.read_text())
    run = json.loads(run_file.read_text())
    assert set(doc) >= {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    by_id = {b["extra_info"]["case_id"]: b for b in doc["benchmarks"]}
    assert sorted(by_id) == ["matmul[n=a]/fp32/eager@torch:cpu", "matmul[n=b]/fp32/eager@torch:cpu"]
    for c in run["cases"][:2]:
        stats = by_id[c["case_id"]]["stats"]
        assert stats["median"] == pytest.approx(np.median(c["timing"]["samples"]))
        assert stats["min"] == pytest.approx(min(c["timing"]["samples"]))
        assert stats["rounds"] == len(c["timing"]["samples"]) and stats["data"] == c["timing"]["samples"]


def test_pytest_benchmark_compare_reads_the_export(run_file, tmp_path):
    out = tmp_path / "pb.json"
    assert main(["export", str(run_file), "-o", str(out)]) == 0
    cli = shutil.which("pytest-benchmark") or shutil.which("py.test-benchmark")
    argv = [cli] if cli else [sys.executable, "-m", "pytest_benchmark.cli"]
    result = subprocess.run([*argv, "compare", str(out), "--columns", "min,median,max"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Failed to load" not in result.stdout + result.stderr
    assert "matmul[n=a-fp32-eager-torch:cpu]" in result.stdout and "matmul[n=b-fp32-eager-torch:cpu]" in result.stdout


def test_export_refuses_several_runs(tmp_path, capsys):
    rng = np.random.default_rng(1)
    for i in range(2):
        write_run(tmp_path, run_doc([case("a", lognormal(rng, 5))], run_id=f"r{i}"))
    assert main(["export", str(tmp_path)]) == 2
    assert "expected one run file, found 2" in capsys.readouterr().err


USER_TEST = """
import numpy as np

def test_user_matmul(siliconbench_timer):
    adapter = siliconbench_timer.adapter("torch:cpu")
    x = adapter.from_numpy(np.ones((96, 96), np.float32))
    result = siliconbench_timer(lambda: x @ x, backend="torch:cpu", name="mm96",
                                warmup_s=0.01, block_s=0.002, min_samples=5, budget_s=0.02)
    assert result.backend == "torch:cpu"
    assert len(result.samples) >= 5 and result.median > 0

def test_user_cuda(siliconbench_timer):
    siliconbench_timer(lambda: None, backend="torch:cuda")

def test_bad_option(siliconbench_timer):
    import pytest
    with pytest.raises(TypeError, match="unknown timing option"):
        siliconbench_timer(lambda: None, backend="torch:cpu", warmup=1)
"""


def plugin_args() -> list[str]:
    """``-p bench.pytest_plugin`` unless the installed entry point already loads it."""
    from importlib.metadata import entry_points

    installed = any(ep.value == "bench.pytest_plugin" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "bench.pytest_plugin"]


@pytest.mark.slow
def test_fixture_times_a_user_callable_and_saves_a_run(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TEST)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *plugin_args(),
            "-p",
            "no:cacheprovider",
            "-rs",
            "-q",
            "test_user.py",
            "--siliconbench-save",
            str(tmp_path / "saved"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed, 1 skipped" in result.stdout
    assert "torch:cuda unavailable" in result.stdout
    assert "test_user.py::test_user_matmul [mm96] torch:cpu:" in result.stdout
    (saved,) = (tmp_path / "saved").glob("*.json")
    compared = subprocess.run(
        [sys.executable, "-m", "bench", "compare", str(saved), str(saved), "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    (row,) = json.loads(compared.stdout)["cases"]
    assert row["case_id"] == "pytest[name=mm96,test=test_user.py::test_user_matmul]/native/eager@torch:cpu"
    assert row["kind"] == "no change"
