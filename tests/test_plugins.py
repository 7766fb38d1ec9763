"""Plug-ins: a package installed beside siliconbench adds a backend and a workload with no edit to bench/.

tests/plugin_pkg is pip-installed into a temporary folder (on PYTHONPATH for the commands run here), the
way a user installs a third-party package; its backend ``demo:cpu`` and workload ``axpy`` must then show in
``doctor`` and ``list``, run, and be reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bench import plugins

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = Path(__file__).parent / "plugin_pkg"


def test_builtin_table_matches_pyproject_entry_points():
    """A checkout used from PYTHONPATH (no install) registers exactly what pyproject.toml registers."""
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    for group, table in plugins.BUILTIN.items():
        assert entry_points[group] == table


def test_load_names_a_malformed_reference():
    with pytest.raises(ValueError, match="must be 'module:attribute'"):
        plugins.load("bench.backends.torch")


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-compile", "--target", str(target), str(PLUGIN)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}


def siliconbench(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], env={**env, "COLUMNS": "200"}, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_installed_plugin_appears_in_doctor_and_list(plugin_env):
    doctor = siliconbench(plugin_env, "doctor")
    assert doctor.returncode == 0, doctor.stderr
    demo_row = next(line for line in doctor.stdout.splitlines() if "demo:cpu" in line)
    assert "available" in demo_row and "demo 0.0.1" in demo_row
    workloads = siliconbench(plugin_env, "list", "workloads")
    axpy_row = next(line for line in workloads.stdout.splitlines() if "axpy" in line)
    assert "demo" in axpy_row and "torch" in axpy_row  # its own module for each, found by name
    matmul_row = next(line for line in workloads.stdout.splitlines() if line.strip("│ ").startswith("matmul"))
    assert "demo" in matmul_row  # the backend brings a module for a built-in workload
    assert "demo:cpu" in siliconbench(plugin_env, "list", "backends").stdout.split()


def test_plugin_backend_and_workload_run_and_are_reported(plugin_env, tmp_path):
    suite = tmp_path / "plugin.toml"
    suite.write_text(
        'name = "plugin"\nbackends = ["demo:cpu", "torch:cpu"]\n'
        "[timing]\nwarmup_s = 0.0\nmin_warmup_calls = 1\nblock_s = 0.002\nmin_samples = 3\nmax_samples = 5\nbudget_s = 0.0\n"
        '[[workload]]\nname = "axpy"\ndtypes = ["fp32"]\ngrid = { n = [65536] }\n'
        '[[workload]]\nname = "matmul"\ndtypes = ["fp32"]\ngrid = { mnk = [[64, 64, 64]] }\n'
    )
    out, page = tmp_path / "results", tmp_path / "report.html"
    done = siliconbench(plugin_env, "run", "--suite", str(suite), "--out", str(out), "-o", str(page))
    assert done.returncode == 0, done.stderr
    doc = json.loads(next(out.glob("*.json")).read_text())
    status = {c["case_id"]: c["status"] for c in doc["cases"]}
    assert status == {
        "axpy[n=65536]/fp32/eager@demo:cpu": "ok",
        "axpy[n=65536]/fp32/eager@torch:cpu": "ok",
        "matmul[k=64,m=64,n=64]/fp32/eager@demo:cpu": "ok",
        "matmul[k=64,m=64,n=64]/fp32/eager@torch:cpu": "ok",
    }, status
    assert doc["environment"]["frameworks"]["demo:cpu"]["versions"]["demo"] == "0.0.1"
    html = page.read_text()
    assert "demo:cpu" in html and "axpy" in html
