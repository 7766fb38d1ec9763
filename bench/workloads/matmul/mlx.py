"""matmul in MLX: ``mx.matmul`` (lazy; the timing engine evaluates every call)."""

import mlx.core as mx

from bench.workloads.base import Built


def build(adapter, params, dtype, mode, inputs):
    a = adapter.from_numpy(inputs["a"], dtype)
    b = adapter.from_numpy(inputs["b"], dtype)
    fn = mx.matmul
    if mode == "compiled":
        fn = adapter.compile(fn)
    return Built(lambda: fn(a, b), {"path": "mx.matmul" + (" (mx.compile)" if mode == "compiled" else "")})
