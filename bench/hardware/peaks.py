"""A device's published peak: compute per number format and memory bandwidth, with its source.

A ``Peak`` is one row of the hardware table (``bench/hardware/apple.py``, ``bench/hardware/nvidia.py``).
Tensor-core figures are *dense* (NVIDIA datasheets print sparse figures with an asterisk; the table
halves them). A figure the vendor does not publish is left out, never filled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FORMATS = ("fp32", "tf32", "fp16", "bf16")


@dataclass(frozen=True)
class Peak:
    """One device. ``tflops`` maps a number format (see ``FORMATS``) to dense TFLOP/s.

    ``estimate`` is True when any figure is derived or third-party rather than published by the
    vendor; ``note`` says which and why.
    """

    name: str
    tflops: dict[str, float]
    bandwidth_gbs: float | None
    source: str
    estimate: bool = False
    note: str = ""
    all_of: tuple[frozenset[str], ...] = field(default=(), repr=False, compare=False)
    none_of: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def compute_tflops(self, dtype: str, allow_tf32: bool = False) -> tuple[float | None, str]:
        """Peak TFLOP/s for a case's dtype and the format it names: (value or None, format).

        fp32 with TF32 allowed is held against the TF32 tensor peak where the device has one.
        """
        fmt = "tf32" if dtype == "fp32" and allow_tf32 and "tf32" in self.tflops else dtype
        return self.tflops.get(fmt), fmt

    def matches(self, tokens: set[str]) -> bool:
        return any(required <= tokens for required in self.all_of) and not (self.none_of & tokens)


def tokens(device_name: str) -> set[str]:
    """'NVIDIA A100-SXM4-80GB' -> {'NVIDIA', 'A100', 'SXM4', '80GB'} (upper case; '-', '_' split)."""
    return {t for t in re.split(r"[\s\-_/(),]+", device_name.upper()) if t}


def rule(*alternatives: str, none_of: str = "") -> dict:
    """Matching rule: any alternative's words all present (case-insensitive), none of ``none_of``."""
    return {"all_of": tuple(frozenset(tokens(a)) for a in alternatives), "none_of": frozenset(tokens(none_of))}
