"""Rules that flag ops which ran on the host although the case runs on an accelerator.

Each tool exposes fallbacks differently:
- MPS: PyTorch's CPU fallback is instrumented; its exit table and ``PyTorchCPUFallbackIntervals``
  signposts name the op (``aten/src/ATen/mps/MPSFallback.mm``). Parsed in ``mps.py``/``xctrace.py``.
- torch.profiler on CUDA: PyTorch has no automatic CPU fallback for CUDA, so a host op shows up as
  a device-to-host copy, ops that launch no device work, then a host-to-device copy
  (``host_window_ops``).
- JAX: an op without a device kernel runs as a host callback (``jax.pure_callback``), an HLO
  custom call whose op name says ``callback``.
- TensorFlow: ``tf.numpy_function`` is the ``PyFunc``/``PyFuncStateless`` op, registered for the
  CPU only (``tensorflow/python/lib/core/py_func.cc``: ``REGISTER_KERNEL_BUILDER(Name("PyFunc").Device(DEVICE_CPU)``),
  so the placer puts it on the host with copies around it.
On a CPU case nothing can fall back: every rule returns nothing when the case device is ``cpu``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TF_HOST_ONLY_OPS = frozenset({"PyFunc", "PyFuncStateless"})


@dataclass
class Step:
    """One top-level op of a call, in time order, with what it launched on the device."""

    name: str
    kernels: tuple[str, ...] = ()

    @property
    def copies_to_host(self) -> bool:
        return any(_copy_kind(k) == "DtoH" for k in self.kernels)

    @property
    def copies_to_device(self) -> bool:
        return any(_copy_kind(k) == "HtoD" for k in self.kernels)


def _copy_kind(kernel_name: str) -> str | None:
    """CUPTI memcpy names as Kineto writes them: ``Memcpy DtoH (Device -> Pageable)``."""
    if not kernel_name.startswith("Memcpy"):
        return None
    for kind in ("DtoH", "HtoD", "DtoD", "HtoH", "PtoP"):
        if kind in kernel_name:
            return kind
    return None


def host_window_ops(steps: Iterable[Step], case_device: str) -> set[str]:
    """Ops that launched no device work between a device-to-host copy and the next host-to-device copy."""
    if case_device == "cpu":
        return set()
    flagged: set[str] = set()
    on_host = False
    for step in steps:
        if step.copies_to_host:
            on_host = True
        elif step.copies_to_device:
            on_host = False
        elif on_host and not step.kernels:
            flagged.add(step.name)
    return flagged


def is_host_callback(hlo_op: str, case_device: str) -> bool:
    """JAX host callbacks: ``pure_callback``, ``io_callback``, ``debug_callback`` HLO ops."""
    return case_device != "cpu" and "callback" in hlo_op


def is_tf_host_only(op_type: str, case_device: str) -> bool:
    return case_device != "cpu" and op_type in TF_HOST_ONLY_OPS
