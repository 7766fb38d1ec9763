"""sdpa in PyTorch, (B, H, L, D) throughout.

fused: ``F.scaled_dot_product_attention`` under ``torch.inference_mode()``; ``info.sdp_backend`` is
``torch._fused_sdp_choice`` (the kernel torch picks: FLASH_ATTENTION on CPU, CUDNN_ATTENTION for
fp16/bf16 on H100) and ``info.ops`` the ops a profiled call ran. On MPS the choice reads MATH, but
with no grad, no dropout and contiguous inputs torch runs ``_scaled_dot_product_attention_math_for_mps``
(pytorch ``aten/src/ATen/native/transformers/attention.cpp``), hence the inference mode.
naive: matmul → scale → masked_fill → softmax → matmul in the input dtype. Not
``sdpa_kernel(MATH)``, which upcasts fp16/bf16 to fp32 (the function's docstring).
"""

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.sdpa.spec import causal_mask, cudnn_unsupported, scale_of
from bench.workloads.torch_ops import ops_of_one_call


def _fused(params, scale):
    causal = params["causal"]

    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)

    return attend


def _naive(adapter, params, scale):
    # ~mask is built here, outside the timed call; masked_fill_ writes into the fresh scores.
    hidden = adapter.from_numpy(~causal_mask(params["l"])) if params["causal"] else None

    def attend(q, k, v):
        scores = torch.matmul(q, k.transpose(-2, -1)) * scale
        if hidden is not None:
            scores.masked_fill_(hidden, float("-inf"))
        return torch.matmul(torch.softmax(scores, dim=-1), v)

    return attend


def build(adapter, params, dtype, mode, inputs):
    variant = params["variant"]
    if variant == "cudnn":
        raise Unsupported(cudnn_unsupported("torch"))
    q, k, v = (adapter.from_numpy(inputs[name], dtype) for name in ("q", "k", "v"))
    scale = scale_of(params)
    attend = _fused(params, scale) if variant == "fused" else _naive(adapter, params, scale)
    info = {"path": "F.scaled_dot_product_attention" if variant == "fused" else "matmul, softmax, matmul (torch ops)"}
    if variant == "fused":
        choice = torch._fused_sdp_choice(q, k, v, None, 0.0, params["causal"], scale=scale)
        info["sdp_backend"] = SDPBackend(choice).name
    if mode == "compiled":
        attend = adapter.compile(attend)
        info["compiler"] = "torch.compile"
        if variant == "naive":
            info["note"] = "inductor may pattern-match this graph into SDPA (torch/_inductor/fx_passes/fuse_attention.py)"

    def call():
        with torch.inference_mode():
            return attend(q, k, v)

    info["ops"] = ops_of_one_call(call, adapter.device)
    return Built(call, info)


class Attention(torch.nn.Module):
    """fused: ``F.scaled_dot_product_attention``; naive: the ops of ``_naive`` with the mask as a buffer."""

    def __init__(self, params, scale):
        super().__init__()
        self.fused, self.causal, self.scale = params["variant"] == "fused", params["causal"], scale
        hidden = torch.from_numpy(~causal_mask(params["l"])) if params["causal"] and not self.fused else None
        self.register_buffer("hidden", hidden)

    def forward(self, q, k, v):
        if self.fused:
            return F.scaled_dot_product_attention(q, k, v, is_causal=self.causal, scale=self.scale)
        scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale
        if self.hidden is not None:
            scores = scores.masked_fill(self.hidden, float("-inf"))
        return torch.matmul(torch.softmax(scores, dim=-1), v)


def module(framework, params, dtype, inputs):
    """The deployment backends' model (bench/workloads/exportable.py): q, k, v as inputs."""
    from bench.workloads.exportable import Exportable, cpu_tensor

    if params["variant"] == "cudnn":
        raise Unsupported(f"variant=cudnn forces JAX's cuDNN attention; {framework} runs the exported graph (variant=fused)")
    args = tuple(cpu_tensor(inputs[name], dtype) for name in ("q", "k", "v"))
    path = "F.scaled_dot_product_attention" if params["variant"] == "fused" else "matmul, softmax, matmul (torch ops)"
    return Exportable(Attention(params, scale_of(params)).eval(), args, {"path": path})
