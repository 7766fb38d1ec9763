"""fallback_act in MLX: Linear → Softshrink → Linear.

``act=host`` evaluates the activation on the CPU stream (``with mx.stream(mx.cpu)``), the way MLX runs ops that have no GPU
kernel (e.g. linear-algebra decompositions: mlx ``docs/src/usage/linalg``); on Apple silicon memory is unified,
so there are no copies, only the switch of device. ``native`` is ``mlx.nn.Softshrink``.
"""

import mlx.core as mx
import mlx.nn as nn

from bench.workloads.base import Built
from bench.workloads.fallback_act.spec import LAMBDA


def host_softshrink(h):
    with mx.stream(mx.cpu):  # every op of the activation on the CPU stream
        return nn.softshrink(h, LAMBDA)


def build(adapter, params, dtype, mode, inputs):
    x, w1, w2 = (adapter.from_numpy(inputs[k], dtype) for k in ("x", "w1", "w2"))
    act = host_softshrink if params["act"] == "host" else nn.Softshrink(LAMBDA)

    def model(x):
        return act(x @ w1) @ w2

    fn = adapter.compile(model) if mode == "compiled" else model
    path = "nn.softshrink on the mx.cpu stream" if params["act"] == "host" else "mlx.nn.Softshrink"
    return Built(lambda: fn(x), {"path": path + (" (mx.compile)" if mode == "compiled" else "")})
