"""End to end: ``siliconbench profile`` and ``siliconbench run --profile`` as subprocesses on CPU backends."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results.load import load

ROOT = Path(__file__).resolve().parent.parent
SUITE = """
name = "profile-test"
backends = ["torch:cpu"]
[timing]
warmup_s = 0.0
min_warmup_calls = 1
block_s = 0.005
min_samples = 3
max_samples = 5
budget_s = 0.0
canary = false
[[workload]]
name = "matmul"
dtypes = ["fp32"]
modes = ["eager"]
grid = { mnk = [[512, 512, 512]] }  # large enough that per-call overhead stays well under 15 %
[[workload]]
name = "fallback_act"
dtypes = ["fp32"]
modes = ["eager"]
grid = { batch = [32], dim = [64], hidden = [128], act = ["host"] }
"""


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    return path


def siliconbench(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def only_run_file(out: Path) -> dict:
    (path,) = sorted(out.glob("*.json"))
    return json.loads(path.read_text())


def test_profile_command_writes_artifacts_summary_and_profile_key(tmp_path, suite):
    out = tmp_path / "results"
    proc = siliconbench(
        "profile", "--workload", "matmul", "--backend", "torch:cpu", "--suite", str(suite), "--out", str(out), "--calls", "40", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (case,) = only_run_file(out)["cases"]
    profile = case["profile"]
    assert profile["status"] == "ok" and profile["tool"] == "torch.profiler" and profile["calls"] == 40
    assert 0.85 <= profile["coverage"] <= 1.15
    assert profile["ops"][0]["name"] == "aten::mm"
    summary = json.loads((out / profile["summary"]).read_text())
    assert summary["ops"] == profile["ops"][: len(summary["ops"])] and summary["coverage"] == profile["coverage"]
    for artifact in profile["artifacts"]:
        assert (out / artifact).exists(), artifact
    assert any(a.endswith("torch_trace.json.gz") for a in profile["artifacts"])
    frame = load(out)  # the profile folder's JSON files are not mistaken for run files
    assert len(frame) == 1 and frame.iloc[0]["status"] == "ok"
    assert "aten::mm" in proc.stdout


def test_run_with_profile_flag_profiles_each_case_on_jax(tmp_path, suite):
    out = tmp_path / "results"
    proc = siliconbench("run", "--suite", str(suite), "--backend", "jax:cpu", "--out", str(out), "--profile", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cases = {c["workload"]: c for c in only_run_file(out)["cases"]}
    assert set(cases) == {"matmul", "fallback_act"}
    assert cases["matmul"]["profile"]["tool"] == "jax.profiler" and cases["matmul"]["profile"]["coverage"] is not None
    callback = [op for op in cases["fallback_act"]["profile"]["ops"] if op["name"].startswith("pure_callback")]
    assert callback and not callback[0]["fallback"]  # on the CPU a host callback is no fallback
    assert (out / cases["matmul"]["profile"]["summary"]).exists()


def test_profile_command_rejects_bad_input(tmp_path, suite):
    proc = siliconbench("profile", "--workload", "nope", "--backend", "torch:cpu", "--suite", str(suite), cwd=tmp_path)
    assert proc.returncode == 2 and "unknown workload 'nope'" in proc.stderr
    proc = siliconbench("profile", "--workload", "matmul", "--backend", "torch:cpu", "--suite", str(suite), "--case", "bf16", cwd=tmp_path)
    assert proc.returncode == 2 and "--case: no case of matmul matches 'bf16'" in proc.stderr
