"""Thermal sensors, throttling notes and the bounded cool-down, on fakes and a simulated clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.thermal import NullSensor, ThermalState, cooldown, judge, judge_trace, select_sensor
from bench.thermal.linux import LinuxCpuSensor
from bench.thermal.macos import MacThermalSensor, parse_speed_limit
from bench.thermal.nvml import NvmlSensor, decode_reasons, reason_table
from tests.fakes_energy import FakeGpu, FakeSensor, SimClock, fake_pynvml, importer


def gpu(clock=1980.0, reasons=(), temperature=None, **kw) -> ThermalState:
    return ThermalState(
        "nvml", clock_mhz=clock, max_clock_mhz=1980.0, temperature_c=temperature, reasons=tuple(reasons), idle="gpu_idle" in reasons, **kw
    )


# -- NVML ------------------------------------------------------------------------------------------


def test_reason_bits_decode_to_names_from_the_module():
    table = reason_table(fake_pynvml(FakeGpu()))
    assert table == {
        0x1: "gpu_idle",
        0x2: "applications_clocks_setting",
        0x4: "sw_power_cap",
        0x8: "hw_slowdown",
        0x10: "sync_boost",
        0x20: "sw_thermal_slowdown",
        0x40: "hw_thermal_slowdown",
        0x80: "hw_power_brake_slowdown",
        0x100: "display_clock_setting",
        0x200: "board_limit",
        0x400: "reliability",
    }
    assert decode_reasons(0x24, table) == ("sw_power_cap", "sw_thermal_slowdown")
    assert decode_reasons(0x801, table) == ("gpu_idle", "bit_0x800")
    assert decode_reasons(0, table) == ()


@pytest.mark.parametrize("event_reasons", [True, False])
def test_nvml_sensor_reads_clocks_temperature_power_and_reasons(event_reasons):
    fake = FakeGpu(sm_clock=1755, max_sm_clock=1980, temperature=84, power_mw=699_500, reasons=0x20)
    sensor = select_sensor("cuda", 0, system="Linux", environ={}, import_module=importer({"pynvml": fake_pynvml(fake, event_reasons=event_reasons)}))
    assert isinstance(sensor, NvmlSensor)
    state = sensor.read()
    assert state == ThermalState(
        "nvml", clock_mhz=1755, max_clock_mhz=1980, temperature_c=84, slowdown_c=87, power_w=699.5, reasons=("sw_thermal_slowdown",), idle=False
    )
    fake.reasons, fake.sm_clock = 0x1, 345
    assert sensor.read().idle is True


def test_nvml_sensor_without_pynvml_says_why():
    state = select_sensor("cuda", system="Linux", import_module=importer({})).read()
    assert state == ThermalState("none", unavailable="pynvml not installed: pip install siliconbench[energy]")


# -- notes -----------------------------------------------------------------------------------------


def test_clock_fall_with_a_reason_is_a_throttled_note():
    assert judge(gpu(1980), gpu(1755, ["sw_thermal_slowdown"])) == ["throttled: SM clock fell from 1980 to 1755 MHz (reasons: sw_thermal_slowdown)"]
    assert judge(gpu(1980), gpu(1755)) == ["throttled: SM clock fell from 1980 to 1755 MHz"]


def test_wander_within_tolerance_idle_and_rises_are_not_throttling():
    assert judge(gpu(1980), gpu(1890)) == []  # -4.5 %
    assert judge(gpu(1980), gpu(345, ["gpu_idle"])) == []  # an idle GPU parks its clock
    assert judge(gpu(345, ["gpu_idle"]), gpu(1980)) == []
    assert judge(gpu(1980, ["applications_clocks_setting"]), gpu(1980, ["applications_clocks_setting"])) == []


def test_an_active_limit_without_a_fall_is_still_noted():
    assert judge(gpu(1755, ["sw_power_cap"]), gpu(1755, ["sw_power_cap"])) == [
        "clock-limited: clocks limited by sw_power_cap (SM clock 1755 of max 1980 MHz)"
    ]


def test_temperature_at_the_slowdown_threshold_is_noted():
    assert judge(gpu(1980, temperature=70.0, slowdown_c=87.0), gpu(1980, temperature=87.0, slowdown_c=87.0)) == [
        "throttled: temperature 87 °C reached the slowdown threshold 87 °C"
    ]


def test_thermal_pressure_rise_and_speed_limit_fall():
    nominal, fair = ThermalState("macos", pressure="nominal"), ThermalState("macos", pressure="fair")
    assert judge(nominal, fair) == ["thermal pressure rose from nominal to fair"]
    assert judge(fair, nominal) == []
    assert judge(ThermalState("macos", pressure="nominal"), ThermalState("macos", pressure="nominal", speed_limit_pct=35)) == [
        "throttled: CPU speed limit fell from 100 to 35 %"
    ]


def test_nothing_is_judged_when_a_reading_is_unavailable():
    assert judge(ThermalState("none", unavailable="x"), gpu(100)) == []


def test_trace_notes_burst_then_sustained_and_limits_between_the_ends():
    trace = [gpu(345, ["gpu_idle"]), gpu(1980), gpu(1830, ["sw_power_cap"]), gpu(1710, ["sw_power_cap"]), gpu(1965)]
    assert judge_trace(trace) == [
        "clock-limited during the window: sw_power_cap in 2 of 4 readings",
        "throttled during the window: SM clock dipped to 1710 MHz",
    ]
    assert judge_trace([gpu(1980), gpu(1800, ["sw_power_cap"]), gpu(1700, ["sw_power_cap"])]) == [
        "throttled: SM clock fell from 1980 to 1700 MHz (reasons: sw_power_cap)",
    ]
    assert judge_trace([gpu(1980), gpu(1975), gpu(1980)]) == []


def test_state_round_trips_through_its_record():
    state = gpu(1755, ["sw_thermal_slowdown"], temperature=84.0)
    assert ThermalState.from_dict(state.to_dict()) == state
    assert state.to_dict() == {
        "source": "nvml",
        "clock_mhz": 1755,
        "max_clock_mhz": 1980.0,
        "temperature_c": 84.0,
        "reasons": ["sw_thermal_slowdown"],
        "idle": False,
    }


# -- macOS and Linux sensors ----------------------------------------------------------------------------

PMSET_LIMITED = """Note: No thermal warning level has been recorded
Note: No performance warning level has been recorded
2020-11-24 13:10:40 +0100 CPU Power notify
\tCPU_Scheduler_Limit \t= 100
\tCPU_Available_CPUs \t= 8
\tCPU_Speed_Limit \t= 35
"""


def test_macos_sensor_maps_thermal_state_and_parses_the_speed_limit():
    assert parse_speed_limit(PMSET_LIMITED) == 35
    assert parse_speed_limit("Note: No thermal warning level has been recorded\n") is None
    assert MacThermalSensor(lambda: 1, lambda: PMSET_LIMITED).read() == ThermalState("macos", pressure="fair", speed_limit_pct=35)

    def broken():
        raise OSError("no Foundation")

    def no_pmset():
        raise FileNotFoundError("pmset")

    assert (
        MacThermalSensor(broken, no_pmset).read().unavailable == "NSProcessInfo.thermalState unreadable: no Foundation; pmset -g therm failed: pmset"
    )
    assert MacThermalSensor(lambda: 7, lambda: "").read().unavailable == "NSProcessInfo.thermalState returned 7, not 0-3"


def test_linux_sensor_reads_cpufreq_khz_and_package_millidegrees(tmp_path):
    for n, cur in enumerate((2_400_000, 2_000_000)):
        d = tmp_path / "cpu" / f"cpu{n}" / "cpufreq"
        d.mkdir(parents=True)
        (d / "scaling_cur_freq").write_text(f"{cur}\n")
        (d / "cpuinfo_max_freq").write_text("3500000\n")
    for n, (kind, milli) in enumerate((("acpitz", 99000), ("x86_pkg_temp", 65000))):
        z = tmp_path / "thermal" / f"thermal_zone{n}"
        z.mkdir(parents=True)
        (z / "type").write_text(kind + "\n")
        (z / "temp").write_text(f"{milli}\n")
    state = LinuxCpuSensor(tmp_path / "cpu", tmp_path / "thermal", tmp_path / "none").read()
    assert state == ThermalState("linux-cpufreq", clock_mhz=2200.0, max_clock_mhz=3500.0, temperature_c=65.0)


def test_linux_sensor_reason_is_true_on_this_machine():
    state = select_sensor("cpu", system="Linux").read()
    if not Path("/sys/devices/system/cpu/cpu0/cpufreq").exists() and not any(Path("/sys/class/thermal").glob("thermal_zone*")):
        assert state.unavailable.startswith("no CPU frequency or temperature in sysfs: /sys/devices/system/cpu/cpu0/cpufreq does not exist")
    else:
        assert state.unavailable is None


# -- cooldown --------------------------------------------------------------------------------------------


def test_cooldown_returns_once_the_temperature_is_back_near_baseline():
    clock = SimClock()
    sensor = FakeSensor(clock, lambda t: gpu(345, ["gpu_idle"], temperature=80.0 - 2.0 * t))
    result = cooldown(sensor, gpu(345, ["gpu_idle"], temperature=40.0), max_wait_s=60, poll_s=1.0, sleep=clock.sleep, clock=clock)
    assert (result.recovered, result.waited_s, result.polls) == (True, 18.0, 19)  # 80 - 2t <= 45 first at t = 18
    assert result.reason == "recovered: temperature 44 °C <= 45 °C, no clock-limiting reason"
    assert clock.sleeps == [1.0] * 18


def test_cooldown_is_bounded_and_says_what_was_still_hot():
    clock = SimClock()
    sensor = FakeSensor(clock, lambda t: gpu(345, ["gpu_idle", "sw_thermal_slowdown"], temperature=80.0))
    result = cooldown(sensor, gpu(345, ["gpu_idle"], temperature=40.0), max_wait_s=10, poll_s=3.0, sleep=clock.sleep, clock=clock)
    assert (result.recovered, result.waited_s, result.polls) == (False, 10.0, 5)
    assert clock.sleeps == [3.0, 3.0, 3.0, 1.0]
    assert result.reason == "gave up after 10 s: temperature 80 °C > 45 °C, clocks limited by sw_thermal_slowdown"


def test_cooldown_waits_for_thermal_pressure_to_fall_back_to_nominal():
    clock = SimClock()
    levels = ["serious", "fair", "fair", "nominal"]
    sensor = FakeSensor(clock, lambda t: ThermalState("macos", pressure=levels[min(int(t // 5), 3)]))
    result = cooldown(sensor, ThermalState("macos", pressure="nominal"), max_wait_s=120, poll_s=5.0, sleep=clock.sleep, clock=clock)
    assert (result.recovered, result.waited_s, result.reason) == (True, 15.0, "recovered: thermal pressure nominal")


def test_cooldown_with_nothing_to_observe_returns_at_once():
    clock = SimClock()
    result = cooldown(NullSensor("no sensor here"), ThermalState("none"), max_wait_s=30, sleep=clock.sleep, clock=clock)
    assert (result.recovered, result.waited_s, result.reason, clock.sleeps) == (False, 0.0, "nothing to wait for: no sensor here", [])
    bare = FakeSensor(clock, lambda t: ThermalState("linux-cpufreq", clock_mhz=2000.0))
    assert (
        cooldown(bare, ThermalState("linux-cpufreq", clock_mhz=3000.0), 30, sleep=clock.sleep, clock=clock).reason
        == "nothing to wait for: linux-cpufreq reports no temperature, pressure, limit or clock reason"
    )


def test_cooldown_for_a_busy_gpu_waits_for_its_clock():
    clock = SimClock()
    sensor = FakeSensor(clock, lambda t: gpu(1700.0 + 100.0 * t))
    result = cooldown(sensor, gpu(1980.0), max_wait_s=30, poll_s=1.0, sleep=clock.sleep, clock=clock)
    assert (result.recovered, result.waited_s) == (True, 2.0)  # 1900 >= 1980 * 0.95 = 1881
    assert result.reason == "recovered: no clock-limiting reason, SM clock 1900 of 1980 MHz"


def test_thermal_reasons_are_throttling_and_a_power_cap_alone_is_a_clock_limit():
    from bench.thermal.state import judge

    def s(reasons, mhz=1755):
        return ThermalState("nvml", clock_mhz=mhz, max_clock_mhz=1980.0, temperature_c=70.0, reasons=tuple(reasons), idle=False)

    assert judge(s(["sw_power_cap"]), s(["sw_power_cap"]))[0].startswith("clock-limited:")
    assert judge(s([]), s(["sw_thermal_slowdown"]))[0].startswith("throttled:")
    assert judge(s(["sw_power_cap"], 1980), s(["sw_power_cap"], 1500))[0].startswith("throttled:")  # a fall is throttling
