"""Orchestrator: one worker process per backend, cases sent one at a time, failures contained.

A worker that crashes, is killed or hangs past the per-case timeout costs that case only
(status ``crashed`` or ``timeout`` with the signal or the last stderr lines); a fresh worker
picks up the remaining cases. Backends run one after another, never concurrently, so they do not
compete for the machine while being timed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bench.backends import BackendName, adapter_class, adapter_reference
from bench.results.records import BackendRef, CaseRecord, Status
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
    threads: int | None = None  # CPU threads of every framework's pools; None: each framework's default
    cpu_affinity: tuple[int, ...] | None = None  # CPUs the workers are pinned to (Linux)
    energy: bool = False  # --energy: joules per call over the timed blocks (docs/energy.md)
    cooldown_s: float = 0.0  # --cooldown S: wait (at most S) for the thermal state to return before a case


def worker_env(backend: BackendName, allow_tf32: bool, threads: int | None = None) -> dict[str, str]:
    """Environment a backend's worker needs before its framework is imported (the adapter says what)."""
    cls = adapter_class(backend.framework)
    return {**cls.thread_env(backend.device, threads), **cls.worker_env(backend.device, allow_tf32)}


def failed_record(case: Case, backend: BackendName, hello: dict[str, Any] | None, status: Status, reason: str) -> CaseRecord:
    """The record of a case the worker could not measure (backend unavailable, worker crashed or hung)."""
    device = (hello or {}).get("device") or {}
    ref = BackendRef(
        name=backend.name,
        resolved=device.get("backend", backend.name),
        framework=backend.framework,
        device=device.get("device", backend.device),
        device_name=device.get("device_name"),
    )
    return CaseRecord(case_id=case.case_id(backend.name), **case.to_dict(), backend=ref, status=status, reason=reason)


def _from_worker(case: Case, backend: BackendName, hello: dict[str, Any], reply: dict[str, Any]) -> CaseRecord:
    """The worker's record, validated: a worker under another interpreter may run another version of us."""
    if reply.get("op") != "result":
        return failed_record(case, backend, hello, "error", f"worker replied {str(reply)[:300]}")
    try:
        return CaseRecord.from_dict(reply["record"])
    except (KeyError, ValidationError) as exc:
        return failed_record(case, backend, hello, "error", f"worker sent a malformed record: {str(exc)[:300]}")


Callback = Callable[[CaseRecord], None]


class Orchestrator:
    def __init__(self, options: RunOptions, timing: TimingConfig):
        self.options = options
        self.timing = timing
        self.hellos: dict[str, dict[str, Any]] = {}

    def _start(self, backend: BackendName) -> tuple[WorkerProcess | None, dict[str, Any]]:
        python = self.options.pythons.get(backend.framework, sys.executable)
        env = {**worker_env(backend, self.options.allow_tf32, self.options.threads), **self.options.extra_env}
        try:
            worker = WorkerProcess(python, env)
        except OSError as exc:
            return None, {"available": False, "reason": f"cannot start {python}: {exc}"}
        hello = {
            "op": "hello",
            "framework": backend.framework,
            "adapter": adapter_reference(backend.framework),
            "device": backend.device,
            "allow_tf32": self.options.allow_tf32,
            "unsafe_no_sync": self.options.unsafe_no_sync,
            "threads": self.options.threads,
            "cpu_affinity": self.options.cpu_affinity,
            "monitor": {"energy": self.options.energy, "cooldown_s": self.options.cooldown_s},
        }
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
                if worker is None:
                    on_record(failed_record(case, backend, hello, "unavailable", hello.get("reason", "backend unavailable")))
                    continue
                started = time.time()
                message = {"op": "run", "case_id": case.case_id(backend.name), "case": case.to_dict(), "timing": self.timing.to_dict()}
                try:
                    record = _from_worker(case, backend, hello, worker.request(message, self.options.case_timeout_s))
                except (WorkerTimeout, WorkerDied) as exc:
                    worker.kill()
                    if isinstance(exc, WorkerTimeout):
                        record = failed_record(
                            case, backend, hello, "timeout", f"case exceeded the {self.options.case_timeout_s:g} s timeout; worker killed"
                        )
                    else:
                        record = failed_record(case, backend, hello, "oom" if exc.oom else "crashed", exc.reason)
                    record.elapsed_s = time.time() - started
                    worker = None
                    if index + 1 < len(cases):
                        worker, hello = self._start(backend)  # a fresh worker takes the rest
                on_record(record)
        except BaseException:  # Ctrl-C or any error: a worker that may hang gets no polite exit
            if worker is not None:
                worker.kill()
            raise
        finally:
            if worker is not None:
                worker.close()
