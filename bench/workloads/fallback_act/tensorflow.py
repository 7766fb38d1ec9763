"""fallback_act in TensorFlow: matmul → softshrink → matmul.

``act=host`` runs the activation with ``tf.numpy_function``: the ``PyFuncStateless`` op, whose only
kernel is registered for the CPU (``tensorflow/python/lib/core/py_func.cc``), so on a GPU it is
placed on the host with copies around it. It is wrapped in a ``tf.function`` so that eager mode
also executes it as that op (eager ``numpy_function`` would just call Python). TF has no softshrink
op; ``native`` is a ``tf.where``.
"""

import tensorflow as tf

from bench.workloads.base import Built
from bench.workloads.fallback_act.spec import LAMBDA, softshrink


def native_softshrink(h):
    return tf.where(h > LAMBDA, h - LAMBDA, tf.where(h < -LAMBDA, h + LAMBDA, tf.zeros_like(h)))


@tf.function
def host_softshrink(h):
    out = tf.numpy_function(softshrink, [h], h.dtype, stateful=False)
    return tf.ensure_shape(out, h.shape)


def build(adapter, params, dtype, mode, inputs):
    x, w1, w2 = (adapter.from_numpy(inputs[k], dtype) for k in ("x", "w1", "w2"))
    act = host_softshrink if params["act"] == "host" else native_softshrink

    def model(x):
        return tf.linalg.matmul(act(tf.linalg.matmul(x, w1)), w2)

    fn = adapter.run_on_device(model)
    if mode == "compiled":
        fn = adapter.compile(fn)
    path = "tf.numpy_function (PyFuncStateless, CPU only)" if params["act"] == "host" else "tf.where"
    return Built(lambda: fn(x), {"path": path + (" (tf.function)" if mode == "compiled" else " (eager)")})
