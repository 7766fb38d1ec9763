"""llm in JAX: pure functions of (weights, cache, tokens), the weights a pytree argument (not constants).

Attention is ``jax.nn.dot_product_attention`` on (B, T, N, H) arrays (its layout; GQA by N % K):
``is_causal`` over the prompt in prefill; in decode one query against the whole static cache
[B, S, KV, hd] with a boolean mask of the positions written so far. The cache is updated with
``lax.dynamic_update_slice`` at the step's position. RMSNorm is computed in float32 and cast back
(as HF Llama and MaxText do); RoPE uses cos/sin tables computed in float64, stored in the compute
dtype. JAX has no weight-only kernel: int8/int4 projections dequantize in the graph (quant_linear's
packing and formula) and contract with ``jnp.einsum``, which XLA may fuse under ``jax.jit``.

Compiled mode is ``jax.jit`` of the decode *step* with the cache donated (``donate_argnums``), so
XLA updates it in place, looped in Python (the canary's doubled G reuses the compiled step);
prefill jits the whole forward. Eager mode calls the same functions op by op (each update then
copies the cache: that is eager JAX).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.llm.common import Memo, Plan, check_memory, info, outputs_to_numpy, projection_names, projection_operands
from bench.workloads.quant_linear.common import graph_weight_arrays, upload

_weights = Memo()
_models = Memo()


def dense(x, w):
    """x [..., k] · w [n, k]ᵀ as one ``dot_general``. ``x @ w.T`` (quant_linear.jax) is the same under jit,
    but eager JAX first copies w transposed: 30x slower for a 4096² fp32 weight on CPU (measured)."""
    return jnp.einsum("...k,nk->...n", x, w)


def int8_linear(x, q, scale):
    """quant_linear.jax's dequantization, contracted by ``dense``."""
    return dense(x, q.astype(x.dtype) * scale[:, None])


def int4_linear(x, packed, scale, minimum, *, group):
    """quant_linear.jax's dequantization (packed uint8 [n, k/2], even k low nibble), contracted by ``dense``."""
    n = packed.shape[0]
    q = jnp.stack([packed & 0xF, packed >> 4], axis=-1).reshape(n, -1, group)
    return dense(x, (q.astype(x.dtype) * scale[..., None] + minimum[..., None]).reshape(n, -1))


KERNELS: dict[str, Callable[..., Any]] = {"none": dense, "int8": int8_linear, "int4": int4_linear}


def device_weights(adapter, plan: Plan, dtype: str, inputs) -> dict:
    """The weights pytree: embed, norm, head operands, and per block its norms and projection operands."""

    def operands(name: str) -> list:
        params, arrays = projection_operands(plan, inputs, name)
        return upload(adapter, graph_weight_arrays(params, arrays), dtype)

    tree = {"embed": adapter.from_numpy(inputs["embed"], dtype), "norm": adapter.from_numpy(inputs["norm"], dtype), "blocks": []}
    for i in range(plan.cfg.layers):
        block = {n: adapter.from_numpy(inputs[f"L{i}.{n}"], dtype) for n in ("attn_norm", "mlp_norm")}
        block.update({p: operands(name) for p, name in projection_names(plan.cfg, i).items()})
        tree["blocks"].append(block)
    tree["head"] = [tree["embed"]] if plan.cfg.tied and plan.fmt == "dense" else operands("head")
    return tree


def rms_norm(x, weight, eps):
    x32 = x.astype(jnp.float32)
    y = x32 * lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + eps)
    return y.astype(x.dtype) * weight


def rope(x, cos, sin):
    """x [B, T, N, hd]; cos, sin [T, hd/2]."""
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    x1, x2 = jnp.split(x, 2, axis=-1)
    return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def forward(weights, cache, tokens, positions, cos, sin, *, cfg, project, length):
    """tokens [B, T] at ``positions`` [T]. ``cache`` None: prefill (causal over the tokens, a fresh cache of
    ``length``); else decode of one token per row into the given cache. Returns (last logits [B, V], cache)."""
    b, t = tokens.shape
    hd = cfg.head_dim
    c, s = cos[positions], sin[positions]
    x = jnp.take(weights["embed"], tokens, axis=0)
    new_cache = []
    for i, blk in enumerate(weights["blocks"]):
        h = rms_norm(x, blk["attn_norm"], cfg.norm_eps)
        q = rope(project(h, *blk["wq"]).reshape(b, t, cfg.heads, hd), c, s)
        k = rope(project(h, *blk["wk"]).reshape(b, t, cfg.kv_heads, hd), c, s)
        v = project(h, *blk["wv"]).reshape(b, t, cfg.kv_heads, hd)
        if cache is None:
            o = jax.nn.dot_product_attention(q, k, v, scale=1.0 / math.sqrt(hd), is_causal=True)
            pad = ((0, 0), (0, length - t), (0, 0), (0, 0))
            kc, vc = (k, v) if length == t else (jnp.pad(k, pad), jnp.pad(v, pad))
        else:
            kc = lax.dynamic_update_slice(cache[i][0], k, (0, positions[0], 0, 0))
            vc = lax.dynamic_update_slice(cache[i][1], v, (0, positions[0], 0, 0))
            mask = (jnp.arange(kc.shape[1]) <= positions[0])[None, None, None, :]
            o = jax.nn.dot_product_attention(q, kc, vc, mask=mask, scale=1.0 / math.sqrt(hd))
        new_cache.append((kc, vc))
        x = x + project(o.reshape(b, t, cfg.q_dim), *blk["wo"])
        h = rms_norm(x, blk["mlp_norm"], cfg.norm_eps)
        x = x + project(jax.nn.silu(project(h, *blk["gate"])) * project(h, *blk["up"]), *blk["down"])
    last = rms_norm(x[:, -1], weights["norm"], cfg.norm_eps)
    return project(last, *weights["head"]), new_cache


class Model:
    """Device weights, RoPE tables and the (jitted) functions for one batch size and cache length."""

    def __init__(self, adapter, plan: Plan, dtype: str, weights: dict):
        self.adapter, self.plan, self.weights = adapter, plan, weights
        scheme_kernel: Callable[..., Any] = KERNELS[{"dense": "none"}.get(plan.fmt, plan.fmt)]
        project: Callable[..., Any] = partial(scheme_kernel, group=plan.group) if plan.fmt == "int4" else scheme_kernel
        self.forward = partial(forward, cfg=plan.cfg, project=project, length=plan.length)
        cos, sin = plan.rope_tables()
        self.cos, self.sin = adapter.from_numpy(cos, dtype), adapter.from_numpy(sin, dtype)
        self.native = adapter.native_dtype(dtype)
        self.jitted: dict = {}

    def prefill(self, tokens):
        return self.forward(self.weights, None, tokens, jnp.arange(tokens.shape[1]), self.cos, self.sin)

    def step(self, cache, token, position):
        return self.forward(self.weights, cache, token, position, self.cos, self.sin)

    def compiled(self, name: str):
        """jax.jit of prefill or step, once per model; the step donates its cache (argument 1)."""
        if name not in self.jitted:
            if name == "step":
                fn = self.adapter.compile(lambda w, cache, token, pos, cos, sin: self.forward(w, cache, token, pos, cos, sin), donate_argnums=(1,))
                self.jitted[name] = lambda cache, token, pos: fn(self.weights, cache, token, pos, self.cos, self.sin)
            else:
                fn = self.adapter.compile(lambda w, tokens, positions, cos, sin: self.forward(w, None, tokens, positions, cos, sin))
                self.jitted[name] = lambda tokens: fn(self.weights, tokens, jnp.arange(tokens.shape[1]), self.cos, self.sin)
        return self.jitted[name]

    def empty_cache(self, context=None) -> list:
        """Per block (K, V) [B, S, KV, hd], context K/V (canonical [B, KV, D, hd] NumPy) at positions 0..D-1."""
        p, cfg = self.plan, self.plan.cfg
        shape = (p.batch, p.length, cfg.kv_heads, cfg.head_dim)
        if context is None:
            return [(jnp.zeros(shape, self.native), jnp.zeros(shape, self.native)) for _ in range(cfg.layers)]
        filled = []
        for part in context:
            full = np.zeros(shape, np.float32)
            full[:, : part.shape[2]] = part.transpose(0, 2, 1, 3)
            filled.append(self.adapter.from_numpy(full, {jnp.float32: "fp32", jnp.float16: "fp16", jnp.bfloat16: "bf16"}[self.native]))
        # separate buffers per block: a donated buffer can be given only once
        return [tuple(jnp.array(part, copy=True) for part in filled) for _ in range(cfg.layers)]


def model_for(adapter, plan: Plan, dtype: str, inputs) -> Model:
    weights = _weights.get((plan.weights_key, dtype, adapter.device), lambda: device_weights(adapter, plan, dtype, inputs))
    return _models.get((plan.weights_key, dtype, adapter.device, plan.batch, plan.length), lambda: Model(adapter, plan, dtype, weights))


def _lowers(fn, *args) -> None:
    """Unsupported when XLA cannot lower the jitted function here (fp16 dot_product_attention on XLA:CPU asks
    for the F16_F16_F32 dot algorithm, which it rejects; jax/_src/nn/functions.py falls back only outside jit)."""
    try:
        fn.lower(*args)
    except ValueError as exc:
        if "is not supported by dot_general" in str(exc):
            raise Unsupported(f"jax.jit cannot lower this on {jax.devices()[0].platform}: {str(exc)[:200]}") from None
        raise


def _path(plan: Plan) -> str:
    kernel = "jnp.einsum" if plan.fmt == "dense" else f"{plan.fmt} dequantize + jnp.einsum (no native weight-only kernel)"
    return f"jax.nn.dot_product_attention over a static cache, lax.dynamic_update_slice, {kernel}"


def build(adapter, params, dtype, mode, inputs):
    plan = Plan.of(params)
    check_memory(adapter, plan, dtype)
    model = model_for(adapter, plan, dtype, inputs)
    compiler = "jax.jit" + (", cache donated" if plan.phase == "decode" else "")
    meta = info(plan, params, dtype, mode, _path(plan), compiler)
    to_numpy = outputs_to_numpy(adapter, plan, seq_axis=1)
    if plan.phase == "prefill":
        tokens = adapter.from_numpy(inputs["tokens"])
        forward = model.compiled("prefill") if mode == "compiled" else model.prefill
        if mode == "compiled" and dtype == "fp16":
            _lowers(jax.jit(lambda t: model.prefill(t)), tokens)
        return Built(lambda: forward(tokens), meta, to_numpy)

    state = {"cache": model.empty_cache(plan.context(inputs))}
    steps = [adapter.from_numpy(t) for t in plan.step_tokens(inputs)]
    positions = [adapter.from_numpy(np.array([plan.depth + t], np.int32)) for t in range(plan.gen)]
    step = model.compiled("step") if mode == "compiled" else model.step
    if mode == "compiled" and dtype == "fp16":
        _lowers(jax.jit(model.step), state["cache"], steps[0], positions[0])

    def decode():
        cache, out = state["cache"], []
        for token, position in zip(steps, positions):
            logits, cache = step(cache, token, position)
            out.append(logits)
        state["cache"] = cache
        return jnp.stack(out, axis=1)

    return Built(decode, meta, to_numpy)


def generate(adapter, plan: Plan, dtype: str, inputs, prompt, steps: int, mode: str = "eager"):
    """Greedy generation: prefill ``prompt`` [B, P] into a cache of ``plan.length`` >= P + steps tokens,
    then feed each step the argmax of the last logits. Returns the generated tokens [B, steps] (NumPy)."""
    model = model_for(adapter, plan, dtype, inputs)
    prefill, step = (model.compiled("prefill"), model.compiled("step")) if mode == "compiled" else (model.prefill, model.step)
    logits, cache = prefill(adapter.from_numpy(prompt))
    out = [jnp.argmax(logits, axis=-1)[:, None].astype(jnp.int32)]
    for t in range(prompt.shape[1], prompt.shape[1] + steps - 1):
        logits, cache = step(cache, out[-1], jnp.array([t], jnp.int32))
        out.append(jnp.argmax(logits, axis=-1)[:, None].astype(jnp.int32))
    return np.asarray(jnp.concatenate(out, axis=1))
