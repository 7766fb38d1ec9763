"""Storage formats of the quantized codes, built in NumPy from ``quantize.py``'s unpacked codes.

All packing happens in ``build`` (outside the timed region). Formats:

- ``pack_lsb_first(q, bits)``: ``bits``-bit codes into uint32 words, element ``j`` of each run of
  ``32 / bits`` in bits ``[j·bits, (j+1)·bits)`` (least significant first): MLX's affine layout
  (checked against ``mx.quantize``'s output with mlx 0.32.4; ``tests/test_quant_linear.py``).
- ``pack_nibbles(q)``: two 4-bit codes per byte, even k in the low nibble (the bytes of
  ``pack_lsb_first(q, 4)`` on a little-endian host): the JAX/TF in-graph format.
- ``pack_tinygemm_uint8(q)``: two codes per byte, even k in the *high* nibble, the input of
  ``torch._convert_weight_to_int4pack`` on CUDA and MPS (pytorch ``aten/src/ATen/native/native_functions.yaml``;
  pytorch ``aten/src/ATen/native/mps/kernels/Quantized.metal`` ``weight_to_int4pack`` swaps
  the nibbles so that even k ends up low).
"""

from __future__ import annotations

import numpy as np

from bench.dtypes import round_to

TINYGEMM_OFFSET = 8  # torch int4 kernels dequantize (q - 8) · scale + zero


def pack_lsb_first(q: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned codes [N, K] (< 2**bits) → uint32 [N, K · bits / 32]."""
    per_word = 32 // bits
    n, k = q.shape
    if k % per_word:
        raise ValueError(f"pack_lsb_first: k={k} is not a multiple of {per_word} ({bits}-bit codes per uint32)")
    codes = q.astype(np.uint32).reshape(n, k // per_word, per_word)
    shifts = (bits * np.arange(per_word)).astype(np.uint32)
    return np.bitwise_or.reduce(codes << shifts, axis=-1).astype(np.uint32)


def pack_nibbles(q: np.ndarray) -> np.ndarray:
    """4-bit codes [N, K] → uint8 [N, K/2]; byte j holds k = 2j (low nibble) and 2j+1 (high)."""
    q = q.astype(np.uint8)
    return (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8)


def pack_tinygemm_uint8(q: np.ndarray) -> np.ndarray:
    """4-bit codes [N, K] → uint8 [N, K/2]; byte j holds k = 2j (high nibble) and 2j+1 (low)."""
    q = q.astype(np.uint8)
    return ((q[:, 0::2] << 4) | q[:, 1::2]).astype(np.uint8)


def tinygemm_scales_and_zeros(scale: np.ndarray, minimum: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """torch int4 parameters from the affine ones (scale, minimum [N, K/G], already in ``dtype``).

    Returns ``(qsz, minimum_seen)``: ``qsz`` float32 [K/G, N, 2] = (scale, zero) with
    ``zero = minimum + 8·scale`` rounded to ``dtype`` (exactly what the kernel reads), and the
    float64 minimum that the kernel's ``(q - 8)·scale + zero`` implies, for the reference.
    """
    zero = round_to(minimum + TINYGEMM_OFFSET * scale, dtype)
    qsz = np.ascontiguousarray(np.stack([scale.T, zero.T], axis=-1), dtype=np.float32)  # kernels ignore strides
    minimum_seen = zero.astype(np.float64) - TINYGEMM_OFFSET * scale.astype(np.float64)
    return qsz, minimum_seen


def int8_as_affine(q8: np.ndarray, scale: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int8 per-channel as unsigned affine 8-bit groups: ``q8·s = (q8 + 128)·s + (-128·s)``.

    Returns (codes uint8 [N, K], scales [N, K/G], biases [N, K/G]); ``-128·s`` is exact in any
    float format that holds ``s``, so the dequantized weights are unchanged.
    """
    _n, k = q8.shape
    codes = (q8.astype(np.int16) + 128).astype(np.uint8)
    scales = np.repeat(scale[:, None], k // group, axis=1).astype(np.float32)
    return codes, scales, (-128.0 * scales).astype(np.float32)
