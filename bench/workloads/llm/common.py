"""What the four framework modules share: the case's plan, the per-process model cache, outputs as NumPy.

``Plan`` turns a case into what ``build`` needs: the model config, weight format, the cache
length, the per-step tokens and positions, the RoPE tables. ``Memo`` keeps the last device model of
a worker process so that the sync canary (same weights, twice G or P) does not upload the weights
again, and a compiled decode step is reused when the shapes are the same. ``projection_operands``
maps a projection onto quant_linear's kernels: its inputs dict and the params its helpers read.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.dtypes import itemsize
from bench.workloads.llm import reference
from bench.workloads.llm.config import ModelConfig
from bench.workloads.llm.spec import KV_CHECKED, SPEC, cache_length
from bench.workloads.llm.weights import linear_arrays, linear_shape, stored_bytes

SCHEME = {"dense": "none", "int8": "int8", "int4": "int4"}  # quant_linear's names for the formats
BLOCK_PROJECTIONS = ("wq", "wk", "wv", "wo", "gate", "up", "down")


@dataclass(frozen=True)
class Plan:
    cfg: ModelConfig
    fmt: str
    group: int | None
    phase: str
    batch: int
    length: int  # tokens the KV cache holds
    prompt: int = 0
    gen: int = 0
    depth: int = 0

    @classmethod
    def of(cls, params: dict[str, Any]) -> Plan:
        return cls(
            SPEC.model(params),
            params["weights"],
            params.get("group"),
            params["phase"],
            params["batch"],
            cache_length(params),
            params.get("prompt", 0),
            params.get("gen", 0),
            params.get("depth", 0),
        )

    @property
    def weights_key(self) -> tuple:
        return (self.cfg, self.fmt, self.group)

    def rope_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """cos, sin [length, head_dim/2] in float64 (uploaded in the compute dtype)."""
        return reference.rope_tables(self.cfg, self.length)

    def step_tokens(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The forced token of each decode step, [B, 1] int32."""
        tokens = inputs["tokens"]
        return [np.ascontiguousarray(tokens[:, t : t + 1]) for t in range(tokens.shape[1])]

    def context(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
        """(K, V) [B, KV, D, hd] of the pre-filled cache, or None at depth 0."""
        if not self.depth:
            return None
        b = self.batch
        k, v = (np.broadcast_to(inputs[name][None], (b, *inputs[name].shape)).copy() for name in ("context_k", "context_v"))
        return k, v


def projection_operands(plan: Plan, inputs: dict[str, np.ndarray], name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(params, arrays) for quant_linear's helpers: params has scheme, group, n, k; arrays w or q, scale[, minimum]."""
    n, k = linear_shape(plan.cfg, name)
    params = {"scheme": SCHEME[plan.fmt], "n": n, "k": k}
    if plan.group:
        params["group"] = plan.group
    return params, linear_arrays(plan.cfg, inputs, name)


def projection_names(cfg: ModelConfig, layer: int) -> dict[str, str]:
    return {p: f"L{layer}.{p}" for p in BLOCK_PROJECTIONS}


def shares_host_memory(adapter) -> bool:
    """Whether the adapter's device allocates from host memory (CPU, and Apple's unified memory)."""
    return adapter.device == "cpu" or adapter.accelerator == "metal"


def check_memory(adapter, plan: Plan, dtype: str) -> None:
    """Unsupported when the host copy of the weights plus the device's (weights and KV cache) would not fit
    in a device that shares host memory. A discrete GPU that runs out reports ``oom`` itself."""
    if shares_host_memory(adapter):
        cache = plan.batch * plan.length * plan.cfg.kv_bytes_per_token(itemsize(dtype))
        SPEC.check_host_memory(plan.cfg, plan.fmt, plan.group, stored_bytes(plan.cfg, plan.fmt, plan.group, dtype) + cache)


class Memo:
    """The last value built for a key (one entry: device models can take most of the device's memory)."""

    def __init__(self) -> None:
        self.key: Hashable = None
        self.value: Any = None

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if self.key != key:
            self.key, self.value = None, None  # release the old one before making the new one
            self.value, self.key = make(), key
        return self.value


def info(plan: Plan, params: dict[str, Any], dtype: str, mode: str, path: str, compiler: str | None) -> dict[str, Any]:
    """``Built.info`` common to every framework."""
    out = {
        "path": path,
        "mode": f"compiled ({compiler})" if mode == "compiled" else "eager",
        "weight_bytes": stored_bytes(plan.cfg, plan.fmt, plan.group, dtype),
        "kv_cache_tokens": plan.length,
        "check": SPEC.check_scope(params),
    }
    return out


def outputs_to_numpy(adapter, plan: Plan, seq_axis: int) -> Callable[[Any], dict[str, np.ndarray]]:
    """``Built.to_numpy``: decode logits → {logits [B, G, V]}; prefill (logits, [(k, v) per block]) →
    {logits [B, V], keys, values [layers, B, KV, c, hd]} with c = the checked positions.

    ``seq_axis`` is the cache's position axis (2 for [B, KV, S, hd], 1 for JAX's [B, S, KV, hd]).
    """
    if plan.phase == "decode":
        return lambda out: {"logits": adapter.to_numpy(out)}
    prefix = (slice(None),) * seq_axis + (slice(0, min(plan.prompt, KV_CHECKED)),)  # sliced on the device: 8b's cache is GBs

    def convert(out: Any) -> dict[str, np.ndarray]:
        logits, caches = out
        kept = []
        for part in (0, 1):
            arrays = [adapter.to_numpy(cache[part][prefix]) for cache in caches]
            if seq_axis == 1:
                arrays = [a.transpose(0, 2, 1, 3) for a in arrays]
            kept.append(np.stack(arrays))
        return {"logits": adapter.to_numpy(logits), "keys": kept[0], "values": kept[1]}

    return convert
