"""yolo_postprocess in JAX: dense decode + NMS (spec.py) on NHWC maps, the loop in ``lax.while_loop``.

Eager mode calls the function op by op (``lax.while_loop`` compiles its body either way);
compiled mode is ``jax.jit`` of the whole, with K and D static.
"""

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from bench.workloads.base import Built
from bench.workloads.yolo_postprocess import reference
from bench.workloads.yolo_postprocess.spec import native_inputs


# Module-level loop functions (state in the carry, no closure): eager calls reuse the compiled
# loop instead of tracing a new closure every call.
def _changed(carry):
    return carry[1]


def _step(carry):
    keep, _, valid, hits = carry
    new = valid & ~jnp.any(hits & keep[:, :, None], axis=1)
    return new, jnp.any(new != keep), valid, hits


def postprocess(box_maps, cls_maps, anchors, strides, bins, earlier, k: int, d: int):
    """NHWC head maps → (B, D, 6) detections."""
    flat = lambda maps: jnp.concatenate([m.reshape(m.shape[0], -1, m.shape[-1]) for m in maps], axis=1)
    box, cls = flat(box_maps), flat(cls_maps)
    b, a, _ = box.shape
    dist = (jax.nn.softmax(box.reshape(b, a, 4, -1), axis=-1) @ bins) * strides[:, None]
    boxes = jnp.concatenate([anchors - dist[..., :2], anchors + dist[..., 2:]], axis=-1)
    probs = jax.nn.sigmoid(cls)
    score, label = probs.max(axis=-1), probs.argmax(axis=-1)
    order = jnp.argsort(-score, axis=1)[:, :k]
    boxes = jnp.take_along_axis(boxes, order[..., None], axis=1)
    score, label = jnp.take_along_axis(score, order, axis=1), jnp.take_along_axis(label, order, axis=1)
    lt = jnp.maximum(boxes[:, :, None, :2], boxes[:, None, :, :2])
    rb = jnp.minimum(boxes[:, :, None, 2:], boxes[:, None, :, 2:])
    inter = jnp.clip(rb - lt, 0.0).prod(axis=-1)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    iou = inter / (area[:, :, None] + area[:, None, :] - inter)
    hits = (iou > reference.IOU) & (label[:, :, None] == label[:, None, :]) & earlier
    valid = score > reference.CONF
    keep, *_ = lax.while_loop(_changed, _step, (valid, jnp.array(True), valid, hits))
    rows = jnp.concatenate([boxes, score[..., None], label[..., None].astype(boxes.dtype)], axis=-1)
    idx = jnp.arange(k)
    sel = jnp.argsort(jnp.where(keep, idx, idx + k), axis=1)[:, :d]
    kept = jnp.take_along_axis(keep, sel, axis=1).astype(rows.dtype)
    return jnp.take_along_axis(rows, sel[..., None], axis=1) * kept[..., None]


def build(adapter, params, dtype, mode, inputs):
    const, box_maps, cls_maps, anchors, strides, bins, earlier = native_inputs(adapter, inputs, dtype)
    fn = partial(postprocess, k=const["k"], d=const["d"])
    if mode == "compiled":
        fn = adapter.compile(fn)
    path = "dense decode + fixed-point NMS in lax.while_loop" + (" (jax.jit)" if mode == "compiled" else " (eager)")
    return Built(lambda: fn(box_maps, cls_maps, anchors, strides, bins, earlier), {"path": path, "candidates": const["k"]})
