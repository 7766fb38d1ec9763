"""conv_add in JAX, NHWC activations with HWIO weights (converted from NCHW/OIHW outside the
timed call): ``lax.conv_general_dilated(..., padding=((1, 1), (1, 1)))`` + bias + residual, then
``jax.nn.relu`` / ``jax.nn.silu``. Explicit padding, never 'SAME' (asymmetric for stride 2).

Eager dispatches each op on its own; ``jax.jit`` lets XLA fuse the adds and the activation into the
conv's output. The compiled case's baseline is the eager function (``metrics.fusion_gain``).
"""

import jax
from jax import lax

from bench.workloads.conv_add.spec import PAD, channels_last_inputs, check_remap, eager_or_compiled, nchw_output

_OIHW_TO_HWIO = (2, 3, 1, 0)
_ACTIVATIONS = {"relu": jax.nn.relu, "silu": jax.nn.silu}


def build(adapter, params, dtype, mode, inputs):
    check_remap(params, "jax")
    args = channels_last_inputs(adapter, inputs, dtype, _OIHW_TO_HWIO)
    stride, act = params["stride"], _ACTIVATIONS[params["act"]]

    def conv_add(x, w, b, r):
        y = lax.conv_general_dilated(x, w, (stride, stride), ((PAD, PAD), (PAD, PAD)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return act(y + b + r)

    info = {"path": f"lax.conv_general_dilated + adds + jax.nn.{params['act']}", "layout": "NHWC/HWIO"}
    return eager_or_compiled(adapter, mode, conv_add, args, info, "jax.jit", nchw_output(adapter))
