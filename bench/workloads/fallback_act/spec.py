"""fallback_act: y = softshrink(x @ W1, λ) @ W2, a small sequential model for the CPU-fallback story.

Shapes: x[batch, dim], W1[dim, hidden], W2[hidden, dim] → y[batch, dim]; λ = 0.5.
softshrink(h) = h − λ if h > λ, h + λ if h < −λ, else 0.

Param ``act``:
- ``native``: each framework's own device op (``torch.nn.Softshrink``, ``mlx.nn.Softshrink``, a
  ``where`` expression in JAX and TF, which have no softshrink op);
- ``host``: the activation as an op with no device kernel, the way a missing kernel looks: a
  PyTorch custom op registered for the CPU only (on MPS it runs through PyTorch's CPU fallback
  when profiling; on CUDA PyTorch has no fallback, so the module copies to the host and back),
  ``jax.pure_callback``, ``tf.numpy_function`` (the CPU-only ``PyFunc`` op), and an MLX op on
  ``stream=mx.cpu``. On a CPU backend nothing falls back; on an accelerator the profile flags it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.dtypes import itemsize, round_to
from bench.workloads.base import Workload, check_positive_ints
from bench.workloads.tolerance import ErrorModel

LAMBDA = 0.5
ACTS = ("native", "host")


def softshrink(h: np.ndarray, lambd: float = LAMBDA) -> np.ndarray:
    """NumPy softshrink, also the host op's body in JAX and TF (same dtype in and out)."""
    zero = np.zeros((), dtype=h.dtype)
    return np.where(h > lambd, h - lambd, np.where(h < -lambd, h + lambd, zero)).astype(h.dtype)


class FallbackAct(Workload):
    name = "fallback_act"
    description = "Linear -> Softshrink -> Linear; act=host makes the activation a host-only op (CPU fallback)"
    required_params = ("batch", "dim", "hidden", "act")
    default_grid = {"batch": [128], "dim": [256], "hidden": [1024], "act": list(ACTS)}
    dtypes = ("fp32", "fp16", "bf16")
    modes = ("eager", "compiled")

    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        super().normalize(params)
        check_positive_ints(self.name, params, ("batch", "dim", "hidden"))
        if params["act"] not in ACTS:
            raise ValueError(f"fallback_act: act must be one of {', '.join(ACTS)}, got {params['act']!r}")
        unknown = set(params) - set(self.required_params)
        if unknown:
            raise ValueError(f"fallback_act: unknown parameter(s) {', '.join(sorted(unknown))}")
        return params

    def make_inputs(self, params, dtype, rng):
        b, d, h = params["batch"], params["dim"], params["hidden"]
        x = rng.standard_normal((b, d), dtype=np.float32)
        w1 = rng.standard_normal((d, h), dtype=np.float32) * np.float32(1.0 / np.sqrt(d))
        w2 = rng.standard_normal((h, d), dtype=np.float32) * np.float32(1.0 / np.sqrt(h))
        return {"x": round_to(x, dtype), "w1": round_to(w1, dtype), "w2": round_to(w2, dtype)}

    def reference(self, params, dtype, inputs):
        x, w1, w2 = (inputs[k].astype(np.float64) for k in ("x", "w1", "w2"))
        return softshrink(x @ w1) @ w2

    def flops(self, params):
        b, d, h = params["batch"], params["dim"], params["hidden"]
        return 4.0 * b * d * h + 2.0 * b * h

    def bytes_moved(self, params, dtype):
        b, d, h = params["batch"], params["dim"], params["hidden"]
        return float((2 * b * d + 2 * d * h) * itemsize(dtype))

    def canary_params(self, params):
        return {**params, "batch": params["batch"] * 2}

    def error_model(self, params):
        # Roundings: h = x @ W1 (softshrink subtracts λ = 0.5, so h's rounding is relative to |h| - λ:
        # E[h²] / E[(|h| - λ)²] over |h| > λ for h ~ N(0, 1) is 2.75, rounded up to 3), softshrink's
        # output (1), the output (1). Sums: dim, then hidden.
        return ErrorModel(roundings=5, reductions=(params["dim"], params["hidden"]))


SPEC = FallbackAct()
