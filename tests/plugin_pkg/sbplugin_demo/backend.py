"""A backend that computes with NumPy on the CPU: the smallest complete adapter."""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.backends.base import Adapter, DeviceInfo

_DTYPES = {"fp32": np.float32, "fp16": np.float16}


class DemoAdapter(Adapter):
    framework = "demo"
    devices = ("cpu",)
    import_name = "numpy"
    color = "#4c9a2a"
    env_prefixes = ("SBPLUGIN_DEMO_",)
    implementations = "sbplugin_demo.impls"  # its modules for built-in workloads (matmul)

    @classmethod
    def version(cls) -> dict[str, str]:
        return {"demo": "0.0.1", "numpy": np.__version__}

    def resolve_device(self, device: str) -> str:
        return device

    def device_info(self) -> DeviceInfo:
        return DeviceInfo(self.name, self.framework, self.device, platform.processor() or platform.machine())

    def apply_precision_policy(self) -> dict[str, Any]:
        return {"numpy": "IEEE (no TF32 anywhere)"}

    def supports_dtype(self, dtype: str) -> str | None:
        return None if dtype in _DTYPES else f"the demo backend has no {dtype}"

    def native_dtype(self, dtype: str) -> Any:
        return _DTYPES[dtype]

    def from_numpy(self, array: np.ndarray, dtype: str | None = None) -> Any:
        return np.array(array, dtype=_DTYPES[dtype] if dtype else array.dtype)

    def to_numpy(self, value: Any) -> np.ndarray:
        return np.asarray(value, dtype=np.float64)

    def compile(self, fn: Callable, **options: Any) -> Callable:
        return fn

    def synchronize(self, out: Any = None) -> None:
        pass  # NumPy returns when the work is done

    def fetch_first(self, value: Any) -> float:
        return float(np.asarray(value).reshape(-1)[0])
