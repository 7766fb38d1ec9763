"""torch:mps profiling: the MPS profiler's exit tables parsed, fallbacks flagged, and contract tests.

The log fixtures are produced with the format strings of pytorch/pytorch
``aten/src/ATen/mps/MPSProfiler.mm`` (``logOperationsProfilingStats``,
``logCPUFallbackProfilingStats``, ``logCopyProfilingStats``), copied below with Python's
``str.format``, whose ``{:-^200}`` / ``{:^7}`` / ``{:.3f}`` specs mean what they mean in fmt.
Sizes follow the allocator's ``format_size`` (``N bytes``, ``x.xx KB``/``KiB``, 1024-based).
Nothing here runs on MPS (unverified on hardware until run on a Mac).
"""

import contextlib
import os
from pathlib import Path

import pytest

from bench.backends import BackendName
from bench.profile import launch, mps
from bench.profile.region import ProfileContext, RegionPlan, counted
from bench.profile.summary import DEVICE_TO_HOST, HOST_TO_DEVICE, ProfileSummary


def ops_table(ops, graphs, kernels):
    """ops: (id, runs, mean_krnl_ms, mean_gpu_ms, total_gpu_ms, key) — MPSProfiler.mm logOperationsProfilingStats."""
    out = "\n{:-^200}\n{:^6}|{:^7}|{:^15}|{:^14}|{:^15}| {}\n{:-^200}\n".format(
        f" MPS Operations Profiling: {graphs} graphs, {kernels} kernels ",
        "ID",
        "#Runs",
        "Mean KRNL(ms)",
        "Mean GPU(ms)",
        "Total GPU(ms)",
        "Operation Name",
        "",
    )
    for op_id, runs, krnl, gpu, total, key in ops:
        out += "{:^7}{:^8}{:^16}{:^15}{:^16} {}\n".format(op_id, runs, f"{krnl:.3f}", f"{gpu:.3f}", f"{total:.3f}", key)
    return out


def fallback_table(rows, total_runs, total_ms, total_copies):
    """rows: (id, runs, mean_cpu_ms, total_cpu_ms, copy_overhead, name) — logCPUFallbackProfilingStats."""
    out = "\n{:-^150}\n{:^5}|{:^7}|{:^14}|{:^15}|{:^15}| {}\n{:-^150}\n".format(
        f" CPU Fallback Profiling: Total {total_runs} Runs, {total_ms:.2f} ms, {total_copies} Copies ",
        "ID",
        "#Runs",
        "Mean CPU(ms)",
        "Total CPU(ms)",
        "Copy Overhead",
        "Operation Name",
        "",
    )
    for fb_id, runs, mean, total, overhead, name in rows:
        out += "{:^6}{:^8}{:^15}{:^16}{:^16} {}\n".format(fb_id, runs, f"{mean:.3f}", f"{total:.3f}", overhead, name)
    return out


def copy_table(rows, total, size, scalars):
    """rows: (kind, count, size, krnl_ms, gpu_ms, scalars, scalars_gpu_pct, blocking, memcpy) — logCopyProfilingStats."""
    out = "\n{:-^160}\n{:^12}|{:^10}|{:^17}|{:^16}|{:^15}|{:^9}|{:^13}|{:^10}|{:^8}\n{:-^160}\n".format(
        f" MPS Copy Profiling: {total} total copies ({size}), {scalars} scalar copies ",
        "Kind",
        "Total#",
        "Total Size",
        "Total KRNL(ms)",
        "Total GPU(ms)",
        "Scalars",
        "Scalars GPU",
        "Blocking",
        "memcpy",
        "",
    )
    for kind, count, sz, krnl, gpu, sc, pct, blocking, memcpy in rows:
        out += "{:^13}{:^11}{:^18}{:^17}{:^16}{:^10}{:^14}{:^11}{:^9}\n".format(
            kind, count, sz, f"{krnl:.3f}", f"{gpu:.3f}", sc, f"{pct:.2f} %", blocking, memcpy
        )
    return out


# The fallback story: two MPS matmuls around a custom activation with no MPS kernel, 12 calls.
STORY_LOG = (
    "/path/torch/nn/modules/module.py:1: UserWarning: The operator 'siliconbench::softshrink_host' is not currently "
    "supported on the MPS backend and will fall back to run on the CPU. This may have performance implications.\n"
    + ops_table(
        [
            ("G1", 12, 0.010, 0.250, 3.000, "mps_linear:f32[64,128]:f32[512,128]"),
            ("G2", 12, 0.010, 0.200, 2.400, "mps_linear:f32[64,512]:f32[128,512]"),
            ("K1", 24, 0.005, 0.020, 0.480, "add_kernel_strided:MPS:Float[64, 512]:MPS:Float[64, 512]"),
        ],
        graphs=2,
        kernels=1,
    )
    + fallback_table([(1, 12, 1.500, 18.000, "3.00 MB", "siliconbench::softshrink_host")], 12, 18.0, "3.00 MB")
    + copy_table(
        [
            ("MPS to CPU", 12, "1.50 MB", 0.120, 1.200, 0, 0.0, 12, 0),
            ("CPU to MPS", 15, "1.75 MB", 0.150, 1.500, 3, 0.5, 12, 0),
        ],
        27,
        "3.25 MB",
        3,
    )
)


def test_parse_log_reads_all_three_tables():
    log = mps.parse_log(STORY_LOG)
    assert log.tables == {"ops", "fallbacks", "copies"}
    assert [(o.id, o.runs, o.total_gpu_ms) for o in log.ops] == [("G1", 12, 3.0), ("G2", 12, 2.4), ("K1", 24, 0.48)]
    assert log.ops[2].key == "add_kernel_strided:MPS:Float[64, 512]:MPS:Float[64, 512]"  # spaces inside the key kept
    (fb,) = log.fallbacks
    assert (fb.name, fb.runs, fb.mean_cpu_ms, fb.total_cpu_ms, fb.copy_overhead_bytes) == (
        "siliconbench::softshrink_host",
        12,
        1.5,
        18.0,
        3 * 1024**2,
    )
    kinds = {c.kind: (c.count, c.bytes, c.total_gpu_ms, c.scalars, c.blocking) for c in log.copies}
    assert kinds == {"MPS to CPU": (12, int(1.5 * 1024**2), 1.2, 0, 12), "CPU to MPS": (15, int(1.75 * 1024**2), 1.5, 3, 12)}


def test_apply_log_flags_the_cpu_fallback_and_its_copies():
    summary = ProfileSummary(mps.TOOL, "mps", calls=12, case_time_s=0.003)
    mps.apply_log(summary, mps.parse_log(STORY_LOG))
    ops = {op.name: op for op in summary.ops}
    assert set(ops) == {"mps_linear", "add_kernel_strided", "siliconbench::softshrink_host"}
    fallback = ops["siliconbench::softshrink_host"]
    assert (fallback.fallback, fallback.device, fallback.count, fallback.total_s) == (True, "cpu", 12, pytest.approx(0.018))
    assert ops["mps_linear"].count == 24 and ops["mps_linear"].device == "mps" and not ops["mps_linear"].fallback
    assert {c.direction for c in summary.copies} == {DEVICE_TO_HOST, HOST_TO_DEVICE}
    compact = summary.compact()
    assert any(op["fallback"] and op["name"] == "siliconbench::softshrink_host" for op in compact["ops"])
    # 12 calls of 3 ms = 36 ms; ops 5.88 ms GPU + 18 ms CPU fallback + 2.7 ms copies.
    assert summary.coverage == pytest.approx((5.4 + 0.48 + 18.0 + 1.2 + 1.5) / 36.0)


def test_empty_tables_and_missing_tables():
    empty = (
        "There are no MPS operations logged for profiling\nThere are no CPU Fallbacks logged for profiling\n"
        "There are no copies logged for profiling\n"
    )
    log = mps.parse_log(empty)
    assert log.tables == {"ops", "fallbacks", "copies"} and not log.ops and not log.fallbacks
    summary = ProfileSummary(mps.TOOL, "mps", calls=1, case_time_s=1.0)
    mps.apply_log(summary, mps.parse_log("just a warning line\n"))
    assert not summary.ops and mps.NO_TABLES in summary.notes


def test_parent_marks_the_profile_failed_without_tables_or_signposts(monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "_run_child", lambda *a: ProfileSummary(mps.TOOL, "mps", calls=3, case_time_s=0.001))
    from bench.workloads.base import Case

    case = Case.make("matmul", {"m": 8, "n": 8, "k": 8}, "fp32", "eager")
    summary = launch.profile_case(BackendName("torch", "mps"), case, tmp_path / "c", tmp_path, launch.ProfileOptions())
    assert summary.status == "error" and summary.reason == mps.NO_TABLES


def test_sizes_and_op_names():
    assert mps.parse_size("512 bytes") == 512
    assert mps.parse_size("1.00 KB") == mps.parse_size("1.00 KiB") == 1024
    assert mps.parse_size("2.50 GiB") == int(2.5 * 1024**3)
    assert mps.op_name("aten::add_kernel_strided:MPS:Float[1, 64]") == "add_kernel_strided"
    assert mps.op_name("mps_convolution_backward_input:f32[1,128,6,6]:f32[128,64,3,3]") == "mps_convolution_backward_input"
    assert mps.op_name("siliconbench::softshrink_host:MPS:Float[64, 512]") == "siliconbench::softshrink_host"


def test_environment_sets_log_bits_fallback_and_capture():
    env = mps.environment(metal_capture=True)
    assert env["PYTORCH_MPS_LOG_PROFILE_INFO"] == "8"  # LogOptions::ALL_STATS (MPSProfiler.h)
    assert env["PYTORCH_ENABLE_MPS_FALLBACK"] == "1" and env[mps.ALLOW_FALLBACK_ENV] == "1"
    assert env["MTL_CAPTURE_ENABLED"] == "1"
    assert "MTL_CAPTURE_ENABLED" not in mps.environment()


def test_launch_sets_mps_environment_only_on_macos(monkeypatch):
    options = launch.ProfileOptions(metal_capture=True)
    monkeypatch.setattr(launch.platform, "system", lambda: "Darwin")
    env = launch.profiler_environment(BackendName("torch", "mps"), options)
    assert env["PYTORCH_MPS_LOG_PROFILE_INFO"] == "8" and env["MTL_CAPTURE_ENABLED"] == "1"
    assert launch.profiler_environment(BackendName("mlx", "gpu"), options) == {"MTL_CAPTURE_ENABLED": "1"}
    monkeypatch.setattr(launch.platform, "system", lambda: "Linux")
    assert launch.profiler_environment(BackendName("torch", "mps"), options) == {}


class FakeAdapter:
    framework, device, allow_tf32 = "torch", "mps", False

    def materialize(self, out):
        pass

    def synchronize(self, out=None):
        self.synced = getattr(self, "synced", 0) + 1


@pytest.fixture
def fake_mps_profiler(monkeypatch, tmp_path):
    """Replace torch.mps.profiler's calls (which raise without MPS) by recorders."""
    import torch.mps.profiler as profiler

    calls = {}

    @contextlib.contextmanager
    def profile(mode="interval", wait_until_completed=False):
        calls["profile"] = (mode, wait_until_completed)
        yield

    @contextlib.contextmanager
    def metal_capture(fname):
        calls["capture_cwd"] = os.getcwd()
        yield
        Path(f"0000-{fname}.gputrace").mkdir()  # MPSProfiler::startCapture: "%04d-%s.gputrace" in the cwd

    monkeypatch.setattr(profiler, "profile", profile)
    monkeypatch.setattr(profiler, "metal_capture", metal_capture)
    monkeypatch.setattr(profiler, "is_metal_capture_enabled", lambda: True)
    return calls


def test_mps_profile_wraps_calls_in_the_mps_profiler_and_captures(fake_mps_profiler, tmp_path):
    fn, count = counted(lambda: 1)
    fn()  # the correctness call the child makes before profiling
    ctx = ProfileContext(
        tmp_path,
        tmp_path,
        RegionPlan(calls=5, warmup_calls=2, warmup_s=0.0),
        {"mps_mode": "interval,event", "mps_wait": True, "metal_capture": True},
        count,
    )
    cwd = os.getcwd()
    summary = mps.profile(FakeAdapter(), fn, ctx)
    assert fake_mps_profiler["profile"] == ("interval,event", True)
    assert Path(fake_mps_profiler["capture_cwd"]).resolve() == tmp_path.resolve() and os.getcwd() == cwd
    assert summary.artifacts == ["0000-siliconbench.gputrace"]
    assert summary.calls == count() == 1 + 2 + 5 + 1  # correctness, warm-up, region, capture: all in the exit tables
    assert summary.extra["signpost_calls"] == 2 + 5
    assert summary.case_time_s is not None and summary.tool == mps.TOOL


def test_mps_capture_skipped_when_not_enabled(fake_mps_profiler, monkeypatch, tmp_path):
    import torch.mps.profiler as profiler

    monkeypatch.setattr(profiler, "is_metal_capture_enabled", lambda: False)
    fn, count = counted(lambda: 1)
    ctx = ProfileContext(tmp_path, tmp_path, RegionPlan(calls=3, warmup_calls=1, warmup_s=0.0), {"metal_capture": True}, count)
    summary = mps.profile(FakeAdapter(), fn, ctx)
    assert "capture_cwd" not in fake_mps_profiler and not summary.artifacts
    assert any("MTL_CAPTURE_ENABLED" in note for note in summary.notes)


def test_parent_parses_the_childs_stderr_after_exit(monkeypatch, tmp_path):
    """launch.profile_case: the child's stderr (where the tables land at exit) feeds the summary."""

    def fake_child(command, env, cwd, reply_path, stderr_path, timeout_s, tool, device):
        assert command[1:3] == ["-m", "bench.profile.child"]
        stderr_path.write_text(STORY_LOG)
        return ProfileSummary(mps.TOOL, "mps", calls=12, case_time_s=0.003)

    monkeypatch.setattr(launch, "_run_child", fake_child)
    from bench.workloads.base import Case

    case = Case.make("fallback_act", {"batch": 64, "dim": 128, "hidden": 512, "act": "host"}, "fp32", "eager")
    summary = launch.profile_case(BackendName("torch", "mps"), case, tmp_path / "c", tmp_path, launch.ProfileOptions())
    assert any(op.fallback and op.name == "siliconbench::softshrink_host" for op in summary.ops)
    assert (tmp_path / "c" / "summary.json").exists() and "c/stderr.log" in summary.artifacts
    assert summary.extra["mps_log_tables"] == ["copies", "fallbacks", "ops"]


def test_torch_adapter_refuses_mps_fallback_unless_profiling(monkeypatch):
    import torch

    from bench.backends import BackendUnavailable
    from bench.backends.torch import TorchAdapter

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    monkeypatch.delenv(mps.ALLOW_FALLBACK_ENV, raising=False)
    with pytest.raises(BackendUnavailable, match="PYTORCH_ENABLE_MPS_FALLBACK"):
        TorchAdapter("mps")
    monkeypatch.setenv(mps.ALLOW_FALLBACK_ENV, "1")
    assert TorchAdapter("mps").device == "mps"
