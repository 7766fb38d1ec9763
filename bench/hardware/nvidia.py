"""Common NVIDIA parts: dense tensor-core and FP32 peaks and memory bandwidth, from NVIDIA's datasheets.

Datasheets print tensor-core TFLOPS "with sparsity" (marked *); the dense figure is half of it and
is what a dense GEMM can reach, so that is what the table holds. fp16 is the FP32-accumulate rate
(what frameworks use for fp16 matmul). Device names are as ``torch.cuda.get_device_name()`` and
``nvidia-smi`` print them, e.g. "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB".
"""

from __future__ import annotations

from bench.hardware.peaks import Peak, rule

H100_DATASHEET = "NVIDIA H100 Tensor Core GPU datasheet (resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet)"
H200_DATASHEET = "NVIDIA H200 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/h200)"
A100_DATASHEET = (
    "NVIDIA A100 Tensor Core GPU datasheet (nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
    "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf)"
)
L4_DATASHEET = "NVIDIA L4 Tensor Core GPU datasheet (nvidia.com/en-us/data-center/l4)"
ADA_WHITEPAPER = (
    "NVIDIA Ada GPU Architecture whitepaper v2.01, appendix table for GeForce RTX 4090 "
    "(images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf)"
)
DENSE = "tensor figures are dense (datasheet sparsity figures halved)"


def _part(name, fp32, tf32, bf16, fp16, bandwidth, source, match, note=DENSE) -> Peak:
    return Peak(
        name=name, tflops={"fp32": fp32, "tf32": tf32, "bf16": bf16, "fp16": fp16}, bandwidth_gbs=bandwidth, source=source, note=note, **match
    )


NVIDIA_PARTS = [
    _part("NVIDIA H100 NVL", 60.0, 417.5, 835.5, 835.5, 3900.0, H100_DATASHEET, rule("H100 NVL")),
    _part("NVIDIA H100 PCIe", 51.0, 378.0, 756.5, 756.5, 2000.0, H100_DATASHEET, rule("H100 PCIe")),
    _part("NVIDIA H100 SXM", 67.0, 494.5, 989.5, 989.5, 3350.0, H100_DATASHEET, rule("H100 HBM3", "H100 SXM", "H100 SXM5")),
    _part("NVIDIA H200 NVL", 60.0, 417.5, 835.5, 835.5, 4800.0, H200_DATASHEET, rule("H200 NVL")),
    _part("NVIDIA H200 SXM", 67.0, 494.5, 989.5, 989.5, 4800.0, H200_DATASHEET, rule("H200", none_of="NVL")),
    _part("NVIDIA A100 SXM4 80GB", 19.5, 156.0, 312.0, 312.0, 2039.0, A100_DATASHEET, rule("A100 SXM4 80GB", "A100 SXM 80GB")),
    _part("NVIDIA A100 SXM4 40GB", 19.5, 156.0, 312.0, 312.0, 1555.0, A100_DATASHEET, rule("A100 SXM4 40GB", "A100 SXM 40GB")),
    _part("NVIDIA A100 PCIe 80GB", 19.5, 156.0, 312.0, 312.0, 1935.0, A100_DATASHEET, rule("A100 PCIe 80GB")),
    _part("NVIDIA A100 PCIe 40GB", 19.5, 156.0, 312.0, 312.0, 1555.0, A100_DATASHEET, rule("A100 PCIe 40GB")),
    _part("NVIDIA L4", 30.3, 60.0, 121.0, 121.0, 300.0, L4_DATASHEET, rule("L4")),
    _part(
        "NVIDIA GeForce RTX 4090",
        82.6,
        82.6,
        165.2,
        165.2,
        1008.0,
        ADA_WHITEPAPER,
        rule("RTX 4090", none_of="D Laptop Mobile"),
        note="dense tensor figures with FP32 accumulate, as the whitepaper lists them",
    ),
]
