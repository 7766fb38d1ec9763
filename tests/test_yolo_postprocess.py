"""yolo_postprocess: decode recovers painted boxes, greedy NMS semantics, the dense loop, four frameworks."""

import numpy as np
import pytest

from bench import workloads
from bench.runner.execute import run_case
from bench.workloads.base import Case
from bench.workloads.yolo_postprocess import reference
from bench.workloads.yolo_postprocess.spec import canonical_rows
from tests.conftest import FAST_TIMING, cpu_adapter

SPEC = workloads.get("yolo_postprocess")
FRAMEWORKS = ("torch", "tensorflow", "jax", "mlx")


def test_decode_recovers_a_painted_object():
    size, reg_max, rng = 320, 16, np.random.default_rng(0)
    maps = {}
    for s in (8, 16, 32):
        n = size // s
        maps[f"stride{s}/box"] = np.zeros((1, 4 * reg_max, n, n))
        maps[f"stride{s}/cls"] = np.full((1, 80, n, n), -8.0)
    centre, wh = np.array([150.0, 90.0]), np.array([60.0, 40.0])  # 60 px < 0.24·320: stride 16
    reference.paint_object(maps, 0, 7, centre, wh, size, rng)
    anchors, strides = reference.anchor_grid(size)
    boxes, scores, classes = reference.decode(maps, anchors, strides, reg_max)
    best = int(np.argmax(scores[0]))
    assert classes[0, best] == 7 and strides[best] == 16 and scores[0, best] > 0.9
    np.testing.assert_allclose(boxes[0, best], [120.0, 70.0, 180.0, 110.0], atol=0.2 * 16)


def _one_image(boxes, scores, classes):
    return np.array([boxes], float), np.array([scores], float), np.array([classes], float)


def test_greedy_nms_suppresses_in_score_order_within_a_class():
    boxes = [
        [0, 0, 10, 10],  # a: 0.9
        [1, 0, 11, 10],  # b: 0.8, IoU(a, b) = 0.82: suppressed by a
        [6, 0, 16, 10],  # c: 0.7, IoU(b, c) = 0.33, IoU(a, c) = 0.25: kept
        [0, 0, 10, 10],  # d: 0.6, same box as a but another class: kept
        [20, 20, 30, 30],  # e: 0.2, below CONF: dropped
    ]
    out = reference.greedy_nms(*_one_image(boxes, [0.9, 0.8, 0.7, 0.6, 0.2], [1, 1, 1, 2, 1]))
    kept = out[0][out[0, :, 4] > 0]
    np.testing.assert_array_equal(kept[:, 4], [0.9, 0.7, 0.6])
    np.testing.assert_array_equal(kept[:, 5], [1, 1, 2])
    assert reference.iou(np.array(boxes[0], float), np.array([boxes[1]], float))[0] == pytest.approx(9 / 11)


def test_dense_fixed_point_equals_greedy_on_a_suppression_chain():
    """Chains where a suppressed box must not suppress: the dense loop needs several iterations."""
    torch = pytest.importorskip("torch")
    from bench.workloads.yolo_postprocess import torch as impl

    # 10 px boxes: 3 px apart overlap with IoU 0.54 (suppress), 6 px apart with 0.25 (do not).
    shifts = [0, 3, 6, 9, 12, 15, 40, 42]
    boxes = np.array([[x, 0, x + 10, 10] for x in shifts], float)
    scores = np.linspace(0.9, 0.5, len(shifts))
    classes = np.zeros(len(shifts))
    ref = reference.greedy_nms(*_one_image(boxes, scores, classes))[0]

    k = len(shifts)
    lt = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = 100.0
    hits = (inter / (2 * area - inter) > reference.IOU) & np.triu(np.ones((k, k), bool), 1)
    valid = torch.ones(1, k, dtype=torch.bool)
    hits_t = torch.from_numpy(hits)[None]
    keep, iterations = valid, 0
    while True:
        new = impl.step(valid, hits_t, keep)
        iterations += 1
        if torch.equal(new, keep):
            break
        keep = new
    assert iterations == 6  # keep flips back and forth along the chain before it settles
    np.testing.assert_array_equal(np.flatnonzero(keep[0].numpy()), [np.flatnonzero(scores == s)[0] for s in ref[ref[:, 4] > 0, 4]])


def test_canonical_rows_ignore_order_but_not_values():
    rng = np.random.default_rng(1)
    dets = np.zeros((1, 6, 6))
    dets[0, :4] = np.column_stack([rng.random((4, 4)) * 100, rng.random(4), [3, 1, 3, 2]])
    swapped = dets.copy()
    swapped[0, [0, 1]] = swapped[0, [1, 0]]
    assert SPEC.relative_error(swapped, dets) == 0.0
    changed = dets.copy()
    changed[0, 2, 0] += 1.0
    assert SPEC.relative_error(changed, dets) > 0
    assert np.all(canonical_rows(dets)[0, 4:] == 0)


@pytest.fixture(scope="module")
def case_inputs():
    params = {"size": 320, "batch": 2}
    inputs = SPEC.make_inputs(params, "fp32", np.random.default_rng(SPEC.input_seed(params)))
    return params, inputs, SPEC.reference(params, "fp32", inputs)


def test_synthetic_case_has_clusters_to_suppress(case_inputs):
    _params, inputs, ref = case_inputs
    _, scores, _ = reference.decode(inputs, inputs["anchors"], inputs["strides"], SPEC.reg_max)
    candidates = (scores > reference.CONF).sum(axis=1)
    kept = (ref[..., 4] > 0).sum(axis=1)
    assert ref.shape == (2, reference.MAX_DET, 6)
    assert np.all(kept >= 5) and np.all(candidates > 4 * kept)


# torch compiled is left to the suites: a cold Inductor compile of the pieces takes minutes here.
@pytest.mark.parametrize("framework, mode", [(f, m) for f in FRAMEWORKS for m in ("eager", "compiled") if (f, m) != ("torch", "compiled")])
def test_frameworks_match_the_textbook_greedy(framework, mode, case_inputs):
    params, inputs, ref = case_inputs
    adapter = cpu_adapter(framework)
    built = workloads.implementation("yolo_postprocess", framework).build(adapter, params, "fp32", mode, inputs)
    out = adapter.to_numpy(built.fn())
    assert out.shape == ref.shape
    assert SPEC.relative_error(out, ref) <= SPEC.tolerance("fp32", False)
    np.testing.assert_array_equal(out[..., 5], ref[..., 5])  # same classes, same order (no near-ties here)


def test_half_precision_is_unsupported_with_a_reason():
    record = run_case(cpu_adapter("jax"), Case.make("yolo_postprocess", {"size": 64, "batch": 1}, "bf16", "eager"), FAST_TIMING)
    assert record.status == "unsupported" and "does not define dtype bf16" in record.reason


def test_bad_params_name_the_workload():
    with pytest.raises(ValueError, match="yolo_postprocess: size must be a multiple of 32"):
        SPEC.normalize({"size": 100, "batch": 1})
