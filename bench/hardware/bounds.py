"""Upper bounds on what a device can do: a measured rate above them means the call did not do the work
(docs/design.md, rule 11).

``upper_bound(device_name, accelerator, dtype, allow_tf32)`` returns a ``Bound``: GFLOP/s and GB/s no
correct run of that dtype can exceed on that device, and where the figures come from. The bounds are
deliberately generous: they exist to catch a call that skipped its work (a cached result, an escaped
synchronisation, a graph folded to a constant: rates off by orders of magnitude), never to flag a fast
kernel. Bytes/s are bounded by on-chip bandwidth, not DRAM: a small case's operands stay in cache.

Accelerators: the hardware table (``bench.hardware.lookup``) times a margin. Compute: the dtype's peak.
Bytes/s: the larger of the DRAM bandwidth and the fp32 peak read as bytes/s. The latter bounds L1 and
shared memory: an NVIDIA SM moves at most 128 B per clock through shared memory/L1 (32 banks of
4 bytes per clock, CUDA C++ Programming Guide, "Shared Memory" of compute capability 5.x and later)
and has at least 64 fp32 lanes (128 FLOP per clock); an Apple GPU core has 128 fp32 ALUs
(philipturner/metal-benchmarks README) and a 32-byte-per-clock core I/O bus (same README). A device
not in the table, or a figure the table lacks, gets ``UNKNOWN_DEVICE_FACTOR`` × the fastest device in it.

CPUs: logical cores × the highest clock reported × ``CPU_CLOCK_HEADROOM`` × FLOP per cycle per core of
the ISA, plus the matrix units of Apple silicon (AMX, SME) that Accelerate and MLX drive from the CPU.
Bytes/s: the same cores × clock × ``L1_BYTES_PER_CYCLE`` (plus the matrix units' loads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.hardware import Peak, lookup, table
from bench.hardware.cpu import HostCPU, host_cpu

# -- accelerators ---------------------------------------------------------------------------------
# Datasheet peaks are quoted at a boost clock a part may exceed: the H100 SXM's tensor figures assume
# 1.83 GHz (989.4 TFLOPS = 132 SMs x 4096 FLOP/clk x 1.83 GHz, NVIDIA H100 datasheet and whitepaper)
# while its maximum boost is 1.98 GHz (+8 %). 25 % covers that and rounding in the table.
DATASHEET_MARGIN = 1.25
# Rows marked ``estimate`` (third-party or derived Apple GPU figures; M4 Max "15-17 TFLOPS").
ESTIMATE_MARGIN = 1.5
# A device with no row (or a row without the dtype): this many times the fastest row of the table.
# The generation after the table's newest parts gives ~2.3x (B200 dense BF16 2.25 PFLOPS against the
# H100 SXM's 0.99, NVIDIA DGX B200 datasheet), so 4x stays sound for a while.
UNKNOWN_DEVICE_FACTOR = 4.0

# -- CPUs -----------------------------------------------------------------------------------------
# Linux and macOS may report the base clock, not the turbo one: acpi-cpufreq reports the turbo state
# as base + 1 MHz (Linux kernel docs, cpu-freq/cpufreq-stats and acpi-cpufreq), a VM's "cpu MHz" is
# the host's nominal clock. The largest max-turbo/base ratio among current parts is 1.93 (Core
# i9-13900K, 3.0 -> 5.8 GHz, Intel ARK), so 2x over the highest reported clock.
CPU_CLOCK_HEADROOM = 2.0
# The highest P-core clock of each Apple silicon generation (Apple does not publish them; figures
# from the Wikipedia pages "Apple M1" ... "Apple M5", which cite Geekbench and sysctl readings).
APPLE_CPU_GHZ = {"M1": 3.23, "M2": 3.50, "M3": 4.05, "M4": 4.51, "M5": 4.61}
APPLE_UNKNOWN_GHZ = 5.0
APPLE_CLOCK_HEADROOM = 1.1  # a table of maxima already: only rounding
# When nothing reports a clock: nothing shipping runs a core above 6.2 GHz (Core i9-14900KS, Intel ARK).
UNKNOWN_CPU_GHZ = 6.2
# Dense fp32 FLOP per cycle per core (FMA = 2 FLOP) by ISA:
#   avx512f: 2 FMA units x 16 lanes (Intel Optimization Reference Manual, Skylake server: two 512-bit FMA ports)
#   avx2+fma: 2 FMA units x 8 lanes (Haswell and later, Zen 1-3)
#   aarch64 + sve: 2 x 512-bit FMA pipes (A64FX, the widest SVE part: 64)
#   aarch64: 4 x 128-bit FMA pipes (Apple Firestorm and later, Neoverse V2: 32)
#   anything else: 16 (SSE: 2 x 4 lanes x 2 would be 16 with a separate add and multiply port)
FP32_FLOP_PER_CYCLE = {"avx512f": 64, "avx2+fma": 32, "sve": 64, "aarch64": 32, "other": 16}
# Reduced-precision multipliers where the ISA computes in that format (else it converts and runs at the
# fp32 rate): avx512_fp16 / avx512_bf16 pack twice the lanes; Arm's FP16 arithmetic (asimdhp) too;
# Arm BFMMLA does 16 multiply-adds per 128-bit instruction against FMLA's 4 (Arm ARM, BFMMLA): x4.
HALF_RATE_FLAGS = {"fp16": ("avx512_fp16", "asimdhp"), "bf16": ("avx512_bf16",)}
ARM_BF16_FACTOR = 4
# Intel AMX: 1024 BF16 (and FP16 with amx_fp16) FLOP per cycle per core (Intel, "Accelerate AI
# workloads with Intel AMX", 2048 INT8 / 1024 BF16 operations per cycle per core).
AMX_FLOP_PER_CYCLE = 1024
AMX_FLAGS = {"bf16": "amx_bf16", "fp16": "amx_fp16"}
# Apple's matrix coprocessor (AMX on M1-M3, SME on M4 and later) is shared by a cluster of up to 4-6
# cores; one 16x16 fp32 outer product (512 FLOP) or 32x32 fp16 one (2048 FLOP) per instruction
# (corsix/amx README). Measured: 1.5 TFLOPS fp32 from one M1 core (~460 FLOP/cycle; nod.ai mmperf on
# M1 Max: 1.4 TFLOPS). Bound: two instructions per cycle per cluster, and a cluster per 4 cores.
APPLE_MATRIX_FLOP_PER_CYCLE = {"fp32": 1024, "fp16": 4096, "bf16": 4096}
CORES_PER_MATRIX_UNIT = 4
# L1: at most two 64-byte loads and one 64-byte store per cycle per core (Intel Optimization Reference
# Manual, Skylake server L1D: 128 B/cycle load + 64 B/cycle store; narrower elsewhere).
L1_BYTES_PER_CYCLE = 192
# Apple's matrix unit loads its X/Y registers from L2; two 128-byte loads per cycle per cluster (assumed).
APPLE_MATRIX_BYTES_PER_CYCLE = 256
CPU_MARGIN = 1.1


@dataclass(frozen=True)
class Bound:
    """GFLOP/s and GB/s no correct run can exceed (None: no bound known), and the figures' origin."""

    gflops: float | None
    gbps: float | None
    source: str

    def violations(self, gflops: float | None, gbps: float | None) -> list[str]:
        """Each achieved rate above its bound, as 'achieved X GFLOP/s > bound Y GFLOP/s'."""
        out = []
        for achieved, bound, unit in ((gflops, self.gflops, "GFLOP/s"), (gbps, self.gbps, "GB/s")):
            if achieved is not None and bound is not None and achieved > bound:
                out.append(f"achieved {achieved:.4g} {unit} > bound {bound:.4g} {unit}")
        return out


def upper_bound(device_name: str | None, accelerator: str | None, dtype: str, allow_tf32: bool = False, cpu: HostCPU | None = None) -> Bound:
    """The bound for one case's device and dtype. ``accelerator`` None means the host CPU (``cpu``, read
    from this machine when not given)."""
    if accelerator is None:
        return cpu_bound(cpu or host_cpu(), dtype, allow_tf32)
    return accelerator_bound(device_name, dtype, allow_tf32, fallback_chip=(cpu or host_cpu()).name)


# -- accelerators ---------------------------------------------------------------------------------


def _fastest_in_table(dtype: str, allow_tf32: bool) -> tuple[float, float]:
    """(GFLOP/s, GB/s) of the fastest row for this dtype (any format when no row lists it), unmargined."""
    rows = table()
    flops = [r.compute_tflops(dtype, allow_tf32)[0] for r in rows]
    known = [f for f in flops if f] or [max(r.tflops.values()) for r in rows if r.tflops]
    return max(known) * 1e3, max(max((r.tflops.get("fp32") or 0.0) * 1e3, r.bandwidth_gbs or 0.0) for r in rows)


def accelerator_bound(device_name: str | None, dtype: str, allow_tf32: bool, fallback_chip: str | None = None) -> Bound:
    peak = lookup(device_name, None, fallback_chip)  # gpu_cores unknown here: the largest configuration
    unknown_flops, unknown_gbps = (UNKNOWN_DEVICE_FACTOR * v for v in _fastest_in_table(dtype, allow_tf32))
    unknown = f"{UNKNOWN_DEVICE_FACTOR:g}x the fastest device in bench/hardware"
    if peak is None:
        return Bound(unknown_flops, unknown_gbps, f"no hardware-table row for {device_name or 'this accelerator'}: {unknown}")
    margin = ESTIMATE_MARGIN if peak.estimate else DATASHEET_MARGIN
    tflops, fmt = peak.compute_tflops(dtype, allow_tf32)
    parts = [f"{peak.name}{' (estimate)' if peak.estimate else ''}, {peak.source}"]
    if tflops:
        gflops = tflops * 1e3 * margin
        parts.append(f"{fmt} peak {tflops:g} TFLOP/s x {margin:g}")
    elif peak.tflops and dtype != "fp32":  # e.g. bf16 on an Apple GPU: no format of the row is faster than the fastest listed
        gflops = max(peak.tflops.values()) * 1e3 * margin
        parts.append(f"no {dtype} figure: its fastest listed format x {margin:g}")
    else:
        gflops = unknown_flops
        parts.append(f"no {dtype} figure: {unknown}")
    fp32 = peak.tflops.get("fp32")
    if fp32:  # without it the on-chip bandwidth is unknown: DRAM alone would flag cache-resident cases
        gbps = max(fp32 * 1e3, peak.bandwidth_gbs or 0.0) * margin
        parts.append(f"bytes/s: max(DRAM {peak.bandwidth_gbs or 0:g} GB/s, on-chip <= fp32 FLOP/s) x {margin:g}")
    else:
        gbps = unknown_gbps
        parts.append(f"bytes/s: {unknown}")
    return Bound(gflops, gbps, "; ".join(parts))


# -- CPUs -----------------------------------------------------------------------------------------


def apple_cpu_ghz(name: str) -> float:
    generation = name.split()[1] if len(name.split()) > 1 else ""
    return APPLE_CPU_GHZ.get(generation, APPLE_UNKNOWN_GHZ)


def _clock(cpu: HostCPU) -> tuple[float, str]:
    """The clock the bound assumes (GHz, with headroom) and why."""
    if cpu.apple_silicon:
        ghz = apple_cpu_ghz(cpu.name)
        return ghz * APPLE_CLOCK_HEADROOM, f"{ghz:g} GHz (Apple silicon table) x {APPLE_CLOCK_HEADROOM:g}"
    if cpu.clock_ghz:
        return cpu.clock_ghz * CPU_CLOCK_HEADROOM, f"{cpu.clock_ghz:.3g} GHz ({cpu.clock_source}) x {CPU_CLOCK_HEADROOM:g} turbo headroom"
    return UNKNOWN_CPU_GHZ, f"{UNKNOWN_CPU_GHZ:g} GHz (no clock reported: the fastest shipping core)"


def _isa(cpu: HostCPU) -> str:
    f = cpu.features
    if "avx512f" in f:
        return "avx512f"
    if "avx2" in f and "fma" in f:
        return "avx2+fma"
    if cpu.arch in ("aarch64", "arm64"):
        return "sve" if "sve" in f else "aarch64"
    return "other"


def vector_flop_per_cycle(cpu: HostCPU, dtype: str) -> tuple[int, str]:
    """Per core and cycle, for ``dtype`` (fp32, fp16, bf16), with the ISA facts that set it."""
    isa = _isa(cpu)
    rate, why = FP32_FLOP_PER_CYCLE[isa], isa
    if dtype in AMX_FLAGS and AMX_FLAGS[dtype] in cpu.features:
        return max(rate, AMX_FLOP_PER_CYCLE), f"{isa}, {AMX_FLAGS[dtype]}"
    if dtype == "bf16" and "bf16" in cpu.features and isa in ("aarch64", "sve"):
        return rate * ARM_BF16_FACTOR, f"{isa}, bf16 (BFMMLA)"
    if any(flag in cpu.features for flag in HALF_RATE_FLAGS.get(dtype, ())):
        return rate * 2, f"{isa}, native {dtype}"
    return rate, why


def matrix_units(cpu: HostCPU) -> int:
    """Apple AMX/SME units (one per CPU cluster; at most one per ``CORES_PER_MATRIX_UNIT`` cores)."""
    if cpu.apple_silicon or "sme" in cpu.features:
        return math.ceil(cpu.logical_cores / CORES_PER_MATRIX_UNIT)
    return 0


def cpu_bound(cpu: HostCPU, dtype: str, allow_tf32: bool = False) -> Bound:
    ghz, clock_why = _clock(cpu)
    # TF32 allowed: fp32 math may run in a reduced format (oneDNN's bf16 fpmath mode on AMX).
    formats = ("fp32", "bf16", "fp16") if dtype == "fp32" and allow_tf32 else (dtype,)
    per_core, isa_why = max(vector_flop_per_cycle(cpu, fmt) for fmt in formats)
    units = matrix_units(cpu)
    matrix = max(APPLE_MATRIX_FLOP_PER_CYCLE.get(fmt, 0) for fmt in formats) if units else 0
    gflops = (cpu.logical_cores * per_core + units * matrix) * ghz * CPU_MARGIN
    gbps = (cpu.logical_cores * L1_BYTES_PER_CYCLE + units * APPLE_MATRIX_BYTES_PER_CYCLE) * ghz * CPU_MARGIN
    matrix_why = f" + {units} matrix unit(s) x {matrix} FLOP/cycle" if units else ""
    source = (
        f"{cpu.name}: {cpu.logical_cores} logical cores x {clock_why} x {per_core} {dtype} FLOP/cycle ({isa_why}){matrix_why}; "
        f"bytes/s: L1 {L1_BYTES_PER_CYCLE} B/cycle/core; x {CPU_MARGIN:g}"
    )
    return Bound(gflops, gbps, source)


# -- for results read from files (the report) -------------------------------------------------------
# A run file says how many cores its machine had, not its ISA or clock: ``max_gflops`` bounds such a case
# by a sanity figure (logical cores x CPU_MAX_GHZ x CPU_MAX_FLOP_PER_CYCLE, twice the densest CPU matrix
# unit documented: Intel AMX, 2048 bf16 FLOP per cycle and core, Intel 64 and IA-32 Architectures
# Optimization Reference Manual) so that a number no machine can produce never becomes a ceiling or a
# headline, whichever machine measured it. The worker applies the tighter ``upper_bound`` when it measures.
FILE_MARGIN = 1.10
CPU_MAX_GHZ = 6.0
CPU_MAX_FLOP_PER_CYCLE = 4096
CPU_CORES_IF_UNKNOWN = 1024
UNKNOWN_FACTOR = 10.0


def _fastest_any() -> float:
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
            return tflops * 1000.0 * FILE_MARGIN, f"{peak.name} {fmt} peak + {FILE_MARGIN - 1:.0%}"
    return _fastest_any() * 1000.0 * UNKNOWN_FACTOR, f"{UNKNOWN_FACTOR:g}x the fastest device in the hardware table"
