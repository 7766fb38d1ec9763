"""A worker process seen from the orchestrator: start, request with a timeout, kill.

Each worker runs in its own session (process group), ends with its orchestrator (bench/runner/lifeline.py),
and is killed, group and all, by ``kill``; ``close`` kills too when the polite exit is interrupted, so
no interrupt (a second Ctrl-C included) leaves one running. A worker that dies by SIGKILL is reported as
out of memory when bench/runner/memory.py finds the evidence.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import queue
import signal
import subprocess
import threading
import weakref
from pathlib import Path
from typing import Any

import bench
from bench.runner.lifeline import PARENT_ENV
from bench.runner.memory import MemoryWatch

PROJECT_ROOT = Path(bench.__file__).resolve().parent.parent
_LIVE: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()  # killed at exit, whatever path led there


class WorkerDied(Exception):
    def __init__(self, reason: str, oom: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.oom = oom  # killed by the OOM killer, as far as the evidence shows


class WorkerTimeout(Exception):
    pass


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class WorkerProcess:
    """One backend's worker. ``request`` sends a message and waits for the reply line."""

    def __init__(self, python: str, env: dict[str, str], stderr_lines: int = 20):
        full_env = dict(os.environ)
        full_env.update(env)
        # A foreign interpreter (tox env, venv) must still find this checkout's `bench` package,
        # unless the caller puts another checkout first in env["PYTHONPATH"] (`siliconbench ab --b-root`).
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env[PARENT_ENV] = str(os.getpid())
        self.proc = subprocess.Popen(
            [python, "-m", "bench.runner.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            encoding="utf-8",
            errors="replace",  # framework logs are free text: a stray byte must not end the reader
            start_new_session=True,  # its own process group, so a kill takes its children too
        )
        self.memory = MemoryWatch(self.proc.pid)
        _LIVE.add(self)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.memory.start_request()
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise WorkerTimeout(f"no reply within {timeout:g} s") from None
            if line is None:
                raise self._died()
            line = line.strip()
            if not line:
                continue
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                raise WorkerDied(f"worker wrote a line that is not protocol JSON: {line[:200]!r}") from None

    def _died(self) -> WorkerDied:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.memory.stop()
        oom = self.memory.oom_evidence() if code == -signal.SIGKILL else None
        tail = " | ".join(line for line in list(self.stderr_tail)[-5:] if line.strip())
        reason = f"worker {describe_exit(code)}" + (f": out of memory ({oom})" if oom else "") + (f"; last stderr: {tail}" if tail else "")
        return WorkerDied(reason, oom=oom is not None)

    def kill(self) -> None:
        """SIGKILL to the worker's process group (no-op once it is gone), then reap it."""
        self.memory.stop()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self, timeout: float = 10) -> None:
        """Ask the worker to exit; kill it when it does not, or when anything (Ctrl-C) interrupts the wait."""
        try:
            if self.proc.poll() is None:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "exit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=timeout)
        except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            self.kill()


@atexit.register
def _kill_live_workers() -> None:
    for worker in list(_LIVE):
        worker.kill()
