"""yolo: architecture, weights, NumPy reference, FLOP count, and the four frameworks agreeing."""

import itertools

import numpy as np
import pytest

from bench import workloads
from bench.runner.execute import run_case
from bench.workloads.base import Case
from bench.workloads.yolo import arch, reference, weights
from bench.workloads.yolo.arch import ArchConfig
from tests.conftest import FAST_TIMING, cpu_adapter

SPEC = workloads.get("yolo")
GRAPH = arch.graph()
FRAMEWORKS = ("torch", "tensorflow", "jax", "mlx")


def _relative(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# -- architecture -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [64, 320, 640])
def test_output_shapes_per_stride(size):
    shapes = GRAPH.output_shapes(2, size)
    assert list(shapes) == ["stride8/box", "stride8/cls", "stride16/box", "stride16/cls", "stride32/box", "stride32/cls"]
    for stride in (8, 16, 32):
        assert shapes[f"stride{stride}/box"] == (2, 64, size // stride, size // stride)  # 4 sides × reg_max 16
        assert shapes[f"stride{stride}/cls"] == (2, 80, size // stride, size // stride)


def test_reference_outputs_have_the_graph_shapes():
    image = np.random.default_rng(0).random((2, 3, 64, 64))
    out = reference.forward(GRAPH, weights.folded_weights(), image)
    assert {k: v.shape for k, v in out.items()} == GRAPH.output_shapes(2, 64)
    assert all(v.dtype == np.float64 and np.all(np.isfinite(v)) for v in out.values())


def test_nano_matches_published_yolov8n_size():
    """ultralytics cfg/models/v8/yolov8.yaml: "YOLOv8n summary: 225 layers, 3157200 parameters, ...".

    That count keeps BN's two affine vectors per channel (we fold them into one bias) and the
    16-weight DFL conv; the fused model is quoted at 8.7 GFLOPs at 640×640.
    """
    bn_channels = sum(n.channels for n in GRAPH.convs() if n.act)
    assert GRAPH.parameter_count() + bn_channels + 16 == 3_157_200
    assert len(GRAPH.convs()) == 63
    assert 2 * GRAPH.conv_macs(640) / 1e9 == pytest.approx(8.7, rel=0.01)


def test_padding_is_symmetric_and_strided_convs_halve_exactly():
    for node in GRAPH.convs():
        assert node.p == node.k // 2
    sides = GRAPH.spatial(320)
    for i, node in enumerate(GRAPH.nodes):
        if node.kind == "conv" and node.s == 2:
            assert sides[i] * 2 == sides[node.inputs[0]]


def test_unknown_block_is_named():
    config = ArchConfig(layers=((-1, 1, "Conv", (16, 3, 2)), (-1, 1, "Transformer", ())))
    with pytest.raises(ValueError, match="layer 1 has unknown block 'Transformer'"):
        arch.lower(config)


# -- FLOPs ------------------------------------------------------------------------------------

TINY = ArchConfig(
    width=0.5,
    classes=3,
    reg_max=2,
    layers=(
        (-1, 1, "Conv", (16, 3, 2)),  # 0 /2
        (-1, 1, "Conv", (32, 3, 2)),  # 1 /4
        (-1, 1, "Conv", (32, 3, 2)),  # 2 /8
        (-1, 1, "Conv", (32, 3, 2)),  # 3 /16
        (-1, 1, "Conv", (64, 3, 2)),  # 4 /32
        ((2, 3, 4), 1, "Detect", ()),
    ),
)


def test_flops_of_a_tiny_config_counted_by_hand():
    g = arch.lower(TINY)
    size = 64
    # Backbone at width 0.5: 3→8 @32², 8→16 @16², 16→16 @8², 16→16 @4², 16→32 @2² (all 3×3).
    backbone = 9 * (3 * 8 * 32**2 + 8 * 16 * 16**2 + 16 * 16 * 8**2 + 16 * 16 * 4**2 + 16 * 32 * 2**2)
    # Head: box mid = max(16, 16 // 4, 4 · 2) = 16, cls mid = max(16, min(3, 100)) = 16.
    head = 0
    for cin, side in ((16, 8), (16, 4), (32, 2)):
        head += 9 * cin * 16 * side**2 * 2 + 9 * 16 * 16 * side**2 * 2  # two 3×3 convs per branch
        head += (16 * 8 + 16 * 3) * side**2  # 1×1 outputs: 4·reg_max and classes
    assert g.conv_macs(size) == backbone + head


def test_flops_match_a_count_taken_while_running_the_reference():
    """Independent of Graph.spatial: MACs from the shapes the NumPy forward actually produced."""
    counted = []

    class Counting(reference.NumpyOps):
        def conv(self, node, x):
            y = super().conv(node, x)
            counted.append(y.size * x.shape[-1] * node.k * node.k)
            return y

    w64 = {k: (w.astype(np.float64), b.astype(np.float64)) for k, (w, b) in weights.folded_weights().items()}
    arch.run(GRAPH, Counting(w64), np.random.default_rng(0).random((1, 96, 96, 3)))
    assert len(counted) == 63
    assert sum(counted) == GRAPH.conv_macs(96)
    assert SPEC.flops({"size": 96, "batch": 3}) == 2 * 3 * sum(counted)


# -- NumPy building blocks against naive loops ------------------------------------------------


def _naive_conv(x, w, stride, pad):
    b, h, wd, c = x.shape
    o, _, k, _ = w.shape
    xp = np.zeros((b, h + 2 * pad, wd + 2 * pad, c))
    xp[:, pad : pad + h, pad : pad + wd] = x
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((b, ho, wo, o))
    for n, i, j, f in itertools.product(range(b), range(ho), range(wo), range(o)):
        for di, dj, ch in itertools.product(range(k), range(k), range(c)):
            out[n, i, j, f] += xp[n, i * stride + di, j * stride + dj, ch] * w[f, ch, di, dj]
    return out


@pytest.mark.parametrize("k, stride, side", [(3, 1, 5), (3, 2, 6), (3, 2, 7), (1, 1, 4), (1, 2, 5)])
def test_numpy_conv_matches_naive_loop(k, stride, side):
    rng = np.random.default_rng(k * 10 + stride + side)
    x = rng.standard_normal((2, side, side, 3))
    w = rng.standard_normal((4, 3, k, k))
    got = reference.conv2d_nhwc(x, w, stride, k // 2)
    np.testing.assert_allclose(got, _naive_conv(x, w, stride, k // 2), rtol=1e-12, atol=1e-12)


def test_numpy_maxpool_and_upsample_match_naive_loops():
    x = np.random.default_rng(1).standard_normal((1, 6, 7, 2)) - 5.0  # all negative: zero padding would win
    got = reference.maxpool_nhwc(x, 5, 2)
    for i, j in itertools.product(range(6), range(7)):
        window = x[0, max(i - 2, 0) : i + 3, max(j - 2, 0) : j + 3]
        np.testing.assert_array_equal(got[0, i, j], window.max(axis=(0, 1)))
    up = reference.upsample2_nhwc(x)
    assert up.shape == (1, 12, 14, 2)
    for i, j in itertools.product(range(12), range(14)):
        np.testing.assert_array_equal(up[0, i, j], x[0, i // 2, j // 2])


# -- BN folding -------------------------------------------------------------------------------


def test_fold_bn_equals_unfolded_batch_norm_per_conv():
    raw = weights.raw_params(GRAPH)
    rng = np.random.default_rng(2)
    for node in GRAPH.convs()[:4] + GRAPH.convs()[-3:]:
        x = rng.standard_normal((1, 9, 9, node.cin))
        r = raw[node.name]
        w, b = weights.fold_bn(r)
        unfolded = reference.conv2d_nhwc(x, r.w, node.s, node.p)
        unfolded = weights.batch_norm_nhwc(unfolded, r) if node.act else unfolded + r.bias
        np.testing.assert_allclose(reference.conv2d_nhwc(x, w, node.s, node.p) + b, unfolded, rtol=1e-10, atol=1e-10)


def test_folded_network_equals_unfolded_network():
    raw = weights.raw_params(GRAPH)

    class Unfolded(reference.NumpyOps):
        def conv(self, node, x):
            r = raw[node.name]
            y = reference.conv2d_nhwc(x, r.w, node.s, node.p)
            y = weights.batch_norm_nhwc(y, r) if node.act else y + r.bias
            return reference.silu(y) if node.act else y

    image = np.random.default_rng(3).random((1, 64, 64, 3))
    unfolded = arch.run(GRAPH, Unfolded({}), image)
    folded = arch.run(GRAPH, reference.NumpyOps({k: weights.fold_bn(r) for k, r in raw.items()}), image)
    for a, b in zip(folded, unfolded):
        assert _relative(a, b) < 1e-12


def test_bn_eps_is_the_one_in_the_fold():
    r = weights.RawConv(np.ones((1, 1, 1, 1)), gamma=np.ones(1), beta=np.zeros(1), mean=np.zeros(1), var=np.zeros(1))
    w, _ = weights.fold_bn(r)
    assert w[0, 0, 0, 0] == pytest.approx(1 / np.sqrt(weights.BN_EPS))


def test_weights_are_deterministic_and_activations_stay_order_one():
    a, b = weights.raw_params(GRAPH), weights.raw_params(GRAPH)
    assert all(np.array_equal(a[k].w, b[k].w) for k in a)
    out = reference.forward(GRAPH, weights.folded_weights(), np.random.default_rng(4).random((1, 3, 128, 128)))
    for name, y in out.items():
        assert 0.05 < y.std() < 5.0, name


# -- spec -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"size": 320}, "missing parameter"),
        ({"size": 300, "batch": 1}, "size must be a multiple of 32"),
        ({"size": 320, "batch": 0}, "batch must be a positive integer"),
        ({"size": 320.0, "batch": 1}, "size must be a positive integer"),
        ({"size": 320, "batch": 1, "classes": 3}, "unknown parameter"),
    ],
)
def test_bad_params_name_the_parameter(bad, message):
    with pytest.raises(ValueError, match=message):
        SPEC.normalize(bad)


def test_inputs_figures_and_canary():
    params = SPEC.normalize({"size": 64, "batch": 2})
    inputs = SPEC.make_inputs(params, "bf16", np.random.default_rng(0))
    assert inputs["image"].shape == (2, 3, 64, 64)
    w = inputs["l0/w"]
    assert w.dtype == np.float32 and np.all(w.view(np.uint32) & 0xFFFF == 0)  # bf16-representable
    assert SPEC.canary_params(params) == {"size": 64, "batch": 4}
    assert SPEC.metrics(params, 0.5) == {"images_per_s": 4.0, "latency_ms": 500.0}
    ref = SPEC.reference(params, "bf16", inputs)
    assert SPEC.error_breakdown(ref, ref) == dict.fromkeys(GRAPH.output_names, 0.0)
    off = {**ref, "stride16/cls": ref["stride16/cls"] * 1.01}
    breakdown = SPEC.error_breakdown(off, ref)
    assert breakdown["stride16/cls"] == pytest.approx(0.01) and breakdown["stride8/box"] == 0.0


# -- frameworks -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_case():
    params = {"size": 64, "batch": 2}
    seed = SPEC.input_seed(params)
    inputs = SPEC.make_inputs(params, "fp32", np.random.default_rng(seed))
    return params, inputs, SPEC.reference(params, "fp32", inputs)


def _run(framework, mode, small_case):
    params, inputs, _ = small_case
    adapter = cpu_adapter(framework)
    built = workloads.implementation("yolo", framework).build(adapter, params, "fp32", mode, inputs)
    out = built.fn()
    adapter.synchronize(out)
    return built.to_numpy(out)


def test_frameworks_agree_with_each_other_and_the_reference(small_case):
    """All four frameworks, in one process, on one input: per output map, pairwise within 1e-4."""
    _, _, ref = small_case
    outputs = {fw: _run(fw, "eager", small_case) for fw in FRAMEWORKS}
    for fw, out in outputs.items():
        assert SPEC.relative_error(out, ref) <= SPEC.tolerance("fp32", False), fw
    for (fa, a), (fb, b) in itertools.combinations(outputs.items(), 2):
        for name in GRAPH.output_names:
            assert a[name].shape == b[name].shape == ref[name].shape
            assert _relative(a[name], b[name]) <= 1e-4, (fa, fb, name)


@pytest.mark.parametrize("framework", ["tensorflow", "jax", "mlx"])
def test_compiled_matches_reference(framework, small_case):
    """torch.compile is left to the suites: a cold Inductor compile of 63 convs takes minutes here."""
    _, _, ref = small_case
    assert SPEC.relative_error(_run(framework, "compiled", small_case), ref) <= 1e-4


# JAX eager compiles every op for each new dtype (~30 s here), so JAX runs this one compiled.
@pytest.mark.parametrize("framework, mode", [("torch", "eager"), ("tensorflow", "eager"), ("jax", "compiled"), ("mlx", "eager")])
def test_low_precision_case_is_ok_with_per_output_errors(framework, mode):
    record = run_case(cpu_adapter(framework), Case.make("yolo", {"size": 64, "batch": 1}, "bf16", mode), FAST_TIMING)
    assert record.status == "ok", record.reason
    per_output = record.correctness.per_output
    assert list(per_output) == list(GRAPH.output_names)
    assert 0 < max(per_output.values()) <= SPEC.tolerance("bf16", False)
    assert record.metrics["images_per_s"] > 0 and record.flops == SPEC.flops({"size": 64, "batch": 1})
