"""yolo_postprocess in TensorFlow: dense decode + NMS (spec.py) on NHWC maps, loop in ``tf.while_loop``.

Not ``tf.image.non_max_suppression``: the other frameworks have no such op, and the comparison
is of one algorithm. Compiled mode is ``tf.function`` of the whole (grappler, no XLA).
"""

from functools import partial

import tensorflow as tf

from bench.workloads.base import Built
from bench.workloads.yolo_postprocess import reference
from bench.workloads.yolo_postprocess.spec import native_inputs


def postprocess(box_maps, cls_maps, anchors, strides, bins, earlier, k: int, d: int):
    """NHWC head maps → (B, D, 6) detections."""
    flat = lambda maps: tf.concat([tf.reshape(m, [tf.shape(m)[0], -1, m.shape[-1]]) for m in maps], axis=1)
    box, cls = flat(box_maps), flat(cls_maps)
    b, a = tf.shape(box)[0], tf.shape(box)[1]
    dist = tf.linalg.matvec(tf.nn.softmax(tf.reshape(box, [b, a, 4, -1]), axis=-1), bins) * strides[:, None]
    boxes = tf.concat([anchors - dist[..., :2], anchors + dist[..., 2:]], axis=-1)
    probs = tf.sigmoid(cls)
    score, label = tf.reduce_max(probs, axis=-1), tf.argmax(probs, axis=-1, output_type=tf.int32)
    order = tf.argsort(score, axis=1, direction="DESCENDING")[:, :k]
    boxes = tf.gather(boxes, order, batch_dims=1)
    score, label = tf.gather(score, order, batch_dims=1), tf.gather(label, order, batch_dims=1)
    lt = tf.maximum(boxes[:, :, None, :2], boxes[:, None, :, :2])
    rb = tf.minimum(boxes[:, :, None, 2:], boxes[:, None, :, 2:])
    inter = tf.reduce_prod(tf.maximum(rb - lt, 0.0), axis=-1)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    iou = inter / (area[:, :, None] + area[:, None, :] - inter)
    hits = (iou > reference.IOU) & (label[:, :, None] == label[:, None, :]) & earlier
    valid = score > reference.CONF

    def body(keep, _):
        new = valid & ~tf.reduce_any(hits & keep[:, :, None], axis=1)
        return new, tf.reduce_any(new != keep)

    keep, _ = tf.while_loop(lambda keep, changed: changed, body, (valid, tf.constant(True)))
    rows = tf.concat([boxes, score[..., None], tf.cast(label[..., None], boxes.dtype)], axis=-1)
    idx = tf.range(k)
    sel = tf.argsort(tf.where(keep, idx, idx + k), axis=1)[:, :d]
    kept = tf.cast(tf.gather(keep, sel, batch_dims=1), rows.dtype)
    return tf.gather(rows, sel, batch_dims=1) * kept[..., None]


def build(adapter, params, dtype, mode, inputs):
    const, box_maps, cls_maps, anchors, strides, bins, earlier = native_inputs(adapter, inputs, dtype)
    fn = adapter.run_on_device(partial(postprocess, k=const["k"], d=const["d"]))
    if mode == "compiled":
        fn = adapter.compile(fn)
    path = "dense decode + fixed-point NMS in tf.while_loop" + (" (tf.function)" if mode == "compiled" else " (eager)")
    return Built(lambda: fn(box_maps, cls_maps, anchors, strides, bins, earlier), {"path": path, "candidates": const["k"]})
