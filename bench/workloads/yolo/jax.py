"""yolo in JAX: ``lax.conv_general_dilated`` (NHWC, HWIO) and ``jax.numpy``, walked by ``arch.run``.

Convs pass explicit ``((p, p), (p, p))`` padding ('SAME' would pad stride-2 convs (0, 1)); the
SPPF pool is ``lax.reduce_window`` with explicit -inf padding. The weights are an argument of
the forward function, not closure constants, so ``jax.jit`` cannot constant-fold them.
"""

import jax
import jax.numpy as jnp
from jax import lax

from bench.workloads.base import Built
from bench.workloads.yolo.arch import Node, run
from bench.workloads.yolo.convert import native_image, native_weights, outputs_to_numpy
from bench.workloads.yolo.spec import SPEC

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


class JaxOps:
    """The node kinds on NHWC arrays; ``weights[name] = (w HWIO, b)``."""

    def __init__(self, weights):
        self.weights = weights

    def conv(self, node: Node, x):
        w, b = self.weights[node.name]
        pad = ((node.p, node.p), (node.p, node.p))
        y = lax.conv_general_dilated(x, w, (node.s, node.s), pad, dimension_numbers=_DIMENSIONS) + b
        return jax.nn.silu(y) if node.act else y

    def add(self, node: Node, a, b):
        return a + b

    def concat(self, node: Node, *xs):
        return jnp.concatenate(xs, axis=-1)

    def slice(self, node: Node, x):
        return x[..., node.lo : node.hi]

    def maxpool(self, node: Node, x):
        pad = ((0, 0), (node.p, node.p), (node.p, node.p), (0, 0))
        # A Python -inf: JAX recognises max's identity and emits reduce_window_max, with no
        # per-call init array to create on the device in eager mode.
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, node.k, node.k, 1), (1, 1, 1, 1), pad)

    def upsample(self, node: Node, x):
        return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def forward(weights, image):
    """image (B, H, W, 3) → tuple of NHWC maps in ``graph.output_names`` order."""
    return run(SPEC.graph, JaxOps(weights), image)


def build(adapter, params, dtype, mode, inputs):
    weights = native_weights(adapter, inputs, dtype, "HWIO")
    image = native_image(adapter, inputs, dtype, channels_last=True)
    fn = adapter.compile(forward) if mode == "compiled" else forward
    info = {"path": "lax.conv_general_dilated (explicit padding)" + (" (jax.jit)" if mode == "compiled" else " (eager)"), "layout": "NHWC"}
    return Built(lambda: fn(weights, image), info, outputs_to_numpy(adapter, SPEC.graph, channels_last=True))
