"""Conversions shared by the framework modules, all outside the timed region.

The canonical layouts are the reference's: image NCHW ``(B, 3, H, W)``, conv weights OIHW
``(O, I, k, k)``, outputs NCHW. NHWC frameworks transpose the image on the way in and every
output on the way back (``Built.to_numpy``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bench.workloads.yolo.arch import Graph

# OIHW → each framework's conv weight layout (torch OIHW, TF/Keras HWIO, JAX HWIO with dimension_numbers NHWC, MLX OHWI; docs/yolo.md).
OIHW_TO = {
    "OIHW": (0, 1, 2, 3),  # torch
    "HWIO": (2, 3, 1, 0),  # TensorFlow, JAX
    "OHWI": (0, 2, 3, 1),  # MLX
}


def weight_key(name: str, part: str) -> str:
    """Key of a conv's weight (``part='w'``) or bias (``'b'``) in the workload's inputs."""
    return f"{name}/{part}"


def split_inputs(inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """inputs → (image NCHW, {conv name: (w OIHW, b)})."""
    weights = {}
    for key in inputs:
        name, _, part = key.rpartition("/")
        if part == "w":
            weights[name] = (inputs[key], inputs[weight_key(name, "b")])
    return inputs["image"], weights


def native_weights(adapter, inputs: Mapping[str, np.ndarray], dtype: str, layout: str) -> dict[str, tuple[Any, Any]]:
    """{conv name: (w, b)} on the adapter's device, weight transposed from OIHW to ``layout``."""
    _, weights = split_inputs(inputs)
    perm = OIHW_TO[layout]
    return {
        name: (adapter.from_numpy(np.ascontiguousarray(w.transpose(perm)), dtype), adapter.from_numpy(b, dtype)) for name, (w, b) in weights.items()
    }


def native_image(adapter, inputs: Mapping[str, np.ndarray], dtype: str, channels_last: bool) -> Any:
    image = inputs["image"]
    if channels_last:
        image = np.ascontiguousarray(image.transpose(0, 2, 3, 1))
    return adapter.from_numpy(image, dtype)


def outputs_to_numpy(adapter, graph: Graph, channels_last: bool) -> Callable[[Any], dict[str, np.ndarray]]:
    """A ``Built.to_numpy``: the tuple of native maps → {output name: NCHW float64}."""

    def convert(outs: Any) -> dict[str, np.ndarray]:
        arrays = [adapter.to_numpy(o) for o in outs]
        if channels_last:
            arrays = [np.ascontiguousarray(a.transpose(0, 3, 1, 2)) for a in arrays]
        return dict(zip(graph.output_names, arrays))

    return convert
