"""Decode + NMS settings, the synthetic head maps, and the float64 NumPy reference.

Decode (YOLOv8): per anchor, a softmax over ``reg_max`` bins of each box side gives the expected
distance (in stride units) from the anchor centre to the left, top, right and bottom edges; class
scores are sigmoids of the class logits, a box's score is its best class. NMS: the ``CANDIDATES``
best-scoring anchors, those above ``CONF``, greedy class-aware suppression (a box suppresses
only boxes of its own class) at IoU > ``IOU``, at most ``MAX_DET`` kept, in score order.
Ultralytics gets class awareness by moving each class 7680 px away; in fp32 that rounds
coordinates to 1/16 px and IoUs by ~1e-3, which would flip decisions against a float64
reference, so here a same-class mask does it.

Output: (B, D, 6) rows ``x1, y1, x2, y2, score, class`` of the kept boxes in score order, zero
rows after them; D = min(MAX_DET, K) with K = min(CANDIDATES, anchors).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax

CONF = 0.25
IOU = 0.45
CANDIDATES = 1024
MAX_DET = 300
OBJECTS = 12  # synthetic objects per image


def anchor_grid(size: int, strides=(8, 16, 32)) -> tuple[np.ndarray, np.ndarray]:
    """Anchor centres (A, 2) as (x, y) pixels, row-major per stride, and each anchor's stride (A,)."""
    centres, per_anchor = [], []
    for s in strides:
        n = size // s
        ys, xs = np.meshgrid((np.arange(n) + 0.5) * s, (np.arange(n) + 0.5) * s, indexing="ij")
        centres.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        per_anchor.append(np.full(n * n, float(s)))
    return np.concatenate(centres).astype(np.float32), np.concatenate(per_anchor).astype(np.float32)


def sizes(anchors: int) -> tuple[int, int]:
    """(K candidates, D output rows) for a number of anchors."""
    k = min(CANDIDATES, anchors)
    return k, min(MAX_DET, k)


def synthetic_head(batch: int, size: int, classes: int, reg_max: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Head maps (NCHW) with ``OBJECTS`` random boxes per image: clusters of candidates for NMS.

    Background class logits are N(-6, 1) and box logits N(0, 1); ``paint_object`` writes each object.
    """
    maps: dict[str, np.ndarray] = {}
    for s in (8, 16, 32):
        n = size // s
        maps[f"stride{s}/box"] = rng.standard_normal((batch, 4 * reg_max, n, n))
        maps[f"stride{s}/cls"] = rng.normal(-6.0, 1.0, (batch, classes, n, n))
    for b in range(batch):
        for _ in range(OBJECTS):
            cls = int(rng.integers(classes))
            wh = rng.uniform(0.05, 0.35, 2) * size
            centre = rng.uniform(0.1, 0.9, 2) * size
            paint_object(maps, b, cls, centre, wh, size, rng)
    return {k: v.astype(np.float32) for k, v in maps.items()}


def paint_object(maps: dict[str, np.ndarray], b: int, cls: int, centre: np.ndarray, wh: np.ndarray, size: int, rng: np.random.Generator) -> None:
    """Write one object (centre, width/height in pixels) into image ``b`` of float64 head maps.

    It goes to stride 8, 16 or 32 by size, as a trained head would put it. Anchors inside it score
    ``3 - 4·d + noise`` for its class (d: 0 at the centre, 1 at the edge); their box logits peak at
    the bins of the true edge distances.
    """
    s = 8 if wh.max() < 0.12 * size else (16 if wh.max() < 0.24 * size else 32)
    n = size // s
    reg_max = maps[f"stride{s}/box"].shape[1] // 4
    ys, xs = np.meshgrid((np.arange(n) + 0.5) * s, (np.arange(n) + 0.5) * s, indexing="ij")
    d = np.maximum(np.abs(xs - centre[0]) / (wh[0] / 2), np.abs(ys - centre[1]) / (wh[1] / 2))
    inside = d < 1.0
    count = int(inside.sum())
    if not count:
        return
    logits = maps[f"stride{s}/cls"][b, cls]
    logits[inside] = np.maximum(logits[inside], 3.0 - 4.0 * d[inside] + 0.3 * rng.standard_normal(count))
    x1, y1 = centre - wh / 2
    x2, y2 = centre + wh / 2
    sides = np.stack([xs[inside] - x1, ys[inside] - y1, x2 - xs[inside], y2 - ys[inside]]) / s  # (4, count)
    sides = np.clip(sides, 0.0, reg_max - 1.0)
    bins = np.arange(reg_max)
    box = -2.0 * (bins[None, :, None] - sides[:, None, :]) ** 2 + 0.2 * rng.standard_normal((4, reg_max, count))
    maps[f"stride{s}/box"][b].reshape(4, reg_max, n, n)[:, :, inside] = box


def decode(maps: dict[str, np.ndarray], anchors: np.ndarray, strides: np.ndarray, reg_max: int):
    """NCHW head maps → boxes (B, A, 4) xyxy pixels, scores (B, A), classes (B, A), in float64."""
    box = np.concatenate([maps[f"stride{s}/box"].reshape(*maps[f"stride{s}/box"].shape[:2], -1) for s in (8, 16, 32)], axis=2)
    cls = np.concatenate([maps[f"stride{s}/cls"].reshape(*maps[f"stride{s}/cls"].shape[:2], -1) for s in (8, 16, 32)], axis=2)
    b, _, a = box.shape
    prob = softmax(box.astype(np.float64).reshape(b, 4, reg_max, a), axis=2)
    dist = np.einsum("bsra,r->bas", prob, np.arange(reg_max, dtype=np.float64)) * strides[None, :, None]
    xy = anchors.astype(np.float64)[None]
    boxes = np.concatenate([xy - dist[..., :2], xy + dist[..., 2:]], axis=-1)
    probs = expit(cls.astype(np.float64))
    return boxes, probs.max(axis=1), probs.argmax(axis=1).astype(np.float64)


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box with each row of ``others``."""
    lt = np.maximum(box[:2], others[:, :2])
    rb = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=1)
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
    return inter / (area(box) + area(others) - inter)


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The textbook greedy NMS, one image and one candidate at a time: (B, A, ·) → (B, D, 6)."""
    k, d = sizes(scores.shape[1])
    out = np.zeros((scores.shape[0], d, 6))
    for b in range(scores.shape[0]):
        order = np.argsort(-scores[b], kind="stable")[:k]
        order = order[scores[b, order] > CONF]
        kept: list[int] = []
        for i in order:
            if len(kept) == d:
                break
            rivals = [j for j in kept if classes[b, j] == classes[b, i]]
            if not rivals or np.all(iou(boxes[b, i], boxes[b, rivals]) <= IOU):
                kept.append(int(i))
        out[b, : len(kept)] = np.concatenate([boxes[b, kept], scores[b, kept, None], classes[b, kept, None]], axis=1)
    return out


def postprocess(maps: dict[str, np.ndarray], anchors: np.ndarray, strides: np.ndarray, reg_max: int) -> np.ndarray:
    """NCHW head maps → (B, D, 6) detections, in float64."""
    return greedy_nms(*decode(maps, anchors, strides, reg_max))
