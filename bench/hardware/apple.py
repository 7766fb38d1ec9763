"""Apple M1–M5 GPUs: peak FP32 TFLOP/s and unified-memory bandwidth, one row per chip.

Values and their sources are listed row by row below (``source``) and in docs/report.md. Apple published TFLOPS for the M1 family only; every
later FP32 figure is a third-party measurement or derived as cores × 128 ALUs × 2 × clock, so those
rows are marked estimates. On M1–M4, FP16 runs at the FP32 rate (``philipturner/metal-benchmarks``
README: "F16 is neither faster nor slower than F32"), so fp16 peak = fp32 peak; no bf16 figure is
published, so none is given. M5's per-core Neural Accelerators have no published TFLOPS: M5 has a
bandwidth peak only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.hardware.peaks import Peak, rule

METAL_BENCHMARKS = "philipturner/metal-benchmarks README"


@dataclass(frozen=True)
class AppleChip:
    """Figures for the chip's largest GPU configuration (``gpu_cores``)."""

    name: str  # "Apple M3 Max"
    gpu_cores: int
    fp32_tflops: float | None
    bandwidth_gbs: float
    source: str
    estimate: bool
    note: str = ""
    bandwidth_by_cores: dict[int, float] = field(default_factory=dict)  # binned parts with a narrower bus

    def _rule(self) -> dict:
        variant = self.name.split()[2:]  # "Apple M3" has none: it must not match "Apple M3 Max"
        return rule(self.name, none_of="" if variant else "Pro Max Ultra")

    def matches(self, words: set[str]) -> bool:
        match = self._rule()
        return any(req <= words for req in match["all_of"]) and not (match["none_of"] & words)

    def peak(self, gpu_cores: int | None = None) -> Peak:
        """The Peak of this chip with ``gpu_cores`` GPU cores (None: not recorded)."""
        fp32, bandwidth, estimate, notes = self.fp32_tflops, self.bandwidth_gbs, self.estimate, [self.note]
        if gpu_cores is None:
            notes.append(f"GPU core count not recorded: figures are for the {self.gpu_cores}-core GPU")
            estimate = True
        elif gpu_cores != self.gpu_cores and 0 < gpu_cores < self.gpu_cores:
            if fp32 is not None:
                fp32 = round(fp32 * gpu_cores / self.gpu_cores, 2)
            bandwidth = self.bandwidth_by_cores.get(gpu_cores, bandwidth)
            notes.append(f"{gpu_cores}-core GPU: FP32 scaled from the {self.gpu_cores}-core figure")
            estimate = True
        else:
            notes.append(f"{self.gpu_cores}-core GPU")
        tflops = {"fp32": fp32, "fp16": fp32} if fp32 is not None else {}
        return Peak(
            name=self.name,
            tflops=tflops,
            bandwidth_gbs=bandwidth,
            source=self.source,
            estimate=estimate,
            note="; ".join(n for n in notes if n),
            **self._rule(),
        )


APPLE_CHIPS = [
    AppleChip(
        "Apple M1",
        8,
        2.6,
        68.0,
        f"{METAL_BENCHMARKS} (1.278 GHz); Apple '2.6 TFLOPs' quoted via macrumors forum",
        True,
        "bandwidth derived from LPDDR4X-4266 on a 128-bit bus (66.7 in some tables)",
    ),
    AppleChip("Apple M1 Pro", 16, 5.2, 200.0, f"Apple M1 Pro/Max press release 2021-10-18 (via 9to5mac); {METAL_BENCHMARKS}", False),
    AppleChip("Apple M1 Max", 32, 10.4, 400.0, f"Apple M1 Pro/Max press release 2021-10-18 (via 9to5mac); {METAL_BENCHMARKS}", False),
    AppleChip("Apple M1 Ultra", 64, 21.0, 800.0, f"Apple M1 Ultra press release 2022-03 (via notebookcheck); {METAL_BENCHMARKS}", False),
    AppleChip(
        "Apple M2",
        10,
        3.6,
        100.0,
        f"Apple WWDC22 release via macrumors (100 GB/s); {METAL_BENCHMARKS} (1.398 GHz)",
        True,
        "FP32 is a third-party figure",
    ),
    AppleChip("Apple M2 Pro", 19, 6.8, 200.0, f"{METAL_BENCHMARKS}; appleinsider spec list", True, "FP32 is a third-party figure"),
    AppleChip("Apple M2 Max", 38, 13.6, 400.0, f"{METAL_BENCHMARKS}; macrumors", True, "FP32 is a third-party figure"),
    AppleChip("Apple M2 Ultra", 76, 27.2, 800.0, "wccftech summary of Apple specs", True, "FP32 derived as 2x M2 Max"),
    AppleChip("Apple M3", 10, 3.6, 100.0, "appleinsider spec table", True, "FP32 derived from cores and clock"),
    AppleChip("Apple M3 Pro", 18, 6.4, 150.0, "macrumors 2023-10-31 (Apple spec pages)", True, "FP32 derived from cores and clock"),
    AppleChip(
        "Apple M3 Max",
        40,
        14.3,
        400.0,
        "macrumors; appleinsider; hmc-tech (14.32 TFLOPS at 1.398 GHz)",
        True,
        "FP32 is a third-party figure",
        {30: 300.0},
    ),
    AppleChip(
        "Apple M3 Ultra",
        80,
        28.6,
        819.0,
        "Apple M3 Ultra release quoted by mjtsai (cores); Apple spec (819 GB/s, not re-verified)",
        True,
        "FP32 derived as 2x M3 Max",
    ),
    AppleChip(
        "Apple M4",
        10,
        3.58,
        120.0,
        "philipturner/metal-flash-attention README (3,580 GFLOPS roofline); Apple spec (120 GB/s, not re-verified)",
        True,
        "FP32 is a third-party roofline",
    ),
    AppleChip(
        "Apple M4 Pro",
        20,
        7.5,
        273.0,
        "wccftech, gearbest (Apple figures)",
        True,
        "FP32 derived from cores and clock (hmc-tech lists 6.02 for the 16-core part at 1.47 GHz)",
    ),
    AppleChip(
        "Apple M4 Max",
        40,
        16.0,
        546.0,
        "macmegasite (Apple release), gearbest",
        True,
        "FP32 derived from third-party clock estimates of 1.47-1.68 GHz (15-17 TFLOPS)",
        {32: 410.0},
    ),
    AppleChip(
        "Apple M5",
        10,
        None,
        153.0,
        "the-decoder (Apple release 2025-10)",
        False,
        "no FP32 figure published (Apple gives only '4x+ GPU AI compute vs M4')",
    ),
]
