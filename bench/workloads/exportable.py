"""What a workload's ``module`` hook returns: the PyTorch model a deployment backend exports.

A workload's ``torch.py`` may define, next to ``build``::

    def module(framework, params, dtype, inputs) -> Exportable

The deployment backends (``executorch``, ``coreml``; docs/deployment.md) export it with ``torch.export``
and lower or convert it; they never see the workload's other modules. The hook is device-free: tensors
are CPU tensors made with ``torch.from_numpy``. Weights are parameters or buffers of the module (a
deployed model carries its weights, and XNNPACK delegates a conv or linear only when its weights are
constants); the case's runtime inputs are ``args``. ``framework`` names the backend asking, for the
reasons the hook gives when it raises ``bench.backends.Unsupported``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Exportable:
    module: Any  # torch.nn.Module in eval mode
    args: tuple[Any, ...]  # CPU tensors in the case's dtype, in forward's order
    info: dict[str, Any] = field(default_factory=dict)  # what the model computes and how ("path")
    # The model's linear/matmul weights are computed or passed at run time (matmul's b, in-graph
    # dequantization), not constants.
    runtime_weights: bool = False
    # The outputs (a list of tensors, forward's order) as NumPy arrays shaped like the reference; the
    # default is the single output as float64.
    to_numpy: Callable[[list[Any]], Any] | None = None
    # The weights as the model holds them, when they differ from make_inputs' (see Built.reference_inputs).
    reference_inputs: dict[str, Any] | None = None
    # Names of the make_inputs arrays that are weights inside ``module``: parameter or buffer name -> input name.
    weights: dict[str, str] = field(default_factory=dict)
    # The case's call when it is more than one forward (an LLM's decode steps): given the program's
    # ``forward(args) -> list of outputs``, run the call and return its outputs. None: ``forward(args)``.
    run: Callable[[Callable[[tuple], list[Any]]], Any] | None = None
    # Buffers the model mutates (a KV cache) whose values at export are the program's starting state (a
    # context already in the cache), by name or part of a name. Others start undefined in ExecuTorch.
    initialized_buffers: tuple[str, ...] = ()


def cpu_tensor(array: Any, dtype: str | None = None) -> Any:
    """A CPU tensor from a NumPy array (float64 becomes float32 first), cast to ``dtype`` when given."""
    import numpy as np
    import torch

    t = torch.from_numpy(np.ascontiguousarray(array))
    if t.dtype == torch.float64:
        t = t.float()
    return t.to({"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]) if dtype else t


def module_hook(workload: str, framework: str) -> Callable[..., Exportable]:
    """The workload's ``module`` hook (in its torch implementation); Unsupported when it has none."""
    from bench import workloads
    from bench.backends import Unsupported

    fn = getattr(workloads.implementation(workload, "torch"), "module", None)
    if fn is None:
        raise Unsupported(f"{workload} has no exportable PyTorch model (no module hook in its torch implementation) for {framework}")
    return fn
