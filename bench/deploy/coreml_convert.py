"""A workload's exportable model → Core ML ML program, optionally compressed; what the converted model holds.

Everything here runs wherever coremltools installs (Linux included); only prediction needs macOS.
Upstream sources (apple/coremltools 9.0):
- ``ct.convert(exported_program, convert_to="mlprogram", compute_precision=, minimum_deployment_target=,
  skip_model_load=)``: coremltools/converters/_converters_entry.py
- ``coremltools.optimize.coreml``: ``OpPalettizerConfig``, ``OpLinearQuantizerConfig``,
  ``OpMagnitudePrunerConfig``, ``OptimizationConfig`` (optimize/coreml/_config.py); ``palettize_weights``,
  ``linear_quantize_weights``, ``prune_weights`` (optimize/coreml/_post_training_quantization.py)
- the compressed weights as stored: ops ``constexpr_lut_to_dense``, ``constexpr_blockwise_shift_scale``,
  ``constexpr_sparse_to_dense`` (converters/mil/mil/ops/defs/iOS18/compression.py), each with
  ``materialized_val_inference()``: the dense value Core ML decompresses to
- ``MLModel._get_mil_internal()`` (models/model.py: available for models made by ``ct.convert``)
"""

from __future__ import annotations

import collections
import os
from typing import Any

import numpy as np

from bench.workloads.compression import COMPRESSIONS
from bench.workloads.exportable import Exportable

# The constexpr op each compression puts in front of a weight.
CONSTEXPR_OP = {
    "palettize4": "constexpr_lut_to_dense",
    "palettize6": "constexpr_lut_to_dense",
    "palettize8": "constexpr_lut_to_dense",
    "int4_block32": "constexpr_blockwise_shift_scale",
    "int8_channel": "constexpr_blockwise_shift_scale",
    "prune50": "constexpr_sparse_to_dense",
}
# Weights with fewer elements stay dense (biases, the smallest convs): coremltools' default threshold is 2048.
WEIGHT_THRESHOLD = 512


def op_config(compression: str) -> Any:
    import coremltools.optimize.coreml as cto

    if compression.startswith("palettize"):
        nbits = int(compression.removeprefix("palettize"))
        return cto.OpPalettizerConfig(nbits=nbits, mode="kmeans", granularity="per_tensor", weight_threshold=WEIGHT_THRESHOLD)
    if compression == "int4_block32":
        return cto.OpLinearQuantizerConfig(
            mode="linear_symmetric", dtype="int4", granularity="per_block", block_size=32, weight_threshold=WEIGHT_THRESHOLD
        )
    if compression == "int8_channel":
        return cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_channel", weight_threshold=WEIGHT_THRESHOLD)
    if compression == "prune50":
        return cto.OpMagnitudePrunerConfig(target_sparsity=0.5, weight_threshold=WEIGHT_THRESHOLD)
    raise ValueError(f"unknown compression {compression!r} (known: {', '.join(COMPRESSIONS)})")


def convert(exportable: Exportable, dtype: str) -> tuple[Any, dict[str, str]]:
    """(ML program, {exported placeholder name: parameter or buffer name}).

    The model is exported in float32 holding the case's values (make_inputs rounds them to the dtype), and
    Core ML computes in ``dtype`` (``compute_precision``). Deployment target iOS 18 / macOS 15: the first with
    per-block int4 (``constexpr_blockwise_shift_scale``).
    """
    import coremltools as ct
    import torch

    module = exportable.module.float()
    args = tuple(a.float() if a.is_floating_point() else a for a in exportable.args)
    exported = torch.export.export(module, args).run_decompositions({})
    signature = exported.graph_signature
    names = {**signature.inputs_to_parameters, **signature.inputs_to_buffers}
    precision = ct.precision.FLOAT16 if dtype == "fp16" else ct.precision.FLOAT32
    mlmodel = ct.convert(
        exported, convert_to="mlprogram", compute_precision=precision, minimum_deployment_target=ct.target.iOS18, skip_model_load=True
    )
    return mlmodel, names


def compress(mlmodel: Any, compression: str) -> Any:
    if compression == "none":
        return mlmodel
    import coremltools.optimize.coreml as cto

    config = cto.OptimizationConfig(global_config=op_config(compression))
    if compression.startswith("palettize"):
        return cto.palettize_weights(mlmodel, config)
    if compression == "prune50":
        return cto.prune_weights(mlmodel, config)
    return cto.linear_quantize_weights(mlmodel, config)


def _main_block(mlmodel: Any) -> Any:
    spec = mlmodel.get_spec()
    function = spec.mlProgram.functions["main"]
    return function.block_specializations[function.opset]


def op_counts(mlmodel: Any) -> dict[str, int]:
    """Op types of the ML program's main function and how often each occurs (Model.proto / MIL.proto)."""
    return dict(sorted(collections.Counter(op.type for op in _main_block(mlmodel).operations).items()))


def constexpr_dtypes(mlmodel: Any) -> dict[str, list[str]]:
    """For each constexpr op type, ``input:dtype`` of its stored tensors (e.g. ``indices:UINT4``, ``lut:FLOAT16``)."""
    from coremltools.proto import MIL_pb2

    names = {value: key for key, value in MIL_pb2.DataType.items()}
    out: dict[str, set[str]] = collections.defaultdict(set)
    for op in _main_block(mlmodel).operations:
        if not op.type.startswith("constexpr_"):
            continue
        for name, binding in op.inputs.items():
            for argument in binding.arguments:
                if argument.HasField("value") and argument.value.type.HasField("tensorType"):
                    out[op.type].add(f"{name}:{names[argument.value.type.tensorType.dataType]}")
    return {op: sorted(kinds) for op, kinds in sorted(out.items())}


def package_bytes(mlmodel: Any, path: str) -> int:
    """Saves the model as an .mlpackage at ``path``; its size on disk (weights included)."""
    mlmodel.save(path)
    return sum(os.path.getsize(os.path.join(folder, f)) for folder, _, files in os.walk(path) for f in files)


def decompressed_weights(mlmodel: Any, names: dict[str, str]) -> dict[str, np.ndarray]:
    """{parameter or buffer name: the dense value Core ML computes with}, for every compressed weight.

    A constexpr op's output is named after the exported placeholder it replaced (``p_weight`` becomes
    ``p_weight_to_fp16_palettized``): the longest placeholder name that prefixes it, followed by ``_`` or
    nothing, says which weight it is. A constexpr that maps to no weight raises: the reference would
    otherwise use weights the model does not hold.
    """
    program = mlmodel._get_mil_internal()
    out: dict[str, np.ndarray] = {}
    by_length = sorted(names, key=len, reverse=True)
    for op in program.functions["main"].operations:
        if not op.op_type.startswith("constexpr_"):
            continue
        output = op.outputs[0].name
        placeholder = next((p for p in by_length if output == p or output.startswith(p + "_")), None)
        if placeholder is None:
            raise ValueError(f"compressed weight {output!r} matches no parameter of the exported model")
        out[names[placeholder]] = np.asarray(op.materialized_val_inference(), dtype=np.float32)
    return out


def weight_inputs(exportable: Exportable, inputs: dict[str, np.ndarray], dense: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The decompressed weights under the workload's input names (``Exportable.weights``)."""
    out = {}
    for parameter, value in dense.items():
        key = exportable.weights.get(parameter)
        if key is None:
            raise ValueError(f"compressed parameter {parameter!r} is not one of the workload's weights ({', '.join(exportable.weights)})")
        if value.shape != inputs[key].shape:
            raise ValueError(f"compressed {parameter!r} has shape {value.shape}, the workload's {key!r} {inputs[key].shape}")
        out[key] = value
    return out
