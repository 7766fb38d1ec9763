"""Rule 12 for the detector: a forward pass that rounds every op to the dtype passes; one wrong layer fails.

The error is the largest over the six output maps (``Yolo.relative_error``): over all six at once, a
wrong layer that feeds only the stride-32 maps (1/21 of the elements at 160x160) is diluted, and several
such wrong models passed the flat bf16 tolerance of 6e-2 (pinned below).
"""

import numpy as np
import pytest
from scipy.special import expit

from bench import workloads
from bench.workloads.base import Workload
from bench.workloads.yolo import reference
from bench.workloads.yolo.arch import run
from bench.workloads.yolo.convert import split_inputs
from tests.mutants import rnd

SPEC = workloads.get("yolo")
PARAMS = SPEC.normalize({"size": 160, "batch": 1})


class RoundedOps(reference.NumpyOps):
    """Every node's output stored in ``dtype`` (conv, bias, sigmoid, product; shortcut adds)."""

    def __init__(self, weights, dtype):
        super().__init__(weights)
        self.dtype = dtype

    def conv(self, node, x):
        w, b = self.weights[node.name]
        y = rnd(rnd(reference.conv2d_nhwc(x, w, node.s, node.p), self.dtype) + b, self.dtype)
        return rnd(y * rnd(expit(y), self.dtype), self.dtype) if node.act else y

    def add(self, node, a, b):
        return rnd(a + b, self.dtype)


class OneWrongLayer(reference.NumpyOps):
    """The float64 network with one conv's SiLU replaced by ReLU, or its bias left out."""

    def __init__(self, weights, layer, mistake):
        super().__init__(weights)
        self.layer, self.mistake = layer, mistake

    def conv(self, node, x):
        if node.name != self.layer:
            return super().conv(node, x)
        w, b = self.weights[node.name]
        y = reference.conv2d_nhwc(x, w, node.s, node.p) + (0.0 if self.mistake == "no bias" else b)
        if not node.act:
            return y
        return np.maximum(y, 0.0) if self.mistake == "ReLU for SiLU" else reference.silu(y)


def forward(ops, image):
    outs = run(SPEC.graph, ops, np.asarray(image, np.float64).transpose(0, 2, 3, 1))
    return {name: y.transpose(0, 3, 1, 2) for name, y in zip(SPEC.graph.output_names, outs)}


def case(dtype):
    inputs = SPEC.make_inputs(PARAMS, dtype, np.random.default_rng(SPEC.input_seed(PARAMS)))
    image, weights = split_inputs(inputs)
    w64 = {k: (np.asarray(w, np.float64), np.asarray(b, np.float64)) for k, (w, b) in weights.items()}
    return image, w64, SPEC.reference(PARAMS, dtype, inputs)


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_a_forward_rounding_every_op_passes(dtype):
    image, weights, ref = case(dtype)
    error = SPEC.relative_error(forward(RoundedOps(weights, dtype), image), ref)
    assert error <= SPEC.tolerance(dtype, False, PARAMS) / 2  # the model's headroom is 3


MISTAKES = [(node.name, "ReLU for SiLU") for node in SPEC.graph.convs() if node.act] + [(node.name, "no bias") for node in SPEC.graph.convs()]


def test_every_single_wrong_layer_fails_bf16_and_some_passed_the_flat_tolerance():
    """bf16 has the widest tolerance: a mistake caught there is caught at fp16 and fp32."""
    image, weights, ref = case("bf16")
    tol, flat = SPEC.tolerance("bf16", False, PARAMS), SPEC.tolerance("bf16", False)
    passed_before = {"ReLU for SiLU": 0, "no bias": 0}
    for layer, mistake in MISTAKES:
        out = {k: rnd(v, "bf16") for k, v in forward(OneWrongLayer(weights, layer, mistake), image).items()}
        assert SPEC.relative_error(out, ref) > tol, (layer, mistake)
        passed_before[mistake] += Workload.relative_error(SPEC, out, ref) <= flat  # over all maps, as before
    assert passed_before["ReLU for SiLU"] > 0 and passed_before["no bias"] > 0, passed_before


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_wrong_layers_fail_the_other_dtypes(dtype):
    image, weights, ref = case(dtype)
    tol = SPEC.tolerance(dtype, False, PARAMS)
    for layer, mistake in MISTAKES[::8]:
        out = {k: rnd(v, dtype) for k, v in forward(OneWrongLayer(weights, layer, mistake), image).items()}
        assert SPEC.relative_error(out, ref) > tol, (layer, mistake)
