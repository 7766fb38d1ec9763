"""The most compute a device can physically do: a rate above it means the call did not do the work
(docs/design.md, rule 11), so the number is flagged and never becomes a ceiling or a headline.

- A device in the hardware table: its published peak for the case's format (else its fastest
  format), plus ``MARGIN`` for boost clocks and estimated figures.
- A CPU: a sanity bound, not a peak: logical cores x ``CPU_MAX_GHZ`` x ``CPU_MAX_FLOP_PER_CYCLE``.
  The per-core figure is twice the densest CPU matrix unit documented (Intel AMX on Sapphire Rapids:
  1024 bf16 multiply-adds, 2048 FLOP, per cycle and core; Intel 64 and IA-32 Architectures Optimization
  Reference Manual, AMX chapter), so no real CPU case is flagged, while a call that did no work (10^8
  GFLOP/s on a laptop) is.
- An accelerator the table does not know: ``UNKNOWN_FACTOR`` times the table's fastest figure.
"""

from __future__ import annotations

from bench.hardware import Peak, table

MARGIN = 1.10
CPU_MAX_GHZ = 6.0
CPU_MAX_FLOP_PER_CYCLE = 4096
CPU_CORES_IF_UNKNOWN = 1024
UNKNOWN_FACTOR = 10.0


def _fastest_in_table() -> float:
    return max(v for peak in table() for v in peak.tflops.values() if v)


def max_gflops(accelerator: bool, peak: Peak | None, dtype: str, allow_tf32: bool, logical_cores: int | None) -> tuple[float, str]:
    """(GFLOP/s no case can exceed on this device, what the bound is)."""
    if not accelerator:
        cores = logical_cores if isinstance(logical_cores, int) and logical_cores > 0 else CPU_CORES_IF_UNKNOWN
        bound = cores * CPU_MAX_GHZ * CPU_MAX_FLOP_PER_CYCLE
        return bound, f"CPU sanity bound: {cores} cores x {CPU_MAX_GHZ:g} GHz x {CPU_MAX_FLOP_PER_CYCLE} FLOP/cycle"
    if peak is not None:
        tflops, fmt = peak.compute_tflops(dtype, allow_tf32)
        if not tflops and any(peak.tflops.values()):
            tflops, fmt = max(v for v in peak.tflops.values() if v), "fastest format"
        if tflops:
            return tflops * 1000.0 * MARGIN, f"{peak.name} {fmt} peak + {MARGIN - 1:.0%}"
    return _fastest_in_table() * 1000.0 * UNKNOWN_FACTOR, f"{UNKNOWN_FACTOR:g}x the fastest device in the hardware table"
