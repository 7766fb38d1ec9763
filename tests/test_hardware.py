"""Hardware peak table: lookup by device name, Apple GPU configurations, no guessing for unknown parts."""

from __future__ import annotations

import pytest

from bench.hardware import FORMATS, lookup, table


@pytest.mark.parametrize(
    "device_name, expected",
    [
        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM"),
        ("NVIDIA H100 PCIe", "NVIDIA H100 PCIe"),
        ("NVIDIA H100 NVL", "NVIDIA H100 NVL"),
        ("NVIDIA H200", "NVIDIA H200 SXM"),
        ("NVIDIA H200 NVL", "NVIDIA H200 NVL"),
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 SXM4 80GB"),
        ("NVIDIA A100-SXM4-40GB", "NVIDIA A100 SXM4 40GB"),
        ("NVIDIA A100 80GB PCIe", "NVIDIA A100 PCIe 80GB"),
        ("NVIDIA A100-PCIE-40GB", "NVIDIA A100 PCIe 40GB"),
        ("NVIDIA L4", "NVIDIA L4"),
        ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090"),
        ("Apple M3 Max", "Apple M3 Max"),
        ("Apple M3", "Apple M3"),
        ("Apple M1 Ultra", "Apple M1 Ultra"),
        ("Apple M5", "Apple M5"),
    ],
)
def test_lookup_by_device_name(device_name, expected):
    assert lookup(device_name).name == expected


@pytest.mark.parametrize(
    "device_name",
    [
        "NVIDIA H100",  # SXM or PCIe? ambiguous: no peak rather than a guess
        "NVIDIA GH200 480GB",
        "NVIDIA L40S",
        "NVIDIA GeForce RTX 4090 D",
        "NVIDIA GeForce RTX 4090 Laptop GPU",
        "Apple M5 Pro",
        "AMD EPYC",
        "METAL",
        "",
        None,
    ],
)
def test_unknown_or_ambiguous_devices_have_no_peak(device_name):
    assert lookup(device_name) is None


def test_every_row_is_found_by_its_own_name_and_cites_a_source():
    for peak in table():
        assert lookup(peak.name).name == peak.name
        assert peak.source and set(peak.tflops) <= set(FORMATS)
        assert peak.bandwidth_gbs and peak.bandwidth_gbs > 0


def test_nvidia_figures_are_dense_datasheet_values():
    h100 = lookup("NVIDIA H100 80GB HBM3")
    assert h100.tflops == {"fp32": 67.0, "tf32": 494.5, "bf16": 989.5, "fp16": 989.5}  # datasheet 989*/1,979* with sparsity, halved
    assert h100.bandwidth_gbs == 3350.0 and not h100.estimate
    assert h100.compute_tflops("fp32") == (67.0, "fp32")
    assert h100.compute_tflops("fp32", allow_tf32=True) == (494.5, "tf32")
    assert lookup("NVIDIA A100-SXM4-80GB").bandwidth_gbs == 2039.0


def test_apple_peaks_follow_the_gpu_configuration():
    full = lookup("Apple M3 Max", gpu_cores=40)
    binned = lookup("Apple M3 Max", gpu_cores=30)
    assert (full.tflops["fp32"], full.bandwidth_gbs) == (14.3, 400.0)
    assert binned.bandwidth_gbs == 300.0 and binned.tflops["fp32"] == pytest.approx(14.3 * 30 / 40, abs=0.01)
    assert binned.estimate and "scaled" in binned.note
    assert "not recorded" in lookup("Apple M3 Max").note  # core count unknown: says which configuration it assumed
    assert lookup("Apple M1 Max", gpu_cores=32).estimate is False  # Apple published M1-family TFLOPS
    assert lookup("Apple M2 Max", gpu_cores=38).estimate is True  # third-party FP32 figure
    assert lookup("Apple M2", gpu_cores=10).tflops["fp16"] == lookup("Apple M2", gpu_cores=10).tflops["fp32"]
    assert "bf16" not in lookup("Apple M4 Max", gpu_cores=40).tflops  # no published bf16 rate
    m5 = lookup("Apple M5", gpu_cores=10)
    assert m5.tflops == {} and m5.bandwidth_gbs == 153.0  # no FP32 figure published: bandwidth only


def test_generic_apple_gpu_name_falls_back_to_the_machine_chip():
    assert lookup("METAL", gpu_cores=19, fallback_chip="Apple M2 Pro").name == "Apple M2 Pro"
    assert lookup("METAL", fallback_chip="AMD EPYC") is None
