"""matmul in PyTorch: ``torch.matmul``."""

import torch

from bench.workloads.base import Built


def build(adapter, params, dtype, mode, inputs):
    a = adapter.from_numpy(inputs["a"], dtype)
    b = adapter.from_numpy(inputs["b"], dtype)
    fn = torch.matmul
    if mode == "compiled":
        fn = adapter.compile(fn)

    def call():
        with torch.inference_mode():
            return fn(a, b)

    return Built(call, {"path": "torch.matmul" + (" (torch.compile)" if mode == "compiled" else "")})
