"""conv_add in MLX, NHWC activations with (O, KH, KW, I) weights (converted from NCHW/OIHW outside
the timed call): ``mx.conv2d(x, W, stride, padding=1)`` (symmetric) + bias + residual, then
``nn.relu`` / ``nn.silu``.

``mx.compile`` fuses the elementwise adds and the activation into one kernel; the conv stays a
library kernel (mlx ``docs/src/usage/compile.rst``). The compiled case's baseline is the eager
function (``metrics.fusion_gain``).
"""

import mlx.core as mx
import mlx.nn as nn

from bench.workloads.base import Built
from bench.workloads.conv_add.spec import PAD, check_remap, compiled_against_eager

_NCHW_TO_NHWC = (0, 2, 3, 1)
_NHWC_TO_NCHW = (0, 3, 1, 2)
_OIHW_TO_OHWI = (0, 2, 3, 1)
_ACTIVATIONS = {"relu": nn.relu, "silu": nn.silu}


def build(adapter, params, dtype, mode, inputs):
    check_remap(params, "mlx")
    x = adapter.from_numpy(inputs["x"].transpose(_NCHW_TO_NHWC), dtype)
    w = adapter.from_numpy(inputs["weight"].transpose(_OIHW_TO_OHWI), dtype)
    b = adapter.from_numpy(inputs["bias"], dtype)
    r = adapter.from_numpy(inputs["residual"].transpose(_NCHW_TO_NHWC), dtype)
    stride, act = params["stride"], _ACTIVATIONS[params["act"]]

    def conv_add(x, w, b, r):
        return act(mx.conv2d(x, w, stride=stride, padding=PAD) + b + r)

    to_numpy = lambda out: adapter.to_numpy(out).transpose(_NHWC_TO_NCHW)  # noqa: E731
    info = {"path": f"mx.conv2d + adds + nn.{params['act']}", "layout": "NHWC/OHWI"}
    if mode == "eager":
        return Built(lambda: conv_add(x, w, b, r), info, to_numpy)
    compiled = adapter.compile(conv_add)
    return compiled_against_eager(lambda: compiled(x, w, b, r), lambda: conv_add(x, w, b, r), {**info, "compiler": "mx.compile"}, to_numpy)
