"""Deterministic weights, and batch-norm folding done once in NumPy.

Every conv followed by SiLU carries a batch norm in the unfolded model (as in YOLOv8's ``Conv``
block); the 1×1 output conv of each head branch carries a plain bias. Weights are drawn with
standard deviation ``WEIGHT_GAIN / sqrt(fan_in)`` and BN scales ``gamma / sqrt(var + eps)`` near
1: with SiLU this gain keeps activations O(1) through the ~60 convs at every input size (1.3 lets
the signal fade, 1.6 makes it grow ~100× by the head), and a different image changes the
outputs by ~20-30 %, so relative errors measure the whole network rather than constant biases.
Output-conv biases are small for the same reason (YOLOv8 initialises class biases near -10).

Frameworks only ever see the folded conv weight and bias (trap 8 in
BN eps defaults differ: torch BatchNorm2d 1e-5, Keras BatchNormalization 1e-3, MLX nn.BatchNorm 1e-5).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bench.workloads.yolo.arch import NANO, ArchConfig, Graph, graph

BN_EPS = 1e-3  # YOLOv8's BatchNorm2d eps; one explicit value, used only here
WEIGHT_SEED = 20240110
WEIGHT_GAIN = 1.4


@dataclass(frozen=True)
class RawConv:
    """An unfolded conv: weight (O, I, k, k), then either BN (gamma, beta, mean, var) or a bias."""

    w: np.ndarray
    bias: np.ndarray | None = None
    gamma: np.ndarray | None = None
    beta: np.ndarray | None = None
    mean: np.ndarray | None = None
    var: np.ndarray | None = None


def fold_bn(raw: RawConv, eps: float = BN_EPS) -> tuple[np.ndarray, np.ndarray]:
    """Return (w', b') with conv(x, w') + b' == BN(conv(x, w)); a bias-only conv is returned as is.

    ``s = gamma / sqrt(var + eps)``, ``w' = w · s`` per output channel, ``b' = beta - mean · s``.
    """
    if raw.gamma is None:
        assert raw.bias is not None, "a conv without BN has a bias"
        return raw.w, raw.bias
    assert raw.var is not None and raw.beta is not None and raw.mean is not None
    scale = raw.gamma / np.sqrt(raw.var + eps)
    return raw.w * scale[:, None, None, None], raw.beta - raw.mean * scale


def batch_norm_nhwc(y: np.ndarray, raw: RawConv, eps: float = BN_EPS) -> np.ndarray:
    """Inference-mode BN over the last axis (the unfolded computation fold_bn must equal)."""
    assert raw.mean is not None and raw.var is not None and raw.gamma is not None and raw.beta is not None
    return (y - raw.mean) / np.sqrt(raw.var + eps) * raw.gamma + raw.beta


def raw_params(g: Graph, seed: int = WEIGHT_SEED) -> dict[str, RawConv]:
    """Unfolded float64 parameters of every conv, keyed by conv name, drawn in graph order."""
    rng = np.random.default_rng(seed)
    raw = {}
    for node in g.convs():
        c, fan_in = node.channels, node.cin * node.k * node.k
        w = rng.standard_normal((c, node.cin, node.k, node.k)) / np.sqrt(fan_in)
        if node.act:
            raw[node.name] = RawConv(
                WEIGHT_GAIN * w,
                gamma=rng.uniform(0.5, 1.5, c),
                beta=rng.uniform(-0.5, 0.5, c),
                mean=0.2 * rng.standard_normal(c),
                var=rng.uniform(0.5, 1.5, c),
            )
        else:
            raw[node.name] = RawConv(w, bias=0.1 * rng.standard_normal(c))
    return raw


@lru_cache(maxsize=4)
def folded_weights(config: ArchConfig = NANO, seed: int = WEIGHT_SEED) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{conv name: (w (O, I, k, k), b (O,))} in float32 after BN folding. Cached: treat as read-only."""
    out = {}
    for name, raw in raw_params(graph(config), seed).items():
        w, b = fold_bn(raw)
        out[name] = (w.astype(np.float32), b.astype(np.float32))
    return out
