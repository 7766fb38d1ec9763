"""The detector, described once as data, and lowered to a flat graph every framework walks.

``LAYERS`` is a YOLOv8-style table (``[from, repeats, block, args]`` as in ultralytics
``cfg/models/v8/yolov8.yaml``) at width and depth 1.0. ``lower(config)`` applies the width and
depth multipliers and expands each block into primitive nodes:

=========  =======================================================================================
kind       meaning (canonical layout NCHW; NHWC frameworks use the last axis for channels)
=========  =======================================================================================
conv       k×k conv, stride s, symmetric zero padding p = k // 2, bias, then SiLU when ``act``
add        elementwise sum of two inputs (bottleneck shortcut)
concat     channel concatenation of the inputs, in order
slice      channels [lo, hi) of the input (the second half of a C2f split)
maxpool    k×k max pool, stride 1, padding k // 2 with -inf (SPPF)
upsample   nearest-neighbour ×2
=========  =======================================================================================

Every framework implements these six kinds as methods of an ops object and calls ``run``: the
architecture exists only here. The head returns, per stride 8, 16 and 32, a box map
``(B, 4·reg_max, H/s, W/s)`` (distribution-focal logits) and a class map ``(B, classes, H/s, W/s)``
(logits); ``Graph.output_names`` names them ``stride8/box``, ``stride8/cls``, ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

# [from, repeats, block, args]; channels at width 1.0 (ultralytics yolov8.yaml, "n" scale 0.33/0.25/1024).
LAYERS: tuple[tuple[Any, int, str, tuple], ...] = (
    (-1, 1, "Conv", (64, 3, 2)),  # 0  P1/2
    (-1, 1, "Conv", (128, 3, 2)),  # 1  P2/4
    (-1, 3, "C2f", (128, True)),  # 2
    (-1, 1, "Conv", (256, 3, 2)),  # 3  P3/8
    (-1, 6, "C2f", (256, True)),  # 4
    (-1, 1, "Conv", (512, 3, 2)),  # 5  P4/16
    (-1, 6, "C2f", (512, True)),  # 6
    (-1, 1, "Conv", (1024, 3, 2)),  # 7  P5/32
    (-1, 3, "C2f", (1024, True)),  # 8
    (-1, 1, "SPPF", (1024, 5)),  # 9
    (-1, 1, "Upsample", (2,)),  # 10
    ((-1, 6), 1, "Concat", ()),  # 11 cat backbone P4
    (-1, 3, "C2f", (512, False)),  # 12
    (-1, 1, "Upsample", (2,)),  # 13
    ((-1, 4), 1, "Concat", ()),  # 14 cat backbone P3
    (-1, 3, "C2f", (256, False)),  # 15 P3/8 out
    (-1, 1, "Conv", (256, 3, 2)),  # 16
    ((-1, 12), 1, "Concat", ()),  # 17 cat head P4
    (-1, 3, "C2f", (512, False)),  # 18 P4/16 out
    (-1, 1, "Conv", (512, 3, 2)),  # 19
    ((-1, 9), 1, "Concat", ()),  # 20 cat head P5
    (-1, 3, "C2f", (1024, False)),  # 21 P5/32 out
    ((15, 18, 21), 1, "Detect", ()),  # 22 Detect(P3, P4, P5)
)


@dataclass(frozen=True)
class ArchConfig:
    width: float = 0.25
    depth: float = 0.33
    max_channels: int = 1024
    classes: int = 80
    reg_max: int = 16  # box logits per side (4·reg_max channels per box map)
    layers: tuple = LAYERS


NANO = ArchConfig()


@dataclass(frozen=True)
class Node:
    """One primitive operation. ``inputs`` index earlier nodes; index 0 is the image."""

    kind: str
    inputs: tuple[int, ...]
    channels: int  # output channels
    name: str = ""  # conv weight key
    k: int = 1  # conv / maxpool kernel
    s: int = 1  # conv stride
    p: int = 0  # conv / maxpool padding (symmetric)
    act: bool = True  # conv followed by SiLU
    lo: int = 0  # slice start channel
    hi: int = 0  # slice end channel
    cin: int = 0  # conv input channels


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]  # nodes[0] is the image input
    outputs: tuple[int, ...]  # box, cls per stride, in output_names order
    output_names: tuple[str, ...]
    strides: tuple[int, ...] = (8, 16, 32)

    def convs(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "conv"]

    def spatial(self, size: int) -> list[int]:
        """Side length of every node's output for a ``size``×``size`` input."""
        sides: list[int] = []
        for node in self.nodes:
            if node.kind == "input":
                sides.append(size)
            elif node.kind == "conv":
                side = sides[node.inputs[0]]
                sides.append((side + 2 * node.p - node.k) // node.s + 1)
            elif node.kind == "upsample":
                sides.append(2 * sides[node.inputs[0]])
            else:
                sides.append(sides[node.inputs[0]])
        return sides

    def output_shapes(self, batch: int, size: int) -> dict[str, tuple[int, int, int, int]]:
        """NCHW shape of every output, keyed by output name."""
        sides = self.spatial(size)
        return {name: (batch, self.nodes[i].channels, sides[i], sides[i]) for name, i in zip(self.output_names, self.outputs)}

    def conv_macs(self, size: int) -> int:
        """Multiply-accumulates of every conv for one ``size``×``size`` image (bias, SiLU not counted)."""
        sides = self.spatial(size)
        return sum(node.cin * node.k * node.k * node.channels * sides[i] ** 2 for i, node in enumerate(self.nodes) if node.kind == "conv")

    def parameter_count(self) -> int:
        return sum(n.channels * (n.cin * n.k * n.k + 1) for n in self.convs())


class Ops(Protocol):
    """What a framework supplies to ``run``: one method per node kind."""

    def conv(self, node: Node, x: Any) -> Any: ...
    def add(self, node: Node, a: Any, b: Any) -> Any: ...
    def concat(self, node: Node, *xs: Any) -> Any: ...
    def slice(self, node: Node, x: Any) -> Any: ...
    def maxpool(self, node: Node, x: Any) -> Any: ...
    def upsample(self, node: Node, x: Any) -> Any: ...


def run(graph: Graph, ops: Ops, image: Any) -> tuple[Any, ...]:
    """Evaluate the graph on ``image``; return the outputs in ``graph.output_names`` order."""
    values: list[Any] = [image]
    for node in graph.nodes[1:]:
        values.append(getattr(ops, node.kind)(node, *(values[i] for i in node.inputs)))
    return tuple(values[i] for i in graph.outputs)


# -- lowering ---------------------------------------------------------------------------------


def make_divisible(x: float, divisor: int = 8) -> int:
    return int(math.ceil(x / divisor) * divisor)


@dataclass
class _Builder:
    nodes: list[Node] = field(default_factory=lambda: [Node("input", (), 3)])

    def add(self, **kw: Any) -> int:
        self.nodes.append(Node(**kw))
        return len(self.nodes) - 1

    def conv(self, name: str, x: int, cout: int, k: int, s: int = 1, act: bool = True) -> int:
        cin = self.nodes[x].channels
        return self.add(kind="conv", inputs=(x,), channels=cout, name=name, k=k, s=s, p=k // 2, act=act, cin=cin)

    def c2f(self, name: str, x: int, cout: int, n: int, shortcut: bool) -> int:
        """C2f: 1×1 conv to 2c, n bottlenecks on the second half, concat all, 1×1 conv."""
        c = cout // 2
        y = self.conv(f"{name}_cv1", x, 2 * c, 1)
        parts = [y]
        last = self.add(kind="slice", inputs=(y,), channels=c, lo=c, hi=2 * c)
        for i in range(n):
            h = self.conv(f"{name}_m{i}_cv1", last, c, 3)
            h = self.conv(f"{name}_m{i}_cv2", h, c, 3)
            last = self.add(kind="add", inputs=(last, h), channels=c) if shortcut else h
            parts.append(last)
        cat = self.add(kind="concat", inputs=tuple(parts), channels=(2 + n) * c)
        return self.conv(f"{name}_cv2", cat, cout, 1)

    def sppf(self, name: str, x: int, cout: int, k: int) -> int:
        """SPPF: 1×1 conv to c/2, three chained k×k max pools, concat the four, 1×1 conv."""
        y = self.conv(f"{name}_cv1", x, self.nodes[x].channels // 2, 1)
        pools = [y]
        for _ in range(3):
            pools.append(self.add(kind="maxpool", inputs=(pools[-1],), channels=self.nodes[y].channels, k=k, p=k // 2))
        cat = self.add(kind="concat", inputs=tuple(pools), channels=4 * self.nodes[y].channels)
        return self.conv(f"{name}_cv2", cat, cout, 1)

    def detect(self, name: str, levels: list[int], classes: int, reg_max: int) -> list[int]:
        """Decoupled head per level: two 3×3 convs then a 1×1 conv (no SiLU) for box and for class."""
        first = self.nodes[levels[0]].channels
        c_box, c_cls = max(16, first // 4, 4 * reg_max), max(first, min(classes, 100))
        outs = []
        for i, x in enumerate(levels):
            for branch, mid, cout in (("box", c_box, 4 * reg_max), ("cls", c_cls, classes)):
                h = self.conv(f"{name}_{branch}{i}_0", x, mid, 3)
                h = self.conv(f"{name}_{branch}{i}_1", h, mid, 3)
                outs.append(self.conv(f"{name}_{branch}{i}_2", h, cout, 1, act=False))
        return outs


def lower(config: ArchConfig = NANO) -> Graph:
    """Expand the layer table into primitive nodes at the config's width and depth."""
    b = _Builder()
    layer_out: list[int] = []  # node index of each table row's output
    outputs: list[int] = []

    def width(c: int) -> int:
        return make_divisible(min(c, config.max_channels) * config.width)

    for i, (src, repeats, block, args) in enumerate(config.layers):
        srcs = [src] if isinstance(src, int) else list(src)
        ins = [layer_out[j] if j >= 0 else (layer_out[i + j] if i + j >= 0 else 0) for j in srcs]
        n = max(round(repeats * config.depth), 1) if repeats > 1 else repeats
        name = f"l{i}"
        if block == "Conv":
            out = b.conv(name, ins[0], width(args[0]), args[1], args[2])
        elif block == "C2f":
            out = b.c2f(name, ins[0], width(args[0]), n, args[1])
        elif block == "SPPF":
            out = b.sppf(name, ins[0], width(args[0]), args[1])
        elif block == "Upsample":
            out = b.add(kind="upsample", inputs=(ins[0],), channels=b.nodes[ins[0]].channels)
        elif block == "Concat":
            out = b.add(kind="concat", inputs=tuple(ins), channels=sum(b.nodes[j].channels for j in ins))
        elif block == "Detect":
            outputs = b.detect(name, ins, config.classes, config.reg_max)
            out = outputs[-1]
        else:
            raise ValueError(f"yolo arch: layer {i} has unknown block {block!r}")
        layer_out.append(out)
    names = tuple(f"stride{s}/{kind}" for s in (8, 16, 32) for kind in ("box", "cls"))
    return Graph(tuple(b.nodes), tuple(outputs), names)


@lru_cache(maxsize=8)
def graph(config: ArchConfig = NANO) -> Graph:
    return lower(config)
