"""End to end through worker processes: run files, crashes, hangs, Ctrl-C, foreign interpreters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bench.results as results

pytestmark = pytest.mark.slow

SUITE = """
name = "runner-test"
backends = ["torch:cpu", "mlx:gpu"]
[timing]
warmup_s = 0.0
min_warmup_calls = 1
block_s = 0.005
min_samples = 3
max_samples = {max_samples}
budget_s = {budget}
canary = false
[[workload]]
name = "matmul"
dtypes = ["fp32"]
grid = {{ mnk = [[64, 64, 64], [96, 96, 96], [128, 128, 128], [160, 160, 160]] }}
"""


def write_suite(tmp_path: Path, budget: float = 0.05, max_samples: int = 200) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(budget=budget, max_samples=max_samples))
    return path


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench", *args]


def children_workers(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and "bench.runner.worker" in cmdline:
            out.append(int(entry.name))
    return out


def start_slow_run(tmp_path: Path, out: Path) -> subprocess.Popen:
    """A torch:cpu run whose four cases take about a second each, in the background."""
    return subprocess.Popen(
        cli("run", "--suite", str(write_suite(tmp_path, budget=1.0)), "--backend", "torch:cpu", "--out", str(out)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_cases(out_dir: Path, count: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for partial in out_dir.glob("*.partial.jsonl"):
            lines = [json.loads(x) for x in partial.read_text().splitlines() if x.strip()]
            if sum(1 for x in lines if x.get("kind") == "case") >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} cases recorded in {timeout} s")


def final_run(out_dir: Path) -> dict:
    files = list(out_dir.glob("*.json"))
    assert len(files) == 1, files
    assert not list(out_dir.glob("*.partial.jsonl")), "partial file should be removed when finalised"
    return results.read_run(files[0])


def test_run_writes_a_complete_valid_document(tmp_path):
    out = tmp_path / "r"
    done = subprocess.run(cli("run", "--suite", str(write_suite(tmp_path)), "--out", str(out)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    run = final_run(out)
    assert run.status == "complete" and run.schema_version == results.SCHEMA_VERSION
    by_backend = {}
    for case in run.cases:
        by_backend.setdefault(case.backend.name, []).append(case)
    assert [c.status for c in by_backend["torch:cpu"]] == ["ok"] * 4
    assert all(c.status == "unavailable" and c.reason for c in by_backend["mlx:gpu"])
    env = run.environment
    assert env.machine["logical_cores"] >= 1 and env.python["version"]
    assert env.frameworks["torch:cpu"].versions["torch"]
    assert env.precision_policy["fp32"] == "ieee"
    assert env.frameworks["torch:cpu"].precision["float32_matmul_precision"] == "highest"
    frame = results.load(out)
    assert len(frame) == 8
    ok = frame[frame.status == "ok"]
    assert (ok["median"] > 0).all() and (ok["n_samples"] >= 3).all() and ok["rel_error"].notna().all()


def test_sigkilled_worker_costs_one_case(tmp_path):
    out = tmp_path / "r"
    proc = start_slow_run(tmp_path, out)
    try:
        wait_for_cases(out, 1)
        workers = children_workers(proc.pid)
        assert workers, "no worker process found"
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-2000:]
    cases = final_run(out).cases
    statuses = [c.status for c in cases]
    assert len(cases) == 4
    assert statuses.count("crashed") == 1 and statuses.count("ok") == 3
    crashed = next(c for c in cases if c.status == "crashed")
    assert "SIGKILL" in crashed.reason


def test_hanging_case_times_out_and_the_run_goes_on(tmp_path):
    out = tmp_path / "r"
    done = subprocess.run(
        cli(
            "run",
            "--suite",
            str(write_suite(tmp_path, budget=30.0, max_samples=10**9)),
            "--backend",
            "torch:cpu",
            "--timeout",
            "3",
            "--out",
            str(out),
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    cases = final_run(out).cases
    assert [c.status for c in cases] == ["timeout"] * 4
    assert "3 s timeout" in cases[0].reason


def test_ctrl_c_keeps_finished_cases(tmp_path):
    out = tmp_path / "r"
    proc = start_slow_run(tmp_path, out)
    try:
        wait_for_cases(out, 2)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    run = final_run(out)
    assert run.status == "interrupted"
    assert len(run.cases) >= 2 and all(c.status == "ok" for c in run.cases)
    assert not children_workers(proc.pid)


def test_partial_file_of_a_killed_run_is_loadable(tmp_path):
    out = tmp_path / "r"
    proc = start_slow_run(tmp_path, out)
    try:
        wait_for_cases(out, 1)
        proc.kill()  # the orchestrator itself dies: no chance to finalise
        proc.communicate(timeout=60)
    finally:
        for pid in children_workers(proc.pid):
            os.kill(pid, signal.SIGKILL)
    run = results.read_run(next(out.glob("*.partial.jsonl")))
    assert run.status == "incomplete" and len(run.cases) >= 1
    assert len(results.load(out)) == len(run.cases)


def test_worker_under_another_interpreter(tmp_path):
    out = tmp_path / "r"
    done = subprocess.run(
        cli("run", "--suite", str(write_suite(tmp_path)), "--backend", "torch:cpu", "--python", f"torch={sys.executable}", "--out", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run = final_run(out)
    assert run.environment.frameworks["torch:cpu"].executable == sys.executable
    assert all(c.status == "ok" for c in run.cases)
