"""Core ML adapter: ``coreml:cpu``, ``coreml:gpu``, ``coreml:ane``, ``coreml:all`` (compute units).

A case converts a workload's PyTorch model (its ``module`` hook) to a Core ML ML program with
coremltools, optionally compresses its weights (the ``compressed`` workload), loads it for the
device's compute units and times ``MLModel.predict`` (``bench/deploy/coreml_build.py``,
docs/deployment.md). The devices are ``ct.ComputeUnit`` values: cpu = CPU_ONLY, gpu = CPU_AND_GPU,
ane = CPU_AND_NE, all = ALL. Core ML may still run an op on the CPU when the unit asked for cannot
(the compute plan, recorded in ``info.compute_plan``, says where each op was meant to run).

Prediction needs macOS: coremltools' wheels for other systems have no ``libcoremlpython``, and
``MLModel.predict`` raises "Model prediction is only supported on macOS version 10.13 or later."
(coremltools 9.0, models/model.py). Off macOS every device is ``unavailable`` with that reason;
conversion and compression run anywhere coremltools installs and are tested on Linux
(tests/test_coreml.py). ``predict`` takes and returns NumPy arrays on the host: it returns when the
prediction is done, so ``synchronize`` has nothing to wait for.

Apple-only calls (coremltools 9.0; unverified here, no Mac): ``ct.models.MLModel(path, compute_units=)``
(models/model.py; it compiles the model on load), ``predict`` (same file), ``MLComputePlan.load_from_path``
and ``get_compute_device_usage_for_mlprogram_operation`` (models/compute_plan.py, macOS 14.4+).
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

from bench.backends.base import Adapter, BackendUnavailable, DeviceInfo, import_framework
from bench.backends.host import cpu_model_name
from bench.deploy import installed_versions

# device -> ct.ComputeUnit member
COMPUTE_UNITS = {"cpu": "CPU_ONLY", "gpu": "CPU_AND_GPU", "ane": "CPU_AND_NE", "all": "ALL"}
OFF_MACOS = (
    "Core ML prediction needs macOS: coremltools' MLModel.predict raises 'Model prediction is only supported on macOS' "
    "on {system}; conversion and compression run here (docs/deployment.md)"
)


def _ct():
    return import_framework("coremltools")


class CoremlAdapter(Adapter):
    framework = "coreml"
    devices = ("cpu", "gpu", "ane", "all")
    import_name = "coremltools"
    extra = "coreml"
    color = "#0b7285"
    env_prefixes = ("COREML", "PYTORCH_", "TORCH")
    implementations = "bench.deploy.coreml_workloads"

    @classmethod
    def version(cls) -> dict[str, str]:
        # From the installed metadata: importing coremltools also imports TensorFlow when it is installed
        # (seconds per doctor probe); resolve_device imports it.
        return installed_versions(("coremltools", "torch", "scikit-learn"))

    def resolve_device(self, device: str) -> str:
        if device not in COMPUTE_UNITS:
            raise BackendUnavailable(f"unknown Core ML device {device!r} (known: {', '.join(COMPUTE_UNITS)})")
        if platform.system() != "Darwin":
            raise BackendUnavailable(OFF_MACOS.format(system=platform.system()))
        _ct()
        try:  # the native module that runs predictions (absent from coremltools' non-macOS wheels)
            import coremltools.libcoremlpython  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(f"coremltools has no libcoremlpython here, so it cannot run predictions: {exc}") from exc
        release = tuple(int(x) for x in (platform.mac_ver()[0] or "0").split(".")[:2])
        if device == "ane" and release < (13, 0):
            raise BackendUnavailable(f"ct.ComputeUnit.CPU_AND_NE needs macOS 13 or newer; this is macOS {platform.mac_ver()[0]}")
        return device

    @property
    def compute_unit(self) -> Any:
        return getattr(_ct().ComputeUnit, COMPUTE_UNITS[self.device])

    @property
    def accelerator(self) -> str | None:
        return {"cpu": None, "gpu": "metal", "ane": "ane", "all": "coreml"}[self.device]

    def device_info(self) -> DeviceInfo:
        extra = {"compute_units": COMPUTE_UNITS[self.device], "macos": platform.mac_ver()[0]}
        return DeviceInfo(self.name, self.framework, self.device, cpu_model_name(), extra)

    def apply_precision_policy(self) -> dict[str, Any]:
        return {"coreml": "compute_precision follows the case dtype (fp32: FLOAT32, fp16: FLOAT16); allow_tf32 does not apply"}

    def supports_dtype(self, dtype: str) -> str | None:
        if dtype == "bf16":
            return "Core ML computes in fp16 or fp32, not bf16"
        return super().supports_dtype(dtype)

    def native_dtype(self, dtype: str) -> Any:
        return {"fp32": np.float32, "fp16": np.float16}[dtype]

    def from_numpy(self, array: np.ndarray, dtype: str | None = None) -> Any:
        return np.ascontiguousarray(array, dtype=np.float32) if array.dtype.kind == "f" else np.ascontiguousarray(array)

    def to_numpy(self, value: Any) -> np.ndarray:
        array = np.asarray(value)
        return array.astype(np.float64) if array.dtype.kind == "f" else array

    def synchronize(self, out: Any = None) -> None:
        """Nothing to wait for: ``predict`` returns host arrays once the prediction is done."""

    def fetch_first(self, value: Any) -> float:
        first = next(iter(value.values())) if isinstance(value, dict) else value
        return float(np.asarray(first).reshape(-1)[0])
