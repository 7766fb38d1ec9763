"""Each framework's profiler on this machine's CPU (real runs), and their GPU paths on synthetic events.

Real runs go through ``bench.profile.child.run`` in this process (all four frameworks import
together on CPU); the GPU-side summarisation (kernel names, copies, fallbacks) is fed events in
the formats the profilers document, since no GPU is available here.
"""

import os
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MLX_ENABLE_TF32", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from bench.profile import child, jax_profile, launch, mlx_profile, tf_profile, torch_profile
from bench.profile.region import ProfileContext, RegionPlan
from bench.profile.summary import DEVICE_TO_HOST, HOST_TO_DEVICE, ProfileSummary
from bench.profile.trace_events import TraceEvent

MATMUL = {"m": 384, "n": 384, "k": 384}
COVERAGE_CALLS = 30  # a region of ~0.1 s or more, so one scheduling hiccup on a shared machine is amortised
FALLBACK_HOST = {"batch": 64, "dim": 128, "hidden": 512, "act": "host"}
REQUIRED_OP_KEYS = {"name", "count", "total_s", "mean_s", "share", "device", "fallback"}


def profile(tmp_path, framework, workload, params, dtype="fp32", mode="eager", calls=10):
    request = {
        "framework": framework,
        "device": "cpu",
        "case": {"workload": workload, "params": params, "dtype": dtype, "mode": mode},
        "artifact_dir": str(tmp_path / "case"),
        "artifact_root": str(tmp_path),
        "reply_path": str(tmp_path / "reply.json"),
        "plan": {"calls": calls},
    }
    return child.run(request)["summary"]


def assert_covers_case(summary):
    """The acceptance check: op times sum to within 15 % of the case's measured time."""
    assert summary["status"] == "ok", summary["reason"]
    assert 0.85 <= summary["coverage"] <= 1.15, summary
    assert all(REQUIRED_OP_KEYS <= set(op) for op in summary["ops"])


def test_torch_cpu_matmul_profile_covers_the_case(tmp_path):
    summary = profile(tmp_path, "torch", "matmul", MATMUL, calls=COVERAGE_CALLS)
    assert_covers_case(summary)
    assert summary["ops"][0]["name"] == "aten::mm" and summary["ops"][0]["count"] == COVERAGE_CALLS
    assert summary["tool"] == "torch.profiler" and summary["calls"] == COVERAGE_CALLS
    assert (tmp_path / summary["artifacts"][0]).name == "torch_trace.json.gz" and (tmp_path / summary["artifacts"][0]).stat().st_size > 0
    assert not any(op["fallback"] for op in summary["ops"])


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_jax_cpu_matmul_profile_covers_the_case(tmp_path, mode):
    summary = profile(tmp_path, "jax", "matmul", MATMUL, mode=mode, calls=COVERAGE_CALLS)
    assert_covers_case(summary)
    top = summary["ops"][0]
    assert top["count"] == COVERAGE_CALLS and top["device"] == "cpu" and "matmul" in top.get("detail", "")  # hlo_module jit_matmul
    assert list((tmp_path / summary["artifacts"][0]).glob("plugins/profile/*/*.trace.json.gz"))


def test_tensorflow_cpu_matmul_profile_keeps_the_xplane(tmp_path):
    summary = profile(tmp_path, "tensorflow", "matmul", MATMUL)
    assert summary["status"] == "ok", summary["reason"]
    matmul = next(op for op in summary["ops"] if op["name"] == "MatMul")
    assert matmul["count"] == 10 and matmul["detail"] == "eager"
    assert summary["coverage"] > 0.5  # TF's Python-side dispatch is outside any op event
    assert list((tmp_path / summary["artifacts"][0]).glob("plugins/profile/*/*.xplane.pb"))


@pytest.mark.parametrize(
    "framework, host_op", [("torch", "siliconbench::softshrink_host"), ("jax", "pure_callback"), ("tensorflow", "PyFuncStateless")]
)
def test_host_activation_is_profiled_and_not_a_fallback_on_cpu(tmp_path, framework, host_op):
    summary = profile(tmp_path, framework, "fallback_act", FALLBACK_HOST, calls=5)
    assert summary["status"] == "ok", summary["reason"]
    op = next(op for op in summary["ops"] if op["name"].startswith(host_op))
    assert op["count"] == 5 and op["device"] == "cpu"
    assert not any(o["fallback"] for o in summary["ops"])  # a CPU case cannot fall back


def test_mlx_on_linux_is_unavailable_with_the_reason(tmp_path):
    summary = profile(tmp_path, "mlx", "matmul", MATMUL)
    assert summary["status"] == "unavailable" and "no_metal.cpp" in summary["reason"] and summary["coverage"] is None


def test_wrong_output_is_not_profiled(tmp_path, monkeypatch):
    from bench import workloads

    spec = workloads.get("matmul")
    monkeypatch.setattr(spec, "reference", lambda params, dtype, inputs: inputs["a"].astype(float) @ inputs["b"] + 1.0)
    summary = profile(tmp_path, "torch", "matmul", MATMUL)
    assert summary["status"] == "error" and "mismatch" in summary["reason"] and not summary["ops"]


# -- GPU paths on synthetic events -------------------------------------------------------------


def test_jax_gpu_events_name_kernels_copies_and_callbacks():
    host, gpu = "/host:CPU", "/device:GPU:0"
    events = [
        TraceEvent("PjitFunction(model)", 0, 5, host, "python3", (1, 1), {}),
        TraceEvent("loop_gemm_fusion_kernel", 10, 40, gpu, "Stream #14(Compute)", (2, 14), {"hlo_op": "gemm_fusion", "hlo_module": "jit_model"}),
        TraceEvent(
            "MemcpyD2H",
            50,
            4,
            gpu,
            "Stream #15(MemcpyD2H)",
            (2, 15),
            {"memcpy_details": "kind_src:device kind_dst:pinned size:131072 dest:0 async:1"},
        ),
        TraceEvent("pure_callback.1", 55, 30, host, "tf_XLA", (1, 2), {"hlo_op": "pure_callback.1", "hlo_module": "jit_model"}),
        TraceEvent(
            "MemcpyH2D",
            86,
            4,
            gpu,
            "Stream #16(MemcpyH2D)",
            (2, 16),
            {"memcpy_details": "kind_src:pinned kind_dst:device size:131072 dest:0 async:1"},
        ),
    ]
    summary = ProfileSummary("jax.profiler", "cuda", calls=1, case_time_s=100e-6)
    jax_profile.summarize_events(summary, events)
    ops = {op.name: op for op in summary.ops}
    assert ops["loop_gemm_fusion_kernel"].device == "cuda" and ops["loop_gemm_fusion_kernel"].detail == "jit_model/gemm_fusion"
    assert ops["pure_callback.1"].fallback and ops["pure_callback.1"].device == "cpu"
    assert {c.direction: c.bytes for c in summary.copies} == {DEVICE_TO_HOST: 131072, HOST_TO_DEVICE: 131072}
    assert summary.coverage == pytest.approx((40 + 30 + 4 + 4) / 100)


def test_torch_cuda_rows_kernels_and_host_window_fallback():
    def row(key, count, self_cpu=0.0, self_dev=0.0, device="DeviceType.CPU", annotation=False):
        return SimpleNamespace(
            key=key, count=count, self_cpu_time_total=self_cpu, self_device_time_total=self_dev, device_type=device, is_user_annotation=annotation
        )

    rows = [
        row("siliconbench::call", 2, 10.0, annotation=True),
        row("aten::mm", 2, 20.0, 0.0),
        row("ampere_sgemm_128x64_tn", 2, 0.0, 300.0, "DeviceType.CUDA"),
        row("Memcpy DtoH (Device -> Pageable)", 2, 0.0, 8.0, "DeviceType.CUDA"),
        row("siliconbench::softshrink_host", 2, 500.0),
    ]
    summary = ProfileSummary("torch.profiler", "cuda", calls=2, case_time_s=500e-6)
    torch_profile.add_key_averages(summary, rows)
    assert {op.name: op.device for op in summary.ops} == {"aten::mm": "cpu", "ampere_sgemm_128x64_tn": "cuda", "siliconbench::softshrink_host": "cpu"}

    def event(name, start, kernels=(), children=()):
        return SimpleNamespace(
            name=name, time_range=SimpleNamespace(start=start), kernels=[SimpleNamespace(name=k) for k in kernels], cpu_children=list(children)
        )

    call = event(
        torch_profile.CALL_MARK,
        0,
        children=[
            event("aten::linear", 1, children=[event("aten::mm", 2, kernels=["ampere_sgemm_128x64_tn"])]),
            event("aten::to", 3, children=[event("aten::copy_", 4, kernels=["Memcpy DtoH (Device -> Pageable)"])]),
            event("siliconbench::softshrink_host", 5),
            event("aten::to", 6, kernels=["Memcpy HtoD (Pageable -> Device)"]),
        ],
    )
    steps = torch_profile.call_steps([call])
    assert [s.name for s in steps] == ["aten::linear", "aten::to", "siliconbench::softshrink_host", "aten::to"]
    from bench.profile.fallback import host_window_ops

    summary.mark_fallbacks(host_window_ops(steps, "cuda"))
    assert [op.name for op in summary.ops if op.fallback] == ["siliconbench::softshrink_host"]


def test_tf_gpu_xplane_events_kernels_copies_and_pyfunc_fallback():
    host, gpu = "/host:CPU", "/device:GPU:0"
    events = [
        TraceEvent("MatMul:MatMul", 0, 5, host, "tf_Compute", (0, host, 1), {"display_name": "MatMul"}),
        TraceEvent("volta_sgemm_64x64_nn", 2, 20, gpu, "Stream #7(Compute)", (1, gpu, 7), {"tf_op": "MatMul:MatMul"}),
        TraceEvent(
            "MemcpyD2H",
            23,
            3,
            gpu,
            "Stream #8(MemcpyD2H)",
            (1, gpu, 8),
            {"memcpy_details": "kind_src:device kind_dst:pageable size:2048 dest:0 async:0"},
        ),
        TraceEvent("PyFuncStateless:PyFuncStateless", 27, 50, host, "tf_Compute", (0, host, 1), {"display_name": "PyFuncStateless"}),
    ]
    summary = ProfileSummary("tf.profiler.experimental", "gpu", calls=1, case_time_s=100e-6)
    tf_profile.summarize_events(summary, events)
    ops = {op.name: op for op in summary.ops}
    assert ops["volta_sgemm_64x64_nn"].device == "gpu" and ops["volta_sgemm_64x64_nn"].detail == "MatMul:MatMul"
    assert ops["PyFuncStateless"].fallback and not ops["MatMul"].fallback
    assert [(c.direction, c.bytes) for c in summary.copies] == [(DEVICE_TO_HOST, 2048)]


def test_mlx_metal_capture_contract(monkeypatch, tmp_path):
    """On macOS with Metal: start_capture(<artifacts>/mlx.gputrace) around one call, then stop_capture."""
    import mlx.core as mx

    calls = []

    def start_capture(path):
        assert path.endswith(".gputrace") and not Path(path).exists()  # metal_debugger.rst: must not exist
        calls.append(("start", path))
        Path(path).mkdir()

    monkeypatch.setattr(mlx_profile.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(mx.metal, "is_available", lambda: True)
    monkeypatch.setattr(mx.metal, "start_capture", start_capture)
    monkeypatch.setattr(mx.metal, "stop_capture", lambda: calls.append(("stop",)))
    adapter = SimpleNamespace(device="gpu", materialize=lambda out: None, synchronize=lambda out=None: calls.append(("sync",)))
    ctx = ProfileContext(tmp_path, tmp_path, RegionPlan(calls=3, warmup_calls=1, warmup_s=0.0))
    summary = mlx_profile.profile(adapter, lambda: 1, ctx)
    starts = [c for c in calls if c[0] == "start"]
    assert starts == [("start", str(tmp_path / "mlx.gputrace"))] and calls[-1] == ("stop",)
    assert calls[calls.index(starts[0]) + 1] == ("sync",)  # the captured call is synchronised before stopping
    assert summary.status == "ok" and summary.artifacts == ["mlx.gputrace"] and summary.calls == 3
    assert mlx_profile.environment() == {"MTL_CAPTURE_ENABLED": "1"}


def test_mlx_cpu_on_macos_is_unavailable(monkeypatch):
    import mlx.core as mx

    monkeypatch.setattr(mlx_profile.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(mx.metal, "is_available", lambda: True)
    assert "mlx:cpu" in mlx_profile.unavailable_reason(SimpleNamespace(device="cpu"))


def test_profiler_module_choice():
    assert launch.profiler("torch", "mps").__name__ == "bench.profile.mps"
    assert launch.profiler("torch", "cuda") is torch_profile
    assert launch.profiler("jax", "cuda") is jax_profile and launch.profiler("tensorflow", "gpu") is tf_profile
    assert launch.profiler("mlx", "gpu") is mlx_profile


def test_jax_gpu_kernels_without_hlo_stats_and_derived_lines():
    gpu = "/device:GPU:0"
    events = [
        TraceEvent("cutlass_gemm_kernel", 0, 10, gpu, "Stream #14(Compute)", (2, 14), {}),  # no hlo_op stat
        TraceEvent("dot.1", 0, 10, gpu, "XLA Ops", (2, 99), {"hlo_op": "dot.1"}),  # derived line: same time again
    ]
    summary = ProfileSummary("jax.profiler", "cuda", calls=1, case_time_s=10e-6)
    jax_profile.summarize_events(summary, events)
    assert [(op.name, op.device) for op in summary.ops] == [("cutlass_gemm_kernel", "cuda")]
    assert summary.coverage == pytest.approx(1.0)


def test_jax_eager_dispatch_rows_count_host_time_once():
    """Outer PjitFunction dispatches become rows less the XLA op time inside them; nested ones do not count."""
    summary = ProfileSummary("jax.profiler", "cpu", calls=1, case_time_s=100e-6)
    op = TraceEvent("ynn_fusion", 20.0, 30.0, "/host:CPU", "xla-client", (1, 2), {"hlo_op": "ynn_fusion"})
    outer = TraceEvent("PjitFunction(_einsum)", 0.0, 60.0, "/host:CPU", "python", (1, 1))
    nested = TraceEvent("PjitFunction(reshape)", 5.0, 10.0, "/host:CPU", "python", (1, 1))
    later = TraceEvent("PjitFunction(exp)", 70.0, 20.0, "/host:CPU", "python", (1, 1))
    jax_profile.summarize_events(summary, [outer, nested, op, later])
    rows = {o.name: o.total_s * 1e6 for o in summary.ops}
    assert rows == pytest.approx({"ynn_fusion": 30.0, "dispatch _einsum": 30.0, "dispatch exp": 20.0})
    assert summary.coverage == pytest.approx(0.8)


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_sdpa_eager_profile_covers_the_case(tmp_path, framework):
    """Issue 6's acceptance on CPU: sdpa on torch:cpu and jax:cpu (eager: JAX dispatch rows included)."""
    params = {"b": 1, "h": 4, "l": 256, "d": 64, "causal": False, "variant": "naive"}
    summary = profile(tmp_path, framework, "sdpa", params, calls=COVERAGE_CALLS)
    assert_covers_case(summary)
