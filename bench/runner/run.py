"""Run a suite: plan cases per backend, drive the workers, write the run file."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import threads as thread_policy
from bench.backends import BackendName
from bench.results.records import CaseRecord
from bench.results.store import RunWriter, new_header
from bench.runner.interrupts import first_interrupt_only
from bench.runner.orchestrator import Orchestrator, RunOptions
from bench.suite import Suite
from bench.workloads.base import Case


@dataclass
class RunOutcome:
    path: Path
    run_id: str
    status: str  # complete | interrupted
    cases: list[CaseRecord]


def plan(suite: Suite, backends: list[BackendName] | None, workloads: list[str] | None) -> list[tuple[BackendName, list[Case]]]:
    chosen = backends or suite.backends
    cases = [c for c in suite.cases if not workloads or c.workload in workloads]
    return [(b, cases) for b in chosen if cases]


def execute(
    suite: Suite,
    out_dir: str | Path,
    options: RunOptions,
    backends: list[BackendName] | None = None,
    workloads: list[str] | None = None,
    on_record: Callable[[CaseRecord], None] | None = None,
    on_backend: Callable[[str, int], None] | None = None,
    rounds: int | None = None,
) -> RunOutcome:
    """Run every planned case; Ctrl-C finalises the run as ``interrupted`` and keeps finished cases.

    With ``rounds`` > 1 (default: the suite's) every backend's cases run again in a fresh worker process
    per round, the rounds interleaved and each round's case order rotated by one, so a case's rounds see
    different processes, neighbours and time slots; the sync canary runs in the first round only.
    """
    rounds = rounds or suite.rounds
    work = plan(suite, backends, workloads)
    header = new_header(
        suite.describe(),
        suite.timing.to_dict(),
        allow_tf32=options.allow_tf32,
        backends=[b.name for b, _ in work],
        options={
            "case_timeout_s": options.case_timeout_s,
            "pythons": options.pythons,
            "unsafe_no_sync": options.unsafe_no_sync,
            "rounds": rounds,
            "thread_policy": thread_policy.describe(options.threads, options.cpu_affinity),
        },
    )
    environment = header["environment"]
    writer = RunWriter(out_dir, header)
    orchestrator = Orchestrator(options, suite.timing)

    status = "complete"
    with first_interrupt_only():  # Ctrl-C once: the worker is killed and the run file written, uninterrupted
        try:
            for index in range(rounds):
                orchestrator.timing = suite.timing if index == 0 else dataclasses.replace(suite.timing, canary=False)

                def record(case: CaseRecord, index: int = index) -> None:
                    if rounds > 1:
                        case.round = index
                    writer.append(case)
                    if on_record:
                        on_record(case)

                for backend, cases in work:
                    if on_backend and index == 0:
                        on_backend(backend.name, len(cases) * rounds)
                    shift = index % len(cases)
                    orchestrator.run_backend(backend, cases[shift:] + cases[:shift], record)
                    environment["frameworks"][backend.name] = orchestrator.hellos.get(backend.name, {})
                    writer.update_header(environment=environment)
        except KeyboardInterrupt:
            status = "interrupted"
        path = writer.finalize(status)
    return RunOutcome(path, writer.run_id, status, writer.cases)
