"""What the framework modules share: the dequantize-in-graph operands (JAX, TensorFlow), the
bytes a weight format holds, and the path description recorded in ``Built.info``."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from bench.dtypes import itemsize
from bench.workloads.base import Built
from bench.workloads.quant_linear.packing import pack_nibbles


def stored_bytes(arrays: list[np.ndarray], dtype: str) -> int:
    """Bytes the arrays take on device once floats are cast to ``dtype`` (integers keep their size)."""
    return int(sum(a.size * (itemsize(dtype) if a.dtype.kind == "f" else a.itemsize) for a in arrays))


def graph_weight_arrays(params: dict[str, Any], inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The weight operands of the in-graph path, in call order.

    none: [w [n, k]]; int8: [q int8 [n, k], scale [n]];
    int4: [packed uint8 [n, k/2] (``pack_nibbles``: even k in the low nibble), scale, minimum [n, k/group]].
    """
    scheme = params["scheme"]
    if scheme == "none":
        return [inputs["w"]]
    if scheme == "int8":
        return [inputs["q"], inputs["scale"]]
    return [pack_nibbles(inputs["q"]), inputs["scale"], inputs["minimum"]]


def upload(adapter, arrays: list[np.ndarray], dtype: str) -> list[Any]:
    """Convert with the adapter: float arrays cast to ``dtype``, integer codes kept as they are."""
    return [adapter.from_numpy(a, dtype if a.dtype.kind == "f" else None) for a in arrays]


def in_graph_info(scheme: str, mode: str, compiler: str, weight_arrays: list[np.ndarray], dtype: str) -> dict[str, Any]:
    """``Built.info`` of a dequantize-then-matmul implementation."""
    what = "dense matmul (baseline)" if scheme == "none" else f"{scheme} dequant+matmul"
    where = f"in {compiler}" if mode == "compiled" else "eager, op by op"
    return {"path": f"{what} {where}", "native_kernel": False, "weight_bytes": stored_bytes(weight_arrays, dtype)}


def build_in_graph(adapter, params, dtype, mode, inputs, kernels: dict[str, Any], compiler: str, place=None):
    """``Built`` for a dequantize-in-graph framework.

    ``kernels`` maps scheme to the framework function ``(x, *weight operands) -> y`` (int4's
    takes ``group=`` as a keyword); ``place`` wraps it for device placement (TensorFlow).
    """
    scheme = params["scheme"]
    fn = kernels[scheme]
    if scheme == "int4":
        fn = partial(fn, group=params["group"])
    if place is not None:
        fn = place(fn)
    if mode == "compiled":
        fn = adapter.compile(fn)
    weights = graph_weight_arrays(params, inputs)
    operands = upload(adapter, [inputs["x"], *weights], dtype)
    return Built(lambda: fn(*operands), in_graph_info(scheme, mode, compiler, weights, dtype))
