"""pytest plugin: the ``siliconbench_timer`` fixture times your own callable with siliconbench's
synchronised timer (``bench.timing.measure``: time-based warm-up, blocks sized to a target,
device synchronisation, every sample kept) on any backend::

    def test_my_matmul(siliconbench_timer):
        adapter = siliconbench_timer.adapter("torch:cpu")     # put inputs on the backend's device
        x = adapter.from_numpy(np.ones((512, 512), np.float32))
        result = siliconbench_timer(lambda: x @ x, backend="torch:cpu")
        print(result.median, result.iqr)                       # seconds per call

A backend this machine cannot run (no device, framework missing) skips the test with the reason.
``--siliconbench-save DIR`` writes every timing of the session as a run file, so two sessions can
be gated with ``siliconbench compare``. Registered via the ``pytest11`` entry point in
pyproject.toml (or ``-p bench.pytest_plugin``). The test process is not a clean worker: the
frameworks see this process's environment variables and whatever the test imported before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import pytest

from bench.timing import TimingConfig

if TYPE_CHECKING:
    from bench.results.records import CaseRecord, Timing

WORKLOAD = "pytest"


@dataclass
class TimerResult:
    """One measurement: ``timing`` is the record ``bench.timing.measure`` returns (seconds per call)."""

    name: str
    backend: str
    timing: Timing

    @property
    def median(self) -> float:
        return self.timing.median

    @property
    def iqr(self) -> float:
        return self.timing.iqr

    @property
    def samples(self) -> list[float]:
        return self.timing.samples


class SiliconbenchTimer:
    """The fixture's value: call it with a zero-argument callable and a backend name."""

    def __init__(self, nodeid: str, adapters: dict[tuple[str, bool], Any], results: list[dict[str, Any]]):
        self.nodeid = nodeid
        self._adapters = adapters
        self._results = results

    def adapter(self, backend: str = "torch:cpu", allow_tf32: bool = False):
        """The backend's adapter (shared by the session); skips the test when it cannot run here."""
        from bench.backends import BackendUnavailable, adapter_class, parse_backend

        key = (backend, allow_tf32)
        if key not in self._adapters:
            try:
                name = parse_backend(backend)
                adapter = adapter_class(name.framework)(name.device, allow_tf32=allow_tf32)
                adapter.apply_precision_policy()
            except ValueError as exc:
                raise pytest.UsageError(f"siliconbench_timer: {exc}") from None
            except BackendUnavailable as exc:
                self._adapters[key] = exc
            else:
                self._adapters[key] = adapter
        found = self._adapters[key]
        if isinstance(found, Exception):
            pytest.skip(f"{backend} unavailable: {found}")
        return found

    def __call__(
        self,
        fn: Callable[[], Any],
        backend: str = "torch:cpu",
        *,
        name: str = "default",
        timing: TimingConfig | None = None,
        allow_tf32: bool = False,
        **timing_options: Any,
    ) -> TimerResult:
        """Time ``fn`` on ``backend``; ``timing_options`` are TimingConfig fields (warmup_s, budget_s, ...)."""
        from bench.timing import measure

        known = {f.name for f in fields(TimingConfig)}
        unknown = set(timing_options) - known
        if unknown:
            raise TypeError(f"siliconbench_timer: unknown timing option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        config = timing or TimingConfig(**{"canary": False, **timing_options})
        adapter = self.adapter(backend, allow_tf32)
        record = measure(adapter, fn, config)
        result = TimerResult(name, adapter.name, record)
        self._results.append(
            {"nodeid": self.nodeid, "name": name, "backend": backend, "resolved": adapter.name, "timing": record, "timing_config": config.to_dict()}
        )
        return result


def case_record(result: dict[str, Any]) -> CaseRecord:
    """A run-file case for one timing: workload ``pytest``, params naming the test and the timing."""
    from bench.results.records import BackendRef, CaseRecord
    from bench.workloads.base import Case

    case = Case.make(WORKLOAD, {"test": result["nodeid"], "name": result["name"]}, "native", "eager")
    framework, _, device = result["resolved"].partition(":")
    backend = BackendRef(name=result["backend"], resolved=result["resolved"], framework=framework, device=device)
    return CaseRecord(case_id=case.case_id(result["backend"]), **case.to_dict(), backend=backend, status="ok", timing=result["timing"])


def pytest_addoption(parser) -> None:
    group = parser.getgroup("siliconbench")
    group.addoption(
        "--siliconbench-save", metavar="DIR", default=None, help="write the session's siliconbench_timer measurements as a run file in DIR"
    )


def pytest_configure(config) -> None:
    config._siliconbench_results = []
    config._siliconbench_adapters = {}


@pytest.fixture
def siliconbench_timer(request) -> SiliconbenchTimer:
    config = request.config
    return SiliconbenchTimer(request.node.nodeid, config._siliconbench_adapters, config._siliconbench_results)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from bench.summary import format_seconds

    results = getattr(config, "_siliconbench_results", [])
    if not results:
        return
    terminalreporter.write_sep("-", "siliconbench timings (median, IQR, samples)")
    for r in results:
        t = r["timing"]
        terminalreporter.write_line(
            f"{r['nodeid']} [{r['name']}] {r['resolved']}: {format_seconds(t.median)} ± {format_seconds(t.iqr)} IQR, n={t.n_samples}"
        )
    folder = config.getoption("--siliconbench-save")
    if folder:
        path = save_run(results, folder)
        terminalreporter.write_line(f"siliconbench run file: {path}")


def save_run(results: list[dict[str, Any]], folder: str):
    from bench.results.store import RunWriter, new_header

    suite = {"name": "pytest", "path": None, "description": "siliconbench_timer measurements", "n_cases": len(results)}
    header = new_header(suite, results[0]["timing_config"], backends=sorted({r["backend"] for r in results}))
    writer = RunWriter(folder, header)
    for result in results:
        writer.append(case_record(result))
    return writer.finalize("complete")
