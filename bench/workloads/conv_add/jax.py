"""conv_add in JAX, NHWC activations with HWIO weights (converted from NCHW/OIHW outside the
timed call): ``lax.conv_general_dilated(..., padding=((1, 1), (1, 1)))`` + bias + residual, then
``jax.nn.relu`` / ``jax.nn.silu``. Explicit padding, never 'SAME' (asymmetric for stride 2).

Eager dispatches each op on its own; ``jax.jit`` lets XLA fuse the adds and the activation into the
conv's output. The compiled case's baseline is the eager function (``metrics.fusion_gain``).
"""

import jax
from jax import lax

from bench.workloads.base import Built
from bench.workloads.conv_add.spec import PAD, check_remap, compiled_against_eager

_NCHW_TO_NHWC = (0, 2, 3, 1)
_NHWC_TO_NCHW = (0, 3, 1, 2)
_OIHW_TO_HWIO = (2, 3, 1, 0)
_ACTIVATIONS = {"relu": jax.nn.relu, "silu": jax.nn.silu}


def build(adapter, params, dtype, mode, inputs):
    check_remap(params, "jax")
    x = adapter.from_numpy(inputs["x"].transpose(_NCHW_TO_NHWC), dtype)
    w = adapter.from_numpy(inputs["weight"].transpose(_OIHW_TO_HWIO), dtype)
    b = adapter.from_numpy(inputs["bias"], dtype)
    r = adapter.from_numpy(inputs["residual"].transpose(_NCHW_TO_NHWC), dtype)
    stride, act = params["stride"], _ACTIVATIONS[params["act"]]

    def conv_add(x, w, b, r):
        y = lax.conv_general_dilated(x, w, (stride, stride), ((PAD, PAD), (PAD, PAD)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return act(y + b + r)

    to_numpy = lambda out: adapter.to_numpy(out).transpose(_NHWC_TO_NCHW)  # noqa: E731
    info = {"path": f"lax.conv_general_dilated + adds + jax.nn.{params['act']}", "layout": "NHWC/HWIO"}
    if mode == "eager":
        return Built(lambda: conv_add(x, w, b, r), info, to_numpy)
    jitted = adapter.compile(conv_add)
    return compiled_against_eager(lambda: jitted(x, w, b, r), lambda: conv_add(x, w, b, r), {**info, "compiler": "jax.jit"}, to_numpy)
