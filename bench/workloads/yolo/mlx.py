"""yolo in MLX: an ``mlx.nn.Module`` (NHWC) of ``nn.Conv2d`` layers (weights (O, k, k, I)).

``nn.Conv2d(padding=p)`` pads symmetrically; ``nn.MaxPool2d(k, 1, p)`` pads with -inf;
``nn.Upsample(2.0, 'nearest')`` (mlx ``python/mlx/nn/layers/upsample.py``). Compiled mode is
``mx.compile`` of the module's call; the weights are captured, which MLX allows for inference.
"""

import mlx.core as mx
from mlx import nn

from bench.workloads.base import Built
from bench.workloads.yolo.arch import Graph, Node, run
from bench.workloads.yolo.convert import native_image, native_weights, outputs_to_numpy
from bench.workloads.yolo.spec import SPEC


class YoloMLX(nn.Module):
    """image (B, H, W, 3) → tuple of NHWC maps in ``graph.output_names`` order."""

    def __init__(self, graph: Graph, weights: dict[str, tuple[mx.array, mx.array]]):
        super().__init__()
        self.graph = graph
        self.convs = {}
        for node in graph.convs():
            conv = nn.Conv2d(node.cin, node.channels, node.k, node.s, node.p)
            conv.weight, conv.bias = weights[node.name]
            self.convs[node.name] = conv
        self.pool = nn.MaxPool2d(5, 1, 2)
        self.up = nn.Upsample(2.0, "nearest")

    def __call__(self, image: mx.array) -> tuple[mx.array, ...]:
        return run(self.graph, self, image)

    def conv(self, node: Node, x: mx.array) -> mx.array:
        y = self.convs[node.name](x)
        return nn.silu(y) if node.act else y

    def add(self, node: Node, a: mx.array, b: mx.array) -> mx.array:
        return a + b

    def concat(self, node: Node, *xs: mx.array) -> mx.array:
        return mx.concatenate(list(xs), axis=-1)

    def slice(self, node: Node, x: mx.array) -> mx.array:
        return x[..., node.lo : node.hi]

    def maxpool(self, node: Node, x: mx.array) -> mx.array:
        if (node.k, node.p) != (5, 2):
            raise ValueError(f"yolo mlx: pool is built for k=5, p=2; graph asks k={node.k}, p={node.p}")
        return self.pool(x)

    def upsample(self, node: Node, x: mx.array) -> mx.array:
        return self.up(x)


def build(adapter, params, dtype, mode, inputs):
    graph = SPEC.graph
    model = YoloMLX(graph, native_weights(adapter, inputs, dtype, "OHWI"))
    image = native_image(adapter, inputs, dtype, channels_last=True)
    fn = adapter.compile(model) if mode == "compiled" else model
    info = {"path": "mlx.nn.Conv2d + nn.silu" + (" (mx.compile)" if mode == "compiled" else " (eager)"), "layout": "NHWC"}
    return Built(lambda: fn(image), info, outputs_to_numpy(adapter, graph, channels_last=True))
