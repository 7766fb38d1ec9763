"""float64 NumPy forward pass: the reference every framework is checked against.

Computes in NHWC (the im2col gather is contiguous over channels there) and returns NCHW maps.
A k×k conv is ``sliding_window_view`` over the padded input (a view, no copy) contracted with
the weight by ``np.tensordot`` (one BLAS GEMM per conv); 1×1 stride-1 convs are a plain matmul.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import expit

from bench.workloads.yolo.arch import Graph, Node, run


def conv2d_nhwc(x: np.ndarray, w_oihw: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """x (B, H, W, C), w (O, C, k, k) → (B, Ho, Wo, O) with symmetric zero padding ``pad``."""
    k = w_oihw.shape[2]
    if k == 1 and stride == 1 and pad == 0:
        return x @ w_oihw[:, :, 0, 0].T
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    windows = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]  # (B, Ho, Wo, C, k, k)
    return np.tensordot(windows, w_oihw, axes=([3, 4, 5], [1, 2, 3]))


def silu(x: np.ndarray) -> np.ndarray:
    return x * expit(x)


def maxpool_nhwc(x: np.ndarray, k: int, pad: int) -> np.ndarray:
    """Stride-1 k×k max pool, padding with -inf (so padding never wins)."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=-np.inf)
    return sliding_window_view(x, (k, k), axis=(1, 2)).max(axis=(-2, -1))


def upsample2_nhwc(x: np.ndarray) -> np.ndarray:
    return x.repeat(2, axis=1).repeat(2, axis=2)


class NumpyOps:
    """The six node kinds in float64 NHWC; ``weights[name] = (w OIHW, b)``."""

    def __init__(self, weights: Mapping[str, tuple[np.ndarray, np.ndarray]]):
        self.weights = weights

    def conv(self, node: Node, x: np.ndarray) -> np.ndarray:
        w, b = self.weights[node.name]
        y = conv2d_nhwc(x, w, node.s, node.p) + b
        return silu(y) if node.act else y

    def add(self, node: Node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def concat(self, node: Node, *xs: np.ndarray) -> np.ndarray:
        return np.concatenate(xs, axis=-1)

    def slice(self, node: Node, x: np.ndarray) -> np.ndarray:
        return x[..., node.lo : node.hi]

    def maxpool(self, node: Node, x: np.ndarray) -> np.ndarray:
        return maxpool_nhwc(x, node.k, node.p)

    def upsample(self, node: Node, x: np.ndarray) -> np.ndarray:
        return upsample2_nhwc(x)


def forward(graph: Graph, weights: Mapping[str, tuple[np.ndarray, np.ndarray]], image_nchw: np.ndarray) -> dict[str, np.ndarray]:
    """image (B, 3, H, W) → {output name: (B, C, H/s, W/s)} in float64."""
    w64 = {name: (np.asarray(w, np.float64), np.asarray(b, np.float64)) for name, (w, b) in weights.items()}
    x = np.asarray(image_nchw, np.float64).transpose(0, 2, 3, 1)
    outs = run(graph, NumpyOps(w64), x)
    return {name: np.ascontiguousarray(y.transpose(0, 3, 1, 2)) for name, y in zip(graph.output_names, outs)}
