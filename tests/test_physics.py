"""Rule 11: a rate above what the hardware can do is an error, whatever the canary said.

The bound's arithmetic is checked against fake /proc and /sys trees and a fake sysctl; the verdict
against an implementation that returns a precomputed output, on the simulated asynchronous device
and on torch:cpu.
"""

from types import SimpleNamespace

import pytest

from bench import workloads
from bench.hardware import bounds
from bench.hardware.bounds import Bound, accelerator_bound, cpu_bound, upper_bound
from bench.hardware.cpu import HostCPU, read_linux, read_macos
from bench.runner.execute import run_case
from bench.runner.physics import FASTER_THAN_PEAK
from bench.timing import TimingConfig
from bench.workloads.base import Built, Case
from tests.conftest import cpu_adapter
from tests.fakes import QueueAdapter
from tests.test_execute import Scale

CONFIG = TimingConfig(warmup_s=0.0, min_warmup_calls=1, block_s=0.004, min_samples=5, max_samples=6, budget_s=0.0)

# -- the bound's arithmetic ------------------------------------------------------------------------

CPUINFO_X86 = """\
processor\t: {i}
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
cpu MHz\t\t: {mhz}
flags\t\t: fpu sse sse2 avx avx2 fma f16c avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile

"""


def fake_tree(tmp_path, cpuinfo: str, max_khz: list[int] | None = None):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text(cpuinfo)
    for i, khz in enumerate(max_khz or []):
        freq = tmp_path / "sys/devices/system/cpu" / f"cpu{i}" / "cpufreq"
        freq.mkdir(parents=True)
        (freq / "cpuinfo_max_freq").write_text(f"{khz}\n")
    return tmp_path


def test_x86_bound_from_cpufreq_and_flags(tmp_path):
    root = fake_tree(tmp_path, "".join(CPUINFO_X86.format(i=i, mhz=2000.0) for i in range(4)), [3_800_000, 3_800_000, 3_000_000, 3_800_000])
    cpu = read_linux(root, arch="x86_64")
    assert (cpu.logical_cores, cpu.clock_ghz, cpu.clock_source) == (4, 3.8, "cpufreq cpuinfo_max_freq")
    ghz = 3.8 * 2.0  # turbo headroom
    fp32 = cpu_bound(cpu, "fp32")
    assert fp32.gflops == pytest.approx(4 * ghz * 64 * 1.1)  # avx512f: 64 fp32 FLOP/cycle/core, 10 % margin
    assert fp32.gbps == pytest.approx(4 * ghz * 192 * 1.1)  # L1: 3 x 64 B per cycle per core
    assert cpu_bound(cpu, "bf16").gflops == pytest.approx(4 * ghz * 1024 * 1.1)  # AMX-BF16
    assert cpu_bound(cpu, "fp16").gflops == pytest.approx(4 * ghz * 128 * 1.1)  # avx512_fp16, no amx_fp16
    assert cpu_bound(cpu, "fp32", allow_tf32=True).gflops == pytest.approx(4 * ghz * 1024 * 1.1)
    assert "cpufreq" in fp32.source and "avx512f" in fp32.source


def test_vm_without_cpufreq_uses_cpu_mhz_with_headroom(tmp_path):
    info = "".join(
        f"processor\t: {i}\nmodel name\t: AMD EPYC\ncpu MHz\t\t: {mhz}\nflags\t\t: avx avx2 fma f16c\n\n" for i, mhz in enumerate((2445.4, 2400.0))
    )
    cpu = read_linux(fake_tree(tmp_path, info), arch="x86_64")
    assert (cpu.logical_cores, cpu.clock_ghz) == (2, pytest.approx(2.4454))
    for dtype in ("fp32", "fp16", "bf16"):  # no native half-precision arithmetic: the fp32 rate
        assert cpu_bound(cpu, dtype).gflops == pytest.approx(2 * 2.4454 * 2 * 32 * 1.1)


def test_brand_string_clock_and_plain_sse(tmp_path):
    info = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) CPU E5-2650 @ 2.00GHz\nflags\t\t: sse sse2 avx\n\n"
    cpu = read_linux(fake_tree(tmp_path, info), arch="x86_64")
    assert (cpu.clock_ghz, cpu.clock_source) == (2.0, "the brand string")
    assert cpu_bound(cpu, "fp32").gflops == pytest.approx(1 * 4.0 * 16 * 1.1)


def test_arm_linux_features(tmp_path):
    info = "".join(f"processor\t: {i}\nBogoMIPS\t: 2000.00\nFeatures\t: fp asimd asimdhp bf16 i8mm\n\n" for i in range(8))
    cpu = read_linux(fake_tree(tmp_path, info, [3_000_000] * 8), arch="aarch64")
    assert cpu_bound(cpu, "fp32").gflops == pytest.approx(8 * 6.0 * 32 * 1.1)
    assert cpu_bound(cpu, "fp16").gflops == pytest.approx(8 * 6.0 * 64 * 1.1)
    assert cpu_bound(cpu, "bf16").gflops == pytest.approx(8 * 6.0 * 128 * 1.1)


def test_apple_silicon_counts_its_matrix_units():
    answers = {"machdep.cpu.brand_string": "Apple M2 Max", "hw.logicalcpu": "12", "hw.optional.arm.FEAT_BF16": "1"}
    cpu = read_macos(answers.get)
    assert (cpu.logical_cores, cpu.clock_ghz, cpu.apple_silicon) == (12, None, True)
    ghz = 3.5 * 1.1  # table of P-core maxima, rounding headroom
    units = 3  # one matrix unit per 4 cores at most
    assert cpu_bound(cpu, "fp32").gflops == pytest.approx((12 * 32 + units * 1024) * ghz * 1.1)
    assert cpu_bound(cpu, "fp16").gflops == pytest.approx((12 * 32 + units * 4096) * ghz * 1.1)
    assert cpu_bound(cpu, "fp32").gbps == pytest.approx((12 * 192 + units * 256) * ghz * 1.1)
    # A real M2 Max: ~1.5 TFLOP/s of fp32 from one core's AMX; the bound stays above what all units can do.
    assert cpu_bound(cpu, "fp32").gflops > 3 * 1500


def test_intel_mac_reads_its_clock():
    answers = {"machdep.cpu.brand_string": "Intel(R) Core(TM) i9-9980HK CPU @ 2.40GHz", "hw.logicalcpu": "16", "hw.cpufrequency_max": "2400000000"}
    answers["machdep.cpu.leaf7_features"] = "AVX2 BMI2"
    answers["machdep.cpu.features"] = "FPU FMA AVX1.0"
    cpu = read_macos(answers.get)
    assert cpu_bound(cpu, "fp32").gflops == pytest.approx(16 * 4.8 * 32 * 1.1)


def test_accelerator_bounds_come_from_the_table_with_a_margin():
    h100 = accelerator_bound("NVIDIA H100 80GB HBM3", "bf16", False)
    assert h100.gflops == pytest.approx(989.5e3 * 1.25)
    assert h100.gbps == pytest.approx(67e3 * 1.25)  # on-chip: fp32 FLOP/s read as bytes/s, above HBM's 3350 GB/s
    assert "H100" in h100.source and "datasheet" in h100.source
    assert accelerator_bound("NVIDIA H100 80GB HBM3", "fp32", True).gflops == pytest.approx(494.5e3 * 1.25)  # TF32
    # tensorflow-metal names the GPU "METAL": the machine's chip is used; Apple figures are estimates (x1.5).
    m3 = upper_bound("METAL", "metal", "bf16", cpu=HostCPU("Apple M3 Max", "arm64", 16, None, ""))
    assert m3.gflops == pytest.approx(14.3e3 * 1.5) and "M3 Max" in m3.source


def test_unknown_accelerator_gets_a_generous_sound_bound():
    bound = accelerator_bound("NVIDIA B200", "bf16", False)
    assert bound.gflops == pytest.approx(4 * 989.5e3)  # 4x the fastest bf16 row
    assert "no hardware-table row" in bound.source
    m5 = accelerator_bound("Apple M5", "fp32", False)  # a row without a compute figure
    assert m5.gflops == pytest.approx(4 * 82.6e3) and m5.gbps > 153.0 * 100


def test_violations_name_the_figures():
    bound = Bound(100.0, 50.0, "test")
    assert bound.violations(99.0, 49.0) == []
    assert bound.violations(150.0, None) == ["achieved 150 GFLOP/s > bound 100 GFLOP/s"]
    assert Bound(None, None, "none").violations(1e12, 1e12) == []


# -- the verdict in run_case ------------------------------------------------------------------------

FAKE_HOST = HostCPU("Fake CPU", "x86_64", 2, 2.5, "test", frozenset({"avx2", "fma"}))  # bound 2*5*32*1.1 = 352 GFLOP/s
FLOP_PER_ELEMENT = 1e6  # as if each output element needed a long reduction


class Heavy(Scale):
    """y = 2x, declared to cost ``FLOP_PER_ELEMENT`` per element (so a call that does it takes time)."""

    name = "heavy"

    def flops(self, params):
        return FLOP_PER_ELEMENT * params["n"]


def install(monkeypatch, build):
    monkeypatch.setattr(workloads, "get", lambda name: Heavy())
    monkeypatch.setattr(workloads, "implementation", lambda name, fw: SimpleNamespace(build=build))
    monkeypatch.setattr(bounds, "host_cpu", lambda: FAKE_HOST)


def queued_build(seconds_per_element: float):
    """An implementation whose device time is ``seconds_per_element`` x n; its output is computed at build time."""

    def build(adapter, params, dtype, mode, inputs):
        result = 2.0 * inputs["x"]

        def fn():
            adapter.enqueue(params["n"] * seconds_per_element)
            return result

        return Built(fn)

    return build


HEAVY = Case.make("heavy", {"n": 100_000}, "fp32", "eager")


def test_a_call_doing_the_work_stays_ok(monkeypatch, clock):
    install(monkeypatch, queued_build(FLOP_PER_ELEMENT / 100e9))  # 100 GFLOP/s: under the 352 bound
    record = run_case(QueueAdapter(clock), HEAVY, CONFIG)
    assert record.status == "ok", record.reason
    assert record.gflops == pytest.approx(100.0, rel=0.01)


def test_precomputed_output_with_a_passing_canary_is_an_error(monkeypatch, clock):
    # The call only copies its cached output (1 ns per element): the time still doubles with n, so the
    # canary passes and the correctness check passes, but 1e6 FLOP per ns is 1e6 GFLOP/s.
    install(monkeypatch, queued_build(1e-9))
    record = run_case(QueueAdapter(clock), HEAVY, CONFIG)
    assert record.timing.sync_canary.passed and record.correctness.passed
    assert record.status == "error"
    assert record.reason.startswith(FASTER_THAN_PEAK)
    assert "GFLOP/s > bound 352 GFLOP/s" in record.reason and "Fake CPU" in record.reason
    assert record.timing is not None and record.gflops > 1e5  # kept for the post-mortem


def test_precomputed_output_that_is_overhead_bound_is_an_error(monkeypatch, clock):
    install(monkeypatch, queued_build(0.0))  # only the launch: the canary sees no growth
    record = run_case(QueueAdapter(clock), HEAVY, CONFIG)
    assert record.timing.sync_canary.overhead_bound is True
    assert record.status == "error" and record.reason.startswith(FASTER_THAN_PEAK)


def test_escaped_synchronisation_keeps_its_own_reason(monkeypatch, clock):
    install(monkeypatch, queued_build(FLOP_PER_ELEMENT / 100e9))
    record = run_case(QueueAdapter(clock, escape_sync=True), HEAVY, CONFIG)
    assert record.status == "error" and record.reason.startswith("timing escaped synchronisation")


def cached_matmul_build(adapter, params, dtype, mode, inputs):
    """torch matmul computed once at build time; every timed call returns that tensor."""
    import torch

    a, b = adapter.from_numpy(inputs["a"], dtype), adapter.from_numpy(inputs["b"], dtype)
    with torch.inference_mode():
        cached = torch.matmul(a, b)
    return Built(lambda: cached)


@pytest.mark.parametrize("canary", [True, False])
def test_cached_tensor_on_torch_cpu_is_an_error(monkeypatch, canary):
    adapter = cpu_adapter("torch")
    monkeypatch.setattr(workloads, "implementation", lambda name, fw: SimpleNamespace(build=cached_matmul_build))
    case = Case.make("matmul", {"m": 1024, "n": 1024, "k": 1024}, "fp32", "eager")
    config = TimingConfig(warmup_s=0.0, min_warmup_calls=1, block_s=0.002, min_samples=3, max_samples=5, budget_s=0.0, canary=canary)
    record = run_case(adapter, case, config)  # the bound of this machine's real CPU
    assert record.correctness.passed
    assert record.status == "error", record.reason
    assert record.reason.startswith(FASTER_THAN_PEAK) and "GFLOP/s > bound" in record.reason


def test_real_torch_cpu_matmul_is_not_flagged():
    adapter = cpu_adapter("torch")
    case = Case.make("matmul", {"m": 512, "n": 512, "k": 512}, "fp32", "eager")
    config = TimingConfig(warmup_s=0.0, min_warmup_calls=2, block_s=0.005, min_samples=3, max_samples=5, budget_s=0.0, canary=False)
    record = run_case(adapter, case, config)
    assert record.status == "ok", record.reason
    assert record.gflops < bounds.upper_bound(None, None, "fp32").gflops
