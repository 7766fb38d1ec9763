"""yolo in PyTorch: an ``nn.Module`` (NCHW) of ``nn.Conv2d`` layers walked by ``arch.run``.

Convs use symmetric ``padding=k // 2`` (torch's only mode, the canonical one). Compiled mode is
``torch.compile`` of the module with default options; the call runs under ``inference_mode``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from bench.workloads.base import Built
from bench.workloads.yolo.arch import Graph, Node, run
from bench.workloads.yolo.convert import native_image, native_weights, outputs_to_numpy
from bench.workloads.yolo.spec import SPEC


class YoloTorch(nn.Module):
    """image (B, 3, H, W) → tuple of NCHW maps in ``graph.output_names`` order."""

    def __init__(self, graph: Graph, weights: dict[str, tuple[torch.Tensor, torch.Tensor]]):
        super().__init__()
        self.graph = graph
        self.convs = nn.ModuleDict()
        for node in graph.convs():
            conv = nn.Conv2d(node.cin, node.channels, node.k, node.s, node.p, device="meta")
            w, b = weights[node.name]
            conv.weight = nn.Parameter(w, requires_grad=False)
            conv.bias = nn.Parameter(b, requires_grad=False)
            self.convs[node.name] = conv

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return run(self.graph, self, image)

    # -- the node kinds arch.run calls -------------------------------------------------------
    def conv(self, node: Node, x: torch.Tensor) -> torch.Tensor:
        y = self.convs[node.name](x)
        return F.silu(y) if node.act else y

    def add(self, node: Node, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b

    def concat(self, node: Node, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)

    def slice(self, node: Node, x: torch.Tensor) -> torch.Tensor:
        return x[:, node.lo : node.hi]

    def maxpool(self, node: Node, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, node.k, 1, node.p)

    def upsample(self, node: Node, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")


def build(adapter, params, dtype, mode, inputs):
    graph = SPEC.graph
    model = YoloTorch(graph, native_weights(adapter, inputs, dtype, "OIHW")).eval()
    image = native_image(adapter, inputs, dtype, channels_last=False)
    fn = adapter.compile(model) if mode == "compiled" else model

    def call():
        with torch.inference_mode():
            return fn(image)

    info = {"path": "nn.Conv2d + F.silu" + (" (torch.compile)" if mode == "compiled" else " (eager)"), "layout": "NCHW"}
    return Built(call, info, outputs_to_numpy(adapter, graph, channels_last=False))


def module(framework, params, dtype, inputs):
    """The deployment backends' model (bench/workloads/exportable.py): ``YoloTorch`` with the conv weights
    as its parameters, the image as the input."""
    from bench.workloads.exportable import Exportable, cpu_tensor
    from bench.workloads.yolo.convert import split_inputs, weight_key

    graph = SPEC.graph
    image, weights = split_inputs(inputs)
    model = YoloTorch(graph, {name: (cpu_tensor(w, dtype), cpu_tensor(b, dtype)) for name, (w, b) in weights.items()}).eval()
    names = {f"convs.{name}.{kind}": weight_key(name, part) for name in weights for kind, part in (("weight", "w"), ("bias", "b"))}

    def to_numpy(outs):
        return {name: out.detach().to(torch.float64).numpy() for name, out in zip(graph.output_names, outs)}

    info = {"path": "YoloTorch (nn.Conv2d + F.silu)", "layout": "NCHW"}
    return Exportable(model, (cpu_tensor(image, dtype),), info, to_numpy=to_numpy, weights=names)
