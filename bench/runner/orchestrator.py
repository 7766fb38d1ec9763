"""Orchestrator: one worker process per backend, cases sent one at a time, failures contained.

A worker that crashes, is killed or hangs past the per-case timeout costs that case only
(status ``crashed`` or ``timeout`` with the signal or the last stderr lines); a fresh worker
picks up the remaining cases. Backends run one after another, never concurrently, so they do not
compete for the machine while being timed.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from bench.backends import BackendName
from bench.runner.process import WorkerDied, WorkerProcess, WorkerTimeout
from bench.timing import TimingConfig
from bench.workloads.base import Case


@dataclass
class RunOptions:
    allow_tf32: bool = False
    case_timeout_s: float = 300.0
    start_timeout_s: float = 180.0
    pythons: dict[str, str] = field(default_factory=dict)  # framework -> interpreter path
    extra_env: dict[str, str] = field(default_factory=dict)
    unsafe_no_sync: bool = False  # testing only: demonstrates the sync canary


def worker_env(backend: BackendName, allow_tf32: bool) -> dict[str, str]:
    """Environment a backend's worker needs before its framework is imported."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "MLX_ENABLE_TF32": "1" if allow_tf32 else "0"}
    if backend.framework == "jax":
        platforms = {"cpu": "cpu", "cuda": "cuda"}.get(backend.device)
        if platforms:
            env["JAX_PLATFORMS"] = platforms
    if backend.framework == "tensorflow" and backend.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # a CUDA build of TF must not grab the GPU for a CPU run
    return env


def case_id(case: Case, backend: str) -> str:
    return f"{case.label}@{backend}"


def base_record(case: Case, backend: BackendName, hello: dict[str, Any] | None) -> dict[str, Any]:
    device = (hello or {}).get("device") or {}
    return {
        "case_id": case_id(case, backend.name),
        **case.to_dict(),
        "backend": {
            "name": backend.name,
            "resolved": device.get("backend", backend.name),
            "framework": backend.framework,
            "device": device.get("device", backend.device),
            "device_name": device.get("device_name"),
        },
    }


Callback = Callable[[dict[str, Any]], None]


class Orchestrator:
    def __init__(self, options: RunOptions, timing: TimingConfig):
        self.options = options
        self.timing = timing
        self.hellos: dict[str, dict[str, Any]] = {}

    def _start(self, backend: BackendName) -> tuple[WorkerProcess | None, dict[str, Any]]:
        python = self.options.pythons.get(backend.framework, sys.executable)
        env = {**worker_env(backend, self.options.allow_tf32), **self.options.extra_env}
        try:
            worker = WorkerProcess(python, env)
        except OSError as exc:
            return None, {"available": False, "reason": f"cannot start {python}: {exc}"}
        hello = {"op": "hello", "framework": backend.framework, "device": backend.device, "allow_tf32": self.options.allow_tf32,
                 "unsafe_no_sync": self.options.unsafe_no_sync}
        try:
            reply = worker.request(hello, self.options.start_timeout_s)
        except WorkerTimeout:
            worker.kill()
            return None, {"available": False, "reason": f"worker did not start within {self.options.start_timeout_s:g} s"}
        except WorkerDied as exc:
            worker.kill()
            return None, {"available": False, "reason": f"worker failed at start-up: {exc.reason}"}
        if not reply.get("available"):
            worker.close()
            return None, reply
        return worker, reply

    def probe(self, backend: BackendName) -> dict[str, Any]:
        """Start the backend's worker, return its hello (availability, versions, device), stop it."""
        worker, hello = self._start(backend)
        if worker is not None:
            worker.close()
        return hello

    def run_backend(self, backend: BackendName, cases: Iterable[Case], on_record: Callback) -> None:
        cases = list(cases)
        worker, hello = self._start(backend)
        self.hellos[backend.name] = {k: v for k, v in hello.items() if k != "op"}
        try:
            for index, case in enumerate(cases):
                record = base_record(case, backend, hello)
                if worker is None:
                    record.update(status="unavailable", reason=hello.get("reason", "backend unavailable"))
                    on_record(record)
                    continue
                started = time.time()
                message = {"op": "run", "case_id": record["case_id"], "case": case.to_dict(), "timing": self.timing.to_dict()}
                try:
                    reply = worker.request(message, self.options.case_timeout_s)
                    if reply.get("op") != "result":
                        record.update(status="error", reason=f"worker replied {reply}")
                    else:
                        record.update(reply["record"])
                except (WorkerTimeout, WorkerDied) as exc:
                    if isinstance(exc, WorkerTimeout):
                        worker.kill()
                        record.update(status="timeout", reason=f"case exceeded the {self.options.case_timeout_s:g} s timeout; worker killed")
                    else:
                        record.update(status="crashed", reason=exc.reason)
                        worker.kill()
                    record["elapsed_s"] = time.time() - started
                    worker = None
                    if index + 1 < len(cases):
                        worker, hello = self._start(backend)  # a fresh worker takes the rest
                on_record(record)
        finally:
            if worker is not None:
                worker.close()
