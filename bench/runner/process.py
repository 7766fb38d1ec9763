"""A worker process seen from the orchestrator: start, request with a timeout, kill."""

from __future__ import annotations

import collections
import json
import os
import queue
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import bench

PROJECT_ROOT = Path(bench.__file__).resolve().parent.parent


class WorkerDied(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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
        self.proc = subprocess.Popen(
            [python, "-m", "bench.runner.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            text=True,
            start_new_session=True,  # its own process group, so a kill takes its children too
        )
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
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerDied(self._death_reason()) from None
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise WorkerTimeout(f"no reply within {timeout:g} s") from None
            if line is None:
                raise WorkerDied(self._death_reason())
            line = line.strip()
            if not line:
                continue
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                raise WorkerDied(f"worker wrote a line that is not protocol JSON: {line[:200]!r}") from None

    def _death_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        tail = " | ".join(line for line in list(self.stderr_tail)[-5:] if line.strip())
        return f"worker {describe_exit(code)}" + (f"; last stderr: {tail}" if tail else "")

    def kill(self) -> None:
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
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "exit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=timeout)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
