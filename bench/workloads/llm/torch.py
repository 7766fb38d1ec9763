"""llm in PyTorch: an ``nn.Module`` holding a static, preallocated KV cache, the way gpt-fast writes it.

Attention is ``F.scaled_dot_product_attention``, K/V heads never repeated: in prefill ``is_causal``
with ``enable_gqa=True``; in decode one query per row against the whole static cache with a boolean
mask of the positions written so far, the g query heads of each K/V head passed as g queries of it
(transformers ``integrations/sdpa_attention.py``, ``pack_gqa``: on CUDA ``enable_gqa`` with a mask
runs the math kernel, per its ``use_gqa_in_sdpa``). The cache is written in place (``index_copy_`` at the
step's position, ``copy_`` of the prompt's K/V). Norms are ``F.rms_norm``; RoPE uses cos/sin tables
computed in float64 and stored in the compute dtype. Projections are ``F.linear`` (dense) or the
native weight-only kernels quant_linear uses: ``torch._weight_int8pack_mm`` and
``torch._weight_int4pack_mm(_for_cpu)``.

Compiled mode compiles the decode *step* (``torch.compile(fullgraph=True, dynamic=False)``; on CUDA
``mode="reduce-overhead"``, CUDA graphs, as gpt-fast does) and loops over the steps in Python, so
the sync canary's doubled G reuses the compiled step; prefill compiles the whole forward.
"""

# mypy: disable-error-code="index, arg-type, operator, misc"
# (nn.Module attribute access is typed Tensor | Module: the buffers and submodules here are what they are.)
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bench.workloads.base import Built
from bench.workloads.llm.common import Memo, Plan, check_memory, info, outputs_to_numpy, projection_names, projection_operands
from bench.workloads.quant_linear.torch import _int4, _int8  # the same kernels and packing as quant_linear

_weights = Memo()
_models = Memo()


class Projection(nn.Module):
    """y = x · Wᵀ for x [..., in]: ``F.linear`` or a weight-only kernel on the flattened rows."""

    def __init__(self, kernel, weights: list[torch.Tensor], out_features: int):
        super().__init__()
        self.kernel = kernel
        self.out_features = out_features
        for i, w in enumerate(weights):  # buffers: static addresses for CUDA graphs; a tied head shares the embedding's
            self.register_buffer(f"w{i}", w, persistent=False)
        self.count = len(weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel is None:
            return F.linear(x, self.w0)
        y = self.kernel(x.reshape(-1, x.shape[-1]), *(getattr(self, f"w{i}") for i in range(self.count)))
        return y.reshape(*x.shape[:-1], self.out_features)


class Block(nn.Module):
    def __init__(self, norms: dict[str, torch.Tensor], projections: dict[str, Projection]):
        super().__init__()
        for name, w in norms.items():
            self.register_buffer(name, w, persistent=False)
        for name, projection in projections.items():
            self.add_module(name, projection)


class KVCache(nn.Module):
    """K and V of one block, [B, KV, S, hd], preallocated and written in place (gpt-fast's ``KVCache``)."""

    def __init__(self, shape: tuple[int, ...], dtype, device):
        super().__init__()
        self.register_buffer("k", torch.zeros(shape, dtype=dtype, device=device), persistent=False)
        self.register_buffer("v", torch.zeros(shape, dtype=dtype, device=device), persistent=False)


def _projection(adapter, plan: Plan, dtype: str, inputs, name: str, seen: dict) -> Projection:
    params, arrays = projection_operands(plan, inputs, name)
    if params["scheme"] == "none":
        return Projection(None, [adapter.from_numpy(arrays["w"], dtype)], params["n"])
    fn, weights, kernel, ref_inputs = (_int8 if plan.fmt == "int8" else _int4)(adapter, params, dtype, arrays)
    seen["kernel"] = kernel
    if ref_inputs is not None and not (ref_inputs["minimum"] == arrays["minimum"]).all():
        seen.setdefault("minimum", {})[f"{name}.minimum"] = ref_inputs["minimum"]
    return Projection(fn, weights, params["n"])


def device_weights(adapter, plan: Plan, dtype: str, inputs) -> dict:
    """Every tensor of the model on the device, plus what the quantized kernels changed (see below)."""
    seen: dict = {}
    out = {"embed": adapter.from_numpy(inputs["embed"], dtype), "norm": adapter.from_numpy(inputs["norm"], dtype), "blocks": []}
    for i in range(plan.cfg.layers):
        norms = {n: adapter.from_numpy(inputs[f"L{i}.{n}"], dtype) for n in ("attn_norm", "mlp_norm")}
        projections = {p: _projection(adapter, plan, dtype, inputs, name, seen) for p, name in projection_names(plan.cfg, i).items()}
        out["blocks"].append(Block(norms, projections))
    if plan.cfg.tied and plan.fmt == "dense":
        out["head"] = Projection(None, [out["embed"]], plan.cfg.vocab)  # the same tensor: tied
    else:
        out["head"] = _projection(adapter, plan, dtype, inputs, "head", seen)
    out["kernel"] = seen.get("kernel", "F.linear")
    # torch's int4 kernels read zero = minimum + 8·scale in the dtype; weights.py chooses minimums for
    # which that is exact, so this stays empty unless a group could not be represented.
    out["minimum_seen"] = seen.get("minimum", {})
    return out


class Llama(nn.Module):
    def __init__(self, adapter, plan: Plan, dtype: str, weights: dict):
        super().__init__()
        cfg = plan.cfg
        self.cfg, self.plan, self.kernel, self.minimum_seen = cfg, plan, weights["kernel"], weights["minimum_seen"]
        self.register_buffer("embed", weights["embed"], persistent=False)
        self.register_buffer("norm", weights["norm"], persistent=False)
        self.blocks = nn.ModuleList(weights["blocks"])
        self.head = weights["head"]
        cos, sin = plan.rope_tables()
        self.register_buffer("cos", adapter.from_numpy(cos, dtype), persistent=False)
        self.register_buffer("sin", adapter.from_numpy(sin, dtype), persistent=False)
        shape = (plan.batch, cfg.kv_heads, plan.length, cfg.head_dim)
        self.caches_ = nn.ModuleList(KVCache(shape, adapter.native_dtype(dtype), adapter.native_device) for _ in range(cfg.layers))
        self.register_buffer("key_positions", torch.arange(plan.length, device=adapter.native_device), persistent=False)
        self.scale = 1.0 / math.sqrt(cfg.head_dim)
        self.exported = False  # set by module(), the deployment backends' hook

    def caches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(c.k, c.v) for c in self.caches_]

    def load_context(self, k: torch.Tensor, v: torch.Tensor) -> None:
        depth = k.shape[2]
        for kc, vc in self.caches():
            kc[:, :, :depth].copy_(k)
            vc[:, :, :depth].copy_(v)

    @staticmethod
    def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    def _forward(self, tokens: torch.Tensor, positions: torch.Tensor, prefill: bool) -> torch.Tensor:
        cfg = self.cfg
        b, t = tokens.shape
        cos, sin = self.cos[positions], self.sin[positions]
        x = F.embedding(tokens, self.embed)
        for blk, cache in zip(self.blocks, self.caches_):
            h = F.rms_norm(x, (cfg.d_model,), blk.attn_norm, cfg.norm_eps)
            q = blk.wq(h).view(b, t, cfg.heads, cfg.head_dim).transpose(1, 2)
            k = blk.wk(h).view(b, t, cfg.kv_heads, cfg.head_dim).transpose(1, 2)
            v = blk.wv(h).view(b, t, cfg.kv_heads, cfg.head_dim).transpose(1, 2)
            q, k = self._rope(q, cos, sin), self._rope(k, cos, sin)
            if prefill:
                cache.k[:, :, :t].copy_(k)
                cache.v[:, :, :t].copy_(v)
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale, enable_gqa=True)
            else:
                cache.k.index_copy_(2, positions, k)
                cache.v.index_copy_(2, positions, v)
                mask = (self.key_positions <= positions).view(1, 1, 1, -1)
                # One query per row: a K/V head's g query heads become g queries of that head (HF's pack_gqa),
                # so the masked call needs no enable_gqa, which with a mask falls back to the math kernel on CUDA.
                packed = q.reshape(b, cfg.kv_heads, cfg.heads // cfg.kv_heads, cfg.head_dim)
                o = F.scaled_dot_product_attention(packed, cache.k, cache.v, attn_mask=mask, scale=self.scale)
                if self.exported:  # see module(): the exported graph's view needs a contiguous input
                    o = o.clone(memory_format=torch.contiguous_format)
                o = o.view(b, cfg.heads, 1, cfg.head_dim)
            x = x + blk.wo(o.transpose(1, 2).reshape(b, t, cfg.q_dim))
            h = F.rms_norm(x, (cfg.d_model,), blk.mlp_norm, cfg.norm_eps)
            x = x + blk.down(F.silu(blk.gate(h)) * blk.up(h))
        last = F.rms_norm(x[:, -1], (cfg.d_model,), self.norm, cfg.norm_eps)
        return self.head(last)

    def prefill(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [B, V] of the last prompt position; K/V of positions 0..P-1 written to the cache."""
        return self._forward(tokens, self.key_positions[: tokens.shape[1]], prefill=True)

    def step(self, token: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """One decode step: token [B, 1] at position [1] → logits [B, V]."""
        return self._forward(token, position, prefill=False)


def model_for(adapter, plan: Plan, dtype: str, inputs) -> Llama:
    weights = _weights.get((plan.weights_key, dtype, adapter.device), lambda: device_weights(adapter, plan, dtype, inputs))
    return _models.get((plan.weights_key, dtype, adapter.device, plan.batch, plan.length), lambda: Llama(adapter, plan, dtype, weights).eval())


def _compiled_step(adapter, model: Llama):
    """The model's compiled step, compiled once per model (the canary's build finds it)."""
    if getattr(model, "compiled_step", None) is None:
        options: dict[str, Any] = {"fullgraph": True, "dynamic": False}
        if adapter.device == "cuda":
            options["mode"] = "reduce-overhead"
        model.compiled_step = adapter.compile(model.step, **options)
    return model.compiled_step


def _path(plan: Plan, kernel: str) -> str:
    return f"nn.Module, F.scaled_dot_product_attention(enable_gqa) over a static cache, F.rms_norm, {kernel}"


def build(adapter, params, dtype, mode, inputs):
    plan = Plan.of(params)
    check_memory(adapter, plan, dtype)
    model = model_for(adapter, plan, dtype, inputs)
    compiler = "torch.compile" + ("(mode='reduce-overhead')" if adapter.device == "cuda" and plan.phase == "decode" else "")
    meta = info(plan, params, dtype, mode, _path(plan, model.kernel), compiler)
    minimum_seen = model.minimum_seen
    ref_inputs = {**inputs, **minimum_seen} if minimum_seen else None
    to_numpy = outputs_to_numpy(adapter, plan, seq_axis=2)
    if plan.phase == "prefill":
        tokens = adapter.from_numpy(inputs["tokens"].astype("int64"))
        forward = adapter.compile(model.prefill, fullgraph=True, dynamic=False) if mode == "compiled" else model.prefill

        def prefill():
            with torch.inference_mode():
                return forward(tokens), model.caches()

        return Built(prefill, meta, to_numpy, reference_inputs=ref_inputs)

    context = plan.context(inputs)
    if context is not None:
        with torch.inference_mode():
            model.load_context(*(adapter.from_numpy(c, dtype) for c in context))
    steps = [adapter.from_numpy(t.astype("int64")) for t in plan.step_tokens(inputs)]
    positions = [torch.tensor([plan.depth + t], device=adapter.native_device) for t in range(plan.gen)]
    step = _compiled_step(adapter, model) if mode == "compiled" else model.step
    graphs = mode == "compiled" and adapter.device == "cuda"

    def decode():
        with torch.inference_mode():
            out = []
            for token, position in zip(steps, positions):
                if graphs:
                    torch.compiler.cudagraph_mark_step_begin()
                    out.append(step(token, position).clone())  # a CUDA graph's output is overwritten by its next replay
                else:
                    out.append(step(token, position))
            return torch.stack(out, dim=1)

    return Built(decode, meta, to_numpy, reference_inputs=ref_inputs)


def generate(adapter, plan: Plan, dtype: str, inputs, prompt, steps: int, mode: str = "eager"):
    """Greedy generation: prefill ``prompt`` [B, P] into a cache of ``plan.length`` >= P + steps tokens,
    then feed each step the argmax of the last logits. Returns the generated tokens [B, steps] (NumPy)."""
    model = model_for(adapter, plan, dtype, inputs)
    compiled = mode == "compiled"
    prefill = adapter.compile(model.prefill, fullgraph=True, dynamic=False) if compiled else model.prefill
    step = _compiled_step(adapter, model) if compiled else model.step
    with torch.inference_mode():
        logits = prefill(adapter.from_numpy(prompt.astype("int64")))
        out = [logits.argmax(dim=-1, keepdim=True)]
        for t in range(prompt.shape[1], prompt.shape[1] + steps - 1):
            logits = step(out[-1], torch.tensor([t], device=adapter.native_device))
            out.append(logits.argmax(dim=-1, keepdim=True))
        return torch.cat(out, dim=1).cpu().numpy()


# -- the deployment backends' model (bench/workloads/exportable.py) ---------------------------------


class _Cpu:
    """What ``Llama`` and ``outputs_to_numpy`` ask of an adapter, for CPU tensors (the hook has no adapter)."""

    device = "cpu"
    native_device = torch.device("cpu")

    def from_numpy(self, array, dtype=None):
        from bench.workloads.exportable import cpu_tensor

        return cpu_tensor(array, dtype)

    def native_dtype(self, dtype):
        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]

    def to_numpy(self, value):
        return value.detach().to(torch.float64).numpy()


def _dequantizing(x, q, scale, minimum=None):
    from bench.workloads.quant_linear.torch import dequantize

    return F.linear(x, dequantize(q, scale, minimum, x.dtype))


def _exported_weights(cpu: _Cpu, plan: Plan, dtype: str, inputs) -> dict:
    """``device_weights`` with int8/int4 projections dequantized in the graph from the same codes (as
    quant_linear's hook): torch's native weight-only kernels have no ExecuTorch or Core ML counterpart."""
    out = {"embed": cpu.from_numpy(inputs["embed"], dtype), "norm": cpu.from_numpy(inputs["norm"], dtype), "blocks": []}

    def projection(name: str) -> Projection:
        params, arrays = projection_operands(plan, inputs, name)
        if params["scheme"] == "none":
            return Projection(None, [cpu.from_numpy(arrays["w"], dtype)], params["n"])
        floats = [cpu.from_numpy(arrays[k], dtype) for k in ("scale", "minimum") if k in arrays]
        return Projection(_dequantizing, [cpu.from_numpy(arrays["q"]), *floats], params["n"])

    for i in range(plan.cfg.layers):
        norms = {n: cpu.from_numpy(inputs[f"L{i}.{n}"], dtype) for n in ("attn_norm", "mlp_norm")}
        out["blocks"].append(Block(norms, {p: projection(name) for p, name in projection_names(plan.cfg, i).items()}))
    tied = plan.cfg.tied and plan.fmt == "dense"
    out["head"] = Projection(None, [out["embed"]], plan.cfg.vocab) if tied else projection("head")
    out["kernel"] = "F.linear" if plan.fmt == "dense" else f"{plan.fmt} codes dequantized in the graph + F.linear"
    out["minimum_seen"] = {}
    return out


class _Prefill(nn.Module):
    def __init__(self, model: Llama):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        logits = self.model.prefill(tokens)
        # copies: a program's outputs may not alias the cache it keeps
        return (logits, *(t.clone() for cache in self.model.caches() for t in cache))


class _Step(nn.Module):
    def __init__(self, model: Llama):
        super().__init__()
        self.model = model

    def forward(self, token, position):
        return self.model.step(token, position)


def module(framework, params, dtype, inputs):
    """The deployment backends' model: the same Llama with its weights and static KV cache as buffers.
    prefill: forward(tokens) → logits and copies of the caches. decode: the step forward(token, position),
    run G times per call (``Exportable.run``) over a cache that starts with the context
    (``Exportable.initialized_buffers``)."""
    from bench.workloads.exportable import Exportable

    cpu = _Cpu()
    plan = Plan.of(params)
    model = Llama(cpu, plan, dtype, _exported_weights(cpu, plan, dtype, inputs)).eval()
    # torch.export records the decode step's .view of SDPA's output as contiguous; ExecuTorch's edge
    # decomposition of SDPA then yields a transposed layout the view cannot take (torch 2.13, executorch
    # 1.5.1: "Cannot view a tensor with shape [1, 2, 2, 64] and strides (128, 64, 128, 1)"). A contiguous
    # copy of the attention output (heads·head_dim values per row) first makes the exported graph valid.
    model.exported = True
    meta = info(plan, params, dtype, "eager", _path(plan, model.kernel), None)
    to_numpy = outputs_to_numpy(cpu, plan, seq_axis=2)
    if plan.phase == "prefill":
        tokens = torch.from_numpy(inputs["tokens"].astype("int64"))

        def prefill_outputs(outs):
            logits, rest = outs[0], outs[1:]
            return to_numpy((logits, list(zip(rest[0::2], rest[1::2]))))

        meta["outputs"] = "logits and copies of the K/V caches"
        return Exportable(_Prefill(model).eval(), (tokens,), meta, to_numpy=prefill_outputs, runtime_weights=plan.fmt != "dense")
    context = plan.context(inputs)
    if context is not None:
        with torch.no_grad():
            model.load_context(*(cpu.from_numpy(c, dtype) for c in context))
    steps = [torch.from_numpy(t.astype("int64")) for t in plan.step_tokens(inputs)]
    positions = [torch.tensor([plan.depth + t]) for t in range(plan.gen)]

    def run(forward):
        return torch.stack([forward((token, position))[0] for token, position in zip(steps, positions)], dim=1)

    return Exportable(
        _Step(model).eval(),
        (steps[0], positions[0]),
        meta,
        to_numpy=to_numpy,
        runtime_weights=plan.fmt != "dense",
        run=run,
        initialized_buffers=("caches_",),
    )
