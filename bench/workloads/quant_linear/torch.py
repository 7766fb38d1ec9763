"""quant_linear in PyTorch: the native weight-only kernels (private ATen ops), dense baseline
``F.linear``. ``torch.compile`` wraps the call when compiled.

Kernels and their constraints (torchgen ``native_functions.yaml`` dispatch; sources below):
- int8: ``torch._weight_int8pack_mm(x, q int8 [n, k], scale [n])`` on CPU, CUDA and MPS; the
  CPU kernel wants ``scale`` in x's dtype. MPS needs n and k divisible by 32
  (``aten/src/ATen/native/mps/operations/Quantized.mm``). The CUDA kernel converts x and scale
  to fp32 and runs a simple per-output kernel (``aten/src/ATen/native/cuda/int8mm.cu``): it is
  expected to be slower than the dense bf16 GEMM, and the suite shows it.
- int4 on CPU: ``_convert_weight_to_int4pack_for_cpu(q int32 [n, k], 2)`` then
  ``_weight_int4pack_mm_for_cpu(x, packed, group, qsz)``; fp32/fp16/bf16; n divisible by 16.
- int4 on CUDA: ``_convert_weight_to_int4pack(uint8 [n, k/2], innerKTiles)`` then
  ``_weight_int4pack_mm(x, packed, group, qsz)`` (tinygemm, ``aten/src/ATen/native/cuda/int4mm.cu``):
  bf16 x and qsz only, sm80+, n divisible by 8, k divisible by innerKTiles·16.
- int4 on MPS: the same two ops (``Quantized.mm``; Metal kernel
  ``aten/src/ATen/native/mps/kernels/Quantized.metal``): fp32/fp16/bf16, n divisible by 8.
Both int4 kernels dequantize ``(q - 8)·scale + zero`` with ``qsz = [k/group, n, 2]`` of
(scale, zero), zero = minimum + 8·scale rounded to x's dtype; the reference uses the minimum
that implies (``packing.tinygemm_scales_and_zeros``).
"""

import torch
import torch.nn.functional as F

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.quant_linear.packing import pack_tinygemm_uint8, tinygemm_scales_and_zeros


def _inner_k_tiles(k: int) -> int:
    """The widest tinygemm k-tiling (8, 4 or 2 tiles of 16) that divides k."""
    return next(t for t in (8, 4, 2) if k % (t * 16) == 0)


def _int8(adapter, params, dtype, inputs):
    n, k = params["n"], params["k"]
    if adapter.device == "mps" and (n % 32 or k % 32):
        raise Unsupported(f"torch._weight_int8pack_mm on MPS needs n and k divisible by 32 (Quantized.mm); n={n}, k={k}")
    q = adapter.from_numpy(inputs["q"])
    scale = adapter.from_numpy(inputs["scale"], dtype)
    return (lambda x, q, s: torch._weight_int8pack_mm(x, q, s)), [q, scale], "torch._weight_int8pack_mm", None


def _int4_unsupported(adapter, params, dtype) -> str | None:
    n, k = params["n"], params["k"]
    if adapter.device == "cpu":
        return None if n % 16 == 0 else f"torch._convert_weight_to_int4pack_for_cpu needs n divisible by 16; n={n}"
    if n % 8:
        return f"torch._weight_int4pack_mm needs n divisible by 8 (8-wide n tiles); n={n}"
    if k % 32:
        return f"torch._weight_int4pack_mm needs k divisible by 32 (innerKTiles·16); k={k}"
    if adapter.device == "cuda":
        if dtype != "bf16":
            return f"torch._weight_int4pack_mm on CUDA takes bfloat16 activations only (int4mm.cu), not {dtype}"
        if torch.cuda.get_device_capability(adapter.native_device) < (8, 0):
            return "torch._weight_int4pack_mm on CUDA needs compute capability 8.0 or newer"
    return None


def _int4(adapter, params, dtype, inputs):
    why = _int4_unsupported(adapter, params, dtype)
    if why:
        raise Unsupported(why)
    group = params["group"]
    qsz_np, minimum_seen = tinygemm_scales_and_zeros(inputs["scale"], inputs["minimum"], dtype)
    qsz = adapter.from_numpy(qsz_np, dtype)  # exact: both columns already hold dtype values
    if adapter.device == "cpu":
        packed = torch._convert_weight_to_int4pack_for_cpu(adapter.from_numpy(inputs["q"].astype("int32")), 2)
        op, name = torch._weight_int4pack_mm_for_cpu, "torch._weight_int4pack_mm_for_cpu"
    else:
        tiles = _inner_k_tiles(params["k"])
        packed = torch._convert_weight_to_int4pack(adapter.from_numpy(pack_tinygemm_uint8(inputs["q"])), tiles)
        op, name = torch._weight_int4pack_mm, f"torch._weight_int4pack_mm (innerKTiles {tiles})"
    fn = lambda x, packed, qsz: op(x, packed, group, qsz)
    return fn, [packed, qsz], f"{name}, group {group}", {**inputs, "minimum": minimum_seen}


def build(adapter, params, dtype, mode, inputs):
    x = adapter.from_numpy(inputs["x"], dtype)
    scheme = params["scheme"]
    if scheme == "none":
        fn, weights, path, ref_inputs = F.linear, [adapter.from_numpy(inputs["w"], dtype)], "torch.nn.functional.linear (dense baseline)", None
    else:
        fn, weights, kernel, ref_inputs = (_int8 if scheme == "int8" else _int4)(adapter, params, dtype, inputs)
        path = f"native kernel {kernel}"
    if mode == "compiled":
        fn = adapter.compile(fn)
        path += " (torch.compile)"

    def call():
        with torch.inference_mode():
            return fn(x, *weights)

    info = {"path": path, "native_kernel": scheme != "none", "weight_bytes": int(sum(w.nbytes for w in weights))}
    return Built(call, info, reference_inputs=ref_inputs)


def dequantize(codes, scale, minimum=None, dtype=None):
    """W [n, k] from codes [n, k] in plain aten ops an exporter sees: int8 ``q·scale`` (scale [n]), or int4
    ``q·scale + minimum`` with scale and minimum [n, k/group] (groups along k), in ``dtype`` (scale's by default)."""
    n, k = codes.shape
    q = codes.to(dtype or scale.dtype)
    if minimum is None:
        return q * scale[:, None]
    groups = scale.shape[1]
    return (q.view(n, groups, k // groups) * scale[..., None] + minimum[..., None]).view(n, k)


class DequantLinear(torch.nn.Module):
    """``F.linear(x, W)`` with W dequantized in the graph (``dequantize``) from int8/uint8 codes held as
    buffers; scheme none holds W itself."""

    def __init__(self, w=None, q=None, scale=None, minimum=None):
        super().__init__()
        for name, value in (("w", w), ("q", q), ("scale", scale), ("minimum", minimum)):
            self.register_buffer(name, value)

    def forward(self, x):
        if self.w is not None:
            return F.linear(x, self.w)
        return F.linear(x, dequantize(self.q, self.scale, self.minimum, x.dtype))


def module(framework, params, dtype, inputs):
    """The deployment backends' model (bench/workloads/exportable.py): the same codes, scales and minimums
    as every framework, dequantized in the graph each call (docs/deployment.md says why not the
    exporters' own weight-only path)."""
    from bench.workloads.exportable import Exportable, cpu_tensor

    x = cpu_tensor(inputs["x"], dtype)
    scheme = params["scheme"]
    if scheme == "none":
        model = DequantLinear(w=cpu_tensor(inputs["w"], dtype))
        return Exportable(model.eval(), (x,), {"path": "F.linear, W as a weight (dense baseline)"})
    floats = {name: cpu_tensor(inputs[name], dtype) for name in ("scale", "minimum") if name in inputs}
    model = DequantLinear(q=cpu_tensor(inputs["q"]), **floats)
    path = f"{scheme} codes as buffers, dequantized in the graph ({'q·scale' if scheme == 'int8' else 'q·scale + minimum'}) + F.linear"
    info = {"path": path, "weight_bytes": int(sum(b.nbytes for b in model.buffers()))}
    return Exportable(model.eval(), (x,), info, runtime_weights=True)
