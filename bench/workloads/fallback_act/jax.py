"""fallback_act in JAX: dense → softshrink → dense.

``act=host`` runs the activation as ``jax.pure_callback`` (NumPy on the host): an op XLA cannot
compile for the device, so on a GPU its input is copied to the host and the result back
(jax-ml/jax ``jax/_src/callback.py``). JAX has no softshrink op; ``native`` is a ``jnp.where``.
"""

import jax
import jax.numpy as jnp
import numpy as np

from bench.workloads.base import Built
from bench.workloads.fallback_act.spec import LAMBDA, softshrink


def native_softshrink(h):
    return jnp.where(h > LAMBDA, h - LAMBDA, jnp.where(h < -LAMBDA, h + LAMBDA, jnp.zeros_like(h)))


def _numpy_softshrink(h):
    # Eager pure_callback may hand over jax Arrays; computing on them would dispatch JAX ops from the
    # callback thread and can deadlock against the queued calls, so convert to NumPy first.
    return softshrink(np.asarray(h))


def host_softshrink(h):
    return jax.pure_callback(_numpy_softshrink, jax.ShapeDtypeStruct(h.shape, h.dtype), h)


def build(adapter, params, dtype, mode, inputs):
    x, w1, w2 = (adapter.from_numpy(inputs[k], dtype) for k in ("x", "w1", "w2"))
    act = host_softshrink if params["act"] == "host" else native_softshrink

    def model(x):
        return act(x @ w1) @ w2

    fn = adapter.compile(model) if mode == "compiled" else model
    path = "jax.pure_callback (host)" if params["act"] == "host" else "jnp.where"
    return Built(lambda: fn(x), {"path": path + (" (jax.jit)" if mode == "compiled" else " (eager)")})
