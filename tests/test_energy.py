"""Energy meters and the energy window, on fakes and temporary sysfs-like folders; no wall-clock assertions."""

from __future__ import annotations

import importlib.util
import io
import plistlib
import threading
import types
from pathlib import Path

import pytest

from bench.energy import Counter, EnergyReading, EnergyWindow, NullMeter, cross_check, select_meter
from bench.energy.apple import IOReportMeter, PowermetricsMeter, plist_records
from bench.energy.nvml import NvmlDevice, NvmlMeter
from bench.energy.rapl import RaplMeter
from bench.energy.sampler import BackgroundSampler
from tests.fakes_energy import FakeGpu, FakeMeter, SimClock, fake_pynvml, importer

RANGE_UJ = 262143328850  # a real package max_energy_range_uj


# -- counter arithmetic --------------------------------------------------------------------------


def test_counter_unwraps_at_the_modulus():
    c = Counter(modulus=1000)
    assert [c.update(v) for v in (900, 950, 20, 100)] == [0, 50, 120, 200]
    assert (c.wraps, c.resets) == (1, 0)


def test_counter_without_modulus_treats_a_decrease_as_a_reset():
    c = Counter(modulus=None)
    assert [c.update(v) for v in (500, 600, 100, 150)] == [0, 100, 100, 150]
    assert (c.wraps, c.resets) == (0, 1)


def test_reading_total_sums_only_the_named_domains():
    r0 = EnergyReading({"package-0": 10.0, "package-0/core": 6.0, "psys": 30.0}, ("package-0",))
    r1 = EnergyReading({"package-0": 14.0, "package-0/core": 9.0, "psys": 40.0}, ("package-0",))
    assert r1.total == 14.0
    assert r1.minus(r0) == {"package-0": 4.0, "package-0/core": 3.0, "psys": 10.0}


# -- RAPL ------------------------------------------------------------------------------------------


def _zone(root: Path, name: str, label: str, energy: int, max_range: int = RANGE_UJ) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "name").write_text(label + "\n")
    (path / "energy_uj").write_text(f"{energy}\n")
    (path / "max_energy_range_uj").write_text(f"{max_range}\n")
    return path


@pytest.fixture
def powercap(tmp_path):
    root = tmp_path / "powercap"
    _zone(root, "intel-rapl:0", "package-0", RANGE_UJ - 328850)
    _zone(root, "intel-rapl:0:0", "core", 5_000_000)
    _zone(root, "intel-rapl:0:1", "dram", 7_000_000)
    _zone(root, "intel-rapl:1", "psys", 9_000_000)
    _zone(root, "intel-rapl-mmio:0", "package-0", 1)  # a second view of package-0: must be left out
    (root / "intel-rapl").mkdir()  # the control type folder, no counters
    return root


def test_rapl_window_unwraps_a_package_counter_and_sums_package_and_dram(powercap, tmp_path):
    clock = SimClock(100.0)
    meter = RaplMeter(powercap, cpuinfo=tmp_path / "none")
    assert meter.available() is None
    window = EnergyWindow(meter, clock=clock, threaded=False).start()
    clock.t += 2.0
    (powercap / "intel-rapl:0" / "energy_uj").write_text("1000000\n")  # wrapped: 328850 + 1000000 uJ later
    (powercap / "intel-rapl:0:0" / "energy_uj").write_text("5500000\n")
    (powercap / "intel-rapl:0:1" / "energy_uj").write_text("7200000\n")
    (powercap / "intel-rapl:1" / "energy_uj").write_text("12000000\n")
    result = window.stop()
    assert result.domains_j == pytest.approx({"package-0": 1.32885, "package-0/core": 0.5, "package-0/dram": 0.2, "psys": 3.0}, rel=1e-12)
    assert result.total_j == pytest.approx(1.52885, rel=1e-12)  # package + dram; core is inside the package, psys outside the sum
    assert result.seconds == 2.0
    assert result.mean_w == pytest.approx(1.52885 / 2.0, rel=1e-12)
    assert meter.zones[0].counter.wraps == 1


def test_rapl_permission_denied_names_the_file(powercap, tmp_path, monkeypatch):
    real = Path.read_text

    def read_text(self, *args, **kwargs):
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    reason = RaplMeter(powercap, cpuinfo=tmp_path / "none").available()
    assert reason == (
        f"RAPL not readable: {powercap / 'intel-rapl:0' / 'energy_uj'} permission denied "
        "(energy_uj is root-only since Linux 5.10, CVE-2020-8694: run as root or grant read access)"
    )


def test_rapl_absent_says_virtual_machine_when_the_cpu_flags_say_so(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu vme hypervisor lm\n")
    missing = tmp_path / "no-powercap"
    assert RaplMeter(missing, cpuinfo).available() == (
        f"no RAPL domains: {missing} does not exist (virtual machine: the CPU flags include 'hypervisor')"
    )
    cpuinfo.write_text("flags\t\t: fpu vme lm\n")
    missing.mkdir()
    assert RaplMeter(missing, cpuinfo).available() == f"no RAPL domains: no intel-rapl zones in {missing}"


def test_select_meter_cpu_reason_is_true_on_this_machine():
    meter = select_meter("cpu")
    reason = meter.available()
    if not Path("/sys/class/powercap").exists():
        assert reason.startswith("no RAPL domains: /sys/class/powercap does not exist")
    elif reason is not None:
        assert reason.startswith(("no RAPL domains", "RAPL not readable"))


# -- NVML -------------------------------------------------------------------------------------------


def nvml_meter(gpu: FakeGpu, index: int = 0, environ=None, **kwargs) -> NvmlMeter:
    return select_meter("cuda", index, system="Linux", environ=environ or {}, import_module=importer({"pynvml": fake_pynvml(gpu, **kwargs)}))


def test_nvml_window_converts_millijoules_and_cross_checks_sampled_milliwatts():
    gpu = FakeGpu(energy_mj=5_000_000, power_mw=700_000)
    meter = nvml_meter(gpu)
    assert isinstance(meter, NvmlMeter) and meter.available() is None
    clock = SimClock()
    window = EnergyWindow(meter, clock=clock, threaded=False).start()
    for _ in range(10):
        clock.t += 1.0
        gpu.energy_mj += 700_000  # 700 J per second
        window.sampler.sample_once()
    result = window.stop()
    assert result.domains_j == {"gpu": 7000.0}
    assert (result.total_j, result.seconds, result.mean_w) == (7000.0, 10.0, 700.0)
    check = result.cross_checks()["power_w"]
    assert check["samples"] == 12  # start, ten ticks, stop
    assert (check["mean_sampled_w"], check["energy_from_power_j"], check["ratio"], check["verdict"]) == (700.0, 7000.0, 1.0, "agree")


def test_cross_check_outside_ten_percent_disagrees_and_too_few_samples_say_so():
    assert cross_check(7000.0, 10.0, [600.0] * 5)["verdict"] == "disagree"  # 7000 / 6000 = 1.167
    assert cross_check(6500.0, 10.0, [700.0] * 5)["verdict"] == "agree"  # 0.929
    assert cross_check(7000.0, 10.0, [700.0] * 4)["verdict"] == "too few power samples (4 < 5)"


def test_nvml_instant_power_from_field_values_and_its_absence():
    gpu = FakeGpu(instant_mw=651_250)
    meter = nvml_meter(gpu)
    assert meter.available() is None
    assert meter.instant_power_w() == 651.25
    gpu.instant_mw = None
    assert meter.instant_power_w() is None
    gpu.instant_mw = 1
    assert meter.instant_power_w() is None  # not asked again once unsupported


def test_nvml_reasons_when_unavailable():
    assert select_meter("cuda", system="Linux", import_module=importer({})).available() == "pynvml not installed: pip install siliconbench[energy]"
    assert nvml_meter(FakeGpu(init_error=12)).available() == "NVML unavailable: NVML Shared Library Not Found"
    gpu = FakeGpu(energy_error=3)
    assert nvml_meter(gpu).available() == (
        "NVML total-energy counter unreadable: Not Supported (nvmlDeviceGetTotalEnergyConsumption needs a Volta or newer GPU)"
    )
    assert nvml_meter(FakeGpu(), index=2).available() == "NVML has no device for CUDA device 2: Not Found"


def test_nvml_device_follows_cuda_visible_devices_and_uuids():
    gpu = FakeGpu()
    assert nvml_meter(gpu, index=1, environ={"CUDA_VISIBLE_DEVICES": "3,1"}).available() is None
    assert gpu.handles[-1] == ("index", 1)
    assert nvml_meter(gpu, index=0, environ={"CUDA_VISIBLE_DEVICES": "3,1"}).available() is None
    assert gpu.handles[-1] == ("index", 3)
    assert nvml_meter(gpu, index=1, environ={"CUDA_VISIBLE_DEVICES": "0"}).available() == "CUDA device 1 is not among CUDA_VISIBLE_DEVICES='0'"
    uuid = "GPU-8f0a3c55-1d2e-4b6a-9c1f-0123456789ab"
    assert nvml_meter(gpu, environ={"CUDA_VISIBLE_DEVICES": uuid}).available() is None
    assert gpu.handles[-1] == ("uuid", uuid)
    assert (
        nvml_meter(gpu, environ={"CUDA_VISIBLE_DEVICES": "GPU-8f0a"}).available()
        == "cannot map CUDA_VISIBLE_DEVICES entry 'GPU-8f0a' to an NVML device: pass the device's full UUID"
    )
    device = NvmlDevice(0, "8f0a3c55-1d2e-4b6a-9c1f-0123456789ab", environ={}, import_module=importer({"pynvml": fake_pynvml(gpu)}))
    assert device.open() is None and gpu.handles[-1] == ("uuid", uuid)
    device.close()
    assert (gpu.inits, gpu.shutdowns) == (6, 3)  # the two failed opens and the closed device shut NVML down again


def test_fake_pynvml_matches_the_real_module_names_and_values():
    if importlib.util.find_spec("pynvml") is None:
        pytest.skip("nvidia-ml-py is not installed (pip install siliconbench[energy])")
    import pynvml as real

    fake = fake_pynvml(FakeGpu())
    names = [n for n in dir(fake) if n.startswith(("nvml", "NVML_"))]
    assert names and all(hasattr(real, n) for n in names), [n for n in names if not hasattr(real, n)]
    constants = [n for n in names if not callable(getattr(fake, n))]
    assert {n: getattr(fake, n) for n in constants} == {n: getattr(real, n) for n in constants}


# -- Apple -----------------------------------------------------------------------------------------


def test_ioreport_meter_reads_millijoule_fields_and_skips_missing_channels():
    state = {"cpu_total_mj": 10_000, "gpu_mj": 50_000, "ane_mj": None, "dram_mj": 2_000, "gpu_sram_mj": 99}

    class Monitor:
        def get_cumulative_energy(self):
            return types.SimpleNamespace(**state)

    module = types.SimpleNamespace(AppleEnergyMonitor=Monitor)
    meter = select_meter("mps", system="Darwin", machine="arm64", import_module=importer({"zeus_apple_silicon": module}))
    assert isinstance(meter, IOReportMeter) and meter.domains == ("cpu", "gpu", "dram")
    clock = SimClock()
    window = EnergyWindow(meter, clock=clock, threaded=False).start()
    state.update(cpu_total_mj=12_500, gpu_mj=80_000, dram_mj=2_750)
    clock.t += 1.5
    result = window.stop()
    assert result.domains_j == {"cpu": 2.5, "gpu": 30.0, "dram": 0.75}
    assert result.total_j == 33.25 and result.mean_w == pytest.approx(33.25 / 1.5)


def test_apple_reasons_when_neither_source_is_usable():
    meter = select_meter(
        "gpu", system="Darwin", machine="arm64", import_module=importer({}), which=lambda name: "/usr/bin/powermetrics", euid=lambda: 501
    )
    assert meter.available() == "zeus-apple-silicon not installed: pip install siliconbench[energy]; powermetrics needs root (sudo)"
    assert isinstance(
        select_meter("gpu", system="Darwin", machine="arm64", import_module=importer({}), which=lambda name: "/usr/bin/powermetrics", euid=lambda: 0),
        PowermetricsMeter,
    )
    assert select_meter("cpu", system="Darwin", machine="x86_64").available().startswith("no energy source for cpu on an Intel Mac")


def _sample(cpu: int, gpu: int, ane: int) -> bytes:
    return plistlib.dumps(
        {
            "elapsed_ns": 100_000_000,
            "thermal_pressure": "Nominal",
            "processor": {"cpu_energy": cpu, "gpu_energy": gpu, "ane_energy": ane, "combined_power": 1.0},
        }
    )


class _Chunked(io.BytesIO):
    def read1(self, n=-1):
        return super().read1(min(n, 37))  # split plists across reads


def test_powermetrics_stream_is_split_on_nul_and_summed_in_millijoules():
    stream = _Chunked(_sample(89, 31, 0) + b"\0" + b"<plist>broken" + b"\0" + _sample(11, 69, 5) + b"\0")
    records = list(plist_records(stream, chunk=64))
    assert [r["processor"]["gpu_energy"] for r in records] == [31, 69]
    meter = PowermetricsMeter(which=lambda n: "/usr/bin/powermetrics", euid=lambda: 0)
    for r in records:
        meter.add(r)
    meter.process = object()  # started: read() must not launch powermetrics here
    reading = meter.read()
    assert reading.joules == {"cpu": 0.1, "gpu": 0.1, "ane": 0.005} and meter.samples == 2


# -- window and sampler ------------------------------------------------------------------------------


def test_record_gives_joules_per_call_and_per_unit():
    clock = SimClock()
    meter = FakeMeter(clock, {"gpu": 700.0})
    window = EnergyWindow(meter, clock=clock, threaded=False).start()
    clock.t += 10.0
    record = window.stop().to_record(calls=1000, units_per_call=8, unit="image")
    assert (record["total_j"], record["j_per_call"], record["j_per_unit"], record["unit"]) == (7000.0, 7.0, 0.875, "image")
    assert record["mean_w"] == 700.0 and record["source"] == "fake"
    bare = EnergyWindow(meter, clock=clock, threaded=False).start().stop().to_record()
    assert (bare["j_per_call"], bare["j_per_unit"], bare["unit"]) == (None, None, None)


def test_window_refuses_an_unavailable_meter():
    with pytest.raises(RuntimeError, match="energy unavailable: nothing here"):
        EnergyWindow(NullMeter("nothing here"))


def test_sampler_drops_a_failing_probe_and_keeps_the_others():
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        raise OSError("gone")

    sampler = BackgroundSampler({"bad": flaky, "power_w": lambda: 5.0}, clock=SimClock())
    sampler.start(threaded=False)
    sampler.sample_once()
    assert sampler.values("power_w") == [5.0, 5.0] and calls["n"] == 1
    assert sampler.errors == {"bad": "OSError: gone"}


def test_threaded_sampler_samples_in_the_background():
    seen = threading.Event()
    count = {"n": 0}

    def probe():
        count["n"] += 1
        if count["n"] >= 3:  # start() takes one; the thread takes the others
            seen.set()
        return 1.0

    sampler = BackgroundSampler({"power_w": probe}, interval_s=0.001)
    sampler.start()
    assert seen.wait(10.0)
    rows = sampler.stop()
    assert len(rows) >= 4 and all(v == {"power_w": 1.0} for _, v in rows)
