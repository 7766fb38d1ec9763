"""quant_linear in TensorFlow: no native weight-only kernel, so the weight is dequantized in the
graph (unpack nibbles, cast, scale, shift) and fed to ``tf.linalg.matmul``; inside
``tf.function`` when compiled (grappler, no XLA), eager op by op otherwise."""

import tensorflow as tf

from bench.workloads.quant_linear.common import build_in_graph


def dense(x, w):
    """x [m, k] @ w [n, k]ᵀ."""
    return tf.linalg.matmul(x, w, transpose_b=True)


def int8_linear(x, q, scale):
    """q int8 [n, k], scale [n] in x's dtype."""
    return tf.linalg.matmul(x, tf.cast(q, x.dtype) * scale[:, None], transpose_b=True)


def int4_linear(x, packed, scale, minimum, *, group):
    """packed uint8 [n, k/2] (even k low nibble); scale, minimum [n, k/group]."""
    n = packed.shape[0]
    nibbles = tf.stack([tf.bitwise.bitwise_and(packed, 0xF), tf.bitwise.right_shift(packed, 4)], axis=-1)
    w = tf.cast(tf.reshape(nibbles, [n, -1, group]), x.dtype) * scale[..., None] + minimum[..., None]
    return tf.linalg.matmul(x, tf.reshape(w, [n, -1]), transpose_b=True)


def build(adapter, params, dtype, mode, inputs):
    kernels = {"none": dense, "int8": int8_linear, "int4": int4_linear}
    return build_in_graph(adapter, params, dtype, mode, inputs, kernels, "tf.function", place=adapter.run_on_device)
