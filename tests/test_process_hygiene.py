"""No worker outlives its run: killed in a finally whatever the interrupt, gone when the orchestrator is,
and a worker the OOM killer took is reported as ``oom`` (bench/runner/process.py, lifeline.py, memory.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.backends import parse_backend
from bench.results import store
from bench.runner import memory
from bench.runner.interrupts import first_interrupt_only
from bench.runner.orchestrator import Orchestrator, RunOptions
from bench.runner.process import WorkerProcess
from bench.timing import TimingConfig
from bench.workloads.base import Case

REPO = Path(__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float = 20) -> list[int]:
    deadline = time.time() + timeout
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def workers_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"bench.runner.worker" in cmdline:
                out.append(int(entry.name))
    return out


# -- OOM evidence ------------------------------------------------------------------------------------


def fake_tree(tmp_path: Path, cgroup: str, files: dict[str, str]) -> tuple[Path, Path]:
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "cgroup").write_text(cgroup)
    (proc / "42" / "status").write_text("Name:\tpython\nVmHWM:\t 900000 kB\nVmRSS:\t  800000 kB\n")
    (proc / "meminfo").write_text("MemTotal:       16000000 kB\nMemFree:  1 kB\n")
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return proc, root


def test_cgroup_v2_limit_and_oom_kill_counter(tmp_path):
    proc, root = fake_tree(
        tmp_path,
        "0::/user.slice/bench\n",
        {
            "cgroup.controllers": "cpu memory\n",
            "user.slice/memory.max": "2147483648\n",
            "user.slice/bench/memory.max": "max\n",
            "user.slice/bench/memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n",
        },
    )
    assert memory.resident_bytes(42, proc) == 800000 * 1024
    group = memory.cgroup_of(42, proc, root)
    assert group is not None and group.version == 2 and group.oom_kills() == 2
    assert memory.memory_limit(42, proc, root) == (2147483648, "cgroup")  # the ancestor's limit, under MemTotal


def test_cgroup_v1_limit_and_oom_kill_counter(tmp_path):
    proc, root = fake_tree(
        tmp_path,
        "5:devices:/\n4:memory:/jobs/j1\n0::/\n",
        {
            "memory/memory.limit_in_bytes": "9223372036854771712\n",  # v1's "no limit"
            "memory/jobs/j1/memory.limit_in_bytes": "1073741824\n",
            "memory/jobs/j1/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n",
        },
    )
    group = memory.cgroup_of(42, proc, root)
    assert group is not None and group.version == 1 and group.oom_kills() == 5
    assert memory.memory_limit(42, proc, root) == (1073741824, "cgroup")


def test_no_cgroup_falls_back_to_the_machine(tmp_path):
    proc, root = fake_tree(tmp_path, "0::/\n", {})
    assert memory.cgroup_of(42, proc, root) is None
    assert memory.memory_limit(42, proc, root) == (16000000 * 1024, "machine")


def test_evidence_needs_memory_near_the_limit_or_a_counted_kill(tmp_path):
    proc, root = fake_tree(tmp_path, "0::/b\n", {"cgroup.controllers": "memory\n", "b/memory.max": "1000000000\n", "b/memory.events": "oom_kill 0\n"})
    watch = memory.MemoryWatch(42, proc, root)
    watch.stop()
    watch.start_request()  # 800,000 kB resident of a 1 GB limit: 82 %
    assert "resident memory reached 0.76 GiB of the 0.93 GiB cgroup limit" in (watch.oom_evidence() or "")
    watch.peak = 100
    assert watch.oom_evidence() is None
    (root / "b" / "memory.events").write_text("oom_kill 1\n")
    assert watch.oom_evidence() == "the cgroup's oom_kill count rose by 1"


@pytest.mark.skipif(not LINUX, reason="/proc")
def test_resident_memory_is_sampled_while_the_process_runs():
    hog = subprocess.Popen([sys.executable, "-c", "b = bytearray(150 * 2**20); import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        watch = memory.MemoryWatch(hog.pid)
        deadline = time.time() + 30
        while watch.peak < 150 * 2**20 and time.time() < deadline:
            time.sleep(0.1)
        assert watch.peak >= 150 * 2**20
    finally:
        hog.kill()
        hog.wait()


FAKE_WORKER = """\
#!{python}
# Stands in for `python -m bench.runner.worker`: answers hello, then holds {mib} MiB and is SIGKILLed
# (as the OOM killer would) while the case "runs".
import json, os, signal, sys, time
for line in sys.stdin:
    message = json.loads(line)
    if message["op"] == "hello":
        print(json.dumps({{"op": "hello", "available": True, "device": {{"device_name": "fake"}}}}), flush=True)
    elif message["op"] == "run":
        block = bytearray({mib} * 2**20)
        time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGKILL)
"""


def fake_interpreter(tmp_path: Path, mib: int) -> str:
    path = tmp_path / f"fake-python-{mib}"
    path.write_text(FAKE_WORKER.format(python=sys.executable, mib=mib))
    path.chmod(0o755)
    return str(path)


@pytest.mark.skipif(not LINUX, reason="/proc")
@pytest.mark.parametrize("mib, status", [(200, "oom"), (1, "crashed")])
def test_sigkill_near_the_memory_limit_is_oom(tmp_path, monkeypatch, mib, status):
    monkeypatch.setattr(memory, "memory_limit", lambda pid, proc=None, root=None: (220 * 2**20, "cgroup"))
    options = RunOptions(pythons={"torch": fake_interpreter(tmp_path, mib)}, case_timeout_s=60)
    records = []
    case = Case.make("matmul", {"m": 8, "n": 8, "k": 8}, "fp32", "eager")
    Orchestrator(options, TimingConfig()).run_backend(parse_backend("torch:cpu"), [case], records.append)
    (record,) = records
    assert record.status == status and "killed by SIGKILL" in record.reason
    assert ("out of memory (its resident memory reached" in record.reason) == (status == "oom")


# -- interrupts and dead parents -------------------------------------------------------------------


HANGING_WORKER = """\
#!{python}
import json, sys, time
for line in sys.stdin:
    if json.loads(line)["op"] == "hello":
        print(json.dumps({{"op": "hello", "available": True}}), flush=True)
    else:
        time.sleep(3600)  # hangs on any other request, "exit" included
"""


def test_close_kills_the_worker_when_its_wait_is_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "hanging-python"
    path.write_text(HANGING_WORKER.format(python=sys.executable))
    path.chmod(0o755)
    worker = WorkerProcess(str(path), {})
    assert worker.request({"op": "hello"}, 30)["available"] is True
    real_wait, calls = worker.proc.wait, []

    def interrupted_wait(timeout=None):
        calls.append(timeout)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the second Ctrl-C, while close() waits for a polite exit
        return real_wait(timeout)

    monkeypatch.setattr(worker.proc, "wait", interrupted_wait)
    with pytest.raises(KeyboardInterrupt):
        worker.close()
    assert worker.proc.poll() == -signal.SIGKILL


CHILD = """\
import os, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", {code!r}], env={{**os.environ, "SILICONBENCH_PARENT_PID": str(os.getpid())}})
print(grandchild.pid, flush=True)
time.sleep(3600)
"""
GRANDCHILD = """\
import sys, time
from bench.runner import lifeline
if {force_watch}:
    lifeline._set_pdeathsig = lambda: False
    lifeline.POLL_S = 0.1
print(lifeline.tie_to_parent(), file=sys.stderr, flush=True)
time.sleep(3600)
"""


@pytest.mark.skipif(not LINUX, reason="/proc")
@pytest.mark.parametrize("force_watch", [False, True], ids=["pdeathsig", "parent-watch"])
def test_worker_ends_when_its_parent_is_killed(force_watch):
    code = GRANDCHILD.format(force_watch=force_watch)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(code=code)], stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        grandchild = int(child.stdout.readline())
        time.sleep(1.0)  # let it arm the death signal or start the watch
        assert alive(grandchild)
        child.kill()
        child.wait()
        assert wait_gone([grandchild]) == []
    finally:
        child.kill()


def hanging_suite(tmp_path: Path) -> Path:
    path = tmp_path / "hang.toml"
    path.write_text(
        'name = "hang"\nbackends = ["torch:cpu"]\n'
        "[timing]\nwarmup_s = 0.0\nmin_warmup_calls = 1\nblock_s = 0.005\nmin_samples = 3\n"
        "max_samples = 1000000000\nbudget_s = 3600\ncanary = false\n"
        '[[workload]]\nname = "matmul"\ndtypes = ["fp32"]\ngrid = { mnk = [[64, 64, 64]] }\n'
    )
    return path


def start_hanging_run(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    """A run whose only case times blocks for an hour; returns it once its worker is measuring."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--suite", str(hanging_suite(tmp_path)), "--out", str(tmp_path / "r")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        workers = workers_of(proc.pid)
        if workers and b"libtorch_cpu" in Path(f"/proc/{workers[0]}/maps").read_bytes():
            time.sleep(3.0)  # torch is imported: the hello is answered and the case starts
            return proc, workers[0]
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the worker never started")


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="/proc")
@pytest.mark.parametrize("gap_s", [0.05, 0.5])  # the second Ctrl-C lands while killing, finalising or exiting
def test_ctrl_c_twice_while_a_case_hangs_leaves_no_process(tmp_path, gap_s):
    proc, worker = start_hanging_run(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        time.sleep(gap_s)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert wait_gone([worker], timeout=10) == []
    (final,) = (tmp_path / "r").iterdir()  # the run file and nothing else: no partial, no temp file
    assert final.suffix == ".json" and json.loads(final.read_text())["status"] == "interrupted"


def test_only_the_first_interrupt_interrupts_the_cleanup():
    before = signal.getsignal(signal.SIGINT)
    with first_interrupt_only():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler runs at the next bytecode
        os.kill(os.getpid(), signal.SIGINT)  # the second: ignored while the cleanup runs
        time.sleep(0.1)
    assert signal.getsignal(signal.SIGINT) is before


def test_interrupted_atomic_write_leaves_no_temp_file(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write_json_atomic(tmp_path / "run.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="/proc")
def test_killed_orchestrator_takes_its_hanging_worker_along(tmp_path):
    proc, worker = start_hanging_run(tmp_path)
    proc.kill()
    proc.communicate(timeout=60)
    assert wait_gone([worker], timeout=20) == []
    (partial,) = (tmp_path / "r").glob("*.partial.jsonl")
    assert json.loads(partial.read_text().splitlines()[0])["kind"] == "run"
