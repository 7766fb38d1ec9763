"""sdpa in JAX.

fused / cudnn: ``jax.nn.dot_product_attention(..., implementation="xla" | "cudnn")`` on
(B, L, H, D) arrays (its layout, jax ``jax/_src/nn/functions.py``), transposed from the canonical
(B, H, L, D) outside the timed call and back in ``to_numpy``. ``xla`` is not a fused kernel: it
materialises scores and, for causal, the mask. ``cudnn`` needs CUDA and fp16/bf16
(``jax/_src/cudnn/fused_attention_stablehlo.py::check_is_flash_attention``).
naive: matmul → scale → where(mask) → softmax → matmul on (B, H, L, D).
"""

import jax
import jax.numpy as jnp

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.sdpa.spec import causal_mask, scale_of

_TO_BLHD = (0, 2, 1, 3)  # (B, H, L, D) <-> (B, L, H, D); its own inverse


def _check_cudnn(adapter, dtype):
    if adapter.device != "cuda":
        raise Unsupported(f"variant=cudnn needs CUDA (jax.nn.dot_product_attention implementation='cudnn'); this is jax:{adapter.device}")
    if dtype == "fp32":
        raise Unsupported("variant=cudnn needs fp16 or bf16 (cuDNN flash attention rejects fp32 Q/K/V)")


def _check_lowering(jitted, q, k, v):
    """Lower once (no XLA compile) so that a dot algorithm the platform lacks is ``unsupported``.

    jax.nn.dot_product_attention asks for the F16_F16_F32 dot algorithm on fp16 inputs; XLA:CPU
    rejects it at lowering, and the fallback in jax/_src/nn/functions.py catches that only outside jit.
    """
    try:
        jitted.lower(q, k, v)
    except ValueError as exc:
        if "is not supported by dot_general" in str(exc):
            raise Unsupported(f"jax.jit cannot lower this on {q.devices().pop().platform}: {exc}") from None
        raise


def _naive(adapter, params, scale):
    keep = adapter.from_numpy(causal_mask(params["l"])) if params["causal"] else None

    def attend(q, k, v):
        scores = jnp.matmul(q, jnp.swapaxes(k, -1, -2)) * scale
        if keep is not None:
            scores = jnp.where(keep, scores, -jnp.inf)
        return jnp.matmul(jax.nn.softmax(scores, axis=-1), v)

    return attend


def build(adapter, params, dtype, mode, inputs):
    variant = params["variant"]
    scale = scale_of(params)
    if variant == "naive":
        q, k, v = (adapter.from_numpy(inputs[name], dtype) for name in ("q", "k", "v"))
        attend = _naive(adapter, params, scale)
        info = {"path": "matmul, softmax, matmul (jnp ops)", "layout": "BHLD"}
        to_numpy = None
    else:
        if variant == "cudnn":
            _check_cudnn(adapter, dtype)
        implementation = "cudnn" if variant == "cudnn" else "xla"
        q, k, v = (adapter.from_numpy(inputs[name].transpose(_TO_BLHD), dtype) for name in ("q", "k", "v"))

        def attend(q, k, v):
            return jax.nn.dot_product_attention(q, k, v, scale=scale, is_causal=params["causal"], implementation=implementation)

        info = {"path": f"jax.nn.dot_product_attention(implementation={implementation!r})", "layout": "BLHD", "fused": implementation == "cudnn"}
        to_numpy = lambda out: adapter.to_numpy(out).transpose(_TO_BLHD)
    if mode == "compiled":
        attend = adapter.compile(attend)
        info["compiler"] = "jax.jit"
        _check_lowering(attend, q, k, v)
    return Built(lambda: attend(q, k, v), info, to_numpy)
