"""matmul in JAX: ``jnp.matmul`` (op-by-op dispatch in eager mode, ``jax.jit`` when compiled)."""

import jax.numpy as jnp

from bench.workloads.base import Built


def build(adapter, params, dtype, mode, inputs):
    a = adapter.from_numpy(inputs["a"], dtype)
    b = adapter.from_numpy(inputs["b"], dtype)
    fn = jnp.matmul
    if mode == "compiled":
        fn = adapter.compile(fn)
    return Built(lambda: fn(a, b), {"path": "jnp.matmul" + (" (jax.jit)" if mode == "compiled" else " (eager)")})
