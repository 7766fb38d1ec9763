"""conv_add in MLX, NHWC activations with (O, KH, KW, I) weights (converted from NCHW/OIHW outside
the timed call): ``mx.conv2d(x, W, stride, padding=1)`` (symmetric) + bias + residual, then
``nn.relu`` / ``nn.silu`` (themselves ``mx.compile``d elementwise functions in mlx.nn).

``mx.compile`` fuses the elementwise adds and the activation into one kernel; the conv stays a
library kernel (mlx ``docs/src/usage/compile.rst``). The compiled case's baseline is the eager
function (``metrics.fusion_gain``).
"""

import mlx.core as mx
import mlx.nn as nn

from bench.workloads.conv_add.spec import PAD, channels_last_inputs, check_remap, eager_or_compiled, nchw_output

_OIHW_TO_OHWI = (0, 2, 3, 1)
_ACTIVATIONS = {"relu": nn.relu, "silu": nn.silu}


def build(adapter, params, dtype, mode, inputs):
    check_remap(params, "mlx")
    args = channels_last_inputs(adapter, inputs, dtype, _OIHW_TO_OHWI)
    stride, act = params["stride"], _ACTIVATIONS[params["act"]]

    def conv_add(x, w, b, r):
        return act(mx.conv2d(x, w, stride=stride, padding=PAD) + b + r)

    info = {"path": f"mx.conv2d + adds + nn.{params['act']}", "layout": "NHWC/OHWI"}
    return eager_or_compiled(adapter, mode, conv_add, args, info, "mx.compile", nchw_output(adapter))
