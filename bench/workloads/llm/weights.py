"""Deterministic weights from the config and a fixed seed, stored in the case's weight format.

Draws: the embedding ~ N(0, 1/d_model) (Llama-3's trained embeddings have about that spread); every
projection [out, in] ~ N(0, 1/in), so each keeps an RMS-normalised input at O(1); RMSNorm weights
~ U(0.5, 1.5), far enough from 1 that a missing norm weight shows. The logits then have standard
deviation ~1 whether the head is its own matrix or the tied embedding (an embedding of spread 1 as a
tied head gives logits of spread sqrt(d_model) dominated by the current token's own row: greedy decoding
repeats it forever), and greedy tokens are decided by margins far above fp32 error.
Each tensor is drawn in row chunks, each chunk from its own ``SeedSequence(WEIGHT_SEED,
(tensor, chunk))`` on a thread pool (NumPy's generators release the GIL while filling), so the
values do not depend on the thread count and 8b (8e9 float32 draws) takes seconds on 16 cores.
Nothing is ever copied to float64.

Formats (the weights dict holds float32 arrays whose values are exact in the case dtype):

- ``dense``: ``<name>.w`` [out, in]; with a tied head there is no ``head.w`` (the head is ``embed``).
- ``int8``: ``<name>.q`` int8 [out, in], ``<name>.scale`` [out] (``quant_linear.quantize.quantize_int8``).
- ``int4``: ``<name>.q`` uint8 codes 0..15 [out, in], ``<name>.scale``, ``<name>.minimum`` [out, in/group]
  (``quantize_int4``). The minimum is nudged (by < 2 % of a step in bf16) to ``z - 8·scale`` with
  ``z = round(minimum + 8·scale)``, whenever that is exact in the dtype (always, in our checks): then
  the affine form ``q·scale + minimum`` (MLX, JAX, TF) and torch's tinygemm form ``(q - 8)·scale + z``
  describe the same weights exactly, and one reference serves every framework.

Every projection including the head is quantized in the int formats; the embedding and the norms stay
in the activation dtype (a lookup reads only B rows). A tied head in an int format is the quantized
embedding matrix (the lookup keeps the dense one), as MLX's ``QuantizedEmbedding.as_linear`` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from bench.dtypes import itemsize, round_to
from bench.workloads.llm.config import ModelConfig
from bench.workloads.quant_linear.quantize import quantize_int4, quantize_int8

WEIGHT_SEED = 20260512
FORMATS = ("dense", "int8", "int4")
GROUPS = (32, 64, 128)
TINYGEMM_OFFSET = 8
_CHUNK_ELEMENTS = 1 << 22  # 16 MB of float32 per task


def linear_names(cfg: ModelConfig) -> list[str]:
    """Every projection, in draw order: ``L{i}.wq`` ... ``L{i}.down`` for each block, then ``head``."""
    return [f"L{i}.{p}" for i in range(cfg.layers) for p in cfg.linear_shapes()] + ["head"]


def linear_shape(cfg: ModelConfig, name: str) -> tuple[int, int]:
    if name == "head":
        return cfg.vocab, cfg.d_model
    return cfg.linear_shapes()[name.split(".", 1)[1]]


def norm_names(cfg: ModelConfig) -> list[str]:
    return [f"L{i}.{n}" for i in range(cfg.layers) for n in ("attn_norm", "mlp_norm")] + ["norm"]


def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1)


def _row_chunks(rows: int, cols: int) -> list[slice]:
    step = max(1, _CHUNK_ELEMENTS // max(cols, 1))
    return [slice(r, min(r + step, rows)) for r in range(0, rows, step)]


def draw_normal(shape: tuple[int, int], tensor: int, std: float, pool: ThreadPoolExecutor) -> np.ndarray:
    """float32 N(0, std²) [rows, cols], chunk c of tensor t from SeedSequence(WEIGHT_SEED, spawn_key=(t, c))."""
    out = np.empty(shape, dtype=np.float32)

    def fill(item: tuple[int, slice]) -> None:
        chunk, rows = item
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(WEIGHT_SEED, spawn_key=(tensor, chunk))))
        rng.standard_normal(out=out[rows], dtype=np.float32)
        out[rows] *= np.float32(std)

    list(pool.map(fill, enumerate(_row_chunks(*shape))))
    return out


def _parallel_rows(fn: Callable[[slice], None], rows: int, cols: int, pool: ThreadPoolExecutor) -> None:
    list(pool.map(fn, _row_chunks(rows, cols)))


def _round_bf16_in_place(w: np.ndarray) -> None:
    """Round finite float32 to bfloat16's 8-bit mantissa, nearest even, on the bits in place: what
    ``bench.dtypes.round_to`` computes (it widens to uint64 to be safe for NaN and inf, ~8x slower)."""
    bits = w.view(np.uint32)
    carry = bits >> 16
    carry &= 1
    carry += 0x7FFF
    bits += carry
    bits &= 0xFFFF0000


def round_in_place(w: np.ndarray, dtype: str, pool: ThreadPoolExecutor) -> np.ndarray:
    """Round float32 ``w`` to ``dtype`` (finite values) by row chunks on the pool."""
    if dtype != "fp32":

        def rows(r: slice) -> None:
            if dtype == "bf16":
                _round_bf16_in_place(w[r])
            else:
                w[r] = round_to(w[r], dtype)

        _parallel_rows(rows, w.shape[0], w.shape[1], pool)
    return w


def _tinygemm_consistent_minimum(scale: np.ndarray, minimum: np.ndarray, dtype: str) -> np.ndarray:
    """``round(minimum + 8·scale) - 8·scale`` where that is exact in ``dtype`` (see the module docstring)."""
    zero = round_to(minimum + np.float32(TINYGEMM_OFFSET) * scale, dtype).astype(np.float64)
    moved = zero - TINYGEMM_OFFSET * scale.astype(np.float64)
    moved32 = moved.astype(np.float32)
    exact = (moved32.astype(np.float64) == moved) & (round_to(moved32, dtype) == moved32)
    return np.where(exact, moved32, minimum).astype(np.float32)


def quantize(w: np.ndarray, fmt: str, group: int | None, dtype: str, pool: ThreadPoolExecutor) -> dict[str, np.ndarray]:
    """Quantize [out, in] float32 by rows on the pool; parameters rounded to ``dtype``."""
    n, k = w.shape
    if fmt == "int8":
        q, scale = np.empty((n, k), np.int8), np.empty(n, np.float32)

        def rows(r: slice) -> None:
            q[r], scale[r] = quantize_int8(w[r])

        _parallel_rows(rows, n, k, pool)
        return {"q": q, "scale": round_to(scale, dtype)}
    assert group is not None, "int4 has a group size (the spec's normalize sets one)"
    q, scale, minimum = np.empty((n, k), np.uint8), np.empty((n, k // group), np.float32), np.empty((n, k // group), np.float32)

    def rows4(r: slice) -> None:
        q[r], s, m = quantize_int4(w[r], group)
        scale[r] = round_to(s, dtype)
        minimum[r] = _tinygemm_consistent_minimum(scale[r], round_to(m, dtype), dtype)

    _parallel_rows(rows4, n, k, pool)
    return {"q": q, "scale": scale, "minimum": minimum}


def check_format(cfg: ModelConfig, fmt: str, group: int | None) -> None:
    """ValueError when int4's group does not divide every projection's input size (d_model and ffn)."""
    if fmt != "int4":
        return
    assert group is not None, "int4 has a group size (the spec's normalize sets one)"
    for what, k in (("d_model", cfg.d_model), ("ffn", cfg.ffn)):
        if k % group:
            raise ValueError(f"llm: group={group} must divide every projection's input size; {what} is {k}")


@lru_cache(maxsize=1)
def stored_weights(cfg: ModelConfig, fmt: str, group: int | None, dtype: str) -> dict[str, np.ndarray]:
    """{name: array} of the whole model in ``fmt`` (module docstring). Cached: treat as read-only."""
    out: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(WEIGHT_SEED)
    with _pool() as pool:
        embed = draw_normal((cfg.vocab, cfg.d_model), 0, 1.0 / np.sqrt(cfg.d_model), pool)
        if cfg.tied and fmt != "dense":
            out.update({f"head.{k}": v for k, v in quantize(embed, fmt, group, dtype, pool).items()})
        out["embed"] = round_in_place(embed, dtype, pool)
        for index, name in enumerate(linear_names(cfg), start=1):
            if name == "head" and cfg.tied:
                continue
            w = draw_normal(linear_shape(cfg, name), index, 1.0 / np.sqrt(linear_shape(cfg, name)[1]), pool)
            if fmt == "dense":
                out[f"{name}.w"] = round_in_place(w, dtype, pool)
            else:
                out.update({f"{name}.{k}": v for k, v in quantize(w, fmt, group, dtype, pool).items()})
            del w
    for name in norm_names(cfg):
        out[name] = round_to(rng.uniform(0.5, 1.5, cfg.d_model).astype(np.float32), dtype)
    return out


def linear_arrays(cfg: ModelConfig, weights: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """One projection's arrays, keyed as quant_linear's inputs: {w} or {q, scale[, minimum]}."""
    if name == "head" and cfg.tied and "head.q" not in weights:
        return {"w": weights["embed"]}
    prefix = f"{name}."
    return {key[len(prefix) :]: value for key, value in weights.items() if key.startswith(prefix)}


def stored_bytes(cfg: ModelConfig, fmt: str, group: int | None, dtype: str) -> int:
    """Bytes the weights take on a device in ``fmt``: codes (1 or ½ byte), parameters and dense tensors in ``dtype``."""
    size = itemsize(dtype)
    dense = (cfg.vocab * cfg.d_model + (2 * cfg.layers + 1) * cfg.d_model) * size  # embedding, norms
    linears = [linear_shape(cfg, n) for n in linear_names(cfg) if not (n == "head" and cfg.tied and fmt == "dense")]
    for n, k in linears:
        if fmt == "dense":
            dense += n * k * size
        elif fmt == "int8":
            dense += n * k + n * size
        else:
            assert group is not None
            dense += n * k // 2 + 2 * n * (k // group) * size
    return dense


def host_bytes(cfg: ModelConfig, fmt: str, group: int | None) -> int:
    """Bytes of ``stored_weights`` in host memory (float32 containers, one byte per code)."""
    projection = sum(n * k for n, k in (linear_shape(cfg, name) for name in linear_names(cfg)))
    if cfg.tied:
        projection -= cfg.head_params()
    dense = 4 * (cfg.vocab * cfg.d_model + (2 * cfg.layers + 1) * cfg.d_model)
    if fmt == "dense":
        return dense + 4 * projection
    if cfg.tied:
        projection += cfg.head_params()
    return dense + projection + (4 * projection // group * 2 if fmt == "int4" and group else 0)
