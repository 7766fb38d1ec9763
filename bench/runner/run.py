"""Run a suite: plan cases per backend, drive the workers, write the run file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
) -> RunOutcome:
    """Run every planned case; Ctrl-C finalises the run as ``interrupted`` and keeps finished cases."""
    work = plan(suite, backends, workloads)
    header = new_header(
        suite.describe(),
        suite.timing.to_dict(),
        allow_tf32=options.allow_tf32,
        backends=[b.name for b, _ in work],
        options={"case_timeout_s": options.case_timeout_s, "pythons": options.pythons, "unsafe_no_sync": options.unsafe_no_sync},
    )
    environment = header["environment"]
    writer = RunWriter(out_dir, header)
    orchestrator = Orchestrator(options, suite.timing)

    def record(case: CaseRecord) -> None:
        writer.append(case)
        if on_record:
            on_record(case)

    status = "complete"
    with first_interrupt_only():  # Ctrl-C once: the worker is killed and the run file written, uninterrupted
        try:
            for backend, cases in work:
                if on_backend:
                    on_backend(backend.name, len(cases))
                orchestrator.run_backend(backend, cases, record)
                environment["frameworks"][backend.name] = orchestrator.hellos.get(backend.name, {})
                writer.update_header(environment=environment)
        except KeyboardInterrupt:
            status = "interrupted"
        path = writer.finalize(status)
    return RunOutcome(path, writer.run_id, status, writer.cases)
