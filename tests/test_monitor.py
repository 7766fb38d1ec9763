"""CaseMonitor: the fields a case gets from --energy and --cooldown, on a fake meter and sensor with a simulated clock."""

from __future__ import annotations

from bench.energy import NullMeter
from bench.monitor import CaseMonitor, MonitorConfig, flag_notes
from bench.thermal import ThermalState
from tests.fakes_energy import FakeMeter, FakeSensor, SimClock


def busy(clock_mhz: float, reasons=(), temperature=60.0) -> ThermalState:
    return ThermalState("nvml", clock_mhz=clock_mhz, max_clock_mhz=1980.0, temperature_c=temperature, reasons=tuple(reasons), idle=False)


def test_case_fields_hold_energy_per_call_and_the_throttled_note_from_inside_the_window():
    clock = SimClock()
    # Full clock at the ends, a power-capped dip in the middle: only the readings during the window see it.
    sensor = FakeSensor(clock, lambda t: busy(1755, ["sw_power_cap"]) if 0.5 <= t <= 1.5 else busy(1980))
    monitor = CaseMonitor(
        "cuda",
        config=MonitorConfig(energy=True),
        meter=FakeMeter(clock, {"gpu": 600.0}),
        sensor=sensor,
        threaded=False,
        clock=clock,
        sleep=clock.sleep,
    )
    assert monitor.before_case(8, "image") is None  # no --cooldown
    monitor.open()
    for _ in range(4):
        clock.t += 0.5
        monitor.sampler.sample_once()
    fields = monitor.close(calls=400)
    assert monitor.fields is fields
    energy = fields["energy"]
    got = tuple(energy[k] for k in ("total_j", "seconds", "mean_w", "j_per_call", "j_per_unit"))
    assert got == (1200.0, 2.0, 600.0, 3.0, 0.375)
    assert energy["cross_check"]["power_w"]["verdict"] == "agree"
    thermal = fields["thermal"]
    assert thermal["notes"] == [
        "clock-limited during the window: sw_power_cap in 3 of 6 readings",
        "throttled during the window: SM clock dipped to 1755 MHz",
    ]
    assert thermal["during"] == {
        "readings": 6,
        "min_clock_mhz": 1755,
        "max_clock_mhz": 1980,
        "max_temperature_c": 60.0,
        "reasons_seen": ["sw_power_cap"],
    }


def test_energy_unavailable_is_recorded_with_its_reason_and_thermals_still_run():
    clock = SimClock()
    monitor = CaseMonitor(
        "cpu",
        config=MonitorConfig(energy=True),
        meter=NullMeter("no RAPL domains: test"),
        sensor=FakeSensor(clock, lambda t: busy(1980)),
        threaded=False,
        clock=clock,
    )
    monitor.open()
    fields = monitor.close(calls=10)
    assert fields["energy"] == {"unavailable": "no RAPL domains: test"}
    assert fields["thermal"]["notes"] == [] and fields["thermal"]["during"]["readings"] == 2


def test_without_energy_no_energy_field():
    clock = SimClock()
    monitor = CaseMonitor("cpu", sensor=FakeSensor(clock, lambda t: busy(1980)), threaded=False, clock=clock)
    monitor.open()
    assert "energy" not in monitor.close(calls=10)


def test_before_case_cools_down_to_the_run_baseline_only_when_asked():
    clock = SimClock()
    sensor = FakeSensor(clock, lambda t: ThermalState("macos", pressure="nominal" if t >= 20 or t == 0 else "serious"))
    monitor = CaseMonitor("mps", config=MonitorConfig(cooldown_s=60, poll_s=5), sensor=sensor, threaded=False, clock=clock, sleep=clock.sleep)
    assert monitor.start_run().pressure == "nominal"
    clock.t = 1.0  # a case later, the machine is hot
    result = monitor.before_case()
    assert (result["recovered"], result["waited_s"], result["reason"]) == (True, 20.0, "recovered: thermal pressure nominal")
    idle = CaseMonitor("mps", sensor=sensor, threaded=False, clock=clock, sleep=clock.sleep)
    idle.start_run()
    assert idle.before_case() is None


def test_flag_notes_start_with_the_flag_name():
    fields = {"thermal": {"notes": ["thermal pressure rose from nominal to fair", "throttled: SM clock fell from 1980 to 1755 MHz"]}}
    assert flag_notes(fields) == ["throttled: thermal pressure rose from nominal to fair", "throttled: SM clock fell from 1980 to 1755 MHz"]
    assert flag_notes({"thermal": {"notes": []}}) == [] and flag_notes(None) == []
