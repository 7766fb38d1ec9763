"""The one ``build`` every workload gets on Core ML: the workload's exportable model, converted.

``build`` converts the model (``bench/deploy/coreml_convert.py``) in the case's compute precision and,
for a case with a ``compression`` parameter (bench/workloads/compression.py), compresses its weights;
both are recorded in ``info`` (``convert_s``, ``compress_s``, the op counts, the package size). The
float64 reference is computed from the weights the compressed model holds (decompressed by
coremltools), so the tolerance stays the dtype's: the check measures Core ML's arithmetic, and the
compression's own error on the weights is reported beside it (``info.weight_rel_error``). Loading
for the device's compute units (Core ML compiles the model) is the first call, the way a compiler's
first call is; every call after it is ``MLModel.predict(feed)``.

On the first call the compute plan (macOS 14.4+) records where Core ML means to run each op:
``info.compute_plan`` counts ops per preferred device, ``info.ops_off_requested_unit`` lists the op types
that prefer the CPU although the case asked for the GPU or the Neural Engine (an op falling back from
the ANE shows there). Written against coremltools 9.0's documented API (models/compute_plan.py:
``MLComputePlan.load_from_path(path, compute_units)``, ``model_structure.program.functions["main"].block.operations``,
``get_compute_device_usage_for_mlprogram_operation(op).preferred_compute_device``); unverified here (no Mac).
"""

from __future__ import annotations

import collections
import shutil
import tempfile
import time
import weakref
from typing import Any

import numpy as np

from bench.backends.base import Unsupported
from bench.deploy import coreml_convert
from bench.workloads import compression as compression_param
from bench.workloads.base import Build, Built
from bench.workloads.exportable import module_hook

_ACCELERATOR_UNITS = ("gpu", "ane")  # devices on which an op preferring the CPU is a fallback worth naming


def compute_plan(mlmodel: Any, compute_unit: Any, device: str) -> dict[str, Any]:
    """Op counts per preferred compute device, and the op types that prefer the CPU on a gpu/ane case."""
    from coremltools.models.compute_plan import MLComputePlan

    plan = MLComputePlan.load_from_path(mlmodel.get_compiled_model_path(), compute_unit)
    per_device: collections.Counter[str] = collections.Counter()
    off: collections.Counter[str] = collections.Counter()
    for op in plan.model_structure.program.functions["main"].block.operations:
        usage = plan.get_compute_device_usage_for_mlprogram_operation(op)
        where = type(usage.preferred_compute_device).__name__ if usage is not None else "none (constant)"
        per_device[where] += 1
        if device in _ACCELERATOR_UNITS and where == "MLCPUComputeDevice":
            off[op.operator_name] += 1
    return {"compute_plan": dict(per_device), "ops_off_requested_unit": dict(off)}


def build_converted(adapter: Any, workload: str, params: dict[str, Any], dtype: str, inputs: dict[str, Any]) -> Built:
    compression = compression_param.of(params)
    exportable = module_hook(workload, adapter.framework)(adapter.framework, compression_param.without(params), "fp32", inputs)
    if compression != "none" and not exportable.weights:
        raise Unsupported(f"{workload}'s model has no weights to compress")
    if exportable.run is not None or exportable.initialized_buffers:
        # A model that carries state between calls (a KV cache) needs Core ML's stateful models (ct.StateType).
        raise Unsupported(f"{workload}'s model keeps state between calls; converting it as a Core ML stateful model is not implemented")
    start = time.perf_counter()
    try:
        mlmodel, names = coreml_convert.convert(exportable, dtype)
    except Exception as exc:  # the converter's own words: an op or a pattern Core ML has no conversion for
        raise Unsupported(f"conversion (torch.export, ct.convert) failed: {type(exc).__name__}: {str(exc).strip()[:800]}") from exc
    converted = time.perf_counter()
    mlmodel = coreml_convert.compress(mlmodel, compression)
    info: dict[str, Any] = {
        **exportable.info,
        "path": f"Core ML ML program ({dtype}), {coreml_convert.COMPRESSIONS[compression]}: {exportable.info.get('path', workload)}",
        "compute_units": adapter.compute_unit.name,
        "convert_s": round(converted - start, 3),
        "compress_s": round(time.perf_counter() - converted, 3),
        "ops": coreml_convert.op_counts(mlmodel),
        "mode": "converted ahead of time; eager and compiled cases run the same model",
        "timed_call": "MLModel.predict(feed): NumPy in, NumPy out",
    }
    reference_inputs = None
    if compression != "none":
        held = coreml_convert.weight_inputs(exportable, inputs, coreml_convert.decompressed_weights(mlmodel, names))
        reference_inputs = compression_param.holding(inputs, compression, held)
        info["compressed_weights"] = len(held)
        info["weight_rel_error"] = {k: float(np.linalg.norm(v - inputs[k]) / np.linalg.norm(inputs[k])) for k, v in held.items()}
    folder = tempfile.mkdtemp(prefix="siliconbench-coreml-")
    info["package_bytes"] = coreml_convert.package_bytes(mlmodel, f"{folder}/model.mlpackage")
    input_names = [i.name for i in mlmodel.get_spec().description.input]
    output_names = [o.name for o in mlmodel.get_spec().description.output]
    args = [arg.float() if arg.is_floating_point() else arg for arg in exportable.args]
    feed = {name: adapter.from_numpy(arg.numpy()) for name, arg in zip(input_names, args)}
    state: dict[str, Any] = {}

    def call() -> Any:
        loaded = state.get("model")
        if loaded is None:  # the first call loads the package for the compute units: Core ML compiles it
            import coremltools as ct

            start = time.perf_counter()
            loaded = state["model"] = ct.models.MLModel(f"{folder}/model.mlpackage", compute_units=adapter.compute_unit)
            info["load_s"] = round(time.perf_counter() - start, 3)
            try:
                info.update(compute_plan(loaded, adapter.compute_unit, adapter.device))
            except Exception as exc:  # macOS < 14.4, or a model without a program: the timing does not depend on it
                info["compute_plan"] = f"unavailable: {type(exc).__name__}: {exc}"
        return loaded.predict(feed)

    def to_numpy(out: dict[str, Any]) -> Any:
        import torch

        outs = [torch.from_numpy(np.asarray(out[name])) for name in output_names]
        if exportable.to_numpy is not None:
            return exportable.to_numpy(outs)
        return adapter.to_numpy(outs[0].numpy()) if len(outs) == 1 else [adapter.to_numpy(o.numpy()) for o in outs]

    built = Built(call, info, to_numpy, reference_inputs=reference_inputs)
    weakref.finalize(built, shutil.rmtree, folder, True)
    return built


def build_for(workload: str) -> Build:
    """The ``build`` of one workload's module in ``bench/deploy/coreml_workloads``."""

    def build(adapter, params, dtype, mode, inputs):
        return build_converted(adapter, workload, params, dtype, inputs)

    return build
