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


class MatMul(torch.nn.Module):
    def forward(self, a, b):
        return torch.matmul(a, b)


def module(framework, params, dtype, inputs):
    """The deployment backends' model (bench/workloads/exportable.py): both operands are inputs."""
    from bench.workloads.exportable import Exportable, cpu_tensor

    args = (cpu_tensor(inputs["a"], dtype), cpu_tensor(inputs["b"], dtype))
    return Exportable(MatMul().eval(), args, {"path": "torch.matmul, a and b as inputs"}, runtime_weights=True)
