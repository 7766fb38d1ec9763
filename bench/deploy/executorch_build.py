"""The one ``build`` every workload gets on ExecuTorch: the workload's exportable torch model, lowered.

``build_for(workload)`` is the ``build`` of ``bench/deploy/executorch_workloads/<workload>.py``. It takes
the model from the workload's ``module`` hook (bench/workloads/exportable.py), and on the first call
exports it (``torch.export``, static shapes), lowers it to the adapter's delegate, serialises and loads
the program: that first call is the case's ``first_call_s``, the way a compiler's first call is, and
``info`` gets the delegation summary (delegated and portable nodes, subgraphs, the ops left to portable
kernels, .pte size, seconds per stage). Every call after it is ``Method.execute(args)``.

ExecuTorch has no eager/compiled distinction: both modes run the same program (``info.mode``; the
second case reuses the first's program), so each row of a cross-framework table has the deployed
program beside that mode's torch, JAX, MLX and TensorFlow. The sync canary's doubled case is lowered
as its own static program: exported with a dynamic batch, XNNPACK leaves shape-dependent ops
(YOLO's channel slices, attention's reshapes) outside the delegate and splits the graph (YOLO-160:
11 subgraphs instead of 3, executorch 1.5.1), which is not the program a deployment would run.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from bench.backends.base import Unsupported
from bench.deploy.executorch_lower import Forward, LoweringError, export_and_lower, load_forward
from bench.workloads.base import Build, Built, params_key
from bench.workloads.exportable import Exportable, module_hook

MODE_NOTE = "ahead-of-time program (export + lowering); eager and compiled cases run the same program"

# The last lowered programs by case key: (forward, summary). Two: a suite interleaves dtypes between a
# case's eager and compiled entries, and a program holds its weights.
_recent: OrderedDict[tuple, tuple[Forward, dict[str, Any]]] = OrderedDict()
_RECENT = 2


def lower(adapter: Any, exportable: Exportable, dtype: str) -> tuple[Forward, dict[str, Any]]:
    """Export, lower, load; the delegation summary. Unsupported with the exporter's message on failure."""
    try:
        lowered = export_and_lower(
            exportable.module, exportable.args, adapter.delegate, dtype, exportable.runtime_weights, exportable.initialized_buffers
        )
        start = time.perf_counter()
        forward = load_forward(lowered.buffer)
    except LoweringError as exc:
        raise Unsupported(str(exc)) from exc
    if lowered.delegated_nodes == 0:
        raise Unsupported(f"nothing lowered to {adapter.delegate_name}; ops left to portable kernels: {', '.join(lowered.portable_ops())}")
    return forward, {**lowered.summary(), "load_s": round(time.perf_counter() - start, 3)}


def build_exported(adapter: Any, workload: str, params: dict[str, Any], dtype: str, inputs: dict[str, Any]) -> Built:
    exportable: Exportable = module_hook(workload, adapter.framework)(adapter.framework, params, dtype, inputs)
    key = (workload, params_key(params), dtype, adapter.device)
    info: dict[str, Any] = {**exportable.info, "path": f"ExecuTorch program, {adapter.delegate_name}: {exportable.info.get('path', workload)}"}
    info["mode"] = MODE_NOTE
    info["timed_call"] = "Method.execute(args): inputs set, program run, outputs copied"
    args = exportable.args
    state: dict[str, Any] = {}

    def call() -> Any:
        forward = state.get("forward")
        if forward is None:  # the first call exports, lowers and loads, or takes the same case's program
            if key in _recent:
                _recent.move_to_end(key)
                forward, summary = _recent[key]
                summary = {**summary, "program": "reused: the same case's program (other mode)"}
            else:
                while len(_recent) >= _RECENT:  # release before lowering the next
                    _recent.popitem(last=False)
                forward, summary = lower(adapter, exportable, dtype)
                _recent[key] = (forward, summary)
            info.update(summary)
            state["forward"] = forward
        return forward.execute(args) if exportable.run is None else exportable.run(forward.execute)

    def to_numpy(outs: Any) -> Any:
        if exportable.to_numpy is not None:
            return exportable.to_numpy(outs)
        return adapter.to_numpy(outs[0]) if len(outs) == 1 else [adapter.to_numpy(o) for o in outs]

    return Built(call, info, to_numpy, reference_inputs=exportable.reference_inputs)


def build_for(workload: str) -> Build:
    """The ``build`` of one workload's module in ``bench/deploy/executorch_workloads``."""

    def build(adapter, params, dtype, mode, inputs):
        return build_exported(adapter, workload, params, dtype, inputs)

    return build
