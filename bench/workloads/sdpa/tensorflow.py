"""sdpa in TensorFlow.

fused: ``keras.ops.dot_product_attention`` on (B, L, H, D) (Keras's layout), transposed outside
the timed call. TensorFlow has no fused attention kernel: Keras's TF backend runs
einsum → softmax → einsum and raises for ``flash_attention=True`` (keras
``keras/src/backend/tensorflow/nn.py``), so this variant is recorded with ``fused: false``.
naive: ``tf.matmul`` → scale → where(mask) → softmax → ``tf.matmul`` on (B, H, L, D).
"""

import numpy as np
import tensorflow as tf

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.sdpa.spec import causal_mask, cudnn_unsupported, scale_of

_TO_BLHD = (0, 2, 1, 3)
NO_FUSED_KERNEL = "TensorFlow has no fused attention kernel; keras.ops runs einsum, softmax, einsum"


def _keras_ops():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise Unsupported(f"keras runs on its {keras.backend.backend()!r} backend (KERAS_BACKEND), not TensorFlow")
    return keras.ops


def _naive(adapter, params, dtype, scale):
    keep = adapter.from_numpy(causal_mask(params["l"])) if params["causal"] else None
    minus_inf, scale = (adapter.from_numpy(np.array(x, dtype=np.float32), dtype) for x in (-np.inf, scale))

    def attend(q, k, v):
        scores = tf.matmul(q, k, transpose_b=True) * scale
        if keep is not None:
            scores = tf.where(keep, scores, minus_inf)
        return tf.matmul(tf.nn.softmax(scores, axis=-1), v)

    return attend


def build(adapter, params, dtype, mode, inputs):
    variant = params["variant"]
    if variant == "cudnn":
        raise Unsupported(cudnn_unsupported("tensorflow"))
    scale = scale_of(params)
    if variant == "fused":
        ops = _keras_ops()
        q, k, v = (adapter.from_numpy(inputs[name].transpose(_TO_BLHD), dtype) for name in ("q", "k", "v"))

        def attend(q, k, v):
            return ops.dot_product_attention(q, k, v, scale=scale, is_causal=params["causal"])

        info = {"path": "keras.ops.dot_product_attention", "layout": "BLHD", "fused": False, "note": NO_FUSED_KERNEL}
        to_numpy = lambda out: adapter.to_numpy(out).transpose(_TO_BLHD)
    else:
        q, k, v = (adapter.from_numpy(inputs[name], dtype) for name in ("q", "k", "v"))
        attend = _naive(adapter, params, dtype, scale)
        info = {"path": "matmul, softmax, matmul (tf ops)", "layout": "BHLD"}
        to_numpy = None
    attend = adapter.run_on_device(attend)
    if mode == "compiled":
        attend = adapter.compile(attend)
        info["compiler"] = "tf.function"
    return Built(lambda: attend(q, k, v), info, to_numpy)
