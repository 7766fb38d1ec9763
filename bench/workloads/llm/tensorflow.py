"""llm in TensorFlow: a ``tf.Module`` whose static KV cache is one ``tf.Variable`` per block and K/V.

TensorFlow has no fused attention (nor does Keras's TF backend: sdpa/tensorflow.py), so attention
is written out: ``tf.matmul`` of the queries grouped per K/V head against the cache (GQA without
repeating K/V), scores cast to float32 for the mask and softmax (as Keras's attention layers do in
low precision), ``tf.matmul`` with V. The cache is written in place by assigning to a slice of the
variable: ``scatter_nd_update`` of the rows (b, kv head, position) in decode (a strided-slice assign
with a tensor position would make XLA compile once per position value: its bounds must be
compile-time constants), a static slice ``assign`` in prefill. RMSNorm is
computed in float32; RoPE uses cos/sin tables computed in float64, stored in the compute dtype.
TF has no weight-only kernel: int8/int4 projections dequantize in the graph before
``tf.linalg.matmul`` (quant_linear's functions).

Compiled mode is ``tf.function(jit_compile=True)`` (XLA) of the decode step, looped in Python, and of
the prefill; the adapter drops ``jit_compile`` on Metal, where XLA has no compiler.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import tensorflow as tf

from bench.workloads.base import Built
from bench.workloads.llm.common import Memo, Plan, check_memory, info, outputs_to_numpy, projection_names, projection_operands
from bench.workloads.quant_linear.common import graph_weight_arrays, upload
from bench.workloads.quant_linear.tensorflow import dense, int4_linear, int8_linear

KERNELS: dict[str, Callable[..., Any]] = {"none": dense, "int8": int8_linear, "int4": int4_linear}
_weights = Memo()
_models = Memo()


def device_weights(adapter, plan: Plan, dtype: str, inputs) -> dict:
    kernel: Callable[..., Any] = KERNELS[{"dense": "none"}.get(plan.fmt, plan.fmt)]
    if plan.fmt == "int4":
        kernel = partial(kernel, group=plan.group)

    def projection(name: str):
        params, arrays = projection_operands(plan, inputs, name)
        operands = upload(adapter, graph_weight_arrays(params, arrays), dtype)
        return lambda x: kernel(x, *operands)

    out = {"embed": adapter.from_numpy(inputs["embed"], dtype), "norm": adapter.from_numpy(inputs["norm"], dtype), "blocks": []}
    for i in range(plan.cfg.layers):
        block = {n: adapter.from_numpy(inputs[f"L{i}.{n}"], dtype) for n in ("attn_norm", "mlp_norm")}
        block.update({p: projection(name) for p, name in projection_names(plan.cfg, i).items()})
        out["blocks"].append(block)
    if plan.cfg.tied and plan.fmt == "dense":
        embed = out["embed"]
        out["head"] = lambda x: dense(x, embed)
    else:
        out["head"] = projection("head")
    return out


def rms_norm(x, weight, eps):
    x32 = tf.cast(x, tf.float32)
    y = x32 * tf.math.rsqrt(tf.reduce_mean(x32 * x32, axis=-1, keepdims=True) + eps)
    return tf.cast(y, x.dtype) * weight


def rope(x, cos, sin):
    """x [B, N, T, hd]; cos, sin [T, hd/2]."""
    x1, x2 = tf.split(x, 2, axis=-1)
    return tf.concat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


class LlamaTF(tf.Module):
    def __init__(self, adapter, plan: Plan, dtype: str, weights: dict):
        super().__init__(name="llama")
        cfg = plan.cfg
        self.adapter, self.plan, self.w = adapter, plan, weights
        cos, sin = plan.rope_tables()
        self.cos, self.sin = adapter.from_numpy(cos, dtype), adapter.from_numpy(sin, dtype)
        shape = (plan.batch, cfg.kv_heads, plan.length, cfg.head_dim)
        zeros = np.zeros(shape, np.float32)
        make = adapter.run_on_device(lambda: [tf.Variable(adapter.from_numpy(zeros, dtype), trainable=False) for _ in range(2 * cfg.layers)])
        variables = make()
        self.k_cache, self.v_cache = variables[0::2], variables[1::2]
        self.scale = 1.0 / math.sqrt(cfg.head_dim)
        # (b, kv head) of every cache row, for writing one position per row with scatter_nd_update
        grid = np.stack(np.meshgrid(np.arange(plan.batch), np.arange(cfg.kv_heads), indexing="ij"), axis=-1)
        self.rows = adapter.from_numpy(grid[:, :, None].astype(np.int32))
        self.functions: dict = {}

    def caches(self) -> list:
        return list(zip(self.k_cache, self.v_cache))

    def load_context(self, k, v) -> None:
        depth = k.shape[2]
        for kc, vc in self.caches():
            kc[:, :, :depth].assign(k)
            vc[:, :, :depth].assign(v)

    def _attend(self, q, k, v, visible):
        """q [B, H, T, hd]; k, v [B, KV, S, hd]; visible: bool broadcastable to [T, S]."""
        cfg = self.plan.cfg
        b, t = tf.shape(q)[0], q.shape[2]
        qg = tf.reshape(q, [b, cfg.kv_heads, cfg.heads // cfg.kv_heads, t, cfg.head_dim])
        scores = tf.cast(tf.matmul(qg, k[:, :, None], transpose_b=True) * self.scale, tf.float32)
        weights = tf.nn.softmax(tf.where(visible, scores, -np.inf), axis=-1)
        o = tf.matmul(tf.cast(weights, q.dtype), v[:, :, None])
        return tf.reshape(o, [b, cfg.heads, t, cfg.head_dim])

    def _forward(self, tokens, positions, prefill: bool):
        cfg = self.plan.cfg
        b, t = tokens.shape
        hd = cfg.head_dim
        cos, sin = tf.gather(self.cos, positions), tf.gather(self.sin, positions)
        x = tf.gather(self.w["embed"], tokens)
        for i, blk in enumerate(self.w["blocks"]):
            h = rms_norm(x, blk["attn_norm"], cfg.norm_eps)
            q = rope(tf.transpose(tf.reshape(blk["wq"](h), [b, t, cfg.heads, hd]), [0, 2, 1, 3]), cos, sin)
            k = rope(tf.transpose(tf.reshape(blk["wk"](h), [b, t, cfg.kv_heads, hd]), [0, 2, 1, 3]), cos, sin)
            v = tf.transpose(tf.reshape(blk["wv"](h), [b, t, cfg.kv_heads, hd]), [0, 2, 1, 3])
            kc, vc = self.k_cache[i], self.v_cache[i]
            if prefill:
                kc[:, :, :t].assign(k)
                vc[:, :, :t].assign(v)
                o = self._attend(q, k, v, tf.cast(tf.linalg.band_part(tf.ones([t, t]), -1, 0), tf.bool))
            else:
                at = tf.concat([self.rows, tf.fill(tf.shape(self.rows[..., :1]), positions[0])], axis=-1)
                kc.scatter_nd_update(at, k)
                vc.scatter_nd_update(at, v)
                o = self._attend(q, kc, vc, tf.range(self.plan.length) <= positions[0])
            x = x + blk["wo"](tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, t, cfg.q_dim]))
            h = rms_norm(x, blk["mlp_norm"], cfg.norm_eps)
            x = x + blk["down"](tf.nn.silu(blk["gate"](h)) * blk["up"](h))
        last = rms_norm(x[:, -1], self.w["norm"], cfg.norm_eps)
        return self.w["head"](last)

    def prefill(self, tokens):
        return self._forward(tokens, tf.range(tokens.shape[1]), prefill=True)

    def step(self, token, position):
        return self._forward(token, position, prefill=False)

    def function(self, name: str, mode: str):
        """``prefill`` or ``step`` placed on the adapter's device; a ``tf.function`` (once per model) when compiled."""
        if name not in self.functions:
            fn = self.adapter.run_on_device(getattr(self, name))
            self.functions[name] = (fn, self.adapter.compile(fn, jit_compile=True))
        return self.functions[name][mode == "compiled"]


def model_for(adapter, plan: Plan, dtype: str, inputs) -> LlamaTF:
    weights = _weights.get((plan.weights_key, dtype, adapter.device), lambda: device_weights(adapter, plan, dtype, inputs))
    return _models.get((plan.weights_key, dtype, adapter.device, plan.batch, plan.length), lambda: LlamaTF(adapter, plan, dtype, weights))


def _path(plan: Plan) -> str:
    kernel = "tf.linalg.matmul" if plan.fmt == "dense" else f"{plan.fmt} dequantize + tf.linalg.matmul (no native weight-only kernel)"
    return f"tf.Module, explicit GQA attention (no fused kernel in TF), tf.Variable static cache, {kernel}"


def build(adapter, params, dtype, mode, inputs):
    plan = Plan.of(params)
    check_memory(adapter, plan, dtype)
    model = model_for(adapter, plan, dtype, inputs)
    meta = info(plan, params, dtype, mode, _path(plan), "tf.function(jit_compile=True)" if adapter.accelerator != "metal" else "tf.function")
    to_numpy = outputs_to_numpy(adapter, plan, seq_axis=2)
    if plan.phase == "prefill":
        tokens = adapter.from_numpy(inputs["tokens"])
        forward = model.function("prefill", mode)
        return Built(lambda: (forward(tokens), model.caches()), meta, to_numpy)

    context = plan.context(inputs)
    if context is not None:
        adapter.run_on_device(model.load_context)(*(adapter.from_numpy(c, dtype) for c in context))
    steps = [adapter.from_numpy(t) for t in plan.step_tokens(inputs)]
    positions = [adapter.from_numpy(np.array([plan.depth + t], np.int32)) for t in range(plan.gen)]
    step = model.function("step", mode)

    def decode():
        return tf.stack([step(token, position) for token, position in zip(steps, positions)], axis=1)

    return Built(decode, meta, to_numpy)


def generate(adapter, plan: Plan, dtype: str, inputs, prompt, steps: int, mode: str = "eager"):
    """Greedy generation: prefill ``prompt`` [B, P] into a cache of ``plan.length`` >= P + steps tokens,
    then feed each step the argmax of the last logits. Returns the generated tokens [B, steps] (NumPy)."""
    model = model_for(adapter, plan, dtype, inputs)
    prefill, step = model.function("prefill", mode), model.function("step", mode)
    logits = prefill(adapter.from_numpy(prompt))
    out = [tf.argmax(logits, axis=-1, output_type=tf.int32)[:, None]]
    for t in range(prompt.shape[1], prompt.shape[1] + steps - 1):
        logits = step(out[-1], tf.constant([t], tf.int32))
        out.append(tf.argmax(logits, axis=-1, output_type=tf.int32)[:, None])
    return tf.concat(out, axis=1).numpy()
