"""quant_linear in JAX: no native weight-only kernel, so the weight is dequantized in the graph
(unpack nibbles, cast, scale, shift) and fed to ``jnp.matmul``; inside ``jax.jit`` when compiled
(XLA may fuse the dequantization into the dot's operand), op by op when eager."""

import jax.numpy as jnp

from bench.workloads.quant_linear.common import build_in_graph


def dense(x, w):
    """x [m, k] @ w [n, k]ᵀ."""
    return jnp.matmul(x, w.T)


def int8_linear(x, q, scale):
    """q int8 [n, k], scale [n] in x's dtype."""
    return jnp.matmul(x, (q.astype(x.dtype) * scale[:, None]).T)


def int4_linear(x, packed, scale, minimum, *, group):
    """packed uint8 [n, k/2] (even k low nibble); scale, minimum [n, k/group]."""
    n = packed.shape[0]
    q = jnp.stack([packed & 0xF, packed >> 4], axis=-1).reshape(n, -1, group)
    w = q.astype(x.dtype) * scale[..., None] + minimum[..., None]
    return jnp.matmul(x, w.reshape(n, -1).T)


def build(adapter, params, dtype, mode, inputs):
    kernels = {"none": dense, "int8": int8_linear, "int4": int4_linear}
    return build_in_graph(adapter, params, dtype, mode, inputs, kernels, "jax.jit")
