"""Minimal reproduction: a weight-only quantized linear lowered to XNNPACK returns wrong results.

torchao's ``IntxWeightOnlyConfig`` (int8 per channel, int4 per group) exported with ``torch.export`` and
lowered with ``XnnpackPartitioner`` runs, but its outputs are far from the same module run eagerly; the
error is about 1/scale, as if the dequantize scale were dropped. The dynamic-activation config lowers
correctly. Upstream's XNNPACK quantization doc says weight-only quantization is not supported
(pytorch/executorch docs/source/backends/xnnpack/xnnpack-quantization.md), yet the partitioner accepts
the pattern. This is why siliconbench's executorch quant_linear runs the workload's codes dequantized in
the graph instead (docs/deployment.md).

Found with executorch 1.5.1, torchao 0.18.0, torch 2.13.0+cpu on Linux x86_64. Run:
    python tools/executorch_weight_only_repro.py
"""

import torch
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
from executorch.exir import to_edge_transform_and_lower
from executorch.runtime import Runtime
from torchao.quantization import quantize_
from torchao.quantization.granularity import PerAxis, PerGroup
from torchao.quantization.quant_api import Int8DynamicActivationIntxWeightConfig, IntxWeightOnlyConfig

CONFIGS = [
    ("IntxWeightOnlyConfig int8 PerAxis(0)", IntxWeightOnlyConfig(weight_dtype=torch.int8, granularity=PerAxis(0))),
    ("IntxWeightOnlyConfig int4 PerGroup(32)", IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(32))),
    (
        "Int8DynamicActivationIntxWeightConfig int4 PerGroup(32)",
        Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int4, weight_granularity=PerGroup(32)),
    ),
]


def main() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 256)
    for name, config in CONFIGS:
        model = torch.nn.Linear(256, 128, bias=False).eval()
        quantize_(model, config)
        with torch.no_grad():
            eager = model(x)
        program = to_edge_transform_and_lower(torch.export.export(model, (x,)), partitioner=[XnnpackPartitioner()]).to_executorch()
        out = Runtime.get().load_program(program.buffer).load_method("forward").execute((x,))[0]
        print(f"{name}: |executorch - eager| / |eager| = {float((out - eager).norm() / eager.norm()):.3g}")


if __name__ == "__main__":
    main()
