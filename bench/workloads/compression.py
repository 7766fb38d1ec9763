"""``compression``: a case parameter of the workloads whose model has weights (conv_add, yolo).

Compressed weights exist only inside a deployment format: Core ML palettizes, quantizes or prunes them
when it converts the model (``coreml`` backend, bench/deploy/coreml_convert.py). The parameter is absent
by default, and ``none`` is dropped, so an uncompressed case keeps its label. A compressed case:

- draws the same inputs as the uncompressed one (``input_seed`` without the parameter);
- is checked against the float64 reference computed from the weights as the compressed model holds them:
  the backend that compressed them passes those in ``Built.reference_inputs`` through ``holding`` and the
  spec's ``reference`` calls ``check``. The tolerance stays the dtype's: it measures the runtime's
  arithmetic, while the compression's error on the weights is reported in ``info``.
- on any backend that did not compress the weights (it ran the dense ones), ``check`` makes the case
  ``unsupported``, so no dense number is published under a compression's name.
"""

from __future__ import annotations

from typing import Any

# name -> what the compressed model stores per weight (coremltools.optimize.coreml; bench/deploy/coreml_convert.py)
COMPRESSIONS = {
    "none": "dense weights in the compute precision",
    "palettize4": "4-bit indices into a 16-entry look-up table per tensor (k-means)",
    "palettize6": "6-bit indices into a 64-entry look-up table per tensor (k-means)",
    "palettize8": "8-bit indices into a 256-entry look-up table per tensor (k-means)",
    "int4_block32": "symmetric int4, one scale per block of 32 input channels",
    "int8_channel": "symmetric int8, one scale per output channel",
    "prune50": "half the weights (the smallest magnitudes) zero, stored as a bit mask and the rest",
}
PARAM = "compression"
_HELD = "_compressed_weights"  # the key ``holding`` adds to the reference inputs


def pop(workload: str, params: dict[str, Any]) -> str:
    """Remove and validate the parameter (``none`` when absent)."""
    value = params.pop(PARAM, "none")
    if value not in COMPRESSIONS:
        raise ValueError(f"{workload}: {PARAM} must be one of {', '.join(COMPRESSIONS)}, got {value!r}")
    return value


def restore(params: dict[str, Any], value: str) -> dict[str, Any]:
    """Put a compression back into normalized params (``none`` stays absent: the label does not change)."""
    if value != "none":
        params[PARAM] = value
    return params


def of(params: dict[str, Any]) -> str:
    return params.get(PARAM, "none")


def without(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != PARAM}


def holding(inputs: dict[str, Any], compression: str, weights: dict[str, Any]) -> dict[str, Any]:
    """Reference inputs: make_inputs' arrays with the compressed weights (input name -> array) in place."""
    return {**inputs, **weights, _HELD: compression}


def check(workload: str, params: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Unsupported unless the reference inputs hold the weights of the case's compression."""
    from bench.backends import Unsupported

    wanted = of(params)
    if wanted != "none" and inputs.get(_HELD) != wanted:
        raise Unsupported(
            f"{workload} with {PARAM}={wanted}: only a backend that stores compressed weights (coreml) runs it; this one ran the dense weights"
        )
