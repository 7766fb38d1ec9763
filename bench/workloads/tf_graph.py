"""TensorFlow graph helpers for workloads: per-call grappler remapping, and the kernels a graph ran.

Remapping: ``tf.config.optimizer.set_experimental_options({"remapping": False})`` is process-global
and TF reads it on every function call (a function already traced re-instantiates with the new
setting: checked on TF 2.21). So instead of flipping the global, ``with_remapping`` installs, for
the duration of one call, a copy of the thread's function-call options with only
``RewriterConfig.remapping`` changed: the same ``config_proto`` attribute every eager call of a
``tf.function`` carries (``tensorflow/python/eager/context.py``: ``Context.function_call_options``,
``Context.call_function``). Swapping the options object costs ~2 µs and leaves no state behind.

Kernels: with ``context.enable_run_metadata()``, the first call of a function (its instantiation)
exports the partition graphs grappler produced; fused convs show up as ``_FusedConv2D`` or, with
oneDNN, ``_MklNativeFusedConv2D`` with a ``fused_ops`` attribute (tensorflow ``core/grappler/optimizers/remapper.cc``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context

_NOT_KERNELS = {"_Arg", "_Retval", "NoOp", "Const", "Identity", "_Send", "_Recv", "_HostSend", "_HostRecv"}


def with_remapping(fn: Callable, remap: bool) -> Callable:
    """Wrap a ``tf.function`` so each call runs with grappler's remapper on or off."""
    ctx = context.context()
    current = ctx.function_call_options
    config = config_pb2.ConfigProto.FromString(current.config_proto_serialized)
    toggle = rewriter_config_pb2.RewriterConfig
    config.graph_options.rewrite_options.remapping = toggle.ON if remap else toggle.OFF
    options = context.FunctionCallOptions(executor_type=current.executor_type, config_proto=config)

    def call(*args):
        saved = ctx.function_call_options
        ctx.function_call_options = options
        try:
            return fn(*args)
        finally:
            ctx.function_call_options = saved

    return call


def kernels_of_first_call(fn: Callable, *args: Any) -> list[str]:
    """Ops of the optimised graph of ``fn``'s first call, as ``Op`` or ``Op[fused, ops]``.

    ``fn`` must not have been called yet: metadata is exported only when a function is instantiated.
    """
    context.enable_run_metadata()
    try:
        # Graphs instantiated earlier (even while metadata was off, e.g. by eager casts) are held
        # until the next export: flush them so that only fn's graphs remain.
        context.export_run_metadata()
        fn(*args)
        metadata = context.export_run_metadata()
    finally:
        context.disable_run_metadata()
    kernels = []
    for function_graph in metadata.function_graphs:
        for graph in function_graph.partition_graphs:
            for node in graph.node:
                if node.op in _NOT_KERNELS:
                    continue
                fused = [op.decode() for op in node.attr["fused_ops"].list.s]
                kernels.append(f"{node.op}[{', '.join(fused)}]" if fused else node.op)
    return kernels


def onednn_enabled() -> bool | None:
    """Whether this TF runs oneDNN custom ops (the remapper's conv+add(+act) fusions need them)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None
