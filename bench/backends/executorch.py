"""ExecuTorch adapter: ``executorch:cpu`` (XNNPACK), ``executorch:coreml`` and ``executorch:metal`` (macOS).

A case runs a workload's PyTorch model (its ``module`` hook) exported with ``torch.export``, lowered to
the device's delegate and loaded through ExecuTorch's Python runtime (``bench/deploy/executorch_build.py``,
docs/deployment.md). Arrays are CPU torch tensors: the runtime takes and returns them.

``Method.execute`` returns when the program has run: XNNPACK works on the calling thread and its own
thread pool, with no queue left behind, so ``synchronize`` has nothing to wait for; the drain check
and the sync canary still run (docs/design.md, rules 3 and 5). The Apple delegates' execute calls
also return their outputs as host tensors (unverified here: no Mac).

Sources (pytorch/executorch v1.5.1): ``Runtime.get().backend_registry.is_available(name)`` and
``registered_backend_names`` (runtime/__init__.py); the Linux wheel registers XnnpackBackend,
QnnBackend and OpenvinoBackend (checked on executorch 1.5.1). The macOS wheel builds the Core ML
delegate into its Python runtime (``EXECUTORCH_BUILD_COREML`` in tools/cmake/preset/pybind.cmake);
the Metal backend (backends/apple/metal, AOTInductor, experimental) is not in that preset and its
runtime name ``MetalBackend`` is the partitioner's, unverified on a Mac. The MPS delegate was removed
upstream, so there is no ``executorch:mps``.
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

from bench.backends.base import Adapter, BackendUnavailable, DeviceInfo
from bench.backends.host import cpu_model_name
from bench.deploy import installed_versions

# device -> (delegate in bench/deploy/executorch_lower.py, its name for people, runtime backend name)
DELEGATES = {
    "cpu": ("xnnpack", "XNNPACK", "XnnpackBackend"),
    "coreml": ("coreml", "Core ML", "CoreMLBackend"),
    "metal": ("metal", "Metal", "MetalBackend"),
}
_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def _runtime():
    try:
        import torch
        from executorch.runtime import Runtime
    except Exception as exc:  # ImportError, or a wheel built against another libtorch (undefined symbols)
        raise BackendUnavailable(f"executorch is not importable: {type(exc).__name__}: {exc}") from exc
    return torch, Runtime.get()


class ExecutorchAdapter(Adapter):
    framework = "executorch"
    devices = ("cpu", "coreml", "metal")
    import_name = "executorch"
    extra = "executorch"
    color = "#6741d9"
    env_prefixes = ("EXECUTORCH_", "ET_", "PYTORCH_", "TORCH", "OMP_")
    implementations = "bench.deploy.executorch_workloads"

    @classmethod
    def version(cls) -> dict[str, str]:
        # From the installed metadata (importing executorch takes seconds); resolve_device imports the runtime.
        return installed_versions(("executorch", "torch", "torchao", "coremltools"))

    def resolve_device(self, device: str) -> str:
        if device not in DELEGATES:
            raise BackendUnavailable(f"unknown executorch device {device!r} (known: {', '.join(DELEGATES)})")
        _, name, runtime_name = DELEGATES[device]
        if device != "cpu" and platform.system() != "Darwin":
            raise BackendUnavailable(f"ExecuTorch's {name} delegate runs only on macOS (Apple's frameworks); this is {platform.system()}")
        _, runtime = _runtime()
        if not runtime.backend_registry.is_available(runtime_name):
            have = ", ".join(runtime.backend_registry.registered_backend_names) or "none"
            raise BackendUnavailable(f"this executorch runtime has no {runtime_name} (registered: {have})")
        return device

    @property
    def delegate(self) -> str:
        return DELEGATES[self.device][0]

    @property
    def delegate_name(self) -> str:
        return DELEGATES[self.device][1]

    @property
    def accelerator(self) -> str | None:
        return None if self.device == "cpu" else self.device

    def device_info(self) -> DeviceInfo:
        _, runtime = _runtime()
        extra: dict[str, Any] = {"delegate": self.delegate_name, "registered_backends": list(runtime.backend_registry.registered_backend_names)}
        try:  # private pybinding (extension/pybindings/pybindings.pyi): the XNNPACK thread pool's size
            from executorch.extension.pybindings import portable_lib

            extra["threads"] = int(portable_lib._threadpool_get_thread_count())
        except (ImportError, AttributeError):
            pass
        return DeviceInfo(self.name, self.framework, self.device, cpu_model_name(), extra)

    def apply_thread_policy(self, threads: int | None) -> dict[str, Any]:
        out = super().apply_thread_policy(threads)
        try:  # private pybindings (extension/pybindings/pybindings.pyi): the shared XNNPACK thread pool
            from executorch.extension.pybindings import portable_lib

            if threads is not None:
                portable_lib._unsafe_reset_threadpool(threads)
            return {**out, "intra_op": int(portable_lib._threadpool_get_thread_count())}
        except (ImportError, AttributeError) as exc:
            return {**out, "note": f"XNNPACK thread pool not controlled: {exc}"}

    def apply_precision_policy(self) -> dict[str, Any]:
        # XNNPACK computes fp32 in fp32 (x86 and Arm CPUs have no TF32); Core ML takes the case dtype as its
        # compute precision (bench/deploy/executorch_lower.py).
        return {"executorch": "fp32 cases in fp32 on every delegate; allow_tf32 does not apply"}

    def supports_dtype(self, dtype: str) -> str | None:
        if dtype == "bf16" and self.device == "cpu":
            # executorch 1.5.1: XNNPACK's partitioner takes no bf16 mm/conv; they run in portable kernels,
            # 1.5-5x slower than torch eager (docs/deployment.md), which no deployment would ship.
            return "XNNPACK delegates no bf16 matmul or conv in executorch 1.5 (they would run in portable kernels)"
        if dtype == "bf16" and self.device == "coreml":
            return "Core ML computes in fp16 or fp32, not bf16"
        return super().supports_dtype(dtype)

    def native_dtype(self, dtype: str) -> Any:
        torch, _ = _runtime()
        return getattr(torch, _DTYPES[dtype])

    def from_numpy(self, array: np.ndarray, dtype: str | None = None) -> Any:
        from bench.workloads.exportable import cpu_tensor

        return cpu_tensor(array, dtype)

    def to_numpy(self, value: Any) -> np.ndarray:
        torch, _ = _runtime()
        t = value.detach()
        return t.to(torch.float64).numpy() if t.is_floating_point() else t.numpy()

    def synchronize(self, out: Any = None) -> None:
        """Nothing to wait for: ``Method.execute`` returns after the program ran (module docstring)."""

    def fetch_first(self, value: Any) -> float:
        first = value[0] if isinstance(value, list | tuple) else value
        return float(first.reshape(-1)[0].item())
