"""sdpa in MLX, (B, H, L, D) throughout.

fused: ``mx.fast.scaled_dot_product_attention(q, k, v, scale=..., mask="causal" | None)``
(``scale`` is required; mlx ``python/src/fast.cpp``). Whether a fused kernel exists for the case
is probed with ``force_fused=True`` (mlx >= 0.32.4, commit "Add force_fused option", #4185), which
raises when none applies: the CPU backend never has one, so there the call runs unfused ops.
Metal's fused kernels need head dim 64/72/80/96/128(/192/256) (mlx
``mlx/backend/metal/scaled_dot_product_attention.cpp``, ``use_fallback``).
naive: matmul → scale → where(mask) → softmax → matmul in the input dtype.
"""

import mlx.core as mx

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.sdpa.spec import causal_mask, cudnn_unsupported, scale_of


def _fused_kernel_available(q, k, v, scale, mask):
    """True/False from MLX's own check, or a string when this MLX cannot say (no force_fused)."""
    try:
        mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=mask, force_fused=True)  # lazy: not evaluated
    except TypeError:
        return f"unknown (mlx {mx.__version__} has no force_fused)"
    except ValueError:
        return False
    return True


def _naive(adapter, params, scale):
    keep = adapter.from_numpy(causal_mask(params["l"])) if params["causal"] else None

    def attend(q, k, v):
        scores = mx.matmul(q, mx.swapaxes(k, -1, -2)) * scale
        if keep is not None:
            scores = mx.where(keep, scores, float("-inf"))
        return mx.matmul(mx.softmax(scores, axis=-1, precise=True), v)

    return attend


def build(adapter, params, dtype, mode, inputs):
    variant = params["variant"]
    if variant == "cudnn":
        raise Unsupported(cudnn_unsupported("mlx"))
    q, k, v = (adapter.from_numpy(inputs[name], dtype) for name in ("q", "k", "v"))
    scale = scale_of(params)
    if variant == "fused":
        mask = "causal" if params["causal"] else None

        def attend(q, k, v):
            return mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=mask)

        info = {"path": "mx.fast.scaled_dot_product_attention", "fused": _fused_kernel_available(q, k, v, scale, mask)}
        if adapter.device == "cpu":
            info["note"] = "the MLX CPU backend has no fused attention kernel: this runs unfused ops"
    else:
        attend = _naive(adapter, params, scale)
        info = {"path": "matmul, softmax, matmul (mx ops)"}
    if mode == "compiled":
        attend = adapter.compile(attend)
        info["compiler"] = "mx.compile"
    return Built(lambda: attend(q, k, v), info)
