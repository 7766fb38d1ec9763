"""fallback_act in PyTorch: ``nn.Sequential(Linear, activation, Linear)``.

``act=host`` uses ``siliconbench::softshrink_host``, a custom op registered for the CPU only
(``torch.library.custom_op(..., device_types="cpu")``), i.e. an activation with no device kernel:
- torch:cpu runs it natively;
- torch:mps dispatches to PyTorch's MPS fallback (``aten/src/ATen/mps/MPSFallback.mm``): with
  ``PYTORCH_ENABLE_MPS_FALLBACK=1`` (set only by the profiling child) it runs on the CPU with copies
  and the MPS profiler records it as a CPU fallback; without it, it would raise, so the benchmark
  reports the case ``unsupported``;
- torch:cuda has no automatic CPU fallback, so the module does what the MPS fallback does by hand:
  copy to the host, run, copy back (inside the timed call).
"""

import os

import torch
from torch import nn

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.fallback_act.spec import LAMBDA


@torch.library.custom_op("siliconbench::softshrink_host", mutates_args=(), device_types="cpu")
def softshrink_host(h: torch.Tensor, lambd: float) -> torch.Tensor:
    return torch.where(h > lambd, h - lambd, torch.where(h < -lambd, h + lambd, torch.zeros_like(h)))


@softshrink_host.register_fake
def _(h, lambd):
    return torch.empty_like(h)


class HostSoftshrink(nn.Module):
    """The CPU-only op; on CUDA wrapped in an explicit host round trip."""

    def __init__(self, device: str):
        super().__init__()
        self.round_trip = device == "cuda"

    def forward(self, h):
        if self.round_trip:
            return softshrink_host(h.cpu(), LAMBDA).to(h.device)
        return softshrink_host(h, LAMBDA)


def _linear(weight) -> nn.Linear:
    layer = nn.Linear(weight.shape[0], weight.shape[1], bias=False, device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight.T)  # nn.Linear computes x @ weight.T
    return layer


def build(adapter, params, dtype, mode, inputs):
    x, w1, w2 = (adapter.from_numpy(inputs[k], dtype) for k in ("x", "w1", "w2"))
    host = params["act"] == "host"
    if host and adapter.device == "mps" and os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK") != "1":
        raise Unsupported(
            "siliconbench::softshrink_host has no MPS kernel and PyTorch's CPU fallback is off "
            "(benchmarks run without PYTORCH_ENABLE_MPS_FALLBACK); `siliconbench profile` runs it with the fallback to show it"
        )
    act = HostSoftshrink(adapter.device) if host else nn.Softshrink(LAMBDA)
    model = nn.Sequential(_linear(w1), act, _linear(w2)).eval()
    if mode == "compiled":
        model = adapter.compile(model)
    path = {"cpu": "custom op (CPU kernel)", "mps": "custom op via PyTorch MPS CPU fallback", "cuda": "custom op with explicit host round trip"}
    info = {"path": ("siliconbench::softshrink_host: " + path.get(adapter.device, "custom op")) if host else "nn.Softshrink"}

    def call():
        with torch.inference_mode():
            return model(x)

    return Built(call, info)
