"""Contract tests for the Apple-only paths, which cannot run on this machine.

Each test fakes the documented Apple API (sources cited in the adapters) and checks that the
adapter calls it the documented way. docs/apple-silicon.md says what was verified where.
"""

from __future__ import annotations

import types

import pytest

from bench.backends import BackendUnavailable

# ---- torch:mps ---------------------------------------------------------------------------------


@pytest.fixture
def fake_mps(monkeypatch):
    torch = pytest.importorskip("torch")
    calls: list[tuple] = []

    class FakeEvent:
        # torch/mps/event.py: Event(enable_timing=False); record(); elapsed_time(end) -> milliseconds
        def __init__(self, enable_timing=False):
            calls.append(("Event", enable_timing))
            self.t = None

        def record(self):
            self.t = len(calls)
            calls.append(("record",))

        def elapsed_time(self, end):
            return 250.0  # ms

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append(("synchronize",)))
    monkeypatch.setattr(torch.mps, "driver_allocated_memory", lambda: 12345)
    monkeypatch.setattr(torch.mps, "recommended_max_memory", lambda: 10**10)
    monkeypatch.setattr(torch.mps.event, "Event", FakeEvent)
    monkeypatch.delenv("PYTORCH_ENABLE_MPS_FALLBACK", raising=False)
    return calls


def test_torch_gpu_resolves_to_mps_and_syncs_with_torch_mps(fake_mps):
    from bench.backends.torch import TorchAdapter

    adapter = TorchAdapter("gpu")
    assert adapter.device == "mps" and adapter.name == "torch:mps"
    adapter.synchronize()
    assert ("synchronize",) in fake_mps


def test_torch_mps_event_timer_converts_ms_to_seconds(fake_mps):
    from bench.backends.torch import TorchAdapter

    timer = TorchAdapter("mps").device_timer()
    assert timer.kind == "mps_event"
    timer.start()
    timer.stop()
    assert timer.elapsed_s() == pytest.approx(0.25)
    assert fake_mps.count(("Event", True)) == 2  # both events created with enable_timing=True


def test_torch_mps_memory_from_driver_allocated_memory(fake_mps):
    from bench.backends.torch import TorchAdapter

    memory = TorchAdapter("mps").peak_memory()
    assert memory["peak_bytes"] == 12345 and "driver_allocated_memory" in memory["source"]


def test_torch_mps_refuses_silent_cpu_fallback(fake_mps, monkeypatch):
    from bench.backends.torch import TorchAdapter

    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    with pytest.raises(BackendUnavailable, match="PYTORCH_ENABLE_MPS_FALLBACK"):
        TorchAdapter("mps")


def test_torch_mps_oom_message_is_oom(fake_mps):
    from bench.backends.torch import TorchAdapter

    assert TorchAdapter("mps").is_oom(RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)"))


def test_torch_mps_unavailable_on_this_machine_says_why():
    torch = pytest.importorskip("torch")
    if torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    from bench.backends.torch import TorchAdapter

    with pytest.raises(BackendUnavailable, match="MPS"):
        TorchAdapter("mps")


# ---- mlx:gpu on Metal --------------------------------------------------------------------------


def test_mlx_gpu_on_metal(monkeypatch):
    mx = pytest.importorskip("mlx.core")
    chosen = []
    monkeypatch.setattr(mx, "is_available", lambda device: True)
    monkeypatch.setattr(mx, "set_default_device", lambda device: chosen.append(device))
    monkeypatch.setattr(mx.metal, "is_available", lambda: True)
    from bench.backends.mlx import MlxAdapter

    adapter = MlxAdapter("gpu")
    assert adapter.device == "gpu" and adapter.accelerator == "metal"
    assert chosen == [mx.gpu]


def test_mlx_gpu_unavailable_here_says_why():
    mx = pytest.importorskip("mlx.core")
    if mx.is_available(mx.gpu):
        pytest.skip("this machine has an MLX GPU backend")
    from bench.backends.mlx import MlxAdapter

    with pytest.raises(BackendUnavailable, match="no GPU backend"):
        MlxAdapter("gpu")


# ---- tensorflow:gpu with tensorflow-metal --------------------------------------------------------


def test_tensorflow_metal_gpu_never_asks_xla(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    import bench.backends.tensorflow as tfb

    fake_gpu = types.SimpleNamespace(name="/physical_device:GPU:0", device_type="GPU")
    real_list = tf.config.list_physical_devices
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [fake_gpu] if kind == "GPU" else real_list(kind))
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: {"device_name": "METAL"})
    monkeypatch.setattr(tfb, "_metal_plugin_version", lambda: "1.2.0")
    seen = {}
    monkeypatch.setattr(tf, "function", lambda fn, **options: seen.update(options) or fn)
    adapter = tfb.TensorflowAdapter("gpu")
    assert adapter.device == "gpu" and adapter.accelerator == "metal"
    adapter.compile(lambda x: x, jit_compile=True)
    assert "jit_compile" not in seen  # XLA has no METAL compiler (NVlabs/sionna#78)
    assert adapter.device_info().extra["kind"] == "metal"


def test_tensorflow_gpu_sync_uses_sync_devices(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    from bench.backends.tensorflow import TensorflowAdapter

    calls = []
    monkeypatch.setattr(tf.test.experimental, "sync_devices", lambda: calls.append("sync"))
    adapter = TensorflowAdapter("cpu")
    adapter.synchronize()
    assert calls == ["sync"]


# ---- jax:metal ----------------------------------------------------------------------------------


def test_jax_metal_device(monkeypatch):
    jax = pytest.importorskip("jax")
    from bench.backends.jax import JaxAdapter

    metal = types.SimpleNamespace(platform="METAL", device_kind="Apple M3 Max", memory_stats=lambda: None)

    def devices(backend=None):
        if backend in ("METAL", "metal"):
            return [metal]
        raise RuntimeError(f"Unknown backend {backend}")

    monkeypatch.setattr(jax, "devices", devices)
    adapter = JaxAdapter("metal")
    assert adapter.device == "metal" and adapter.device_info().device_name == "Apple M3 Max"
    assert adapter.supports_dtype("bf16") is not None
    assert adapter.supports_dtype("fp32") is None
    assert adapter.peak_memory() is None


def test_jax_gpu_unavailable_here_says_why():
    pytest.importorskip("jax")
    from bench.backends.jax import JaxAdapter

    with pytest.raises(BackendUnavailable, match="jax"):
        JaxAdapter("metal")
