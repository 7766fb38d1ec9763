"""The built-in matmul workload on the demo backend: a plug-in backend brings its own compute modules."""

from bench.workloads.base import Built


def build(adapter, params, dtype, mode, inputs):
    a, b = adapter.from_numpy(inputs["a"], dtype), adapter.from_numpy(inputs["b"], dtype)
    return Built(lambda: a @ b, {"path": "numpy.matmul"})
