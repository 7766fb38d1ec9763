"""llm: prefill and decode of a Llama-architecture decoder with a static KV cache (docs/llm.md).

Params
    ``config``: ``tiny`` | ``1b`` | ``8b`` (``config.PRESETS``), optionally changed by any of
    ``layers``, ``d_model``, ``heads``, ``kv_heads``, ``ffn``, ``vocab``, ``rope_theta``, ``tied``;
    ``weights``: ``dense`` (default) | ``int8`` (per output channel) | ``int4`` (needs ``group`` 32/64/128);
    ``phase``: ``prefill`` | ``decode``; ``batch`` B (default 1);
    prefill: ``prompt`` P, the tokens of one forward pass from an empty cache;
    decode: ``gen`` G steps of one token per row after ``depth`` D tokens already in the cache
    (default 0, llama-bench's ``-d``); ``cache``: the cache's length in tokens (default D + 2·G: room
    for the sync canary's doubled G, so that it reuses the same compiled step).
    Keys that do not apply to the phase (``prompt`` for decode; ``gen``, ``depth``, ``cache`` for
    prefill) and ``group`` for non-int4 weights are dropped, so one grid can cross them.

Calls (every call starts from the same state and does the same work)
    prefill: the P prompt tokens in one forward pass, K and V written to cache positions 0..P-1;
    returns the last position's logits [B, V] and the cache.
    decode: the cache holds a context at 0..D-1 (filled once in ``build``); a call runs G steps
    from position D, each feeding one token per row, writing its K/V at D+t and attending
    (masked) over the whole static cache; returns the logits of every step [B, G, V]. Tokens are
    teacher-forced from the inputs rather than chosen by argmax (docs/llm.md, "Decode"): every step
    is then comparable with the reference in every dtype, and the reference is one batched
    forward instead of G sequential ones. A greedy generator on the same step is tested separately.

Inputs: the weights (``weights.py``, fixed seed, in the case's format and dtype), the prompt or the
forced tokens (uniform over the vocabulary, from the case seed), and for D > 0 the context's K and V
[kv_heads, D, head_dim] ~ N(0, 1), the same for every block and row.

Correctness (against ``reference.forward`` in float64): prefill compares the last position's
logits and the K/V the call wrote for the first ``KV_CHECKED`` positions of every block; decode
compares the logits of every step. When the float64 reference of the whole case would cost more than
``REFERENCE_FLOP_BUDGET``, prefill compares the K/V only (a reference over the first positions;
causal attention makes them independent of the rest) and decode the first steps that fit the
budget. ``Built.info['check']`` says which. The error of a case is the largest of its outputs'
relative errors (``correctness.per_output``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bench.backends import Unsupported
from bench.dtypes import itemsize, round_to
from bench.workloads.base import Workload, check_positive_ints
from bench.workloads.llm import reference
from bench.workloads.llm.config import OVERRIDES, ModelConfig, resolve
from bench.workloads.llm.weights import FORMATS, GROUPS, check_format, host_bytes, stored_bytes, stored_weights

PHASES = ("prefill", "decode")
KV_CHECKED = 32  # prefill: K/V positions compared in every block
REFERENCE_FLOP_BUDGET = 5e11  # float64 reference work per case (~10-60 s on a laptop's cores)
_HOST_MEMORY_SHARE = 0.8  # of physical memory a case may plan to use
_PHASE_KEYS = {"prefill": ("prompt",), "decode": ("gen", "depth", "cache")}
KNOWN = {"config", *OVERRIDES, "weights", "group", "phase", "batch", "prompt", "gen", "depth", "cache"}


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def cache_length(params: dict[str, Any]) -> int:
    """Tokens the KV cache holds: P for prefill, ``cache`` or D + 2·G for decode."""
    if params["phase"] == "prefill":
        return params["prompt"]
    return params.get("cache", params["depth"] + 2 * params["gen"])


def forward_flops(cfg: ModelConfig, batch: int, tokens: int, start: int, head_tokens: int) -> float:
    """FLOPs of ``tokens`` new tokens per row after ``start`` cached ones, the head applied to ``head_tokens``.

    Projections 2·params per token; attention 4·head_dim·heads per (query, visible key) pair, the
    causal minimum: query t sees start + t + 1 keys.
    """
    visible = tokens * start + tokens * (tokens + 1) / 2
    attention = 4.0 * cfg.heads * cfg.head_dim * visible * cfg.layers
    return batch * (2.0 * cfg.layers * cfg.block_matmul_params() * tokens + 2.0 * cfg.head_params() * head_tokens + attention)


class Llm(Workload):
    name = "llm"
    description = "Llama-architecture decoder: prefill and decode tokens/s with a static KV cache, dense/int8/int4 weights"
    required_params = ("config", "phase")
    default_grid = {"config": ["tiny"], "phase": list(PHASES), "prompt": [64], "gen": [16], "depth": [64]}
    # Error model and measured headroom: docs/llm.md ("Tolerances"). The worst relative error of the four
    # frameworks grows with depth, fitted at tiny and 1b as u·(3.4 + 2.7·sqrt(layers)) in bf16 and
    # u·(4.2 + 1.2·sqrt(layers)) in fp16 (u: unit roundoff); projected for 8b: 7.2e-2 and 5.4e-3. The
    # tolerance cannot depend on the config (Workload.tolerance sees only the dtype), so it covers 8b;
    # structural errors cost >= 0.2.
    tolerances = {"fp32": 1e-4, "fp16": 1.5e-2, "bf16": 0.12}
    tf32_tolerance = 1.5e-2  # TF32 rounds matmul inputs to fp16's 10-bit mantissa

    # -- parameters -------------------------------------------------------------------------------
    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        params = {"weights": "dense", "batch": 1, **params}
        unknown = set(params) - KNOWN
        if unknown:
            raise ValueError(f"llm: unknown parameter(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(KNOWN))})")
        super().normalize(params)
        if params["phase"] not in PHASES:
            raise ValueError(f"llm: phase must be prefill or decode, got {params['phase']!r}")
        _normalize_weights(params, resolve(params))
        for phase, keys in _PHASE_KEYS.items():
            if phase != params["phase"]:
                for key in keys:
                    params.pop(key, None)
        (_normalize_prefill if params["phase"] == "prefill" else _normalize_decode)(params)
        return params

    def model(self, params: dict[str, Any]) -> ModelConfig:
        return resolve(params)

    # -- data -------------------------------------------------------------------------------------
    def make_inputs(self, params, dtype, rng):
        cfg = self.model(params)
        fmt, group = params["weights"], params.get("group")
        self.check_host_memory(cfg, fmt, group)
        inputs = dict(stored_weights(cfg, fmt, group, dtype))
        b = params["batch"]
        if params["phase"] == "prefill":
            inputs["tokens"] = rng.integers(0, cfg.vocab, (b, params["prompt"]), dtype=np.int32)
            return inputs
        inputs["tokens"] = rng.integers(0, cfg.vocab, (b, params["gen"]), dtype=np.int32)
        if params["depth"]:
            shape = (cfg.kv_heads, params["depth"], cfg.head_dim)
            inputs["context_k"] = round_to(rng.standard_normal(shape, dtype=np.float32), dtype)
            inputs["context_v"] = round_to(rng.standard_normal(shape, dtype=np.float32), dtype)
        return inputs

    def check_host_memory(self, cfg: ModelConfig, fmt: str, group: int | None, device_bytes: int = 0) -> None:
        """Unsupported when the weights (plus ``device_bytes`` on a device that shares host memory) would
        not fit in this machine's memory."""
        total = physical_memory_bytes()
        needed = host_bytes(cfg, fmt, group) + device_bytes
        if total and needed > _HOST_MEMORY_SHARE * total:
            raise Unsupported(
                f"llm {cfg.name} {fmt} weights need ~{needed / 1e9:.1f} GB of memory"
                f"{' (host copy + device copy)' if device_bytes else ''}; this machine has {total / 1e9:.1f} GB"
            )

    # -- reference and checking -------------------------------------------------------------------
    def checked_steps(self, params: dict[str, Any]) -> int:
        """Decode steps whose logits are compared: all G, or the first that fit the budget (at least 2)."""
        cfg, b, g, d = self.model(params), params["batch"], params["gen"], params["depth"]
        for steps in range(g, 0, -1):
            if steps <= 2 or forward_flops(cfg, b, steps, d, steps) <= REFERENCE_FLOP_BUDGET:
                return min(steps, g)
        return 1

    def logits_checked(self, params: dict[str, Any]) -> bool:
        """Prefill: whether the last position's logits are compared (the whole reference fits the budget)."""
        return forward_flops(self.model(params), params["batch"], params["prompt"], 0, 1) <= REFERENCE_FLOP_BUDGET

    def kv_checked(self, params: dict[str, Any]) -> int:
        return min(params["prompt"], KV_CHECKED)

    def check_scope(self, params: dict[str, Any]) -> str:
        """What the correctness check compares (recorded as ``info['check']``)."""
        if params["phase"] == "decode":
            steps = self.checked_steps(params)
            scope = "all" if steps == params["gen"] else f"the first {steps} of"
            return f"logits of {scope} {params['gen']} steps against the float64 reference"
        kv = f"K/V of positions 0..{self.kv_checked(params) - 1} in every block"
        if self.logits_checked(params):
            return f"last-position logits and {kv}, against the float64 reference"
        cost = forward_flops(self.model(params), params["batch"], params["prompt"], 0, 1)
        return f"{kv} against the float64 reference (the whole prompt's reference would cost {cost / 1e12:.1f} TFLOP)"

    def reference(self, params, dtype, inputs):
        cfg, tokens = self.model(params), inputs["tokens"]
        if params["phase"] == "prefill":
            keep = self.kv_checked(params)
            if self.logits_checked(params):
                return reference.forward(cfg, inputs, tokens, keep_kv=keep, logits="last")
            return reference.forward(cfg, inputs, tokens[:, :keep], keep_kv=keep, logits="none")
        context = (inputs["context_k"], inputs["context_v"]) if params["depth"] else None
        steps = self.checked_steps(params)
        return reference.forward(cfg, inputs, tokens[:, :steps], context, logits="all")

    def error_breakdown(self, out, ref) -> dict[str, float]:
        """Relative error of each output the reference has (``logits``; ``keys`` and ``values`` for prefill).

        Decode logits [B, G, V] are compared over the steps the reference covers (its axis 1).
        """
        errors = {}
        for key, expected in ref.items():
            got = np.asarray(out[key])
            if key == "logits" and got.ndim == 3:
                got = got[:, : expected.shape[1]]
            errors[key] = super().relative_error(got, expected)
        return errors

    def relative_error(self, out, ref) -> float:
        return max(self.error_breakdown(out, ref).values())

    # -- figures ----------------------------------------------------------------------------------
    def flops(self, params):
        cfg, b = self.model(params), params["batch"]
        if params["phase"] == "prefill":
            return forward_flops(cfg, b, params["prompt"], 0, 1)
        g = params["gen"]
        return forward_flops(cfg, b, g, params["depth"], g)

    def bytes_moved(self, params, dtype):
        """Minimum traffic: every streamed weight once per forward (decode: per step), the K/V that the
        attention must read (the visible positions) and write, and the logits returned."""
        cfg, b, size = self.model(params), params["batch"], itemsize(dtype)
        weights = streamed_weight_bytes(cfg, params["weights"], params.get("group"), dtype)
        per_token_kv = cfg.kv_bytes_per_token(size)
        if params["phase"] == "prefill":
            p = params["prompt"]
            return float(weights + b * p * per_token_kv + b * cfg.vocab * size)
        g, d = params["gen"], params["depth"]
        visible = g * d + g * (g + 1) / 2
        return float(g * weights + b * (visible + g) * per_token_kv + b * g * cfg.vocab * size)

    def units(self, params):
        tokens = params["prompt"] if params["phase"] == "prefill" else params["gen"]
        return float(params["batch"] * tokens), "token"

    def metrics(self, params, median_s):
        b = params["batch"]
        if params["phase"] == "prefill":
            return {"tokens_per_s": b * params["prompt"] / median_s, "prefill_ms": median_s * 1e3}
        g = params["gen"]
        return {"tokens_per_s": b * g / median_s, "ms_per_step": median_s / g * 1e3}

    def canary_params(self, params):
        if params["phase"] == "prefill":
            return {**params, "prompt": 2 * params["prompt"]}
        return {**params, "gen": 2 * params["gen"], "cache": cache_length(params)}


def _normalize_weights(params: dict[str, Any], cfg: ModelConfig) -> None:
    if params["weights"] not in FORMATS:
        raise ValueError(f"llm: weights must be one of {', '.join(FORMATS)}, got {params['weights']!r}")
    if "group" in params and params["group"] not in GROUPS:
        raise ValueError(f"llm: group must be one of {', '.join(map(str, GROUPS))}, got {params['group']!r}")
    if params["weights"] != "int4":
        params.pop("group", None)
    elif "group" not in params:
        raise ValueError("llm: group is required for weights int4 (32, 64 or 128)")
    check_format(cfg, params["weights"], params.get("group"))


def _normalize_prefill(params: dict[str, Any]) -> None:
    if "prompt" not in params:
        raise ValueError("llm: phase prefill needs prompt (tokens in the prompt)")
    check_positive_ints("llm", params, ("batch", "prompt"))


def _normalize_decode(params: dict[str, Any]) -> None:
    if "gen" not in params:
        raise ValueError("llm: phase decode needs gen (tokens generated per call)")
    params.setdefault("depth", 0)
    check_positive_ints("llm", params, ("batch", "gen"))
    depth = params["depth"]
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise ValueError(f"llm: depth must be a non-negative integer, got {depth!r}")
    if "cache" in params:
        check_positive_ints("llm", params, ("cache",))
        if params["cache"] < depth + params["gen"]:
            raise ValueError(f"llm: cache={params['cache']} must hold depth + gen = {depth + params['gen']} tokens")


def streamed_weight_bytes(cfg: ModelConfig, fmt: str, group: int | None, dtype: str) -> int:
    """Weight bytes one forward pass reads: everything but the embedding table (a lookup reads B rows),
    which a dense tied head does read in full, as the head."""
    table = cfg.vocab * cfg.d_model * itemsize(dtype)
    total = stored_bytes(cfg, fmt, group, dtype)
    return total if (cfg.tied and fmt == "dense") else total - table


SPEC = Llm()
