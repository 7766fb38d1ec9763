"""conv_add: the float64 reference against scipy and loops, padding symmetry, and every framework."""

import numpy as np
import pytest
from scipy.signal import correlate2d

from bench import workloads
from bench.runner.execute import run_case
from bench.workloads.base import Case
from bench.workloads.conv_add.spec import conv2d_reference, output_hw
from tests.conftest import FAST_TIMING, cpu_adapter

SPEC = workloads.get("conv_add")
FRAMEWORKS = ["torch", "tensorflow", "jax", "mlx"]
SMALL = {"n": 2, "c": 8, "h": 10, "w": 12}


def scipy_conv(x, weight, stride):
    """Cross-correlation per (image, out channel, in channel) with scipy, zero padding 1, then subsampled."""
    n, c_in, h, w = x.shape
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, weight.shape[0], h, w))
    for i in range(n):
        for o in range(weight.shape[0]):
            for c in range(c_in):
                out[i, o] += correlate2d(padded[i, c], weight[o, c], mode="valid")
    return out[:, :, ::stride, ::stride]


# -- the reference -------------------------------------------------------------------------------
@pytest.mark.parametrize("stride, h, w", [(1, 5, 4), (2, 6, 6), (2, 7, 5)])
def test_conv_reference_matches_scipy(stride, h, w):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, h, w))
    weight = rng.standard_normal((4, 3, 3, 3))
    ref = conv2d_reference(x, weight, stride)
    assert ref.shape[2:] == output_hw({"h": h, "w": w, "stride": stride})
    np.testing.assert_allclose(ref, scipy_conv(x, weight, stride), rtol=1e-12, atol=1e-12)


def test_hand_computed_corner():
    """A ones kernel on a ones image sums the in-bounds 3x3 window: 4 at a corner, 6 on an edge, 9 inside."""
    out = conv2d_reference(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=1)[0, 0]
    assert out[0, 0] == 4 and out[0, 1] == 6 and out[1, 1] == 9 and out[3, 3] == 4


def test_stride_two_pads_one_on_every_side():
    """Padding (1, 1): output row 0 sees input rows 0-1 only, the last output row sees the last input row.

    TF/JAX 'SAME' would pad (0, 1) on an even input: row 0 would then see input row 2.
    """
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 8, 8))
    weight = rng.standard_normal((2, 2, 3, 3))
    out = conv2d_reference(x, weight, stride=2)
    bumped = x.copy()
    bumped[:, :, 2, :] += 10.0
    np.testing.assert_array_equal(conv2d_reference(bumped, weight, 2)[:, :, 0], out[:, :, 0])
    last = x.copy()
    last[:, :, 7, :] += 10.0
    assert not np.allclose(conv2d_reference(last, weight, 2)[:, :, 3], out[:, :, 3])
    # Transposing H and W (input and kernel) transposes the output: padding is the same on both axes.
    np.testing.assert_allclose(conv2d_reference(x.transpose(0, 1, 3, 2), weight.transpose(0, 1, 3, 2), 2), out.transpose(0, 1, 3, 2), rtol=1e-12)


def test_same_padding_would_fail_the_check():
    """The trap the workload guards against: an asymmetric (0, 1) pad is far outside every tolerance."""
    params = SPEC.normalize({"nchw": [1, 16, 16, 16], "stride": 2})
    inputs = SPEC.make_inputs(params, "fp32", np.random.default_rng(2))
    ref = SPEC.reference(params, "fp32", inputs)
    shifted = np.pad(inputs["x"].astype(np.float64), ((0, 0), (0, 0), (0, 2), (0, 2)))[:, :, 1:, 1:]  # pads (0, 1)
    same = conv2d_reference(shifted, inputs["weight"], 2)[:, :, :8, :8]
    same += inputs["bias"][None, :, None, None] + inputs["residual"]
    assert SPEC.relative_error(np.maximum(same, 0), ref) > 4 * max(SPEC.tolerances.values())


def test_bias_residual_and_activations():
    params = SPEC.normalize({**SMALL, "act": "silu"})
    inputs = SPEC.make_inputs(params, "fp32", np.random.default_rng(3))
    y = conv2d_reference(inputs["x"], inputs["weight"], 1) + inputs["bias"][None, :, None, None] + inputs["residual"]
    np.testing.assert_allclose(SPEC.reference(params, "fp32", inputs), y / (1 + np.exp(-y)), rtol=1e-12)
    relu = SPEC.reference({**params, "act": "relu"}, "fp32", inputs)
    np.testing.assert_allclose(relu, np.maximum(y, 0), rtol=1e-12)


# -- spec ----------------------------------------------------------------------------------------
def test_figures_shapes_and_canary():
    params = SPEC.normalize({"nchw": [2, 8, 10, 11], "stride": 2})
    assert params == {"n": 2, "c": 8, "h": 10, "w": 11, "stride": 2, "act": "relu", "remap": True}
    assert output_hw(params) == (5, 6)
    outputs = 2 * 8 * 5 * 6
    assert SPEC.flops(params) == 2 * outputs * 8 * 9 + 2 * outputs
    assert SPEC.bytes_moved(params, "fp16") == (2 * 8 * 10 * 11 + 8 * 8 * 9 + 8 + 2 * outputs) * 2
    assert SPEC.canary_params(params)["n"] == 4
    inputs = SPEC.make_inputs(params, "bf16", np.random.default_rng(0))
    assert inputs["residual"].shape == (2, 8, 5, 6) and inputs["weight"].shape == (8, 8, 3, 3)
    assert SPEC.metrics(params, 0.5) == {"images_per_s": 4.0}


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"nchw": [1, 2, 3]}, "nchw must be"),
        ({"n": 1, "c": 2, "h": 3}, "missing parameter"),
        ({"nchw": [1, 0, 8, 8]}, "c must be a positive integer"),
        ({"nchw": [1, 2, 8, 8], "stride": 3}, "stride must be 1 or 2"),
        ({"nchw": [1, 2, 8, 8], "act": "gelu"}, "act must be one of"),
        ({"nchw": [1, 2, 8, 8], "remap": "off"}, "remap must be true or false"),
        ({"nchw": [1, 2, 8, 8], "padding": 1}, "unknown parameter"),
    ],
)
def test_bad_params_name_the_parameter(bad, message):
    with pytest.raises(ValueError, match=message):
        SPEC.normalize(bad)


# -- every framework -----------------------------------------------------------------------------
def run(framework, dtype="fp32", mode="eager", **params):
    case = Case.make("conv_add", SPEC.normalize({**SMALL, **params}), dtype, mode)
    return run_case(cpu_adapter(framework), case, FAST_TIMING)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("stride, act", [(1, "relu"), (2, "silu")])
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_every_framework_matches_the_reference(framework, stride, act, dtype):
    record = run(framework, dtype, stride=stride, act=act)
    assert record.status == "ok", record.reason
    assert record.correctness.rel_error <= SPEC.tolerance(dtype, False)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_compiled_case_reports_a_fusion_gain_against_a_checked_baseline(framework):
    record = run(framework, "fp32", "compiled", stride=2, act="silu")
    assert record.status == "ok", record.reason
    baseline = record.baseline
    assert baseline.status == "ok" and baseline.correctness.rel_error <= SPEC.tolerance("fp32", False)
    gain = record.metrics["fusion_gain"]
    assert gain == pytest.approx(baseline.timing.median / record.timing.median)
    assert record.info["baseline"] == ("remapping off" if framework == "tensorflow" else "eager")


@pytest.mark.parametrize("framework", ["torch", "jax", "mlx"])
def test_remap_off_is_tensorflow_only(framework):
    record = run(framework, "fp32", "compiled", remap=False)
    assert record.status == "unsupported" and "grappler" in record.reason


def test_tensorflow_eager_has_no_remapper_to_turn_off():
    record = run("tensorflow", remap=False)
    assert record.status == "unsupported" and "mode=compiled" in record.reason


@pytest.mark.parametrize("act", ["relu", "silu"])
def test_tensorflow_remapper_fuses_into_the_conv_and_off_means_off(act):
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options()
    on = run("tensorflow", "fp32", "compiled", act=act)
    off = run("tensorflow", "fp32", "compiled", act=act, remap=False)
    assert on.status == off.status == "ok"
    # fp32 NHWC conv + bias is fused by every CPU build (oneDNN adds Add and the activation).
    assert "BiasAdd" in on.info["fused_into_conv"], on.info["kernels"]
    assert any("Conv2D[" in k for k in on.info["kernels"])
    assert off.info["fused_into_conv"] == [] and not any("Fused" in k for k in off.info["kernels"])
    assert on.info["fully_fused"] == ({"BiasAdd", "Add"} <= set(on.info["fused_into_conv"]) and act == "relu")
    assert on.baseline.info["fused_into_conv"] == []  # the fused case's baseline really is unfused
    # The remapper setting was per call: the process-global grappler options are untouched.
    assert tf.config.optimizer.get_experimental_options() == before


def test_torch_records_the_ops_of_eager_and_compiled_calls():
    eager = run("torch").info["ops"]
    assert "aten::conv2d" in eager and "aten::relu" in eager
    compiled = run("torch", mode="compiled").info["ops"]
    assert "inductor CompiledFxGraph" in compiled and "aten::relu" not in compiled  # add+relu generated
