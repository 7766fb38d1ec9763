"""float64 NumPy forward pass of the model (``config.py``), the reference every framework is checked against.

One function, ``forward``, runs T new tokens per row through the model after an optional context
(K and V already in the cache for positions 0..D-1, the same for every block and row: the
decode case's pre-filled cache). Queries at positions D..D+T-1 attend causally to the context and
to the new tokens. Prefill is ``forward`` with no context; the G steps of a teacher-forced decode
are one ``forward`` of the G forced tokens after the context (by causality, the logits of token t
do not depend on later tokens). Weights are converted to float64 (or dequantized) one matrix at a
time, when used.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from scipy.special import expit

from bench.workloads.llm.config import ModelConfig
from bench.workloads.llm.weights import linear_arrays
from bench.workloads.quant_linear.quantize import dequantize_int4, dequantize_int8

_SCORE_ELEMENTS = 1 << 24  # float64 attention scores held at once (128 MB)


def inverse_frequencies(cfg: ModelConfig) -> np.ndarray:
    """RoPE's theta^(-2i/head_dim), i = 0..head_dim/2-1 (float64)."""
    return cfg.rope_theta ** (-np.arange(0, cfg.head_dim, 2, dtype=np.float64) / cfg.head_dim)


def rope_tables(cfg: ModelConfig, length: int) -> tuple[np.ndarray, np.ndarray]:
    """cos, sin [length, head_dim/2] of position × frequency, in float64."""
    angles = np.arange(length, dtype=np.float64)[:, None] * inverse_frequencies(cfg)[None, :]
    return np.cos(angles), np.sin(angles)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate-half RoPE on x [..., T, head_dim] with cos, sin [T, head_dim/2] (HF ``apply_rotary_pos_emb``)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight.astype(np.float64)


def weight64(cfg: ModelConfig, weights: dict[str, np.ndarray], name: str, pool: ThreadPoolExecutor) -> np.ndarray:
    """float64 [out, in] of a projection, dequantized as its format says, rows converted in parallel
    (8b has 8e9 weights to convert per forward; one thread takes tens of seconds)."""
    arrays = linear_arrays(cfg, weights, name)
    n, k = next(iter(arrays.values())).shape
    out = np.empty((n, k), np.float64)

    def rows(r: slice) -> None:
        if "w" in arrays:
            out[r] = arrays["w"][r]
        elif "minimum" in arrays:
            out[r] = dequantize_int4(arrays["q"][r], arrays["scale"][r], arrays["minimum"][r])
        else:
            out[r] = dequantize_int8(arrays["q"][r], arrays["scale"][r])

    step = max(1, (1 << 20) // k)
    list(pool.map(rows, [slice(i, min(i + step, n)) for i in range(0, n, step)]))
    return out


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, start: int) -> np.ndarray:
    """Causal GQA attention: q [B, H, T, hd] at positions start.., k, v [B, KV, S, hd] at 0..S-1."""
    b, h, t, hd = q.shape
    kv, s = k.shape[1], k.shape[2]
    qg = q.reshape(b, kv, h // kv, t, hd) * (1.0 / np.sqrt(hd))
    out = np.empty_like(qg)
    step = max(1, _SCORE_ELEMENTS // (b * h * s))
    for lo in range(0, t, step):
        hi = min(lo + step, t)
        scores = np.einsum("bkgtd,bksd->bkgts", qg[:, :, :, lo:hi], k)
        hidden = np.arange(s)[None, :] > (start + np.arange(lo, hi))[:, None]  # key after query: masked
        scores[..., hidden] = -np.inf
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        out[:, :, :, lo:hi] = np.einsum("bkgts,bksd->bkgtd", scores, v)
    return out.reshape(b, h, t, hd)


def forward(
    cfg: ModelConfig,
    weights: dict[str, np.ndarray],
    tokens: np.ndarray,
    context: tuple[np.ndarray, np.ndarray] | None = None,
    keep_kv: int = 0,
    logits: str = "last",
) -> dict[str, Any]:
    """Run ``tokens`` [B, T] after ``context`` = (K, V) (post-RoPE keys): [KV, D, hd], the same in every
    block and row (the decode case's), or [layers, B, KV, D, hd] (what ``keep_kv`` returns).

    Returns ``logits`` [B, V] at the last position (``logits="last"``), [B, T, V] (``"all"``) or
    none (``"none"``), and with ``keep_kv = c > 0`` the ``keys``/``values`` [layers, B, KV, c, hd]
    written for the first c new tokens.
    """
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return _forward(cfg, weights, tokens, context, keep_kv, logits, pool)


def _forward(cfg, weights, tokens, context, keep_kv, logits, pool) -> dict[str, Any]:
    b, t = tokens.shape
    depth = 0 if context is None else context[0].shape[-2]
    hd, heads, kv_heads = cfg.head_dim, cfg.heads, cfg.kv_heads
    cos, sin = rope_tables(cfg, depth + t)
    cos, sin = cos[depth:], sin[depth:]
    x = weights["embed"][tokens].astype(np.float64)
    kept_k, kept_v = [], []

    def linear(a: np.ndarray, name: str) -> np.ndarray:
        return a @ weight64(cfg, weights, name, pool).T

    for i in range(cfg.layers):
        h = rms_norm(x, weights[f"L{i}.attn_norm"], cfg.norm_eps)
        q = linear(h, f"L{i}.wq").reshape(b, t, heads, hd).transpose(0, 2, 1, 3)
        k = linear(h, f"L{i}.wk").reshape(b, t, kv_heads, hd).transpose(0, 2, 1, 3)
        v = linear(h, f"L{i}.wv").reshape(b, t, kv_heads, hd).transpose(0, 2, 1, 3)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if keep_kv:
            kept_k.append(k[:, :, :keep_kv])
            kept_v.append(v[:, :, :keep_kv])
        if context is not None:
            past = [np.broadcast_to(c if c.ndim == 3 else c[i], (b, kv_heads, depth, hd)).astype(np.float64) for c in context]
            k, v = np.concatenate([past[0], k], axis=2), np.concatenate([past[1], v], axis=2)
        o = attention(q, k, v, depth).transpose(0, 2, 1, 3).reshape(b, t, heads * hd)
        x = x + linear(o, f"L{i}.wo")
        h = rms_norm(x, weights[f"L{i}.mlp_norm"], cfg.norm_eps)
        gate = linear(h, f"L{i}.gate")
        x = x + linear(gate * expit(gate) * linear(h, f"L{i}.up"), f"L{i}.down")
    out: dict[str, Any] = {}
    if logits != "none":
        final = rms_norm(x[:, -1] if logits == "last" else x, weights["norm"], cfg.norm_eps)
        out["logits"] = linear(final, "head")
    if keep_kv:
        out["keys"], out["values"] = np.stack(kept_k), np.stack(kept_v)
    return out


def greedy(cfg: ModelConfig, weights: dict[str, np.ndarray], prompt: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy generation after ``prompt`` [B, P]: (tokens [B, steps], margin [B, steps] between the chosen
    logit and the runner-up). Recomputes the whole sequence per token: for small models only."""
    tokens, chosen, margins = prompt, [], []
    for _ in range(steps):
        last = forward(cfg, weights, tokens)["logits"]
        top2 = np.sort(last, axis=-1)[:, -2:]
        chosen.append(last.argmax(axis=-1))
        margins.append(top2[:, 1] - top2[:, 0])
        tokens = np.concatenate([tokens, chosen[-1][:, None]], axis=1)
    return np.stack(chosen, axis=1), np.stack(margins, axis=1)
