"""conv_add: out = act(conv2d(x, W, stride, padding=1) + bias + residual).

Params: ``n``, ``c``, ``h``, ``w`` (or ``nchw = [n, c, h, w]`` in a suite grid), ``stride`` (1 or
2, default 1), ``act`` ("relu" or "silu", default "relu") and ``remap`` (bool, default true):
TensorFlow's grappler remapper on or off in compiled mode (other frameworks: ``unsupported`` when
false); ``compression`` (optional): W compressed by the deployment backend that converts the model
(bench/workloads/compression.py; other backends: ``unsupported``). The conv keeps the channel
count (W is c×c×3×3, like a ResNet block), pads 1 on every side (never 'SAME', which pads stride-2
convs asymmetrically), and the residual has the output's shape (n, c, Ho, Wo),
Ho = (h - 1) // stride + 1.

Canonical layout NCHW with OIHW weights; each framework converts outside the timed call (TF, JAX,
MLX run NHWC). FLOPs 2·n·c·Ho·Wo·c·9 (conv) + 2·n·c·Ho·Wo (bias and residual adds; the activation
is not counted); bytes = (x + W + bias + residual + out)·itemsize.

Compiled cases carry a baseline timed in the same case (``Built.baseline``): the eager ops for
torch, JAX and MLX, the same graph with the remapper off for TensorFlow. ``metrics.fusion_gain`` =
median(baseline) / median(case).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.dtypes import itemsize, round_to
from bench.workloads import compression
from bench.workloads.base import Built, Workload, check_positive_ints, unpack_shape
from bench.workloads.tolerance import ErrorModel

SHAPE_KEYS = ("n", "c", "h", "w")
ACTIVATIONS = ("relu", "silu")
STRIDES = (1, 2)
KERNEL = 3
PAD = 1
FUSION_GAIN = "fusion_gain"


class ConvAdd(Workload):
    name = "conv_add"
    description = "3x3 conv2d + bias + residual add + relu/silu (NCHW), stride 1 or 2"
    required_params = SHAPE_KEYS
    default_grid = {"nchw": [[1, 32, 56, 56]], "stride": [1, 2], "act": ["relu", "silu"]}

    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        params = {"stride": 1, "act": "relu", "remap": True, **params}
        compressed = compression.pop(self.name, params)
        unpack_shape(self.name, params, "nchw", SHAPE_KEYS)
        super().normalize(params)
        check_positive_ints(self.name, params, SHAPE_KEYS)
        if params["stride"] not in STRIDES or isinstance(params["stride"], bool):
            raise ValueError(f"conv_add: stride must be 1 or 2, got {params['stride']!r}")
        if params["act"] not in ACTIVATIONS:
            raise ValueError(f"conv_add: act must be one of {', '.join(ACTIVATIONS)}, got {params['act']!r}")
        if not isinstance(params["remap"], bool):
            raise ValueError(f"conv_add: remap must be true or false, got {params['remap']!r}")
        unknown = set(params) - {*SHAPE_KEYS, "stride", "act", "remap"}
        if unknown:
            raise ValueError(f"conv_add: unknown parameter(s) {', '.join(sorted(unknown))}")
        return compression.restore(params, compressed)

    def input_seed(self, params):
        return super().input_seed(compression.without(params))  # a compressed case draws the dense case's inputs

    def make_inputs(self, params, dtype, rng):
        n, c, h, w = (params[k] for k in SHAPE_KEYS)
        ho, wo = output_hw(params)
        fan_in = c * KERNEL * KERNEL
        arrays = {
            "x": rng.standard_normal((n, c, h, w), dtype=np.float32),
            "weight": rng.standard_normal((c, c, KERNEL, KERNEL), dtype=np.float32) * np.float32(1 / np.sqrt(fan_in)),
            "bias": rng.standard_normal((c,), dtype=np.float32) * np.float32(0.1),
            "residual": rng.standard_normal((n, c, ho, wo), dtype=np.float32),
        }
        return {name: round_to(a, dtype) for name, a in arrays.items()}

    def reference(self, params, dtype, inputs):
        compression.check(self.name, params, inputs)
        y = conv2d_reference(inputs["x"], inputs["weight"], params["stride"])
        y += inputs["bias"].astype(np.float64)[None, :, None, None] + inputs["residual"]
        return activation_reference(y, params["act"])

    def flops(self, params):
        n, c = params["n"], params["c"]
        ho, wo = output_hw(params)
        outputs = n * c * ho * wo
        return float(2 * outputs * c * KERNEL * KERNEL + 2 * outputs)

    def bytes_moved(self, params, dtype):
        n, c, h, w = (params[k] for k in SHAPE_KEYS)
        ho, wo = output_hw(params)
        elements = n * c * h * w + c * c * KERNEL * KERNEL + c + 2 * n * c * ho * wo
        return float(elements * itemsize(dtype))

    def units(self, params):
        return float(params["n"]), "image"

    def metrics(self, params, median_s):
        return {"images_per_s": params["n"] / median_s}

    def canary_params(self, params):
        return {**params, "n": params["n"] * 2}

    def error_model(self, params):
        # Roundings: conv output, + bias, + residual, activation (SiLU unfused: sigmoid and product, 2
        # more). Sums: C·3·3 per output.
        roundings = 4 if params["act"] == "relu" else 6
        return ErrorModel(roundings=roundings, reductions=(params["c"] * KERNEL * KERNEL,))


def output_hw(params: dict[str, Any]) -> tuple[int, int]:
    """Output height and width of the 3x3 conv with padding 1."""
    s = params["stride"]
    return (params["h"] + 2 * PAD - KERNEL) // s + 1, (params["w"] + 2 * PAD - KERNEL) // s + 1


def conv2d_reference(x: np.ndarray, weight: np.ndarray, stride: int) -> np.ndarray:
    """float64 cross-correlation, NCHW input, OIHW weight, zero padding 1 on every side."""
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
    w = weight.astype(np.float64)
    out = []
    for image in padded:  # one image at a time bounds the window copy's memory
        windows = np.lib.stride_tricks.sliding_window_view(image, (KERNEL, KERNEL), axis=(1, 2))
        windows = windows[:, ::stride, ::stride]  # (C, Ho, Wo, KH, KW)
        out.append(np.einsum("chwij,ocij->ohw", windows, w, optimize=True))
    return np.stack(out)


def activation_reference(y: np.ndarray, act: str) -> np.ndarray:
    if act == "relu":
        return np.maximum(y, 0.0)
    return y / (1.0 + np.exp(-y))


def check_remap(params: dict[str, Any], framework: str) -> None:
    """``remap=false`` turns off TensorFlow's grappler remapper; no other framework has one."""
    from bench.backends import Unsupported

    if not params["remap"]:
        raise Unsupported(f"remap=false turns off TensorFlow's grappler remapper; {framework} has no grappler")


NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)


def channels_last_inputs(adapter, inputs: dict[str, np.ndarray], dtype: str, weight_axes: tuple[int, ...]):
    """(x, W, bias, residual) on the adapter's device: activations NHWC, W = OIHW transposed by ``weight_axes``."""
    return (
        adapter.from_numpy(inputs["x"].transpose(NCHW_TO_NHWC), dtype),
        adapter.from_numpy(inputs["weight"].transpose(weight_axes), dtype),
        adapter.from_numpy(inputs["bias"], dtype),
        adapter.from_numpy(inputs["residual"].transpose(NCHW_TO_NHWC), dtype),
    )


def nchw_output(adapter):
    """``Built.to_numpy`` for an NHWC output: back to the reference's NCHW, outside the timed call."""
    return lambda out: adapter.to_numpy(out).transpose(NHWC_TO_NCHW)


def eager_or_compiled(adapter, mode: str, conv_add, args: tuple, info: dict[str, Any], compiler: str, to_numpy=None, wrap=lambda call: call) -> Built:
    """Eager: ``conv_add(*args)`` op by op. Compiled: ``adapter.compile(conv_add)``, with the eager call as
    the baseline timed in the same case (``metrics.fusion_gain``). ``wrap`` adds per-call context (torch's
    inference mode)."""
    eager = wrap(lambda: conv_add(*args))
    if mode == "eager":
        return Built(eager, info, to_numpy)
    compiled = adapter.compile(conv_add)
    baseline = Built(eager, {"path": "the same ops, eager (unfused)"}, to_numpy)
    return Built(
        wrap(lambda: compiled(*args)), {**info, "compiler": compiler, "baseline": "eager"}, to_numpy, baseline=baseline, baseline_metric=FUSION_GAIN
    )


SPEC = ConvAdd()
