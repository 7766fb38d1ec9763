"""Contract tests for the Apple-only paths, which cannot run on this machine.

Each test fakes the documented Apple API (sources cited in the adapters) and checks that the
adapter calls it the documented way. docs/apple-silicon.md says what was verified where.
"""

from __future__ import annotations

import re
import types

import pytest

from bench.backends import BackendUnavailable
from bench.backends.metal_plugins import Host, discover

MAC = Host("Darwin", "arm64", "15.3", "3.12.4")


def fake_discovery(framework, **installed):
    """metal_plugins.discover on a fake Mac with these distributions installed (_ for -)."""
    versions = {k.replace("_", "-"): v for k, v in installed.items()}
    return discover(framework, host=MAC, version_of=versions.get, requires_of=lambda d: None)


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
    for block in (1, 2):
        timer.start()
        timer.stop()
        assert timer.elapsed_s() == pytest.approx(0.25)
        # fresh events per block, both with enable_timing=True (aten/src/ATen/mps/MPSEvent.mm: a reused
        # start event's time is whatever its listener last wrote)
        assert fake_mps.count(("Event", True)) == 2 * block


def test_torch_mps_peak_from_torch_accelerator(fake_mps, monkeypatch):
    """torch >= 2.13: torch.accelerator.memory_stats()["allocated_bytes.all.peak"] is the MPS allocator's
    peak since reset_peak_memory_stats() (torch/accelerator/memory.py, aten/src/ATen/mps/MPSAllocator.mm)."""
    torch = pytest.importorskip("torch")
    from bench.backends.torch import TorchAdapter

    monkeypatch.setattr(torch.accelerator, "reset_peak_memory_stats", lambda *a: fake_mps.append(("reset_peak",)))
    monkeypatch.setattr(torch.accelerator, "memory_stats", lambda *a: {"allocated_bytes.all.peak": 4096, "allocated_bytes.all.current": 0})
    adapter = TorchAdapter("mps")
    adapter.reset_peak_memory()
    memory = adapter.peak_memory()
    assert ("reset_peak",) in fake_mps
    assert memory["peak_bytes"] == 4096 and "torch.accelerator" in memory["source"]


@pytest.mark.parametrize("why", ["old torch", "allocator not a DeviceAllocator"])
def test_torch_mps_without_a_peak_counter_reports_the_driver_total_labelled(fake_mps, monkeypatch, why):
    torch = pytest.importorskip("torch")
    import bench.backends.torch as tb

    if why == "old torch":
        monkeypatch.setattr(tb, "_MPS_PEAK_SINCE", (99, 0))
    else:

        def fails(*a):
            raise RuntimeError("Allocator for mps is not a DeviceAllocator.")

        monkeypatch.setattr(torch.accelerator, "memory_stats", fails)
        monkeypatch.setattr(torch.accelerator, "reset_peak_memory_stats", fails)
    adapter = tb.TorchAdapter("mps")
    adapter.reset_peak_memory()
    memory = adapter.peak_memory()
    assert memory["peak_bytes"] is None and memory["driver_total_bytes"] == 12345
    assert "driver total, not a peak" in memory["source"]


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


def test_mlx_issues_each_call_and_waits_once_per_block(monkeypatch):
    """mx.async_eval schedules and commits without waiting; mx.eval waits (mlx/transforms.cpp). A fake
    MLX whose async_eval queues work: after a timed block nothing may be left queued."""
    pytest.importorskip("mlx.core")
    import bench.backends.mlx as mb
    from bench.backends.base import wall_timer
    from bench.timing import _time_block

    queue, log = [], []
    fake = types.SimpleNamespace(
        async_eval=lambda out: (queue.append(out), log.append("async_eval")),
        eval=lambda out: (queue.clear(), log.append("eval")),
        synchronize=lambda: (queue.clear(), log.append("synchronize")),
    )
    adapter = mb.MlxAdapter("cpu")
    monkeypatch.setattr(mb, "_mx", lambda: fake)
    _time_block(adapter, lambda: object(), 5, wall_timer())
    assert log == ["async_eval"] * 5 + ["eval", "synchronize"] and queue == []
    monkeypatch.setenv(mb.EVAL_EACH_CALL_ENV, "1")
    log.clear()
    _time_block(adapter, lambda: object(), 2, wall_timer())
    assert log == ["eval", "eval", "eval", "synchronize"]


def test_mlx_cpu_block_still_waits_for_its_work():
    """Real mlx:cpu: with async_eval per call the drain check finds no work left after the block."""
    pytest.importorskip("mlx.core")
    import mlx.core as mx

    from bench.backends.mlx import MlxAdapter
    from bench.timing import measure
    from tests.conftest import FAST_TIMING

    adapter = MlxAdapter("cpu")
    a = mx.random.normal((256, 256))
    mx.eval(a)
    timing = measure(adapter, lambda: (a @ a) @ a, FAST_TIMING)
    assert timing.drain.escaped is False


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
    monkeypatch.setattr(tfb, "_metal", lambda: fake_discovery("tensorflow", tensorflow_metal_plugin="0.4.1", tensorflow="2.21.0"))
    monkeypatch.setattr(tfb.platform, "system", lambda: "Darwin")
    placement = []
    monkeypatch.setattr(tf.config, "set_soft_device_placement", placement.append)
    seen = {}
    monkeypatch.setattr(tf, "function", lambda fn, **options: seen.update(options) or fn)
    adapter = tfb.TensorflowAdapter("gpu")
    assert adapter.device == "gpu" and adapter.accelerator == "metal"
    assert placement == [False]  # a missing Metal kernel must raise, not run on the CPU
    adapter.compile(lambda x: x, jit_compile=True)
    assert "jit_compile" not in seen  # XLA has no METAL compiler (NVlabs/sionna#78)
    info = adapter.device_info().extra
    assert info["kind"] == "metal" and info["metal_plugin"] == "tensorflow-metal-plugin 0.4.1"
    assert adapter.supports_dtype("bf16") is not None and adapter.supports_dtype("fp32") is None
    missing = tf.errors.NotFoundError(None, None, "Could not find device for node: {{node Erfinv}} = Erfinv[T=DT_FLOAT]")
    assert adapter.unsupported_reason(missing).startswith("tensorflow-metal-plugin 0.4.1 cannot run this case: Could not find device")
    assert adapter.unsupported_reason(tf.errors.InvalidArgumentError(None, None, "Incompatible shapes")) is None


def test_tensorflow_gpu_on_a_mac_without_a_usable_plugin_says_why(monkeypatch):
    pytest.importorskip("tensorflow")
    import bench.backends.tensorflow as tfb

    monkeypatch.setattr(tfb, "_metal", lambda: fake_discovery("tensorflow", tensorflow_metal="1.2.0", tensorflow="2.21.0"))
    monkeypatch.setattr(tfb.platform, "system", lambda: "Darwin")
    with pytest.raises(BackendUnavailable, match=re.escape("tensorflow-metal: installed 1.2.0 but needs tensorflow<2.20,>=2.18, found 2.21.0")):
        tfb.TensorflowAdapter("gpu")


def test_tensorflow_gpu_sync_uses_sync_devices(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    from bench.backends.tensorflow import TensorflowAdapter

    calls = []
    monkeypatch.setattr(tf.test.experimental, "sync_devices", lambda: calls.append("sync"))
    adapter = TensorflowAdapter("cpu")
    adapter.synchronize()
    assert calls == ["sync"]


# ---- jax:metal ----------------------------------------------------------------------------------


def test_jax_metal_device_through_the_discovered_plugin(monkeypatch):
    jax = pytest.importorskip("jax")
    import bench.backends.jax as jb

    mps = types.SimpleNamespace(platform="mps", device_kind="Apple M3 Max", memory_stats=lambda: None)

    def devices(backend=None):
        if backend == "mps":
            return [mps]
        raise RuntimeError(f"Unknown backend {backend}")

    monkeypatch.setattr(jax, "devices", devices)
    chosen = []
    monkeypatch.setattr(jax.config, "update", lambda key, value: chosen.append((key, value)))
    monkeypatch.setattr(
        jb.metal_plugins, "discover", lambda framework, prefer=None: fake_discovery("jax", jax_mps="0.11.1", jax="0.11.2", jaxlib="0.11.2")
    )
    adapter = jb.JaxAdapter("metal")
    assert chosen == [("jax_platforms", "mps")]
    assert adapter.device == "metal" and adapter.device_info().device_name == "Apple M3 Max"
    assert adapter.device_info().extra == {
        "platform": "mps",
        "metal_plugin": "jax-mps 0.11.1",
        "metal_plugins_not_used": "not installed (looked for metaljax, jax-metallib, applejax, metal-pjrt-plugin, jax-metal)",
    }
    assert adapter.supports_dtype("fp32") is None
    assert adapter.peak_memory() is None
    missing = jax.errors.JaxRuntimeError(
        "INTERNAL: Unsupported operation(s): stablehlo.erf_inv. The MPS backend does not have a handler for these operations."
    )
    assert "stablehlo.erf_inv" in adapter.unsupported_reason(missing)
    assert adapter.unsupported_reason(ValueError("shapes")) is None


def test_jax_metal_without_a_usable_plugin_lists_every_miss(monkeypatch):
    pytest.importorskip("jax")
    import bench.backends.jax as jb

    monkeypatch.setattr(
        jb.metal_plugins, "discover", lambda framework, prefer=None: fake_discovery("jax", jax_metal="0.1.1", jax="0.10.2", jaxlib="0.10.2")
    )
    with pytest.raises(BackendUnavailable, match=r"jax-metal: installed 0.1.1 but needs jax==0.5.0, found 0.10.2"):
        jb.JaxAdapter("metal")


def test_jax_gpu_unavailable_here_says_why():
    pytest.importorskip("jax")
    from bench.backends.jax import JaxAdapter

    with pytest.raises(BackendUnavailable, match="jax"):
        JaxAdapter("metal")
