"""The one NumPy weight quantizer every framework's kernel is fed from.

Weights ``w`` are ``[N, K]`` (output channels × input features, the ``nn.Linear`` layout);
quantization groups run along K.

- int8, symmetric per output channel: ``scale = absmax / 127`` ``[N]``,
  ``q = rint(w / scale)`` in [-127, 127] (int8 ``[N, K]``); ``w ≈ q · scale``.
- int4, asymmetric unsigned per group of ``G`` along K (the MLX affine convention, mlx ``mlx/ops.cpp`` quantize):
  ``minimum = min``, ``scale = (max - min) / 15`` ``[N, K/G]``,
  ``q = clip(rint((w - minimum) / scale), 0, 15)`` (uint8 ``[N, K]``, one code per byte);
  ``w ≈ q · scale + minimum``.

An all-equal row (int8) or group (int4) gets scale 1 so that the codes stay finite (0 for
int8, 0 for int4 with ``minimum`` the value itself).

The codes here are unpacked; ``packing.py`` turns them into each kernel's storage format.
"""

from __future__ import annotations

import numpy as np

INT8_QMAX = 127
INT4_LEVELS = 15  # codes 0..15


def quantize_int8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``w`` [N, K] float → (codes int8 [N, K] in [-127, 127], scale float32 [N])."""
    w = np.asarray(w, dtype=np.float32)
    absmax = np.abs(w).max(axis=1)
    scale = np.where(absmax > 0, absmax / INT8_QMAX, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -INT8_QMAX, INT8_QMAX).astype(np.int8)
    return q, scale


def quantize_int4(w: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``w`` [N, K] float → (codes uint8 [N, K] in [0, 15], scale [N, K/G], minimum [N, K/G]) float32."""
    w = np.asarray(w, dtype=np.float32)
    n, k = w.shape
    if k % group:
        raise ValueError(f"quantize_int4: k={k} is not a multiple of group={group}")
    wg = w.reshape(n, k // group, group)
    minimum = wg.min(axis=-1)
    spread = wg.max(axis=-1) - minimum
    scale = np.where(spread > 0, spread / INT4_LEVELS, 1.0).astype(np.float32)
    q = np.clip(np.rint((wg - minimum[..., None]) / scale[..., None]), 0, INT4_LEVELS).astype(np.uint8)
    return q.reshape(n, k), scale, minimum.astype(np.float32)


def dequantize_int8(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """float64 [N, K] weights ``q · scale`` from int8 codes [N, K] and scale [N]."""
    return q.astype(np.float64) * np.asarray(scale, dtype=np.float64)[:, None]


def dequantize_int4(q: np.ndarray, scale: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """float64 [N, K] weights ``q · scale + minimum``; the group size is ``K / scale.shape[1]``."""
    n, k = q.shape
    groups = scale.shape[1]
    qg = q.astype(np.float64).reshape(n, groups, k // groups)
    w = qg * np.asarray(scale, np.float64)[..., None] + np.asarray(minimum, np.float64)[..., None]
    return w.reshape(n, k)
