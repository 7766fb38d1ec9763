"""MLX adapter: ``mlx:cpu``, ``mlx:gpu`` (Metal on Apple silicon, CUDA with mlx[cuda]).

MLX is lazy: nothing runs until evaluated. ``materialize`` issues each call's work with
``mx.async_eval`` and returns; the timed block waits once at its end (``synchronize``), as the other
adapters do. ``mx.eval`` would wait for every call (``eval_impl(...).wait()`` vs ``async_eval``
without it, mlx ``mlx/transforms.cpp``), adding a GPU round trip per call that the other frameworks
pay once per block. ``SILICONBENCH_MLX_EVAL_EACH_CALL=1`` keeps the per-call wait as a labelled
latency mode (``device_info().extra["materialize"]``). TF32: ``MLX_ENABLE_TF32`` defaults to 1
(mlx ``docs/src/usage/precision.rst``) and is read at import, so the worker sets it before
importing MLX; ``apply_precision_policy`` reports what MLX saw.

Apple-only calls and sources: ``mx.metal.is_available()`` (``python/src/metal.cpp``),
``mx.is_available(mx.gpu)`` (since v0.28), ``mx.device_info()`` (since v0.31),
``mx.get_peak_memory`` / ``mx.reset_peak_memory`` (top level since v0.24.1; Metal and CPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.backends.base import Adapter, BackendUnavailable, DeviceInfo, import_framework
from bench.backends.host import cpu_model_name

EVAL_EACH_CALL_ENV = "SILICONBENCH_MLX_EVAL_EACH_CALL"


def _mx():
    return import_framework("mlx.core", "mlx")


class MlxAdapter(Adapter):
    framework = "mlx"
    devices = ("cpu", "gpu")
    import_name = "mlx.core"
    extra = "mlx"
    color = "#2f2f2f"
    env_prefixes = ("MLX_", "METAL_", "MTL_")

    @classmethod
    def worker_env(cls, device: str, allow_tf32: bool) -> dict[str, str]:
        # MLX reads MLX_ENABLE_TF32 (default 1) once, at import.
        return {"MLX_ENABLE_TF32": "1" if allow_tf32 else "0"}

    def apply_thread_policy(self, threads: int | None) -> dict[str, Any]:
        # MLX has no thread setting: each stream's ops run on that stream's one scheduler thread
        # (mlx/scheduler.h, StreamThread); the only parallel CPU code is the BLAS/LAPACK it links
        # (CMakeLists.txt: Accelerate on macOS, else the system BLAS), held by the variables the base sets.
        out = super().apply_thread_policy(threads)
        return {**out, "intra_op": "no MLX control (one scheduler thread per stream; BLAS threads from the environment)"}

    @classmethod
    def profiler_module(cls, device: str) -> str:
        return "bench.profile.mlx_profile"

    @classmethod
    def version(cls) -> dict[str, str]:
        mx = _mx()
        out = {"mlx": mx.__version__}
        from importlib.metadata import PackageNotFoundError, version

        for plugin in ("mlx-metal", "mlx-cpu", "mlx-cuda-12", "mlx-cuda-13"):
            try:
                out[plugin] = version(plugin)
            except PackageNotFoundError:
                pass
        return out

    def resolve_device(self, device: str) -> str:
        mx = _mx()
        if device == "gpu":
            if not mx.is_available(mx.gpu):
                raise BackendUnavailable(f"mlx {mx.__version__} has no GPU backend here (Metal needs Apple silicon; CUDA needs mlx[cuda12|cuda13])")
            mx.set_default_device(mx.gpu)
        else:
            mx.set_default_device(mx.cpu)
        return device

    @property
    def accelerator(self) -> str | None:
        if self.device != "gpu":
            return None
        mx = _mx()
        return "metal" if mx.metal.is_available() else "cuda"

    @property
    def native_device(self):
        mx = _mx()
        return mx.gpu if self.device == "gpu" else mx.cpu

    def device_info(self) -> DeviceInfo:
        mx = _mx()
        info = mx.device_info(mx.default_device())
        name = str(info.get("device_name") or cpu_model_name())
        if self.device == "cpu":
            name = cpu_model_name()
        extra = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in info.items()}
        extra["gpu_kind"] = self.accelerator or "none"
        extra["materialize"] = "mx.eval per call (latency mode)" if self.eval_each_call else "mx.async_eval per call, one wait per block"
        return DeviceInfo(self.name, self.framework, self.device, name, extra)

    def apply_precision_policy(self) -> dict[str, Any]:
        # The worker sets MLX_ENABLE_TF32 before import; MLX reads it once.
        return {"MLX_ENABLE_TF32": os.environ.get("MLX_ENABLE_TF32", "1 (MLX default)")}

    def native_dtype(self, dtype: str):
        mx = _mx()
        return {"fp32": mx.float32, "fp16": mx.float16, "bf16": mx.bfloat16}[dtype]

    def from_numpy(self, array: np.ndarray, dtype: str | None = None) -> Any:
        mx = _mx()
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        x = mx.array(array)
        if dtype is not None:
            x = x.astype(self.native_dtype(dtype))
        mx.eval(x)
        return x

    def to_numpy(self, value: Any) -> np.ndarray:
        mx = _mx()
        if mx.issubdtype(value.dtype, mx.floating):
            return np.array(value.astype(mx.float32)).astype(np.float64)
        return np.array(value)

    def fetch_first(self, value: Any) -> float:
        return float(value.reshape(-1)[0].item())

    def compile(self, fn: Callable, **options: Any) -> Callable:
        return _mx().compile(fn, **options)

    @property
    def eval_each_call(self) -> bool:
        return os.environ.get(EVAL_EACH_CALL_ENV) == "1"

    def materialize(self, out: Any) -> None:
        mx = _mx()
        (mx.eval if self.eval_each_call else mx.async_eval)(out)

    def synchronize(self, out: Any = None) -> None:
        mx = _mx()
        if out is not None:
            mx.eval(out)
        mx.synchronize()

    def reset_peak_memory(self) -> None:
        _mx().reset_peak_memory()

    def peak_memory(self) -> dict[str, Any] | None:
        return {"peak_bytes": int(_mx().get_peak_memory()), "source": "mlx.core.get_peak_memory"}
