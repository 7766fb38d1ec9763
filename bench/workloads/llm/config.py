"""The model's shape: presets, per-case overrides, and the counts the figures are made of.

The architecture is Llama's (Meta's Llama 2/3; Hugging Face ``transformers``
``models/llama/modeling_llama.py``): token embedding, then ``layers`` blocks of

    h = x + Wo · attention(RoPE(Wq · rms(x)), RoPE(Wk · rms(x)), Wv · rms(x))     (causal, GQA)
    x = h + Wdown · (silu(Wgate · rms(h)) ⊙ Wup · rms(h))                         (SwiGLU)

then a final RMSNorm and the output head (the embedding matrix itself when ``tied``). RoPE is the
non-interleaved ("rotate half") form with base ``rope_theta`` and no frequency scaling (Llama 3.1's
long-context rescaling changes values, not cost). ``head_dim = d_model / heads``; ``kv_heads``
divides ``heads`` (grouped-query attention).

Presets: ``tiny`` for tests and the quick suite; ``1b`` shaped as Llama-3.2-1B and ``8b`` as
Llama-3.1-8B (their published ``config.json``: hidden 2048/4096, 16/32 layers, 32 heads, 8 KV heads,
intermediate 8192/14336, vocab 128256, rope_theta 500000, tied/untied embeddings, rms eps 1e-5).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

NORM_EPS = 1e-5  # Llama 3's rms_norm_eps


@dataclass(frozen=True)
class ModelConfig:
    name: str
    layers: int
    d_model: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    rope_theta: float
    tied: bool
    norm_eps: float = NORM_EPS

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(out, in) of every projection of one block, in ``nn.Linear`` layout, by short name."""
        d, f = self.d_model, self.ffn
        return {
            "wq": (self.q_dim, d),
            "wk": (self.kv_dim, d),
            "wv": (self.kv_dim, d),
            "wo": (d, self.q_dim),
            "gate": (f, d),
            "up": (f, d),
            "down": (d, f),
        }

    def block_matmul_params(self) -> int:
        """Weights of one block's projections (the multiply-accumulates per token, per block)."""
        return sum(n * k for n, k in self.linear_shapes().values())

    def head_params(self) -> int:
        return self.vocab * self.d_model

    def param_count(self) -> int:
        """Parameters as published: embedding + blocks (projections and two norms) + final norm + head if untied."""
        blocks = self.layers * (self.block_matmul_params() + 2 * self.d_model)
        return self.head_params() * (1 if self.tied else 2) + blocks + self.d_model

    def kv_bytes_per_token(self, itemsize: int) -> int:
        """K and V of one token in every layer."""
        return 2 * self.layers * self.kv_dim * itemsize


PRESETS = {
    "tiny": ModelConfig("tiny", layers=2, d_model=256, heads=4, kv_heads=2, ffn=768, vocab=1024, rope_theta=10000.0, tied=False),
    "1b": ModelConfig("1b", layers=16, d_model=2048, heads=32, kv_heads=8, ffn=8192, vocab=128256, rope_theta=500000.0, tied=True),
    "8b": ModelConfig("8b", layers=32, d_model=4096, heads=32, kv_heads=8, ffn=14336, vocab=128256, rope_theta=500000.0, tied=False),
}

INT_FIELDS = ("layers", "d_model", "heads", "kv_heads", "ffn", "vocab")
OVERRIDES = (*INT_FIELDS, "rope_theta", "tied")


def resolve(params: dict[str, Any], workload: str = "llm") -> ModelConfig:
    """The preset ``params['config']`` with any of ``OVERRIDES`` that ``params`` sets; ValueError naming the problem."""
    name = params.get("config")
    if name not in PRESETS:
        raise ValueError(f"{workload}: config must be one of {', '.join(PRESETS)}, got {name!r}")
    changes = {key: params[key] for key in OVERRIDES if key in params}
    for key in INT_FIELDS:
        value = changes.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ValueError(f"{workload}: {key} must be a positive integer, got {value!r}")
    theta = changes.get("rope_theta")
    if theta is not None and (isinstance(theta, bool) or not isinstance(theta, int | float) or not theta > 0):
        raise ValueError(f"{workload}: rope_theta must be a positive number, got {theta!r}")
    if theta is not None:
        changes["rope_theta"] = float(theta)
    if "tied" in changes and not isinstance(changes["tied"], bool):
        raise ValueError(f"{workload}: tied must be true or false, got {changes['tied']!r}")
    config = replace(PRESETS[name], **changes)
    if config.d_model % config.heads:
        raise ValueError(f"{workload}: heads={config.heads} must divide d_model={config.d_model}")
    if config.heads % config.kv_heads:
        raise ValueError(f"{workload}: kv_heads={config.kv_heads} must divide heads={config.heads}")
    if config.head_dim % 2:
        raise ValueError(f"{workload}: head_dim = d_model / heads = {config.head_dim} must be even (RoPE rotates pairs)")
    return config
