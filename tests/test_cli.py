"""doctor and list, as a user sees them."""

import subprocess
import sys

import pytest


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", **__import__("os").environ}
    )


@pytest.mark.slow
def test_doctor_reports_every_backend_with_status_or_reason():
    result = cli("doctor")
    assert result.returncode == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 3}
    for name in (
        "torch:cpu",
        "torch:mps",
        "torch:cuda",
        "tensorflow:cpu",
        "tensorflow:gpu",
        "jax:cpu",
        "jax:metal",
        "jax:cuda",
        "mlx:cpu",
        "mlx:gpu",
    ):
        assert name in lines, f"{name} missing from doctor output"
        assert "available" in lines[name]
    assert "unavailable" in lines["torch:mps"] and "MPS" in lines["torch:mps"]
    assert "available" in lines["torch:cpu"] and "torch 2." in lines["torch:cpu"]


def test_list_workloads_and_cases():
    result = cli("list", "workloads")
    assert result.returncode == 0 and "matmul" in result.stdout
    result = cli("list", "cases", "--suite", "quick")
    assert result.returncode == 0 and "matmul[k=384,m=384,n=384]/fp32/eager" in result.stdout
