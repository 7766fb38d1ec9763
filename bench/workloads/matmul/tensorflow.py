"""matmul in TensorFlow: ``tf.linalg.matmul`` (eager op, or inside ``tf.function``)."""

import tensorflow as tf

from bench.workloads.base import Built


def build(adapter, params, dtype, mode, inputs):
    a = adapter.from_numpy(inputs["a"], dtype)
    b = adapter.from_numpy(inputs["b"], dtype)
    fn = adapter.run_on_device(tf.linalg.matmul)
    if mode == "compiled":
        fn = adapter.compile(fn)
    path = "tf.linalg.matmul" + (" (tf.function)" if mode == "compiled" else " (eager)")
    return Built(lambda: fn(a, b), {"path": path})
