"""The fallback_act workload: spec checks, every framework correct on CPU, and the MPS/CUDA paths of torch."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MLX_ENABLE_TF32", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from bench import workloads
from bench.backends import Unsupported, adapter_class
from bench.runner.execute import run_case
from bench.timing import TimingConfig
from bench.workloads.base import Case
from bench.workloads.fallback_act.spec import SPEC, softshrink

PARAMS = {"batch": 16, "dim": 32, "hidden": 64}
PATHS = {  # what Built.info["path"] names for each activation
    "native": {"torch": "nn.Softshrink", "jax": "jnp.where", "tensorflow": "tf.where", "mlx": "mlx.nn.Softshrink"},
    "host": {"torch": "siliconbench::softshrink_host", "jax": "pure_callback", "tensorflow": "numpy_function", "mlx": "mx.cpu"},
}
FAST = TimingConfig(warmup_s=0.0, min_warmup_calls=1, block_s=0.001, min_samples=3, max_samples=3, budget_s=0.0, canary=False)


def test_softshrink_reference_values():
    h = np.array([-1.0, -0.5, -0.2, 0.0, 0.3, 0.5, 2.0], dtype=np.float32)
    np.testing.assert_array_equal(softshrink(h), np.array([-0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5], dtype=np.float32))
    assert softshrink(h.astype(np.float16)).dtype == np.float16


@pytest.mark.parametrize(
    "bad, message",
    [
        ({**PARAMS, "act": "gpu"}, "act must be one of native, host"),
        ({**PARAMS, "batch": 0, "act": "host"}, "batch must be a positive integer"),
        ({**PARAMS, "act": "host", "extra": 1}, "unknown parameter"),
        ({"batch": 1, "act": "host"}, "missing parameter"),
    ],
)
def test_params_are_validated(bad, message):
    with pytest.raises(ValueError, match=message):
        SPEC.normalize(bad)


@pytest.fixture(scope="module")
def adapters():
    out = {}
    for framework in ("torch", "jax", "tensorflow", "mlx"):
        adapter = adapter_class(framework)("cpu")
        adapter.apply_precision_policy()
        out[framework] = adapter
    return out


@pytest.mark.parametrize("framework", ["torch", "jax", "tensorflow", "mlx"])
@pytest.mark.parametrize("act", ["native", "host"])
def test_every_framework_matches_the_reference(adapters, framework, act):
    record = run_case(adapters[framework], Case.make("fallback_act", {**PARAMS, "act": act}, "fp32", "eager"), FAST)
    assert record.status == "ok", record.reason
    assert record.correctness.rel_error < 1e-5
    assert PATHS[act][framework] in record.info["path"]


class _HostArrays:
    """A stand-in adapter for devices this machine lacks: arrays stay torch CPU tensors."""

    def __init__(self, device):
        self.device = device

    def from_numpy(self, array, dtype=None):
        import torch

        return torch.from_numpy(np.ascontiguousarray(array))


def test_torch_host_act_on_mps_needs_the_fallback(monkeypatch):
    impl = workloads.implementation("fallback_act", "torch")
    inputs = SPEC.make_inputs({**PARAMS, "act": "host"}, "fp32", np.random.default_rng(0))
    monkeypatch.delenv("PYTORCH_ENABLE_MPS_FALLBACK", raising=False)
    with pytest.raises(Unsupported, match="no MPS kernel"):
        impl.build(_HostArrays("mps"), {**PARAMS, "act": "host"}, "fp32", "eager", inputs)
    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1")  # as in the profiling child
    built = impl.build(_HostArrays("mps"), {**PARAMS, "act": "host"}, "fp32", "eager", inputs)
    assert "MPS CPU fallback" in built.info["path"]


def test_torch_host_act_on_cuda_is_an_explicit_round_trip():
    impl = workloads.implementation("fallback_act", "torch")
    params = {**PARAMS, "act": "host"}
    inputs = SPEC.make_inputs(params, "fp32", np.random.default_rng(0))
    built = impl.build(_HostArrays("cuda"), params, "fp32", "eager", inputs)
    assert "host round trip" in built.info["path"]
    out = built.fn().numpy()  # on CPU tensors the round trip is the identity; the op still runs
    np.testing.assert_allclose(out, SPEC.reference(params, "fp32", inputs), rtol=1e-5, atol=1e-6)
