"""Tolerances from an error model of the dtype and the computation (docs/design.md, rule 12).

A correct implementation differs from the float64 reference (computed from the inputs as cast for the
backend) by the roundings it performs: every intermediate tensor it stores in the case dtype, and the
sums it accumulates. For N independent roundings the norm-wise relative error concentrates at its rms:

    rms = sqrt( R · (ROUNDING_RMS · u)² + n · (ACCUMULATION_RMS · u_acc)² )

- ``u``: unit roundoff of the dtype (fp32 2^-24, fp16 and TF32 2^-11, bf16 2^-8).
- ``R`` (``ErrorModel.roundings``): the roundings to the dtype along the output's longest path, each
  weighted by (size of the rounded value / size of its effect on the output)²; each workload spec
  derives its own in ``error_model``.
- ``ROUNDING_RMS`` = 0.43: the rms relative error of one round-to-nearest, measured on N(0, 1) data and
  on matmul outputs in every framework (0.425 u, docs/measurement.md); for mantissas log-uniform in
  [1, 2) theory gives u / sqrt(3 · E[m²]) = 0.39 u.
- ``n``: total length of the sums on the path (``ErrorModel.reductions``: matmul K, attention D and L,
  conv C·kh·kw, ...), accumulated in fp32 (``u_acc`` = 2^-24) by every implementation this model
  accepts. ``ACCUMULATION_RMS`` = 0.3: a sequential sum of n random-sign terms has rms relative error
  0.3 · u · sqrt(n) (partial sum i, of size sqrt(i), is rounded with rms 0.43 u · sqrt(i); in quadrature ≈ 0.3 u · sqrt(n));
  blocked and pairwise sums do better.

An implementation that accumulates fp16/bf16 products in fp16/bf16 has error ≈ 0.3 u sqrt(n): outside
this model by design, and reported as ``mismatch`` (mlx:cpu's quantized matmul on x86, TensorFlow's CPU
einsum in Keras attention; docs/measurement.md, "Tolerances and headroom").

tolerance = ``HEADROOM`` × rms. Errors of a case are deterministic (same seeded inputs every run), so
headroom covers the spread between correct implementations (round-toward-zero output conversions are
2× round-to-nearest), not run-to-run noise. For fp32 and TF32 the flat tolerance stays as a floor: no
structural error is that small, and GPU algorithms not measured here (Winograd convolutions, TF32
split-K) exceed the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

UNIT_ROUNDOFF = {"fp32": 2.0**-24, "tf32": 2.0**-11, "fp16": 2.0**-11, "bf16": 2.0**-8}
ROUNDING_RMS = 0.43
ACCUMULATION_RMS = 0.3
ACCUMULATOR = "fp32"
HEADROOM = 3.0


@dataclass(frozen=True)
class ErrorModel:
    """What a correct implementation of one case rounds (see the module docstring)."""

    roundings: float  # R: weighted roundings to the case dtype on the output's path
    reductions: tuple[int, ...] = ()  # lengths of the sums on the path (accumulated in fp32)
    tf32: bool = True  # the path has a matmul or conv that TF32 would round

    def rms(self, precision: str) -> float:
        """Expected relative error when intermediates are stored in ``precision`` (fp32, tf32, fp16, bf16)."""
        u, u_acc = UNIT_ROUNDOFF[precision], UNIT_ROUNDOFF[ACCUMULATOR]
        return math.sqrt(self.roundings * (ROUNDING_RMS * u) ** 2 + sum(self.reductions) * (ACCUMULATION_RMS * u_acc) ** 2)

    def tolerance(self, dtype: str, allow_tf32: bool, floor: float | None = None) -> float:
        """HEADROOM × rms, for fp32 under TF32 when it applies; never below ``floor`` (fp32/TF32's flat value)."""
        precision = "tf32" if dtype == "fp32" and allow_tf32 and self.tf32 else dtype
        tol = HEADROOM * self.rms(precision)
        return max(tol, floor) if floor is not None else tol
