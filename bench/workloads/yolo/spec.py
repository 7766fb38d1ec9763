"""yolo: forward pass of a YOLOv8n-style detector (``arch.py``) on a batch of images.

Params: ``size`` (square input side, a multiple of 32: 320 quick, 640 nightly) and ``batch``;
``compression`` (optional): the conv weights compressed by the deployment backend that converts the
model (bench/workloads/compression.py; other backends: ``unsupported``).
Inputs: ``image`` (batch, 3, size, size) uniform in [0, 1) from the case seed, plus every conv's
BN-folded weight ``<name>/w`` (O, I, k, k) and bias ``<name>/b`` (O,) from a fixed seed, all
rounded to the case dtype. Output: {``stride{8,16,32}/{box,cls}``: NCHW map}; the error is
also broken down per map (``correctness.per_output``).

FLOPs: 2 × the multiply-accumulates of the 63 convs only (8.74 GFLOP per 640×640 image, which
matches the 8.7 GFLOPs ultralytics quotes for a fused YOLOv8n); bias adds, SiLU, shortcut adds,
max pools, upsampling and concatenation are not counted. ``images_per_s`` = batch / median;
latency p90 comes from the kept samples (each the mean of ``calls_per_sample`` calls).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.dtypes import round_to
from bench.workloads import compression
from bench.workloads.base import Workload, check_positive_ints
from bench.workloads.tolerance import ErrorModel
from bench.workloads.yolo import reference
from bench.workloads.yolo.arch import NANO, Graph, graph
from bench.workloads.yolo.convert import split_inputs, weight_key
from bench.workloads.yolo.weights import folded_weights


def check_size_batch(workload: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate ``{size, batch}``: positive integers, size a multiple of the largest stride (32)."""
    unknown = set(params) - {"size", "batch"}
    if unknown:
        raise ValueError(f"{workload}: unknown parameter(s) {', '.join(sorted(unknown))} (known: batch, size)")
    check_positive_ints(workload, params, ("size", "batch"))
    if params["size"] % 32:
        raise ValueError(f"{workload}: size must be a multiple of 32 (the largest stride), got {params['size']}")
    return dict(params)


class Yolo(Workload):
    name = "yolo"
    description = "YOLOv8n-style detector forward: 63 convs, C2f, SPPF, FPN neck, head at strides 8/16/32"
    required_params = ("size", "batch")
    default_grid = {"size": [320, 640], "batch": [1, 8]}
    # Flat values: the fp32/TF32 floor, and the fallback without params (cases use error_model below).
    # 38-48 convs deep: each fp16 (bf16) op rounds its output to 11 (8) significant bits and the
    # errors add up along the depth. Measured on the four CPU backends at 160 and 320 (docs/yolo.md):
    # fp16 1.5-2.6e-3, bf16 1.2-1.7e-2, so the bounds leave ~4x headroom. TF32 rounds conv inputs
    # to fp16's 10-bit mantissa, so it gets fp16's bound.
    tolerances = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 6e-2}
    tf32_tolerance = 1e-2

    def __init__(self) -> None:
        self.graph = graph(NANO)

    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        compressed = compression.pop(self.name, params)
        super().normalize(params)
        return compression.restore(check_size_batch(self.name, params), compressed)

    def input_seed(self, params):
        return super().input_seed(compression.without(params))  # a compressed case draws the dense case's inputs

    def make_inputs(self, params, dtype, rng):
        b, s = params["batch"], params["size"]
        inputs = {"image": round_to(rng.random((b, 3, s, s), dtype=np.float32), dtype)}
        for name, (w, bias) in folded_weights(NANO).items():
            inputs[weight_key(name, "w")] = round_to(w, dtype)
            inputs[weight_key(name, "b")] = round_to(bias, dtype)
        return inputs

    def reference(self, params, dtype, inputs):
        compression.check(self.name, params, inputs)
        image, weights = split_inputs(inputs)
        return reference.forward(self.graph, weights, image)

    def relative_error(self, out, ref):
        """The largest relative error of any output map: a wrong layer feeding only the stride-32 maps
        (1/21 of the elements) would be diluted below the tolerance in the error over all six."""
        return max(self.error_breakdown(out, ref).values())

    def error_model(self, params):
        roundings, reductions = rounding_path(self.graph)
        return ErrorModel(roundings=roundings, reductions=(reductions,))

    def error_breakdown(self, out, ref) -> dict[str, float]:
        """Relative error of each output map (stride8/box, ..., stride32/cls)."""
        return {name: Workload.relative_error(self, out[name], ref[name]) for name in self.graph.output_names}

    def flops(self, params):
        return 2.0 * self.graph.conv_macs(params["size"]) * params["batch"]

    def units(self, params):
        return float(params["batch"]), "image"

    def metrics(self, params, median_s):
        return {"images_per_s": params["batch"] / median_s, "latency_ms": median_s * 1e3}

    def canary_params(self, params):
        return {**params, "batch": params["batch"] * 2}


# Roundings per node kind when it runs in the case dtype: conv output, bias add, then SiLU's sigmoid and
# product; a shortcut add; concat, slice, max pool and upsample only move values.
CONV_ROUNDINGS, CONV_ACT_ROUNDINGS, ADD_ROUNDINGS = 2, 2, 1


def rounding_path(g: Graph) -> tuple[int, int]:
    """(roundings, summed reduction length) along the path to the output that has the most roundings.

    A NumPy forward pass that rounds every node's output to fp16/bf16 gives 4-6 u per output map at
    160 and 320 (docs/measurement.md), as the model's 0.43 u · sqrt(196) = 6.0 u says.
    """
    roundings, lengths = [0] * len(g.nodes), [0] * len(g.nodes)
    for i, node in enumerate(g.nodes):
        if not node.inputs:
            continue
        deepest = max(node.inputs, key=lambda j: roundings[j])
        roundings[i], lengths[i] = roundings[deepest], lengths[deepest]
        if node.kind == "conv":
            roundings[i] += CONV_ROUNDINGS + (CONV_ACT_ROUNDINGS if node.act else 0)
            lengths[i] += node.cin * node.k * node.k
        elif node.kind == "add":
            roundings[i] += ADD_ROUNDINGS
    last = max(g.outputs, key=lambda i: roundings[i])
    return roundings[last], lengths[last]


SPEC = Yolo()
