"""axpy on the demo backend."""

from bench.workloads.base import Built


def build(adapter, params, dtype, mode, inputs):
    x, y = adapter.from_numpy(inputs["x"], dtype), adapter.from_numpy(inputs["y"], dtype)
    a = adapter.native_dtype(dtype)(2.0)
    return Built(lambda: a * x + y, {"path": "numpy"})
