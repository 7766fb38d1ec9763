"""--energy and the thermal monitor in a real case: the window covers the timed blocks only, joules per call
follow, a clock that falls during the blocks flags the case ``throttled``; the CLI records why energy is
unavailable here."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.monitor import CaseMonitor, MonitorConfig
from bench.runner.execute import run_case
from bench.thermal import ThermalState
from bench.timing import TimingConfig
from bench.workloads.base import Case
from tests.fakes import QueueAdapter
from tests.fakes_energy import FakeMeter, FakeSensor
from tests.test_execute import good_build, install

CONFIG = TimingConfig(warmup_s=0.0, min_warmup_calls=1, block_s=0.004, min_samples=6, max_samples=6, budget_s=0.0, canary=False)


class HostClock:
    """The simulated device clock (tests/fakes.FakeClock) as the monitor's monotonic clock."""

    def __init__(self, fake):
        self.fake = fake

    def __call__(self) -> float:
        return self.fake.host

    def sleep(self, seconds: float) -> None:
        self.fake.host += seconds


def state(mhz: float) -> ThermalState:
    return ThermalState("nvml", clock_mhz=mhz, max_clock_mhz=1980.0, temperature_c=60.0, idle=False)


def test_energy_window_covers_the_timed_blocks_and_gives_joules_per_call(monkeypatch, clock):
    install(monkeypatch, good_build)
    host = HostClock(clock)
    monitor = CaseMonitor(
        "cuda",
        config=MonitorConfig(energy=True),
        meter=FakeMeter(host, {"gpu": 300.0}),
        sensor=FakeSensor(host, lambda t: state(1980)),
        threaded=False,
        clock=host,
        sleep=host.sleep,
    )
    monitor.start_run()
    record = run_case(QueueAdapter(clock), Case.make("scale", {"n": 10000}, "fp32", "eager"), CONFIG, monitor=monitor)
    assert record.status == "ok" and record.flags == []
    energy = record.energy
    calls = record.timing.calls_per_sample * record.timing.n_samples
    assert energy["calls"] == calls and energy["total_j"] == pytest.approx(300.0 * energy["seconds"])
    # The window is the sample blocks: its seconds are their sum (wall), not the warm-up or the drain check.
    assert energy["seconds"] == pytest.approx(sum(record.timing.wall_samples or record.timing.samples) * record.timing.calls_per_sample, rel=0.01)
    assert energy["j_per_call"] == pytest.approx(300.0 * record.timing.mean, rel=0.01)
    assert record.thermal["notes"] == [] and record.cooldown is None


def test_a_clock_that_falls_during_the_blocks_flags_the_case_throttled(monkeypatch, clock):
    install(monkeypatch, good_build)
    host = HostClock(clock)
    reads = []

    def falling(t):
        reads.append(t)
        return state(1980 if len(reads) <= 2 else 1500)  # full clock at the run start and when the window opens, then lower

    monitor = CaseMonitor("cuda", meter=None, sensor=FakeSensor(host, falling), threaded=False, clock=host, sleep=host.sleep)
    monitor.start_run()
    record = run_case(QueueAdapter(clock), Case.make("scale", {"n": 10000}, "fp32", "eager"), CONFIG, monitor=monitor)
    assert record.status == "ok" and "throttled" in record.flags
    assert any(note.startswith("throttled") for note in record.notes)
    assert record.energy is None  # energy was not asked for


def test_cli_energy_on_this_machine_records_why_it_is_unavailable(tmp_path, capsys):
    suite = tmp_path / "e.toml"
    suite.write_text(
        'name = "e"\nbackends = ["torch:cpu"]\n[timing]\nwarmup_s = 0.0\nmin_warmup_calls = 1\nblock_s = 0.002\n'
        "min_samples = 3\nmax_samples = 4\nbudget_s = 0.0\ncanary = false\n"
        '[[workload]]\nname = "matmul"\ndtypes = ["fp32"]\ngrid = { mnk = [[32, 32, 32]] }\n',
        encoding="utf-8",
    )
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--energy"]) == 0
    (path,) = (tmp_path / "out").glob("*.json")
    (case,) = json.loads(path.read_text())["cases"]
    assert case["status"] == "ok"
    assert case["energy"]["unavailable"]  # this machine has no readable energy counter: the reason is recorded
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "bad"), "--cooldown", "-1"]) == 2
