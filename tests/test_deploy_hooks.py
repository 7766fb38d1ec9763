"""The workloads' ``module`` hooks (bench/workloads/exportable.py): the model a deployment backend exports
computes the workload's reference, holds its weights where the hook says, and is in the case's dtype.

Torch only: the exporters are tested in tests/test_executorch.py and tests/test_coreml.py.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from bench import workloads
from bench.backends import Unsupported
from bench.workloads import compression

torch = pytest.importorskip("torch")

CASES = [
    ("matmul", {"mnk": [48, 40, 32]}),
    ("conv_add", {"nchw": [2, 8, 12, 12], "stride": 2, "act": "silu"}),
    ("sdpa", {"bhld": [1, 2, 16, 8], "causal": True, "variant": "fused"}),
    ("sdpa", {"bhld": [1, 2, 16, 8], "causal": True, "variant": "naive"}),
    ("quant_linear", {"m": 3, "kn": [64, 48], "scheme": "none"}),
    ("quant_linear", {"m": 3, "kn": [64, 48], "scheme": "int8"}),
    ("quant_linear", {"m": 3, "kn": [64, 48], "scheme": "int4", "group": 32}),
    ("yolo", {"size": 64, "batch": 1}),
]


def _exportable(name: str, params: dict, dtype: str):
    spec = workloads.get(name)
    params = spec.normalize(dict(params))
    inputs = spec.make_inputs(params, dtype, np.random.default_rng(spec.input_seed(params)))
    hook = importlib.import_module(f"bench.workloads.{name}.torch").module
    return spec, params, inputs, hook("test", params, dtype, inputs)


def _float64_outputs(exportable):
    """The hook's model run eagerly in float64: what the exported program is meant to compute."""
    model = exportable.module.double()
    args = tuple(a.double() if a.is_floating_point() else a for a in exportable.args)
    with torch.no_grad():
        out = model(*args)
    outs = list(out) if isinstance(out, tuple | list) else [out]
    if exportable.to_numpy is not None:
        return exportable.to_numpy(outs)
    return outs[0].numpy()


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{p.get('variant', p.get('scheme', ''))}" for n, p in CASES])
def test_hook_model_computes_the_reference(name, params):
    dtype = "fp16" if name == "quant_linear" else "fp32"  # quant_linear defines fp16/bf16 only
    spec, params, inputs, exportable = _exportable(name, params, dtype)
    ref = spec.reference(params, dtype, exportable.reference_inputs or inputs)
    # float64 on values exact in the dtype: only the order of summation differs from NumPy's
    assert spec.relative_error(_float64_outputs(exportable), ref) < 1e-12
    assert exportable.info.get("path")


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_hook_model_and_arguments_are_in_the_case_dtype(dtype):
    _, _, _, exportable = _exportable("conv_add", {"nchw": [1, 4, 6, 6]}, dtype)
    expected = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    assert {a.dtype for a in exportable.args} == {expected}
    assert {p.dtype for p in exportable.module.parameters()} == {expected}
    assert all(a.device.type == "cpu" for a in exportable.args)


@pytest.mark.parametrize(("name", "params"), [("conv_add", {"nchw": [1, 4, 6, 6]}), ("yolo", {"size": 32, "batch": 1})])
def test_hook_names_each_weight_and_the_input_it_comes_from(name, params):
    """``Exportable.weights`` maps every parameter to the make_inputs array it holds (the Core ML reference
    of a compressed model is rebuilt through it)."""
    _, _, inputs, exportable = _exportable(name, params, "fp32")
    state = exportable.module.state_dict()
    assert set(exportable.weights) == set(state)
    for parameter, key in exportable.weights.items():
        np.testing.assert_array_equal(state[parameter].numpy(), inputs[key])


def test_matmul_and_dequantized_weights_are_runtime_weights():
    assert _exportable("matmul", {"mnk": [8, 8, 8]}, "fp32")[3].runtime_weights
    assert _exportable("quant_linear", {"m": 1, "kn": [64, 32], "scheme": "int8"}, "fp16")[3].runtime_weights
    assert not _exportable("conv_add", {"nchw": [1, 4, 6, 6]}, "fp32")[3].runtime_weights


def test_quant_linear_model_holds_the_codes_not_a_dense_weight():
    _, _, inputs, exportable = _exportable("quant_linear", {"m": 1, "kn": [64, 32], "scheme": "int4", "group": 32}, "fp16")
    buffers = dict(exportable.module.named_buffers())
    assert buffers["q"].dtype == torch.uint8 and np.array_equal(buffers["q"].numpy(), inputs["q"])
    assert "w" not in buffers and "dequantized in the graph" in exportable.info["path"]


def test_hook_refuses_what_the_workload_reserves_for_other_frameworks():
    with pytest.raises(Unsupported, match="grappler"):
        _exportable("conv_add", {"nchw": [1, 4, 6, 6], "remap": False}, "fp32")
    with pytest.raises(Unsupported, match="cuDNN"):
        _exportable("sdpa", {"bhld": [1, 1, 8, 8], "variant": "cudnn"}, "fp16")


# -- the compression parameter (bench/workloads/compression.py) -------------------------------------


def test_compression_keeps_labels_and_inputs_of_the_dense_case():
    spec = workloads.get("conv_add")
    dense = spec.normalize({"nchw": [1, 4, 6, 6]})
    assert spec.normalize({"nchw": [1, 4, 6, 6], "compression": "none"}) == dense  # "none" leaves the label alone
    packed = spec.normalize({"nchw": [1, 4, 6, 6], "compression": "palettize4"})
    assert packed == {**dense, "compression": "palettize4"}
    assert spec.input_seed(packed) == spec.input_seed(dense)
    with pytest.raises(ValueError, match="compression must be one of"):
        spec.normalize({"nchw": [1, 4, 6, 6], "compression": "zip"})
    yolo = workloads.get("yolo")
    assert yolo.normalize({"size": 32, "batch": 1, "compression": "prune50"})["compression"] == "prune50"


def test_a_compressed_case_has_no_reference_from_dense_weights():
    """A backend that ran the dense weights cannot pass a compressed case: its reference raises Unsupported."""
    spec = workloads.get("conv_add")
    params = spec.normalize({"nchw": [1, 4, 6, 6], "compression": "int8_channel"})
    inputs = spec.make_inputs(params, "fp32", np.random.default_rng(0))
    with pytest.raises(Unsupported, match="compressed weights"):
        spec.reference(params, "fp32", inputs)
    held = compression.holding(inputs, "int8_channel", {"weight": inputs["weight"] * 0.5})
    np.testing.assert_allclose(spec.reference(params, "fp32", held), spec.reference(spec.normalize({"nchw": [1, 4, 6, 6]}), "fp32", held))
    with pytest.raises(Unsupported):  # weights of another compression do not count
        spec.reference(params, "fp32", compression.holding(inputs, "palettize4", {}))


def test_compressed_case_on_torch_is_unsupported_with_the_reason():
    from bench.runner.execute import run_case
    from bench.workloads import Case
    from tests.conftest import FAST_TIMING, cpu_adapter

    case = Case.make("conv_add", workloads.get("conv_add").normalize({"nchw": [1, 4, 6, 6], "compression": "palettize4"}), "fp32", "eager")
    record = run_case(cpu_adapter("torch"), case, FAST_TIMING)
    assert record.status == "unsupported" and "compressed weights" in (record.reason or "")
