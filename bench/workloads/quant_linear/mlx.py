"""quant_linear in MLX: the native ``mx.quantized_matmul`` (affine mode: w = scale·q + bias per
group, codes packed LSB-first into uint32) fed with our own packed codes; dense baseline
``x @ w.T``. ``mx.compile`` wraps the call when compiled.

MLX has no per-channel int8: it runs as 8-bit affine groups (the largest of 128/64/32 dividing
k) with codes q + 128 and bias -128·scale, which dequantize to exactly q·scale.
API: ``mx.quantized_matmul(x, w, /, scales, biases, transpose=True, group_size, bits,
mode="affine")``; affine groups 32/64/128, bits 2-6 or 8, scales "same as input"
(ml-explore.github.io/mlx/build/html/python/_autosummary/mlx.core.quantized_matmul and
mlx.core.quantize). The same call runs on Metal and on the CPU, on the adapter's default device.
"""

import mlx.core as mx

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.quant_linear.common import stored_bytes, upload
from bench.workloads.quant_linear.packing import int8_as_affine, pack_lsb_first

CPU_ACCUMULATION_NOTE = (
    "MLX's CPU qmm accumulates in the activation dtype where its SIMD path does not apply "
    "(mlx/backend/cpu/quantized.cpp _qmm_t, 'T sum'); measured with mlx-cpu 0.32.4 on x86-64, "
    "the relative error grows ~sqrt(k): bf16 2.7e-2 at k=512, 7.5e-2 at k=4096"
)
MLX_GROUPS = (128, 64, 32)  # affine group sizes (mlx.core.quantize docs, quantization modes table)


def _affine_operands(params, inputs):
    """(packed uint32 [n, k·bits/32], scales, biases [n, k/group]), group, bits."""
    if params["scheme"] == "int4":
        group = params["group"]
        return [pack_lsb_first(inputs["q"], 4), inputs["scale"], inputs["minimum"]], group, 4
    group = next((g for g in MLX_GROUPS if params["k"] % g == 0), None)
    if group is None:
        raise Unsupported(f"mx.quantized_matmul needs k divisible by 32 (group sizes {MLX_GROUPS}); k={params['k']}")
    codes, scales, biases = int8_as_affine(inputs["q"], inputs["scale"], group)
    return [pack_lsb_first(codes, 8), scales, biases], group, 8


def build(adapter, params, dtype, mode, inputs):
    scheme = params["scheme"]
    if scheme == "none":
        weights, path = [inputs["w"]], "dense x @ w.T (baseline)"

        def fn(x, *w):
            return x @ w[0].T
    else:
        weights, group, bits = _affine_operands(params, inputs)
        path = f"native kernel mx.quantized_matmul (affine, {bits}-bit, group {group})"
        if scheme == "int8":
            path += " emulating int8 per channel"

        def fn(x, *w):
            wq, scales, biases = w
            return mx.quantized_matmul(x, wq, scales, biases, transpose=True, group_size=group, bits=bits)

    if mode == "compiled":
        fn = adapter.compile(fn)
        path += " (mx.compile)"
    operands = upload(adapter, [inputs["x"], *weights], dtype)
    info = {"path": path, "native_kernel": scheme != "none", "weight_bytes": stored_bytes(weights, dtype)}
    if scheme != "none" and adapter.device == "cpu":
        info["note"] = CPU_ACCUMULATION_NOTE
    return Built(lambda: fn(*operands), info)
