"""Dtype names and NumPy rounding to them, so references see exactly the values a backend sees."""

from __future__ import annotations

import numpy as np

DTYPES = ("fp32", "fp16", "bf16")


def round_to(array: np.ndarray, dtype: str) -> np.ndarray:
    """Return float32 values exactly representable in ``dtype`` (round to nearest even).

    NumPy has no bfloat16, so bf16 rounding is done on the float32 bit pattern.
    """
    x = np.ascontiguousarray(array, dtype=np.float32)
    if dtype == "fp32":
        return x
    if dtype == "fp16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "bf16":
        bits = x.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return rounded.astype(np.uint32).view(np.float32)
    raise ValueError(f"unknown dtype {dtype!r} (known: {', '.join(DTYPES)})")


def itemsize(dtype: str) -> int:
    return {"fp32": 4, "fp16": 2, "bf16": 2}[dtype]
