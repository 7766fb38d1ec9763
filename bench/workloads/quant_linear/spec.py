"""quant_linear: weight-only quantized linear layer y[m, n] = x[m, k] @ dequant(W)[n, k]ᵀ.

Params
    ``m`` (1 = decode, 256 = prefill), ``k``, ``n`` (or ``kn = [k, n]`` in a suite grid),
    ``scheme``:
      - ``"none"``: the dense baseline, W in the activation dtype;
      - ``"int8"``: symmetric int8 codes, one scale per output channel;
      - ``"int4"``: asymmetric 4-bit codes, a scale and a minimum per ``group`` along k;
    ``group``: 32, 64 or 128 and dividing k; required for int4. For ``none`` and ``int8`` it is
    validated and then dropped, so a grid that crosses ``scheme`` with ``group`` yields one
    ``none`` and one ``int8`` case per shape.

Dtypes: fp16 and bf16 activations; scales and minimums are in the activation dtype (every
kernel here takes them so; torch CUDA int4 accepts bf16 only and says so as ``unsupported``).

Inputs: x ~ N(0, 1) and W ~ N(0, 1/k), so outputs are O(1). ``quantize.py`` quantizes W once in
NumPy; the parameters are rounded to the activation dtype there, and each framework packs its
own storage format from the same codes (``packing.py``). The reference is
``x @ dequant(W)ᵀ`` in float64 from the parameters as the kernel reads them; a kernel that
re-expresses them (torch's int4 zero point) passes its own via ``Built.reference_inputs``.

Figures: FLOPs 2·m·n·k. Bytes: the weight as stored (packed codes plus parameters) plus
x and y. ``metrics``: ``weight_bytes``, ``dense_weight_bytes`` (the same W in the activation
dtype), ``weight_bytes_vs_dense`` (the memory ratio against the baseline; 1.0 for ``none``),
``footprint_bytes`` (weight + x + y: the operands the call holds) and ``weight_gbps`` (weight
bytes streamed per second, the decode roofline figure). Framework modules also record
``info.weight_bytes``: what their own format holds (MLX's int8 carries a bias per group).

Ratio against the baseline: the memory ratio is ``metrics.weight_bytes_vs_dense``. The time
ratio needs two measurements, so it is derived, not re-measured: the baseline of a case is the
``scheme="none"`` case of the same run, backend, dtype, mode, m, k and n (every suite grid
includes it). ``baseline.against_baseline(bench.results.load(path))`` adds
``time_vs_baseline`` (> 1: slower than dense), ``weight_bytes_vs_baseline`` and
``peak_bytes_vs_baseline`` columns.

Known result: mlx:cpu on x86-64 (mlx-cpu 0.32.4) accumulates quantized products in the
activation dtype (error ~0.32 u·sqrt(k), outside the error model, which assumes fp32 sums), so its
int8 cases are ``mismatch`` from k=128 (bf16 1.4e-2 against 7.1e-3) and its int4 cases from
k=256 (int4's dequantization allows more: 1.7e-2 in bf16); ``info.note`` says why
(docs/measurement.md, "Tolerances and headroom").

Sync canary: twice ``n`` (twice the FLOPs and the weight bytes; doubling m would barely
change a weight-bound decode).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.dtypes import itemsize, round_to
from bench.workloads.base import Workload, check_positive_ints, unpack_shape
from bench.workloads.quant_linear.quantize import dequantize_int4, dequantize_int8, quantize_int4, quantize_int8
from bench.workloads.tolerance import ErrorModel

SCHEMES = ("none", "int8", "int4")
GROUPS = (32, 64, 128)
ACTIVATION_DTYPES = ("fp16", "bf16")
# int4 dequantization rounds q·scale = w - minimum before adding the minimum: that term's rms is up to
# ~3x the weight's (the expected minimum of a group of 128 normal weights is -2.6 sigma), so its rounding
# weighs 3² = 9 roundings of the weight.
INT4_CODE_SPAN = 3.0
# metrics() is not told the dtype; every dtype this spec allows has this size.
(_ACT_BYTES,) = {itemsize(d) for d in ACTIVATION_DTYPES}


def weight_bytes(params: dict[str, Any], param_bytes: int) -> int:
    """Bytes of W as stored: codes (int8: 1 byte, int4: ½ byte each) plus scales/minimums."""
    k, n, scheme = params["k"], params["n"], params["scheme"]
    if scheme == "none":
        return n * k * param_bytes
    if scheme == "int8":
        return n * k + n * param_bytes
    return n * k // 2 + 2 * n * (k // params["group"]) * param_bytes


class QuantLinear(Workload):
    name = "quant_linear"
    description = "weight-only int8/int4 linear x[m,k] @ dequant(W)[n,k]^T against the dense baseline"
    dtypes = ACTIVATION_DTYPES
    modes = ("eager", "compiled")
    required_params = ("m", "k", "n", "scheme")
    default_grid = {"m": [1, 256], "kn": [[4096, 4096]], "scheme": list(SCHEMES), "group": [128]}

    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        unpack_shape(self.name, params, "kn", ("k", "n"))
        unknown = set(params) - {"m", "k", "n", "scheme", "group"}
        if unknown:
            raise ValueError(f"quant_linear: unknown parameter(s) {', '.join(sorted(unknown))} (known: m, k, n, kn, scheme, group)")
        super().normalize(params)
        check_positive_ints(self.name, params, ("m", "k", "n"))
        if params["scheme"] not in SCHEMES:
            raise ValueError(f"quant_linear: scheme must be one of {', '.join(SCHEMES)}, got {params['scheme']!r}")
        if "group" in params and params["group"] not in GROUPS:
            raise ValueError(f"quant_linear: group must be one of {', '.join(map(str, GROUPS))}, got {params['group']!r}")
        if params["scheme"] != "int4":
            params.pop("group", None)  # per-channel or dense: no groups
            return params
        if "group" not in params:
            raise ValueError("quant_linear: group is required for scheme int4 (32, 64 or 128)")
        if params["k"] % params["group"]:
            raise ValueError(f"quant_linear: k={params['k']} must be a multiple of group={params['group']}")
        return params

    # -- data -----------------------------------------------------------------------------------
    def make_inputs(self, params, dtype, rng):
        """x [m, k]; for none W [n, k]; int8 q [n, k] int8 + scale [n]; int4 q [n, k] uint8 (0..15) +
        scale, minimum [n, k/group]. Floats are float32 holding values exact in ``dtype``."""
        m, k, n = params["m"], params["k"], params["n"]
        x = round_to(rng.standard_normal((m, k), dtype=np.float32), dtype)
        w = rng.standard_normal((n, k), dtype=np.float32) * np.float32(1.0 / np.sqrt(k))
        scheme = params["scheme"]
        if scheme == "none":
            return {"x": x, "w": round_to(w, dtype)}
        if scheme == "int8":
            q, scale = quantize_int8(w)
            return {"x": x, "q": q, "scale": round_to(scale, dtype)}
        q, scale, minimum = quantize_int4(w, params["group"])
        return {"x": x, "q": q, "scale": round_to(scale, dtype), "minimum": round_to(minimum, dtype)}

    def dequantized_weight(self, params: dict[str, Any], inputs: dict[str, np.ndarray]) -> np.ndarray:
        """float64 W [n, k] as the kernel sees it."""
        scheme = params["scheme"]
        if scheme == "none":
            return inputs["w"].astype(np.float64)
        if scheme == "int8":
            return dequantize_int8(inputs["q"], inputs["scale"])
        return dequantize_int4(inputs["q"], inputs["scale"], inputs["minimum"])

    def reference(self, params, dtype, inputs):
        return inputs["x"].astype(np.float64) @ self.dequantized_weight(params, inputs).T

    # -- figures --------------------------------------------------------------------------------
    def flops(self, params):
        return 2.0 * params["m"] * params["n"] * params["k"]

    def bytes_moved(self, params, dtype):
        m, k, n = params["m"], params["k"], params["n"]
        return float(weight_bytes(params, itemsize(dtype)) + (m * k + m * n) * itemsize(dtype))

    def metrics(self, params, median_s):
        m, k, n = params["m"], params["k"], params["n"]
        stored = weight_bytes(params, _ACT_BYTES)
        dense = n * k * _ACT_BYTES
        return {
            "weight_bytes": float(stored),
            "dense_weight_bytes": float(dense),
            "weight_bytes_vs_dense": stored / dense,
            "footprint_bytes": float(stored + (m * k + m * n) * _ACT_BYTES),
            "weight_gbps": stored / median_s / 1e9,
        }

    def canary_params(self, params):
        return {**params, "n": params["n"] * 2}

    def error_model(self, params):
        # Roundings: the output, plus the dequantized weight in the activation dtype (int8: q·scale;
        # int4: q·scale weighted by INT4_CODE_SPAN², then + minimum). k products summed in fp32.
        dequant = {"none": 0.0, "int8": 1.0, "int4": INT4_CODE_SPAN**2 + 1.0}[params["scheme"]]
        return ErrorModel(roundings=1.0 + dequant, reductions=(params["k"],))


SPEC = QuantLinear()
