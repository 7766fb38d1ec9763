"""llm in MLX, the way mlx_lm's llama writes it, with a static cache.

``mx.fast.rms_norm``, ``mx.fast.rope`` (``traditional=False``: the rotate-half form, angles
computed by the kernel from ``base`` and the ``offset``), ``mx.fast.scaled_dot_product_attention``
(GQA without tiling K/V; ``mask="causal"`` over the prompt; in decode one query against the whole
static cache [B, KV, S, hd] with a boolean mask of the positions written so far). The cache is
updated with ``mx.slice_update`` at the step's position (an array, so a compiled step does not
retrace per position). Projections are ``x @ w.T`` or the native ``mx.quantized_matmul`` fed with
quant_linear's packed codes (int8 per channel as 8-bit affine groups). Sources:
ml-explore.github.io/mlx ``mlx.core.fast.*``, ``mlx.core.quantized_matmul``, ``mlx.core.slice_update``;
ml-explore/mlx-lm ``mlx_lm/models/llama.py``.

Each decode step is handed to ``mx.async_eval`` as mlx_lm's generator does, so step t+1 is built
while step t runs. Compiled mode wraps the step (and prefill) in ``mx.compile``; the weights are
captured constants, the cache an explicit input and output.
"""

from __future__ import annotations

import math

import mlx.core as mx
import numpy as np

from bench.workloads.base import Built
from bench.workloads.llm.common import Memo, Plan, check_memory, info, outputs_to_numpy, projection_names, projection_operands
from bench.workloads.quant_linear.common import upload
from bench.workloads.quant_linear.mlx import CPU_ACCUMULATION_NOTE, _affine_operands

_weights = Memo()
_models = Memo()


def _projection(adapter, plan: Plan, dtype: str, inputs, name: str):
    params, arrays = projection_operands(plan, inputs, name)
    if params["scheme"] == "none":
        w = adapter.from_numpy(arrays["w"], dtype)
        return lambda x: x @ w.T
    operands, group, bits = _affine_operands(params, arrays)
    wq, scales, biases = upload(adapter, operands, dtype)
    return lambda x: mx.quantized_matmul(x, wq, scales, biases, transpose=True, group_size=group, bits=bits)


def device_weights(adapter, plan: Plan, dtype: str, inputs) -> dict:
    out = {"embed": adapter.from_numpy(inputs["embed"], dtype), "norm": adapter.from_numpy(inputs["norm"], dtype), "blocks": []}
    for i in range(plan.cfg.layers):
        block = {n: adapter.from_numpy(inputs[f"L{i}.{n}"], dtype) for n in ("attn_norm", "mlp_norm")}
        block.update({p: _projection(adapter, plan, dtype, inputs, name) for p, name in projection_names(plan.cfg, i).items()})
        out["blocks"].append(block)
    if plan.cfg.tied and plan.fmt == "dense":
        embed = out["embed"]
        out["head"] = lambda x: x @ embed.T
    else:
        out["head"] = _projection(adapter, plan, dtype, inputs, "head")
    return out


class Model:
    def __init__(self, adapter, plan: Plan, dtype: str, weights: dict):
        self.adapter, self.plan, self.w, self.dtype = adapter, plan, weights, dtype
        self.scale = 1.0 / math.sqrt(plan.cfg.head_dim)
        self.key_positions = mx.arange(plan.length)
        self.compiled: dict = {}

    def forward(self, tokens, offset, cache=None):
        """tokens [B, T] from position ``offset`` (an int for prefill, a scalar array for a step).
        ``cache`` None: prefill (fresh cache); else one decode step into it. Returns (last logits, cache)."""
        cfg, length = self.plan.cfg, self.plan.length
        b, t = tokens.shape
        hd = cfg.head_dim
        x = self.w["embed"][tokens]
        new_cache = []
        for i, blk in enumerate(self.w["blocks"]):
            h = mx.fast.rms_norm(x, blk["attn_norm"], cfg.norm_eps)
            q = blk["wq"](h).reshape(b, t, cfg.heads, hd).transpose(0, 2, 1, 3)
            k = blk["wk"](h).reshape(b, t, cfg.kv_heads, hd).transpose(0, 2, 1, 3)
            v = blk["wv"](h).reshape(b, t, cfg.kv_heads, hd).transpose(0, 2, 1, 3)
            q = mx.fast.rope(q, hd, traditional=False, base=cfg.rope_theta, scale=1.0, offset=offset)
            k = mx.fast.rope(k, hd, traditional=False, base=cfg.rope_theta, scale=1.0, offset=offset)
            if cache is None:
                o = mx.fast.scaled_dot_product_attention(q, k, v, scale=self.scale, mask="causal")
                pad = [(0, 0), (0, 0), (0, length - t), (0, 0)]
                kc, vc = (k, v) if length == t else (mx.pad(k, pad), mx.pad(v, pad))
            else:
                start = offset.reshape(1)
                kc = mx.slice_update(cache[i][0], k, start, axes=(2,))
                vc = mx.slice_update(cache[i][1], v, start, axes=(2,))
                o = mx.fast.scaled_dot_product_attention(q, kc, vc, scale=self.scale, mask=self.key_positions <= offset)
            new_cache.append((kc, vc))
            x = x + blk["wo"](o.transpose(0, 2, 1, 3).reshape(b, t, cfg.q_dim))
            h = mx.fast.rms_norm(x, blk["mlp_norm"], cfg.norm_eps)
            gate = blk["gate"](h)
            x = x + blk["down"](gate * mx.sigmoid(gate) * blk["up"](h))
        last = mx.fast.rms_norm(x[:, -1], self.w["norm"], cfg.norm_eps)
        return self.w["head"](last), new_cache

    def prefill(self, tokens):
        return self.forward(tokens, 0)

    def step(self, cache, token, position):
        return self.forward(token, position, cache)

    def function(self, name: str, mode: str):
        """``prefill`` or ``step``, through ``mx.compile`` (once per model) when compiled."""
        fn = getattr(self, name)
        if mode != "compiled":
            return fn
        if name not in self.compiled:
            self.compiled[name] = self.adapter.compile(fn)
        return self.compiled[name]

    def cache_with(self, context) -> list:
        """Per block (K, V) [B, KV, S, hd] holding the context (NumPy [B, KV, D, hd]) at positions 0..D-1."""
        p, cfg = self.plan, self.plan.cfg
        shape = (p.batch, cfg.kv_heads, p.length, cfg.head_dim)
        parts = []
        for part in context or (None, None):
            full = np.zeros(shape, np.float32)
            if part is not None:
                full[:, :, : part.shape[2]] = part
            parts.append(self.adapter.from_numpy(full, self.dtype))
        return [(mx.array(parts[0]), mx.array(parts[1])) for _ in range(cfg.layers)]


def model_for(adapter, plan: Plan, dtype: str, inputs) -> Model:
    weights = _weights.get((plan.weights_key, dtype, adapter.device), lambda: device_weights(adapter, plan, dtype, inputs))
    return _models.get((plan.weights_key, dtype, adapter.device, plan.batch, plan.length), lambda: Model(adapter, plan, dtype, weights))


def _path(plan: Plan) -> str:
    kernel = "x @ w.T" if plan.fmt == "dense" else "native mx.quantized_matmul"
    return f"mx.fast.rms_norm, mx.fast.rope, mx.fast.scaled_dot_product_attention over a static cache, {kernel}"


def build(adapter, params, dtype, mode, inputs):
    plan = Plan.of(params)
    check_memory(adapter, plan, dtype)
    model = model_for(adapter, plan, dtype, inputs)
    meta = info(plan, params, dtype, mode, _path(plan), "mx.compile")
    if adapter.device == "cpu":
        notes = ["the MLX CPU backend has no fused attention kernel: mx.fast.scaled_dot_product_attention runs unfused ops"]
        if plan.fmt != "dense":
            notes.append(CPU_ACCUMULATION_NOTE)
        meta["note"] = "; ".join(notes)
    to_numpy = outputs_to_numpy(adapter, plan, seq_axis=2)
    if plan.phase == "prefill":
        tokens = adapter.from_numpy(inputs["tokens"])
        forward = model.function("prefill", mode)
        return Built(lambda: forward(tokens), meta, to_numpy)

    state = {"cache": model.cache_with(plan.context(inputs))}
    steps = [adapter.from_numpy(t) for t in plan.step_tokens(inputs)]
    positions = [mx.array(plan.depth + t) for t in range(plan.gen)]
    step = model.function("step", mode)

    def decode():
        cache, out = state["cache"], []
        for token, position in zip(steps, positions):
            logits, cache = step(cache, token, position)
            mx.async_eval(logits)
            out.append(logits)
        state["cache"] = cache
        return mx.stack(out, axis=1)

    return Built(decode, meta, to_numpy)


def generate(adapter, plan: Plan, dtype: str, inputs, prompt, steps: int, mode: str = "eager"):
    """Greedy generation: prefill ``prompt`` [B, P] into a cache of ``plan.length`` >= P + steps tokens,
    then feed each step the argmax of the last logits. Returns the generated tokens [B, steps] (NumPy)."""
    model = model_for(adapter, plan, dtype, inputs)
    prefill, step = model.function("prefill", mode), model.function("step", mode)
    logits, cache = prefill(adapter.from_numpy(prompt))
    out = [mx.argmax(logits, axis=-1)[:, None].astype(mx.int32)]
    for t in range(prompt.shape[1], prompt.shape[1] + steps - 1):
        logits, cache = step(cache, out[-1], mx.array(t))
        out.append(mx.argmax(logits, axis=-1)[:, None].astype(mx.int32))
    return np.array(mx.concatenate(out, axis=1))
