"""The machine's load around a case: arithmetic on fake /proc files, and the ``contended`` flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import machine_load
from bench.machine_load import LoadReader, Snapshot, Ticks, between, parse_stat
from bench.results.records import CaseRecord
from bench.results.schema import CONTENDED, FLAGS
from bench.runner.execute import run_case
from tests.fakes import QueueAdapter
from tests.test_execute import CASE, CONFIG, good_build, install

HZ = 100


def stat_text(per_cpu: dict[int, tuple[int, ...]]) -> str:
    """A /proc/stat with an aggregate line and one line per CPU: user nice system idle iowait irq softirq steal guest guest_nice."""
    columns = [sum(values[i] for values in per_cpu.values()) for i in range(10)]
    lines = ["cpu  " + " ".join(map(str, columns))]
    lines += [f"cpu{cpu} " + " ".join(map(str, values)) for cpu, values in per_cpu.items()]
    lines += ["intr 12345 0 0", "ctxt 999", "btime 1700000000", "processes 42"]
    return "\n".join(lines) + "\n"


class FakeProc:
    """A /proc folder with stat and loadavg, a clock and this process's CPU time, all set by the test."""

    def __init__(self, root: Path, cpus: list[int] | None = None):
        self.root, self.wall, self.own = root, 0.0, 0.0
        self.reader = LoadReader(proc=root, clock=lambda: self.wall, own_cpu=lambda: self.own, cpus=lambda: cpus, hz=HZ)

    def set(self, per_cpu: dict[int, tuple[int, ...]], loadavg: str = "0.50 0.40 0.30 1/200 4242", wall: float = 0.0, own: float = 0.0) -> None:
        (self.root / "stat").write_text(stat_text(per_cpu))
        (self.root / "loadavg").write_text(loadavg + "\n")
        self.wall, self.own = wall, own


def row(user=0, system=0, idle=0, iowait=0, irq=0, softirq=0, steal=0, guest=0) -> tuple[int, ...]:
    return (user, 0, system, idle, iowait, irq, softirq, steal, guest, 0)


def test_parse_stat_sums_the_chosen_cpus_and_leaves_guest_time_out():
    text = stat_text({0: row(user=10, system=5, idle=100, iowait=3, irq=1, softirq=2, steal=7, guest=4), 1: row(user=50, idle=20)})
    assert parse_stat(text, [0]) == Ticks(busy=18, idle=103, steal=7)
    assert parse_stat(text, [1]) == Ticks(busy=50, idle=20, steal=0)
    assert parse_stat(text) == Ticks(busy=68, idle=123, steal=7)  # the per-CPU lines, not the aggregate twice
    assert parse_stat(text, [5]) is None


def test_other_processes_steal_and_idle_from_fake_proc_files(tmp_path):
    proc = FakeProc(tmp_path, cpus=[0, 1])
    proc.set({0: row(user=1000, idle=1000), 1: row(user=1000, idle=1000)}, wall=10.0, own=1.0)
    before = proc.reader.snapshot()
    # Over 2 s on 2 CPUs (400 ticks): 300 busy, 80 idle, 20 steal; the worker itself used 2 CPU-seconds.
    proc.set({0: row(user=1150, idle=1040, steal=10), 1: row(user=1150, idle=1040, steal=10)}, "1.90 1.20 0.80 3/210 4243", wall=12.0, own=3.0)
    load = between(before, proc.reader.snapshot(), HZ)
    assert load.source == "/proc/stat"
    assert load.window_s == pytest.approx(2.0)
    assert load.cores == 2
    assert load.own_cores == pytest.approx(1.0)
    assert load.other_cpu_fraction == pytest.approx(1.0 / 4.0)  # (3.0 busy - 2.0 own) of 4.0 CPU-seconds
    assert load.steal_fraction == pytest.approx(0.2 / 4.0)
    assert load.idle_fraction == pytest.approx(0.8 / 4.0)
    assert load.loadavg == [1.9, 1.2, 0.8]
    assert load.contended  # others and steal took 0.6 CPU on average; 0.4 CPU idle


def test_quiet_machine_is_not_contended(tmp_path):
    proc = FakeProc(tmp_path, cpus=[0, 1])
    proc.set({0: row(user=500, idle=500), 1: row(user=500, idle=500)}, wall=0.0, own=0.0)
    before = proc.reader.snapshot()
    # The worker used both CPUs for 1 s; one tick on each went to someone else.
    proc.set({0: row(user=600, idle=500), 1: row(user=600, idle=500)}, wall=1.0, own=1.98)
    load = between(before, proc.reader.snapshot(), HZ)
    assert load.other_cpu_fraction == pytest.approx(0.01)
    assert not load.contended


def test_others_busy_while_a_cpu_stays_idle_is_not_contended(tmp_path):
    proc = FakeProc(tmp_path, cpus=[0, 1, 2, 3])
    idle_row = row(idle=1000)
    proc.set({c: idle_row for c in range(4)}, wall=0.0, own=0.0)
    before = proc.reader.snapshot()
    # 1 s: the worker on CPU 0, another process on CPU 1, CPUs 2 and 3 idle: nobody waited for a CPU.
    proc.set({0: row(user=100, idle=1000), 1: row(user=100, idle=1000), 2: row(idle=1100), 3: row(idle=1100)}, wall=1.0, own=1.0)
    load = between(before, proc.reader.snapshot(), HZ)
    assert load.other_cpu_fraction == pytest.approx(0.25)
    assert not load.contended


def test_only_the_cpus_the_worker_may_use_count(tmp_path):
    proc = FakeProc(tmp_path, cpus=[0])  # pinned to CPU 0: a busy CPU 1 is not its concern
    proc.set({0: row(idle=1000), 1: row(idle=1000)}, wall=0.0, own=0.0)
    before = proc.reader.snapshot()
    proc.set({0: row(user=100, idle=1000), 1: row(user=100, idle=1000)}, wall=1.0, own=1.0)
    load = between(before, proc.reader.snapshot(), HZ)
    assert load.cores == 1
    assert load.other_cpu_fraction == pytest.approx(0.0)
    assert not load.contended


def test_without_proc_stat_the_load_average_decides(tmp_path):
    proc = FakeProc(tmp_path, cpus=[0, 1])
    (tmp_path / "loadavg").write_text("1.50 1.00 1.00 2/100 1\n")
    quiet = between(proc.reader.snapshot(), proc.reader.snapshot(), HZ)
    assert quiet.source == "loadavg" and quiet.other_cpu_fraction is None and not quiet.contended
    (tmp_path / "loadavg").write_text("2.50 1.00 1.00 2/100 1\n")
    busy = between(proc.reader.snapshot(), proc.reader.snapshot(), HZ)
    assert busy.contended and busy.loadavg == [2.5, 1.0, 1.0]
    assert machine_load.note(busy).startswith(f"{CONTENDED}: the 1-minute load average exceeded the 2 CPUs")


class ScriptedReader(LoadReader):
    """Hands out the given snapshots in order (before, after)."""

    def __init__(self, snapshots: list[Snapshot]):
        super().__init__(hz=HZ)
        self.snapshots = list(snapshots)

    def snapshot(self) -> Snapshot:
        return self.snapshots.pop(0)


def snapshots(other_ticks: int) -> list[Snapshot]:
    """1 s on 2 CPUs; the worker used 1 CPU-second, others ``other_ticks`` ticks, the rest idle."""
    before = Snapshot(wall_s=0.0, own_cpu_s=0.0, cores=2, ticks=Ticks(0, 0, 0), loadavg=(1.0, 1.0, 1.0))
    after = Snapshot(wall_s=1.0, own_cpu_s=1.0, cores=2, ticks=Ticks(100 + other_ticks, 100 - other_ticks, 0), loadavg=(1.5, 1.0, 1.0))
    return [before, after]


@pytest.mark.parametrize(("other_ticks", "contended"), [(95, True), (2, False)])
def test_run_case_records_the_load_and_flags_a_busy_machine(monkeypatch, clock, other_ticks, contended):
    install(monkeypatch, good_build)
    monkeypatch.setattr(machine_load, "default_reader", ScriptedReader(snapshots(other_ticks)))
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.status == "ok", record.reason
    assert record.load is not None and record.load.other_cpu_fraction == pytest.approx(other_ticks / 200)
    assert (CONTENDED in record.flags) is contended
    assert any(n.startswith(f"{CONTENDED}: other processes took 0.95 of the 2 CPUs") for n in record.notes) is contended
    again = CaseRecord.from_dict(record.to_dict())  # the field survives the results file
    assert again.load == record.load and again.flags == record.flags


def test_contended_is_a_known_flag():
    assert CONTENDED in FLAGS


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux /proc")
def test_the_real_reader_reads_this_machine():
    snap = LoadReader().snapshot()
    assert snap.ticks is not None and snap.ticks.total > 0 and snap.loadavg is not None
    assert snap.cores == len(__import__("os").sched_getaffinity(0))


def test_in_process_tests_see_a_quiet_machine(monkeypatch, clock):
    install(monkeypatch, good_build)
    record = run_case(QueueAdapter(clock), CASE, CONFIG)
    assert record.load is not None and record.load.other_cpu_fraction == 0.0 and CONTENDED not in record.flags
