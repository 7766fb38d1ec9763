"""torch.export → ExecuTorch edge program → delegate → .pte bytes → a loaded ``forward``.

Upstream sources (pytorch/executorch v1.5.1):
- ``executorch.exir.to_edge_transform_and_lower``, ``.to_executorch().buffer``: exir/program/_program.py
- ``XnnpackPartitioner(**kwargs)`` (kwargs reach the op configs, e.g. ``force_non_static_weights_for_f32_linear``,
  backends/xnnpack/partition/config/gemm_configs.py): backends/xnnpack/partition/xnnpack_partitioner.py;
  ``get_transform_passes``: backends/xnnpack/utils/configs.py
- ``CoreMLPartitioner``, ``CoreMLBackend.generate_compile_specs(compute_unit=, minimum_deployment_target=,
  compute_precision=)``: backends/apple/coreml/partition/coreml_partitioner.py, compiler/coreml_preprocess.py
- ``MetalPartitioner``, ``MetalBackend.generate_method_name_compile_spec``: backends/apple/metal/metal_partitioner.py,
  metal_backend.py (AOTInductor, marked experimental upstream)
- ``get_delegation_info``: devtools/backend_debug/delegation_info.py
- ``Runtime.get().load_program(bytes).load_method("forward")``: runtime/__init__.py
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# Nodes every graph has that are no operator: left out of the portable-op list.
_GLUE = {"getitem", "output", "placeholder"}


class LoweringError(Exception):
    """Export or lowering failed; the message names the stage and keeps the exporter's own words."""

    def __init__(self, stage: str, exc: BaseException):
        super().__init__(f"{stage} failed: {type(exc).__name__}: {str(exc).strip()[:800]}")
        self.stage = stage


@dataclass
class Lowered:
    buffer: bytes
    seconds: dict[str, float]  # export, lower, serialize
    delegated_nodes: int
    non_delegated_nodes: int
    subgraphs: int
    ops: dict[str, tuple[int, int]] = field(default_factory=dict)  # op -> (delegated, not delegated)

    def portable_ops(self) -> list[str]:
        """Operators (some of) whose nodes run outside the delegate, in ExecuTorch's portable kernels."""
        return sorted(op for op, (_, rest) in self.ops.items() if rest and op not in _GLUE)

    def summary(self) -> dict[str, Any]:
        return {
            "delegated_nodes": self.delegated_nodes,
            "portable_nodes": self.non_delegated_nodes,
            "delegate_subgraphs": self.subgraphs,
            "portable_ops": self.portable_ops(),
            "pte_bytes": len(self.buffer),
            **{f"{stage}_s": round(s, 3) for stage, s in self.seconds.items()},
        }


def partitioners(delegate: str, dtype: str, runtime_weights: bool) -> list[Any]:
    """The partitioner list for ``delegate`` (``xnnpack``, ``coreml``, ``metal``) and the case's dtype."""
    if delegate == "xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        # Without it XNNPACK leaves an fp32 mm/linear whose weight is not a constant to portable kernels
        # (MMConfig._get_weight_deps in gemm_configs.py): matmul's b and in-graph dequantized weights.
        return [XnnpackPartitioner(force_non_static_weights_for_f32_linear=True) if runtime_weights else XnnpackPartitioner()]
    if delegate == "coreml":
        import coremltools as ct
        from executorch.backends.apple.coreml.compiler import CoreMLBackend
        from executorch.backends.apple.coreml.partition import CoreMLPartitioner

        precision = ct.precision.FLOAT16 if dtype == "fp16" else ct.precision.FLOAT32  # as the case's dtype
        specs = CoreMLBackend.generate_compile_specs(
            compute_unit=ct.ComputeUnit.ALL, minimum_deployment_target=ct.target.iOS18, compute_precision=precision
        )
        return [CoreMLPartitioner(compile_specs=specs)]
    if delegate == "metal":
        from executorch.backends.apple.metal.metal_backend import MetalBackend
        from executorch.backends.apple.metal.metal_partitioner import MetalPartitioner

        return [MetalPartitioner([MetalBackend.generate_method_name_compile_spec("forward")])]
    raise ValueError(f"unknown ExecuTorch delegate {delegate!r}")


def _transform_passes(delegate: str) -> Any:
    if delegate != "xnnpack":
        return None
    from executorch.backends.xnnpack.utils.configs import get_transform_passes

    return get_transform_passes()


def export_and_lower(
    module: Any, args: tuple, delegate: str, dtype: str, runtime_weights: bool = False, initialized: tuple[str, ...] = ()
) -> Lowered:
    """Export ``module`` on ``args`` (static shapes), lower it to ``delegate``, serialise the program; LoweringError on failure.

    ``initialized``: mutable buffers (names or parts of names) that keep their exported values as the program's
    starting state (``InitializedMutableBufferPass``, exir/passes/init_mutable_pass.py).
    """
    import torch
    from executorch.devtools.backend_debug import get_delegation_info
    from executorch.exir import to_edge_transform_and_lower

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    try:
        exported = torch.export.export(module, args, strict=True)
    except Exception as exc:
        raise LoweringError("torch.export", exc) from exc
    seconds["export"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        edge = to_edge_transform_and_lower(
            exported, transform_passes=_transform_passes(delegate), partitioner=partitioners(delegate, dtype, runtime_weights)
        )
        info = get_delegation_info(edge.exported_program().graph_module)
    except Exception as exc:
        raise LoweringError(f"to_edge_transform_and_lower ({delegate})", exc) from exc
    seconds["lower"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        config = None
        if initialized:
            from executorch.exir import ExecutorchBackendConfig
            from executorch.exir.passes.init_mutable_pass import InitializedMutableBufferPass

            config = ExecutorchBackendConfig(passes=[InitializedMutableBufferPass(list(initialized))])
        buffer = edge.to_executorch(config).buffer
    except Exception as exc:
        raise LoweringError("to_executorch", exc) from exc
    seconds["serialize"] = time.perf_counter() - start
    ops = {op: (b.delegated, b.non_delegated) for op, b in info.delegation_by_operator.items()}
    return Lowered(buffer, seconds, info.num_delegated_nodes, info.num_non_delegated_nodes, info.num_delegated_subgraphs, ops)


class Forward:
    """A loaded program's ``forward``. The Program is kept with its Method: the Method's native object
    points into the Program, and calling it after the Program was freed crashes the process."""

    def __init__(self, program: Any):
        self.program = program
        self.method = program.load_method("forward")

    def execute(self, args: tuple) -> Any:
        return self.method.execute(args)


def load_forward(buffer: bytes) -> Forward:
    """The ``forward`` method of a .pte held in memory, through ExecuTorch's Python runtime."""
    from executorch.runtime import Runtime

    try:
        return Forward(Runtime.get().load_program(buffer))
    except Exception as exc:  # e.g. a delegate that rejects the lowered graph at init (XNNCompiler)
        raise LoweringError("Runtime.load_method", exc) from exc
