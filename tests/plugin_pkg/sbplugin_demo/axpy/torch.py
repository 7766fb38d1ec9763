"""axpy in PyTorch: a plug-in workload also runs on the built-in backends."""

import torch

from bench.workloads.base import Built


def build(adapter, params, dtype, mode, inputs):
    x, y = adapter.from_numpy(inputs["x"], dtype), adapter.from_numpy(inputs["y"], dtype)
    fn = adapter.compile(torch.add) if mode == "compiled" else torch.add
    return Built(lambda: fn(y, x, alpha=2.0), {"path": "torch.add(alpha=2)"})
