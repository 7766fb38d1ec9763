"""PyTorch adapter: ``torch:cpu``, ``torch:mps``, ``torch:cuda`` (``torch:gpu`` = CUDA or MPS).

Apple-only calls and their sources (docs/apple-silicon.md lists what was verified where):
- ``torch.backends.mps.is_available()`` / ``is_built()``: pytorch docs ``notes/mps.md``.
- ``torch.mps.synchronize()``, ``torch.mps.driver_allocated_memory()``: ``torch/mps/__init__.py``.
- Peak memory on MPS: ``torch.accelerator.reset_peak_memory_stats()`` / ``memory_stats()
  ["allocated_bytes.all.peak"]`` (``torch/accelerator/memory.py``), backed by the MPS allocator's
  ``getDeviceStats`` since torch 2.13 (``aten/src/ATen/mps/MPSAllocator.mm``, pytorch PR #186748).
- ``torch.mps.event.Event(enable_timing=True)``, ``record()``, ``elapsed_time()`` (ms):
  ``torch/mps/event.py``.
MPS has no float64 (``notes/mps.md``): inputs arrive as float32 and are cast on device.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.backends.base import Adapter, BackendUnavailable, DeviceInfo, Timer, import_framework
from bench.backends.host import cpu_model_name

_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
_MPS_PEAK_SINCE = (2, 13)  # first release whose MPS allocator backs torch.accelerator's memory stats


def _mps_peak_supported(torch) -> bool:
    from packaging.version import Version

    return Version(torch.__version__).release[:2] >= _MPS_PEAK_SINCE and hasattr(torch, "accelerator")


def _torch():
    return import_framework("torch")


class TorchAdapter(Adapter):
    framework = "torch"
    devices = ("cpu", "mps", "cuda", "gpu")
    device_aliases = ("gpu",)
    import_name = "torch"
    extra = "torch"
    color = "#d9480f"
    env_prefixes = ("PYTORCH_", "TORCH", "CUDA_", "CUBLAS", "CUDNN", "NVIDIA_", "OMP_", "MKL_", "KMP_")

    @classmethod
    def version(cls) -> dict[str, str]:
        torch = _torch()
        out = {"torch": torch.__version__}
        if torch.version.cuda:
            out["cuda"] = torch.version.cuda
        return out

    def resolve_device(self, device: str) -> str:
        torch = _torch()
        mps_ok = torch.backends.mps.is_available()
        cuda_ok = torch.cuda.is_available()
        if device == "gpu":
            if cuda_ok:
                return "cuda"
            if mps_ok:
                return "mps"
            raise BackendUnavailable("no CUDA or MPS device visible to torch")
        if device == "cuda" and not cuda_ok:
            raise BackendUnavailable(f"torch {torch.__version__} sees no CUDA device")
        if device == "mps" and not mps_ok:
            why = (
                "this torch build has no MPS support"
                if not torch.backends.mps.is_built()
                else "MPS not available (needs Apple silicon and macOS >= 14)"
            )
            raise BackendUnavailable(why)
        if device == "mps" and os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK") == "1" and os.environ.get("SILICONBENCH_PROFILE_MPS_FALLBACK") != "1":
            # A missing op would silently run on the CPU and be timed as MPS. Only the profiling child
            # (bench/profile/mps.py) sets SILICONBENCH_PROFILE_MPS_FALLBACK: it runs fallbacks to flag them.
            raise BackendUnavailable("PYTORCH_ENABLE_MPS_FALLBACK=1 hides CPU fallbacks; unset it to benchmark MPS")
        return device

    @property
    def native_device(self):
        return _torch().device(self.device)

    @property
    def accelerator(self) -> str | None:
        return None if self.device == "cpu" else self.device

    def device_uuid(self) -> str | None:
        if self.device != "cuda":
            return None
        uuid = getattr(_torch().cuda.get_device_properties(0), "uuid", None)
        return None if uuid is None else (str(uuid) if str(uuid).startswith("GPU-") else f"GPU-{uuid}")

    @classmethod
    def profiler_module(cls, device: str) -> str:
        # torch.profiler records no MPS activity (pytorch#99037): MPS has its own profiler module.
        on_mac = platform.system() == "Darwin"
        return "bench.profile.mps" if device == "mps" or (device == "gpu" and on_mac) else "bench.profile.torch_profile"

    def device_info(self) -> DeviceInfo:
        torch = _torch()
        extra: dict[str, Any] = {"threads": torch.get_num_threads()}
        if self.device == "cuda":
            props = torch.cuda.get_device_properties(0)
            name = props.name
            extra.update(sm=f"{props.major}.{props.minor}", multiprocessors=props.multi_processor_count, memory_bytes=props.total_memory)
        elif self.device == "mps":
            name = cpu_model_name()  # the GPU is part of the chip: "Apple M3 Max"
            extra["recommended_max_memory"] = torch.mps.recommended_max_memory()
        else:
            name = cpu_model_name()
        return DeviceInfo(self.name, self.framework, self.device, name, extra)

    def apply_thread_policy(self, threads: int | None) -> dict[str, Any]:
        # OMP_NUM_THREADS (set before import, Adapter.thread_env) sizes the intra-op pool at import;
        # the calls make it exact. The inter-op pool runs independent ops side by side (torch.jit.fork).
        torch = _torch()
        out = super().apply_thread_policy(threads)
        if threads is not None:
            torch.set_num_threads(threads)
            try:
                torch.set_num_interop_threads(threads)
            except RuntimeError as exc:  # allowed once, before any inter-op work has started
                out["note"] = f"inter-op threads not set: {exc}"
        backend = next((line.split(":", 1)[1].strip() for line in torch.__config__.parallel_info().splitlines() if "parallel backend" in line), None)
        return {**out, "intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads(), "parallel_backend": backend}

    def apply_precision_policy(self) -> dict[str, Any]:
        torch = _torch()
        tf32 = self.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32  # default True: conv would silently use TF32
        torch.set_float32_matmul_precision("high" if tf32 else "highest")
        return {
            "torch.backends.cuda.matmul.allow_tf32": tf32,
            "torch.backends.cudnn.allow_tf32": tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
        }

    def native_dtype(self, dtype: str):
        return getattr(_torch(), _DTYPES[dtype])

    def from_numpy(self, array: np.ndarray, dtype: str | None = None) -> Any:
        torch = _torch()
        t = torch.from_numpy(np.ascontiguousarray(array))
        if t.dtype == torch.float64:
            t = t.float()  # MPS rejects float64; every backend receives float32 values
        t = t.to(self.native_device)
        if dtype is not None:
            t = t.to(self.native_dtype(dtype))
        return t

    def to_numpy(self, value: Any) -> np.ndarray:
        torch = _torch()
        t = value.detach()
        if t.is_floating_point():
            t = t.to(torch.float32)
        return t.cpu().numpy().astype(np.float64) if t.is_floating_point() else t.cpu().numpy()

    def fetch_first(self, value: Any) -> float:
        return float(value.reshape(-1)[0].item())

    def compile(self, fn: Callable, **options: Any) -> Callable:
        torch = _torch()
        # Dynamo caches compiled graphs per code object, and every case of a workload compiles a
        # closure of the same code: after torch._dynamo.config.recompile_limit (8) shape/dtype/closure
        # variants it silently runs that code eagerly (checked on torch 2.13). A reset before each
        # case's compile gives it a fresh cache, as a new process would have; the on-disk inductor
        # cache still makes recompiling a known graph cheap.
        torch._dynamo.reset()
        return torch.compile(fn, **options)

    def synchronize(self, out: Any = None) -> None:
        torch = _torch()
        if self.device == "cuda":
            torch.cuda.synchronize()
        elif self.device == "mps":
            torch.mps.synchronize()

    def device_timer(self) -> Timer | None:
        torch = _torch()
        if self.device == "cuda":
            make = lambda: torch.cuda.Event(enable_timing=True)
            kind = "cuda_event"
        elif self.device == "mps":
            make = lambda: torch.mps.event.Event(enable_timing=True)
            kind = "mps_event"
        else:
            return None
        # Fresh events per block: an MPS event's time is a host-clock read in a listener callback,
        # and elapsed_time waits only for the end event's callback (aten/src/ATen/mps/MPSEvent.mm up
        # to torch 2.14), so a reused start event can still hold the previous block's time.
        events: dict[str, Any] = {}

        def start() -> None:
            events["start"], events["end"] = make(), make()
            events["start"].record()

        # elapsed_time is in milliseconds for both CUDA and MPS events.
        return Timer(kind, start, lambda: events["end"].record(), lambda: events["start"].elapsed_time(events["end"]) / 1e3)

    def reset_peak_memory(self) -> None:
        torch = _torch()
        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        elif self.device == "mps" and _mps_peak_supported(torch):
            try:
                torch.accelerator.reset_peak_memory_stats()
            except RuntimeError:  # allocator not a DeviceAllocator: peak_memory falls back, labelled
                pass

    def peak_memory(self) -> dict[str, Any] | None:
        torch = _torch()
        if self.device == "cuda":
            return {"peak_bytes": int(torch.cuda.max_memory_allocated()), "source": "torch.cuda.max_memory_allocated"}
        if self.device == "mps":
            stats = {}
            if _mps_peak_supported(torch):
                try:
                    stats = torch.accelerator.memory_stats()
                except RuntimeError:
                    stats = {}
            if "allocated_bytes.all.peak" in stats:
                return {
                    "peak_bytes": int(stats["allocated_bytes.all.peak"]),
                    "source": "torch.accelerator.max_memory_allocated (MPS allocator peak since reset)",
                }
            # Older torch has no MPS peak: the driver's total (allocator cache and MPSGraph included) is
            # not a peak and not comparable with CUDA's, so it never goes in peak_bytes.
            return {
                "peak_bytes": None,
                "driver_total_bytes": int(torch.mps.driver_allocated_memory()),
                "source": f"torch.mps.driver_allocated_memory after the case: driver total, not a peak (torch {torch.__version__})",
            }
        return None

    def is_oom(self, exc: BaseException) -> bool:
        torch = _torch()
        oom_type = getattr(torch, "OutOfMemoryError", None)
        if oom_type is not None and isinstance(exc, oom_type):
            return True
        return super().is_oom(exc) or "MPS backend out of memory" in str(exc)
