"""yolo in TensorFlow: ``tf.nn`` ops in NHWC, HWIO weights, walked by ``arch.run``.

Padded convs pass explicit symmetric padding ``[[0,0],[p,p],[p,p],[0,0]]``: ``'SAME'`` pads a
stride-2 conv (0, 1) instead of (1, 1) (TF's padding='SAME' rule, tf.nn.conv2d docs; docs/yolo.md). SiLU is
``tf.nn.silu``, which oneDNN's remapper does not fuse into the conv (tensorflow ``core/grappler/optimizers/remapper.cc``); compiled mode is
``tf.function`` (grappler, no XLA: the adapter's default).
"""

import tensorflow as tf

from bench.workloads.base import Built
from bench.workloads.yolo.arch import Graph, Node, run
from bench.workloads.yolo.convert import native_image, native_weights, outputs_to_numpy
from bench.workloads.yolo.spec import SPEC


class YoloTF(tf.Module):
    """image (B, H, W, 3) → tuple of NHWC maps in ``graph.output_names`` order."""

    def __init__(self, graph: Graph, weights: dict[str, tuple[tf.Tensor, tf.Tensor]]):
        super().__init__(name="yolo")
        self.graph = graph
        self.weights = weights

    def __call__(self, image: tf.Tensor) -> tuple[tf.Tensor, ...]:
        return run(self.graph, self, image)

    def conv(self, node: Node, x: tf.Tensor) -> tf.Tensor:
        w, b = self.weights[node.name]
        padding = [[0, 0], [node.p, node.p], [node.p, node.p], [0, 0]] if node.p else "VALID"
        y = tf.nn.bias_add(tf.nn.conv2d(x, w, node.s, padding), b)
        return tf.nn.silu(y) if node.act else y

    def add(self, node: Node, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        return a + b

    def concat(self, node: Node, *xs: tf.Tensor) -> tf.Tensor:
        return tf.concat(xs, axis=-1)

    def slice(self, node: Node, x: tf.Tensor) -> tf.Tensor:
        return x[..., node.lo : node.hi]

    def maxpool(self, node: Node, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.max_pool2d(x, node.k, 1, [[0, 0], [node.p, node.p], [node.p, node.p], [0, 0]])

    def upsample(self, node: Node, x: tf.Tensor) -> tf.Tensor:
        return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)


def build(adapter, params, dtype, mode, inputs):
    graph = SPEC.graph
    model = YoloTF(graph, native_weights(adapter, inputs, dtype, "HWIO"))
    image = native_image(adapter, inputs, dtype, channels_last=True)
    fn = adapter.run_on_device(model)
    if mode == "compiled":
        fn = adapter.compile(fn)
    info = {"path": "tf.nn.conv2d (explicit padding) + tf.nn.silu" + (" (tf.function)" if mode == "compiled" else " (eager)"), "layout": "NHWC"}
    return Built(lambda: fn(image), info, outputs_to_numpy(adapter, graph, channels_last=True))
