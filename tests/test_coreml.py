"""coreml: conversion and compression run here (Linux); prediction needs macOS, so the backend is
``unavailable`` off macOS with that reason (docs/deployment.md, docs/apple-silicon.md).

What is checked without a Mac: the workloads' models convert to ML programs with the expected ops; each
compression puts its constexpr op with the expected stored types in front of the weights and shrinks the
package as its bits say; the weights coremltools decompresses are within the compression's error of the
originals and land on the right workload inputs, so the float64 reference of a compressed case is the
reference of the model Core ML runs.
"""

from __future__ import annotations

import importlib
import platform
import types

import numpy as np
import pytest

from bench import workloads
from bench.backends.coreml import CoremlAdapter
from bench.runner.worker import start_backend

ct = pytest.importorskip("coremltools", reason="coremltools is not installed (pip install 'siliconbench[coreml]')")
torch = pytest.importorskip("torch")

from bench.deploy import coreml_build, coreml_convert  # noqa: E402  (needs coremltools)

# compression -> (constexpr op, stored tensor types, largest package size relative to fp16 dense, weight error bound)
EXPECTED = {
    "palettize4": ("constexpr_lut_to_dense", ["indices:UINT4", "lut:FLOAT16"], 0.35, 0.15),
    "palettize6": ("constexpr_lut_to_dense", ["indices:UINT6", "lut:FLOAT16"], 0.48, 0.04),
    "palettize8": ("constexpr_lut_to_dense", ["indices:UINT8", "lut:FLOAT16"], 0.60, 0.01),
    "int4_block32": ("constexpr_blockwise_shift_scale", ["data:INT4", "scale:FLOAT16"], 0.35, 0.20),
    "int8_channel": ("constexpr_blockwise_shift_scale", ["data:INT8", "scale:FLOAT16"], 0.60, 0.01),
    "prune50": ("constexpr_sparse_to_dense", ["mask:UINT1", "nonzero_data:FLOAT16"], 0.65, 0.35),
}
CONV = {"nchw": [1, 64, 8, 8], "act": "silu"}  # W: 64·64·9 = 36864 weights, 72 KiB in fp16


def _case(name: str, params: dict, dtype: str = "fp16"):
    spec = workloads.get(name)
    params = spec.normalize(dict(params))
    inputs = spec.make_inputs(params, dtype, np.random.default_rng(spec.input_seed(params)))
    exportable = importlib.import_module(f"bench.workloads.{name}.torch").module("coreml", params, "fp32", inputs)
    return spec, params, inputs, exportable


@pytest.fixture(scope="module")
def conv():
    spec, params, inputs, exportable = _case("conv_add", CONV)
    mlmodel, names = coreml_convert.convert(exportable, "fp16")
    return types.SimpleNamespace(spec=spec, params=params, inputs=inputs, exportable=exportable, mlmodel=mlmodel, names=names)


def test_unavailable_off_macos_says_why(monkeypatch):
    """What ``doctor`` prints: the worker's hello for every compute unit."""
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    for device in CoremlAdapter.devices:
        reply, adapter = start_backend({"framework": "coreml", "device": device})
        assert adapter is None and not reply["available"]
        assert "Core ML prediction needs macOS" in reply["reason"] and "conversion and compression run here" in reply["reason"]


def test_devices_are_compute_units():
    from bench.backends.coreml import COMPUTE_UNITS

    assert CoremlAdapter.devices == ("cpu", "gpu", "ane", "all")
    assert {getattr(ct.ComputeUnit, unit) for unit in COMPUTE_UNITS.values()} == set(ct.ComputeUnit)


def test_conv_add_converts_to_an_ml_program_in_fp16(conv):
    ops = coreml_convert.op_counts(conv.mlmodel)
    assert ops["conv"] == 1 and ops["add"] == 1 and ops["silu"] == 1 and ops["cast"] == 2  # fp32 I/O, fp16 inside
    assert not coreml_convert.constexpr_dtypes(conv.mlmodel)
    assert conv.names == {"p_weight": "weight", "p_bias": "bias"}
    assert [i.name for i in conv.mlmodel.get_spec().description.input] == ["x", "r"]


@pytest.mark.parametrize("compression", list(EXPECTED))
def test_compression_stores_what_it_says_and_shrinks_the_model(conv, compression, tmp_path):
    op, stored, size_ratio, weight_error = EXPECTED[compression]
    packed = coreml_convert.compress(conv.mlmodel, compression)
    assert coreml_convert.op_counts(packed).get(op) == 1  # W only: the bias is under the weight threshold
    assert coreml_convert.constexpr_dtypes(packed) == {op: stored}
    dense_bytes = coreml_convert.package_bytes(conv.mlmodel, str(tmp_path / "dense.mlpackage"))
    assert coreml_convert.package_bytes(packed, str(tmp_path / "packed.mlpackage")) < size_ratio * dense_bytes

    held = coreml_convert.weight_inputs(conv.exportable, conv.inputs, coreml_convert.decompressed_weights(packed, conv.names))
    assert set(held) == {"weight"}
    w = conv.inputs["weight"]
    error = np.linalg.norm(held["weight"] - w) / np.linalg.norm(w)
    assert 0 < error < weight_error
    if compression == "prune50":
        assert abs(np.mean(held["weight"] == 0) - 0.5) < 0.01


def test_reference_of_a_compressed_case_is_what_the_model_computes(conv):
    """The reference from the decompressed weights equals the torch model holding those weights (float64):
    the weights landed on the right inputs. With 4-bit weights it is far from the dense reference, beyond
    the fp16 tolerance: checking against the dense weights would measure the compression, not Core ML."""
    packed = coreml_convert.compress(conv.mlmodel, "palettize4")
    held = coreml_convert.weight_inputs(conv.exportable, conv.inputs, coreml_convert.decompressed_weights(packed, conv.names))
    from bench.workloads import compression

    params = {**conv.params, "compression": "palettize4"}
    ref = conv.spec.reference(params, "fp16", compression.holding(conv.inputs, "palettize4", held))
    model = conv.exportable.module.double()
    model.weight.data = torch.from_numpy(held["weight"]).double()
    with torch.no_grad():
        out = model(*(a.double() for a in conv.exportable.args)).numpy()
    assert conv.spec.relative_error(out, ref) < 1e-12
    dense_ref = conv.spec.reference(conv.params, "fp16", conv.inputs)
    assert conv.spec.relative_error(ref, dense_ref) > 10 * conv.spec.tolerance("fp16", False)


def test_build_converts_compresses_and_only_prediction_needs_macos(conv):
    """The backend's build with a stand-in adapter: the compressed case's reference inputs pass the spec's
    check, info says what was built, and the first call (load + predict) raises coremltools' macOS error."""
    stand_in = types.SimpleNamespace(
        framework="coreml",
        device="ane",
        compute_unit=ct.ComputeUnit.CPU_AND_NE,
        from_numpy=lambda a: CoremlAdapter.from_numpy(None, a),
        to_numpy=lambda a: CoremlAdapter.to_numpy(None, a),
    )
    params = conv.spec.normalize({**CONV, "compression": "int4_block32"})
    built = coreml_build.build_converted(stand_in, "conv_add", params, "fp16", conv.inputs)
    conv.spec.reference(params, "fp16", built.reference_inputs)  # holds the compressed weights: no Unsupported
    assert built.info["ops"]["constexpr_blockwise_shift_scale"] == 1 and built.info["compute_units"] == "CPU_AND_NE"
    assert 0 < built.info["weight_rel_error"]["weight"] < 0.2 and built.info["package_bytes"] > 0
    if platform.system() != "Darwin":
        with pytest.raises(Exception, match="only supported on macOS"):
            built.fn()


@pytest.mark.slow
def test_yolo_converts_and_every_compressed_conv_maps_to_its_weight():
    _, _, inputs, exportable = _case("yolo", {"size": 64, "batch": 1})
    mlmodel, names = coreml_convert.convert(exportable, "fp16")
    ops = coreml_convert.op_counts(mlmodel)
    assert ops["conv"] == 63 and ops["upsample_nearest_neighbor"] == 2 and ops["max_pool"] == 3
    assert [o.name for o in mlmodel.get_spec().description.output] and len(mlmodel.get_spec().description.output) == 6
    packed = coreml_convert.compress(mlmodel, "int8_channel")
    held = coreml_convert.weight_inputs(exportable, inputs, coreml_convert.decompressed_weights(packed, names))
    big = {k for k, v in inputs.items() if k.endswith("/w") and v.size >= coreml_convert.WEIGHT_THRESHOLD}
    assert set(held) == big  # every conv weight above the threshold, each on its own input
    for key, value in held.items():
        assert np.linalg.norm(value - inputs[key]) / np.linalg.norm(inputs[key]) < 0.01, key
