"""sdpa: the float64 reference against independent computations, and every framework against it."""

import math

import numpy as np
import pytest

from bench import workloads
from bench.runner.execute import run_case
from bench.workloads.base import Case
from bench.workloads.sdpa import spec as sdpa_spec
from bench.workloads.sdpa.spec import attention_reference
from tests.conftest import FAST_TIMING, cpu_adapter

SPEC = workloads.get("sdpa")
FRAMEWORKS = ["torch", "tensorflow", "jax", "mlx"]
SMALL = {"b": 1, "h": 2, "l": 48, "d": 32}


def loop_attention(q, k, v, causal):
    """Attention one query at a time with math.exp: no matmul, no masking trick."""
    b, h, length, d = q.shape
    out = np.zeros_like(q, dtype=np.float64)
    for bi in range(b):
        for hi in range(h):
            for i in range(length):
                keys = range(i + 1) if causal else range(length)
                scores = [float(np.dot(q[bi, hi, i], k[bi, hi, j])) / math.sqrt(d) for j in keys]
                top = max(scores)
                weights = [math.exp(s - top) for s in scores]
                total = sum(weights)
                out[bi, hi, i] = sum(w / total * v[bi, hi, j] for w, j in zip(weights, keys))
    return out


# -- the reference -------------------------------------------------------------------------------
def test_hand_computed_case():
    """Equal scores give equal weights: each output row is the mean of the values it may see."""
    q = k = np.zeros((1, 1, 3, 2))
    v = np.array([[[[1.0, 2.0], [3.0, 4.0], [8.0, 0.0]]]])
    np.testing.assert_allclose(attention_reference(q, k, v, causal=False)[0, 0], [[4.0, 2.0]] * 3)
    np.testing.assert_allclose(attention_reference(q, k, v, causal=True)[0, 0], [[1.0, 2.0], [2.0, 3.0], [4.0, 2.0]])


@pytest.mark.parametrize("causal", [False, True])
def test_reference_matches_a_loop_over_queries(causal):
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 2, 5, 3)) for _ in range(3))
    np.testing.assert_allclose(attention_reference(q, k, v, causal), loop_attention(q, k, v, causal), rtol=1e-12, atol=1e-12)


def test_chunking_over_heads_does_not_change_the_answer(monkeypatch):
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 3, 16, 4)) for _ in range(3))
    whole = attention_reference(q, k, v, causal=True)
    monkeypatch.setattr(sdpa_spec, "_REFERENCE_SCORE_ELEMENTS", 16 * 16)  # one head per chunk
    np.testing.assert_array_equal(attention_reference(q, k, v, causal=True), whole)


def test_causal_rows_ignore_future_keys_and_values():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((1, 1, 6, 4)) for _ in range(3))
    out = attention_reference(q, k, v, causal=True)
    k2, v2 = k.copy(), v.copy()
    k2[..., 4:, :] += 5.0
    v2[..., 4:, :] -= 7.0
    changed = attention_reference(q, k2, v2, causal=True)
    np.testing.assert_array_equal(out[..., :4, :], changed[..., :4, :])
    assert not np.allclose(out[..., 4:, :], changed[..., 4:, :])
    np.testing.assert_allclose(out[0, 0, 0], v[0, 0, 0])  # the first query sees only the first key


def test_tolerances_catch_a_missing_mask_or_a_wrong_scale():
    """Common bugs must fail the check at every dtype, including the loosest (bf16)."""
    params = SPEC.normalize({"bhld": [1, 4, 128, 64], "causal": True})
    inputs = SPEC.make_inputs(params, "bf16", np.random.default_rng(4))
    ref = SPEC.reference(params, "bf16", inputs)
    q, k, v = inputs["q"], inputs["k"], inputs["v"]
    unmasked = attention_reference(q, k, v, causal=False)
    wrong_scale = attention_reference(q * math.sqrt(64) ** -1, k, v, causal=True)  # 1/d instead of 1/sqrt(d)
    loosest = max(SPEC.tolerances.values())
    assert SPEC.relative_error(unmasked, ref) > 4 * loosest
    assert SPEC.relative_error(wrong_scale, ref) > 4 * loosest


# -- spec ----------------------------------------------------------------------------------------
def test_figures_and_canary():
    params = SPEC.normalize({"bhld": [2, 3, 16, 8]})
    assert params == {"b": 2, "h": 3, "l": 16, "d": 8, "causal": False, "variant": "fused"}
    assert SPEC.flops(params) == 4 * 2 * 3 * 16**2 * 8
    assert SPEC.flops({**params, "causal": True}) == SPEC.flops(params) / 2
    assert SPEC.bytes_moved(params, "bf16") == 4 * 2 * 3 * 16 * 8 * 2
    assert SPEC.canary_params(params) == {**params, "b": 4}
    inputs = SPEC.make_inputs(params, "fp16", np.random.default_rng(0))
    assert {name: a.shape for name, a in inputs.items()} == {n: (2, 3, 16, 8) for n in "qkv"}
    assert all(np.array_equal(a, a.astype(np.float16).astype(np.float32)) for a in inputs.values())


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"bhld": [1, 2, 3]}, "bhld must be"),
        ({"b": 1, "h": 2, "l": 8}, "missing parameter"),
        ({"bhld": [1, 2, 0, 8]}, "l must be a positive integer"),
        ({"bhld": [1, 2, 8, 8], "causal": "yes"}, "causal must be true or false"),
        ({"bhld": [1, 2, 8, 8], "variant": "flash"}, "variant must be one of"),
        ({"bhld": [1, 2, 8, 8], "heads": 4}, "unknown parameter"),
    ],
)
def test_bad_params_name_the_parameter(bad, message):
    with pytest.raises(ValueError, match=message):
        SPEC.normalize(bad)


# -- every framework -----------------------------------------------------------------------------
def run(framework, dtype="fp32", mode="eager", **params):
    case = Case.make("sdpa", SPEC.normalize({**SMALL, **params}), dtype, mode)
    return run_case(cpu_adapter(framework), case, FAST_TIMING)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("variant", ["fused", "naive"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_every_framework_matches_the_reference(framework, variant, causal, dtype):
    if (framework, variant, dtype) == ("tensorflow", "fused", "bf16"):
        pytest.skip("Keras attention on TF's CPU sums in bf16: test_tensorflow_fused_bf16_is_a_mismatch")
    record = run(framework, dtype, variant=variant, causal=causal)
    assert record.status == "ok", record.reason
    assert record.correctness.rel_error <= SPEC.tolerance(dtype, False, SPEC.normalize({**SMALL, "variant": variant, "causal": causal}))
    assert record.flops == SPEC.flops({**SMALL, "causal": causal})


def test_tensorflow_fused_bf16_is_a_mismatch():
    """A real finding, outside the error model: Keras' dot_product_attention on TF's CPU runs its einsums
    with bf16 sums (tf.einsum: 4.8 bf16 ulps at L = 256 where tf.matmul has 0.85), ~2x the tolerance."""
    record = run("tensorflow", "bf16", variant="fused", b=1, h=4, l=256, d=64, causal=False)
    assert record.status == "mismatch"
    assert record.correctness.rel_error > 1.5 * record.correctness.tolerance
    naive = run("tensorflow", "bf16", variant="naive", b=1, h=4, l=256, d=64, causal=False)
    assert naive.status == "ok", naive.reason


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_compiled_fused_matches_the_reference(framework):
    record = run(framework, "fp32", "compiled", causal=True)
    assert record.status == "ok", record.reason
    assert record.correctness.rel_error <= SPEC.tolerance("fp32", False)


def test_torch_records_the_kernel_it_chose_and_ran():
    fused = run("torch").info
    assert fused["sdp_backend"] in {"FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH", "OVERRIDEABLE"}
    kernel = {"FLASH_ATTENTION": "flash_attention", "MATH": "_scaled_dot_product_attention_math"}.get(fused["sdp_backend"])
    if kernel:
        assert any(kernel in op for op in fused["ops"]), fused["ops"]
    naive = run("torch", variant="naive").info
    assert not any("scaled_dot_product" in op for op in naive["ops"]), "naive must not call SDPA"
    assert "aten::softmax" in naive["ops"]


def test_results_say_which_path_is_not_fused():
    assert run("tensorflow").info["fused"] is False
    mlx_info = run("mlx").info
    assert mlx_info["fused"] is False and "CPU" in mlx_info["note"]  # MLX's CPU backend never fuses
    jax_info = run("jax").info
    assert "xla" in jax_info["path"] and jax_info["fused"] is False


@pytest.mark.parametrize(
    "framework, words",
    [
        ("jax", "needs CUDA"),
        ("torch", "picks its kernel"),
        ("tensorflow", "no fused"),
        ("mlx", "picks cuDNN"),
    ],
)
def test_cudnn_variant_off_cuda_is_unsupported_with_a_reason(framework, words):
    record = run(framework, "bf16", variant="cudnn")
    assert record.status == "unsupported" and words in record.reason


def test_jax_cudnn_rejects_fp32_even_on_cuda():
    from bench.backends import Unsupported
    from bench.workloads.sdpa.jax import _check_cudnn

    class FakeCuda:
        device = "cuda"

    with pytest.raises(Unsupported, match="fp16 or bf16"):
        _check_cudnn(FakeCuda(), "fp32")
    _check_cudnn(FakeCuda(), "bf16")  # allowed


def test_jax_compiled_fp16_on_cpu_is_unsupported_not_an_error():
    """XLA:CPU rejects the F16_F16_F32 dot jax.nn.dot_product_attention asks for under jit."""
    record = run("jax", "fp16", "compiled")
    assert record.status in {"unsupported", "ok"}  # ok once XLA:CPU learns the algorithm
    if record.status == "unsupported":
        assert "F16_F16_F32" in record.reason


def test_keras_on_another_backend_is_unsupported(monkeypatch):
    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    record = run("tensorflow")
    assert record.status == "unsupported" and "KERAS_BACKEND" in record.reason


@pytest.mark.gpu
def test_torch_cuda_fused_bf16_runs_a_fused_kernel():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from bench.backends import adapter_class

    adapter = adapter_class("torch")("cuda")
    adapter.apply_precision_policy()
    case = Case.make("sdpa", SPEC.normalize({"bhld": [1, 4, 256, 64], "causal": True}), "bf16", "eager")
    record = run_case(adapter, case, FAST_TIMING)
    assert record.status == "ok", record.reason
    assert record.info["sdp_backend"] in {"FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION"}


# -- CUDA-only paths, checked by contract (no GPU here) ----------------------------------------------
def test_jax_cudnn_variant_calls_cudnn_attention_on_blhd(monkeypatch):
    import jax

    from bench.backends import adapter_class

    adapter = adapter_class("jax")("cpu")
    adapter.device = "cuda"  # pretend: only the device check reads it before the call
    calls = []

    def fake_attention(q, k, v, **kwargs):
        calls.append((q.shape, kwargs))
        return q

    monkeypatch.setattr(jax.nn, "dot_product_attention", fake_attention)
    params = SPEC.normalize({**SMALL, "causal": True, "variant": "cudnn"})
    inputs = SPEC.make_inputs(params, "bf16", np.random.default_rng(0))
    built = workloads.implementation("sdpa", "jax").build(adapter, params, "bf16", "eager", inputs)
    out = built.to_numpy(built.fn())
    assert calls == [((1, 48, 2, 32), {"scale": 1 / math.sqrt(32), "is_causal": True, "implementation": "cudnn"})]
    assert out.shape == (1, 2, 48, 32) and built.info["fused"] is True


def test_torch_cuda_profile_lists_device_kernels_first(monkeypatch):
    import torch
    import torch.profiler

    from bench.workloads.torch_ops import ops_of_one_call

    class Event:
        def __init__(self, key, device_type):
            self.key, self.device_type = key, device_type

    class FakeProfile:
        def __init__(self, activities):
            assert torch.profiler.ProfilerActivity.CUDA in activities

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def key_averages(self):
            names = [f"aten::op{i:02d}" for i in range(40)]
            kernel = Event("cudnn_generated_sdpa_flash_fprop", "DeviceType.CUDA")
            return [Event(n, "DeviceType.CPU") for n in names] + [kernel]

    monkeypatch.setattr(torch.profiler, "profile", FakeProfile)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    calls = []
    names = ops_of_one_call(lambda: calls.append(1), "cuda")
    assert names[0] == "cudnn_generated_sdpa_flash_fprop" and len(names) == 32
    assert len(calls) == 2  # one warm call, one profiled
