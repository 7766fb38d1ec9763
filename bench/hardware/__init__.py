"""Device peaks for "achieved vs peak": Apple M1–M5 GPUs and common NVIDIA parts (docs/design.md, rule 8).

``lookup(device_name)`` returns the table row for a device name string ("NVIDIA H100 80GB HBM3",
"Apple M3 Max") or None. An unknown device has no peak: nothing is guessed. The report then falls
back to a ceiling the suite measured (best matmul GFLOP/s on that device in the same run), labelled
"measured ceiling".
"""

from __future__ import annotations

from bench.hardware.apple import APPLE_CHIPS
from bench.hardware.nvidia import NVIDIA_PARTS
from bench.hardware.peaks import FORMATS, Peak, tokens

__all__ = ["FORMATS", "Peak", "lookup", "table"]


def table() -> list[Peak]:
    """Every row: Apple chips (largest GPU configuration) then NVIDIA parts."""
    return [chip.peak(chip.gpu_cores) for chip in APPLE_CHIPS] + list(NVIDIA_PARTS)


def lookup(device_name: str | None, gpu_cores: int | None = None, fallback_chip: str | None = None) -> Peak | None:
    """The GPU peak of ``device_name``, or None when the name matches no row (or several).

    ``gpu_cores`` picks the Apple GPU configuration (binned chips have fewer cores). Some backends
    name an Apple GPU generically (tensorflow-metal: "METAL"); ``fallback_chip`` (the machine's chip,
    e.g. "Apple M3 Max") is tried when the name itself matches nothing. Only call this for
    accelerator devices: the Apple figures are the GPU's, not the CPU's.
    """
    for name in (device_name, fallback_chip):
        if not name:
            continue
        words = tokens(name)
        apple = [chip for chip in APPLE_CHIPS if chip.matches(words)]
        nvidia = [part for part in NVIDIA_PARTS if part.matches(words)]
        if len(apple) + len(nvidia) == 1:
            return apple[0].peak(gpu_cores) if apple else nvidia[0]
        if apple or nvidia:
            return None  # ambiguous: never pick one
    return None
