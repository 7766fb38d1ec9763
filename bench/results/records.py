"""Typed records: a run, its cases, their timing and correctness (docs/results-schema.md).

The worker builds them, the orchestrator stores them, and the loader, report, compare and interop
read them back through attributes, in the spirit of ``torch.utils.benchmark``'s ``Measurement``.
They are pydantic models, so loading validates every field: a results file with a string where a
number belongs fails with the file and the field's path (``bench.results.load``). ``to_dict`` and
``from_dict`` are the JSON-shaped views; unknown fields (a newer writer, a plug-in) are kept.
``docs/results-schema.json`` is generated from these models (``python -m bench.results.schema``).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Status = Literal["ok", "mismatch", "unavailable", "unsupported", "error", "crashed", "timeout", "oom"]


class Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-shaped dict; fields that were never set and are None are left out."""
        return self.model_dump(by_alias=True, exclude_none=True)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        return cls.model_validate(data)


class BackendRef(Record):
    name: str  # as asked: torch:gpu
    framework: str
    device: str
    resolved: str | None = None  # as run: torch:cuda
    device_name: str | None = None


class Correctness(Record):
    rel_error: float  # ||out - ref|| / ||ref|| over every output
    tolerance: float
    passed: bool
    per_output: dict[str, float] | None = None
    # Fingerprint of a passing output: a sparse random projection / ||ref|| (bench/workloads/fingerprint.py)
    projection: list[float] | None = None


class Drain(Record):
    """Work still queued after the synchronise returned (the minimum of two tries)."""

    block_s: float
    queued_s: float
    limit_s: float
    escaped: bool
    tries: int | None = None  # blocks checked: 2, more while each showed queued work
    blocks_s: list[float] | None = None  # wall seconds of each try's block (calls right after the samples)


class Stability(Record):
    """Whether a timing's samples were one steady state and how precise its median is (bench/stability.py)."""

    verdict: Literal["stable", "noisy", "unstable"]
    halves_ratio: float | None = None  # median of the second half / median of the first half
    trend_p: float | None = None  # Mann-Whitney U test between the halves
    ci_rel_width: float | None = None  # (ci95_high - ci95_low) / median
    reasons: list[str] = Field(default_factory=list)


class Warmup(Record):
    """How warm-up ended: after the time and count minimums, probe blocks until calls stop getting faster."""

    calls: int
    seconds: float
    converged: bool
    stop: str  # "stationary", or why it stopped without converging ("time cap ...")
    probes: list[float] = Field(default_factory=list)  # seconds per call of each probe block


class BetweenRounds(Record):
    """Spread of a case's round medians when it was measured in several fresh processes (``run --rounds``)."""

    rounds: int
    medians: list[float]
    sigma_log: float  # SD of the log round medians: the between-process noise
    ci95_low: float  # t interval of the geometric mean of the round medians
    ci95_high: float


class Canary(Record):
    """The same case with twice the work: its time must grow (docs/design.md, rule 5)."""

    params: dict[str, Any]
    median: float
    min: float
    ratio: float  # min(doubled) / min(case)
    expected_ratio: float
    min_ratio: float
    passed: bool
    overhead_bound: bool = False


class Timing(Record):
    """Seconds per call: one sample per timed block of ``calls_per_sample`` calls, all kept."""

    timer: str = "unspecified"  # cuda_event, mps_event, wall
    samples: list[float] = Field(min_length=1)
    calls_per_sample: int = 1
    median: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    mean: float
    std: float
    ci95_low: float
    ci95_high: float
    n_samples: int
    first_call_s: float | None = None  # includes compilation
    warmup_calls: int | None = None
    warmup_s: float | None = None
    drain: Drain | None = None
    sync_canary: Canary | None = None
    wall_samples: list[float] | None = None  # the wall-clock cross-check where a device timer is primary
    wall_median: float | None = None
    warmup: Warmup | None = None
    stability: Stability | None = None
    resampled: list[Stability] | None = None  # verdicts of earlier attempts when an unstable case was measured again
    between_rounds: BetweenRounds | None = None

    @model_validator(mode="before")
    @classmethod
    def _summary_from_samples(cls, data: Any) -> Any:
        """A timing written with samples but without some statistics gets them computed from the samples."""
        if not isinstance(data, dict) or not isinstance(data.get("samples"), list) or not data["samples"]:
            return data
        missing = [k for k in _SUMMARY if k not in data]
        if missing:
            from bench.stats import summarize

            try:
                summary = summarize([float(x) for x in data["samples"]])
            except (TypeError, ValueError):
                return data  # field validation names the bad sample
            data = {**{k: summary[k] for k in missing}, **data}
        return data


_SUMMARY = ("median", "q1", "q3", "iqr", "min", "max", "mean", "std", "ci95_low", "ci95_high", "n_samples")


class Memory(Record):
    peak_bytes: int
    source: str


class Load(Record):
    """How busy the machine was while the case was measured (bench/machine_load.py, docs/measurement.md)."""

    window_s: float  # the measured stretch: warm-up and timed blocks
    cores: int  # CPUs the worker may run on
    own_cores: float | None = None  # CPUs the worker itself used, on average
    other_cpu_fraction: float | None = None  # share of those CPUs' time taken by other processes
    steal_fraction: float | None = None  # share taken by the hypervisor (virtual machines)
    idle_fraction: float | None = None
    loadavg: list[float] | None = None  # 1, 5 and 15-minute load averages at the end
    source: str | None = None  # "/proc/stat", or "loadavg" where the OS tells nothing more
    contended: bool = False


class BaselineRecord(Record):
    """The case's unoptimised variant, timed right after it (``Built.baseline``)."""

    status: Status
    info: dict[str, Any] = Field(default_factory=dict)
    correctness: Correctness | None = None
    timing: Timing | None = None
    reason: str | None = None


class Round(Record):
    """One of a case's rounds (``run --rounds N``): its measurement in one fresh worker process."""

    round: int
    status: Status
    reason: str | None = None
    correctness: Correctness | None = None
    timing: Timing | None = None
    memory: Memory | None = None
    flags: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    elapsed_s: float | None = None


class CaseRecord(Record):
    """One case on one backend: what ran, whether it was right, how long it took.

    Measured in several rounds (``run --rounds N``), the record holds each in ``rounds`` and the fields
    above them summarise all: status, the pooled timing with ``timing.between_rounds``, the flags of any
    round (bench/results/rounds.py).
    """

    case_id: str
    workload: str
    params: dict[str, Any]
    dtype: str
    mode: str
    backend: BackendRef
    status: Status
    reason: str | None = None
    info: dict[str, Any] | None = None
    correctness: Correctness | None = None
    timing: Timing | None = None
    memory: Memory | None = None
    flops: float | None = None
    bytes_moved: float | None = Field(default=None, alias="bytes")
    gflops: float | None = None
    gbps: float | None = None
    metrics: dict[str, float | None] | None = None
    baseline: BaselineRecord | None = None
    flags: list[str] = Field(default_factory=list)  # machine-readable caveats (bench.results.schema.FLAGS)
    notes: list[str] = Field(default_factory=list)  # the same caveats for a person, with the figures
    elapsed_s: float | None = None
    load: Load | None = None  # the machine's load while the case was measured
    profile: dict[str, Any] | None = None
    ab: dict[str, Any] | None = None  # rounds: phase, round, arm, position (bench/compare/rounds.py)
    energy: dict[str, Any] | None = None  # --energy: source, joules per call/unit, mean watts (docs/energy.md)
    thermal: dict[str, Any] | None = None  # thermal/clock state before, during and after the timed blocks
    cooldown: dict[str, Any] | None = None  # --cooldown: how long the case waited for the machine, and why it stopped
    round: int | None = None  # set on the record of one round while the run goes; merged away at the end
    rounds: list[Round] | None = None

    @model_validator(mode="after")
    def _ok_has_timing(self) -> Self:
        if self.status == "ok" and self.timing is None:
            raise ValueError("an ok case needs a timing with samples")
        return self

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def median(self) -> float | None:
        return self.timing.median if self.timing else None

    @property
    def samples(self) -> list[float]:
        return list(self.timing.samples) if self.timing else []


class Hello(Record):
    """A worker's answer at start-up: whether the backend runs here, and with what."""

    available: bool | None = None  # None: not recorded
    reason: str | None = None
    framework: str | None = None
    requested_device: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    precision: dict[str, Any] = Field(default_factory=dict)
    threads: dict[str, Any] = Field(default_factory=dict)  # thread policy in effect: policy, pools, env, cpu_affinity
    device: dict[str, Any] = Field(default_factory=dict)  # backend, device, device_name, extra
    python: str | None = None
    executable: str | None = None
    pid: int | None = None

    def versions_text(self) -> str:
        """``torch 2.13.0+cpu`` (every package the adapter reported), or empty."""
        return ", ".join(f"{k} {v}" for k, v in sorted(self.versions.items()))


class Environment(Record):
    machine_id: str | None = None
    hostname: str | None = None
    machine: dict[str, Any] = Field(default_factory=dict)
    os: dict[str, Any] = Field(default_factory=dict)
    python: dict[str, Any] = Field(default_factory=dict)
    git: dict[str, Any] = Field(default_factory=dict)
    precision_policy: dict[str, Any] = Field(default_factory=dict)
    power: dict[str, Any] = Field(default_factory=dict)
    env_vars: dict[str, str] = Field(default_factory=dict)
    frameworks: dict[str, Hello] = Field(default_factory=dict)  # backend name -> its worker's hello


class SuiteInfo(Record):
    name: str | None = None
    path: str | None = None
    description: str | None = None
    n_cases: int | None = None


class RunHeader(Record):
    """Everything a run document holds but its cases; the partial file's first line."""

    schema_version: int
    run_id: str
    started_at: str
    status: str = "running"
    finished_at: str | None = None
    suite: SuiteInfo = Field(default_factory=SuiteInfo)
    environment: Environment = Field(default_factory=Environment)
    timing_config: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    backends_requested: list[str] = Field(default_factory=list)


class Run(RunHeader):
    """A run document: the header and its cases. ``path`` is where it was read from (not stored)."""

    cases: list[CaseRecord] = Field(default_factory=list)
    path: str | None = Field(default=None, exclude=True)

    def hello(self, case: CaseRecord) -> Hello | None:
        return self.environment.frameworks.get(case.backend.name)

    def framework_version(self, case: CaseRecord) -> str | None:
        """``torch 2.13.0+cpu`` for the case's backend, from the run's worker hello."""
        hello = self.hello(case)
        return (hello.versions_text() or None) if hello else None
