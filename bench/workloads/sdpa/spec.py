"""sdpa: O = softmax(Q·Kᵀ·scale [+ causal mask]) · V, with scale = 1/sqrt(d).

Params: ``b``, ``h``, ``l``, ``d`` (or ``bhld = [b, h, l, d]`` in a suite grid), ``causal``
(bool, default false) and ``variant``:

- ``fused``: each framework's attention API (torch ``F.scaled_dot_product_attention``, MLX
  ``mx.fast.scaled_dot_product_attention``, JAX ``jax.nn.dot_product_attention(implementation="xla")``,
  Keras ``keras.ops.dot_product_attention`` on TensorFlow, which has no fused kernel);
- ``naive``: explicit matmul → scale → mask → softmax → matmul in every framework;
- ``cudnn``: JAX ``implementation="cudnn"`` (CUDA, fp16/bf16 only; ``unsupported`` elsewhere).

Canonical layout (B, H, L, D) for q, k, v and the output; queries and keys have the same length,
so the causal alignment conventions (torch upper-left, MLX lower-right) agree. FLOPs 4·B·H·L²·D
(half for causal); bytes (q, k, v, out) = 4·B·H·L·D·itemsize, the fused minimum.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from bench.dtypes import itemsize, round_to
from bench.workloads.base import Workload, check_positive_ints, unpack_shape
from bench.workloads.tolerance import ErrorModel

VARIANTS = ("fused", "naive", "cudnn")
SHAPE_KEYS = ("b", "h", "l", "d")
# float64 scores kept at once by the reference: bounds its memory to ~256 MB at any L.
_REFERENCE_SCORE_ELEMENTS = 1 << 25


class Sdpa(Workload):
    name = "sdpa"
    description = "scaled dot-product attention (B,H,L,D), fused vs naive, causal or not"
    required_params = SHAPE_KEYS
    default_grid = {"bhld": [[1, 8, 256, 64]], "causal": [False, True], "variant": ["fused", "naive"]}
    # Flat values: the fp32 floor, and the fallback without params (cases use error_model below).
    # Measured on CPU at L = 1024-4096: torch, JAX and MLX stay under 1e-3 (fp16) and 6e-3 (bf16);
    # Keras on TF reaches 4.3e-3 and 3.4e-2 because TF's CPU einsum accumulates in the input dtype
    # (tf.matmul does not). A missing causal mask or a wrong scale costs > 0.2, far above these.
    tolerances = {"fp32": 2e-5, "fp16": 1e-2, "bf16": 5e-2}

    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        params = {"causal": False, "variant": "fused", **params}
        unpack_shape(self.name, params, "bhld", SHAPE_KEYS)
        super().normalize(params)
        check_positive_ints(self.name, params, SHAPE_KEYS)
        if not isinstance(params["causal"], bool):
            raise ValueError(f"sdpa: causal must be true or false, got {params['causal']!r}")
        if params["variant"] not in VARIANTS:
            raise ValueError(f"sdpa: variant must be one of {', '.join(VARIANTS)}, got {params['variant']!r}")
        unknown = set(params) - {*SHAPE_KEYS, "causal", "variant"}
        if unknown:
            raise ValueError(f"sdpa: unknown parameter(s) {', '.join(sorted(unknown))}")
        return params

    def make_inputs(self, params, dtype, rng):
        shape = (params["b"], params["h"], params["l"], params["d"])
        return {name: round_to(rng.standard_normal(shape, dtype=np.float32), dtype) for name in ("q", "k", "v")}

    def reference_key(self, params):
        # fused, naive and cudnn compute the same attention: one reference serves all three.
        return super().reference_key({k: v for k, v in params.items() if k != "variant"})

    def reference(self, params, dtype, inputs):
        return attention_reference(inputs["q"], inputs["k"], inputs["v"], params["causal"])

    def flops(self, params):
        full = 4.0 * params["b"] * params["h"] * params["l"] ** 2 * params["d"]
        return full / 2 if params["causal"] else full

    def bytes_moved(self, params, dtype):
        return float(4 * params["b"] * params["h"] * params["l"] * params["d"] * itemsize(dtype))

    def canary_params(self, params):
        return {**params, "b": params["b"] * 2}

    def error_model(self, params):
        # Roundings: scores Q·Kᵀ and their scaling (a relative error e on a logit s moves its softmax
        # weight by e·s, and the weights favour large logits: E_softmax[s²] = 2 for s ~ N(0, 1), so each
        # counts 2), the exponentials and their normalisation (2), the output (1): R = 7. Sums: D per
        # score, L for the softmax denominator and L per output.
        return ErrorModel(roundings=7, reductions=(params["d"], params["l"], params["l"]))


def scale_of(params: dict[str, Any]) -> float:
    """The softmax scale every framework is given explicitly: 1/sqrt(d)."""
    return 1.0 / math.sqrt(params["d"])


def causal_mask(length: int) -> np.ndarray:
    """Bool (L, L), True where query i may attend to key j (j <= i)."""
    return np.tril(np.ones((length, length), dtype=bool))


def attention_reference(q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool) -> np.ndarray:
    """float64 attention on (B, H, L, D) arrays.

    A few heads at a time bound the memory (~256 MB of scores per chunk), and chunks run on a thread
    pool: NumPy releases the GIL in matmul and ufuncs, and at 4×32×4096×128 a single thread spends
    tens of seconds in exp and the other passes over B·H·L² scores.
    """
    b, h, length, d = q.shape
    qf = q.reshape(b * h, length, d).astype(np.float64) * (1.0 / math.sqrt(d))
    kf, vf = (x.reshape(b * h, length, d).astype(np.float64) for x in (k, v))
    out = np.empty_like(qf)
    hidden = ~causal_mask(length) if causal else None
    step = max(1, _REFERENCE_SCORE_ELEMENTS // (length * length))

    def chunk(i: int) -> None:
        scores = np.matmul(qf[i : i + step], kf[i : i + step].transpose(0, 2, 1))
        if hidden is not None:
            np.copyto(scores, -np.inf, where=hidden)
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        # Normalise the (L, D) output rather than the (L, L) weights: one pass fewer over the scores.
        out[i : i + step] = np.matmul(scores, vf[i : i + step]) / scores.sum(axis=-1, keepdims=True)

    starts = range(0, b * h, step)
    with ThreadPoolExecutor(max_workers=min(len(starts), os.cpu_count() or 1)) as pool:
        list(pool.map(chunk, starts))  # list() re-raises a chunk's exception
    return out.reshape(b, h, length, d)


def cudnn_unsupported(framework: str) -> str:
    """Why ``variant=cudnn`` does not apply to a framework other than JAX."""
    reasons = {
        "torch": "variant=cudnn forces JAX's cuDNN attention; torch picks its kernel itself in variant=fused (info.sdp_backend says which)",
        "tensorflow": "variant=cudnn forces JAX's cuDNN attention; TensorFlow has no fused attention kernel",
        "mlx": "variant=cudnn forces JAX's cuDNN attention; MLX's CUDA backend picks cuDNN itself in variant=fused",
    }
    return reasons[framework]


SPEC = Sdpa()
