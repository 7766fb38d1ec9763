"""yolo_postprocess in MLX: dense decode + NMS (spec.py) on NHWC maps; the loop checks on the host.

Compiled mode compiles the loop-free pieces with ``mx.compile``; the data-dependent loop cannot be
compiled, so it stays in Python with one ``.item()`` (an evaluation) per iteration.
"""

from functools import partial

import mlx.core as mx

from bench.workloads.base import Built
from bench.workloads.yolo_postprocess import reference
from bench.workloads.yolo_postprocess.spec import native_inputs


def _flatten(maps):
    """NHWC maps → (B, A, C)."""
    return mx.concatenate([m.reshape(m.shape[0], -1, m.shape[-1]) for m in maps], axis=1)


def prepare(box_maps, cls_maps, anchors, strides, bins, earlier, k: int):
    """Decode, top-K by score, and ``hits[b, j, i]``: candidate j suppresses i if j is kept."""
    box, cls = _flatten(box_maps), _flatten(cls_maps)
    b, a, _ = box.shape
    dist = (mx.softmax(box.reshape(b, a, 4, -1), axis=-1) @ bins) * strides[:, None]
    boxes = mx.concatenate([anchors - dist[..., :2], anchors + dist[..., 2:]], axis=-1)
    probs = mx.sigmoid(cls)
    score, label = probs.max(axis=-1), probs.argmax(axis=-1)
    order = mx.argsort(-score, axis=1)[:, :k]
    boxes = mx.take_along_axis(boxes, order[..., None], axis=1)
    score, label = mx.take_along_axis(score, order, axis=1), mx.take_along_axis(label, order, axis=1)
    lt = mx.maximum(boxes[:, :, None, :2], boxes[:, None, :, :2])
    rb = mx.minimum(boxes[:, :, None, 2:], boxes[:, None, :, 2:])
    inter = mx.maximum(rb - lt, 0.0).prod(axis=-1)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    iou = inter / (area[:, :, None] + area[:, None, :] - inter)
    hits = (iou > reference.IOU) & (label[:, :, None] == label[:, None, :]) & earlier
    rows = mx.concatenate([boxes, score[..., None], label[..., None].astype(boxes.dtype)], axis=-1)
    return rows, score > reference.CONF, hits


def step(valid, hits, keep):
    return valid & ~(hits & keep[:, :, None]).any(axis=1)


def finish(rows, keep, d: int):
    """Kept rows first, in score order; (B, D, 6)."""
    idx = mx.arange(keep.shape[1])
    sel = mx.argsort(mx.where(keep, idx, idx + keep.shape[1]), axis=1)[:, :d]
    kept = mx.take_along_axis(keep, sel, axis=1).astype(rows.dtype)
    return mx.take_along_axis(rows, sel[..., None], axis=1) * kept[..., None]


def build(adapter, params, dtype, mode, inputs):
    const, box_maps, cls_maps, anchors, strides, bins, earlier = native_inputs(adapter, inputs, dtype)
    prep, stp, fin = partial(prepare, k=const["k"]), step, partial(finish, d=const["d"])
    if mode == "compiled":
        prep, stp, fin = (adapter.compile(f) for f in (prep, stp, fin))

    def call():
        rows, valid, hits = prep(box_maps, cls_maps, anchors, strides, bins, earlier)
        keep = valid
        while True:
            new = stp(valid, hits, keep)
            if mx.array_equal(new, keep).item():
                break
            keep = new
        return fin(rows, keep)

    path = "dense decode + fixed-point NMS, host loop" + (" (mx.compile pieces)" if mode == "compiled" else " (eager)")
    return Built(call, {"path": path, "candidates": const["k"]})
