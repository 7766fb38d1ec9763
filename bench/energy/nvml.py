"""NVIDIA energy through NVML (``nvidia-ml-py``, module ``pynvml``), and the device handle thermals share.

API (nvidia-ml-py 13.x ``pynvml.py``, NVIDIA; reference: docs.nvidia.com/deploy/nvml-api/group__nvmlDeviceQueries.html):
- ``nvmlDeviceGetTotalEnergyConsumption(handle)``: unsigned 64-bit millijoules since the driver was
  last reloaded; Volta and newer. It counts the whole board (GPU and memory), whatever process runs.
- ``nvmlDeviceGetPowerUsage(handle)``: milliwatts; "On Ampere (except GA100) or newer GPUs, the API
  returns power averaged over 1 sec interval. On GA100 and older architectures, instantaneous power
  is returned" (NVML reference). ``nvmlDeviceGetFieldValues(handle, [NVML_FI_DEV_POWER_INSTANT])``
  gives the instantaneous value where the driver has it.
- Errors are ``pynvml.NVMLError`` subclasses whose ``str()`` is NVML's message ("Not Supported").

Device choice: NVML numbers GPUs in PCI bus order and ignores ``CUDA_VISIBLE_DEVICES``; a framework's
``cuda:i`` is the i-th visible device. A UUID (``torch.cuda.get_device_properties(i).uuid``) names
the device unambiguously; without one the index is mapped through ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from typing import Any

from bench.energy.reading import Counter, EnergyReading

INSTALL_HINT = "pip install siliconbench[energy]"
# c_nvmlValue_t union member for each NVML_VALUE_TYPE_* (pynvml.py: NVML_VALUE_TYPE_DOUBLE = 0 ... UNSIGNED_SHORT = 6).
_VALUE_FIELDS = {0: "dVal", 1: "uiVal", 2: "ulVal", 3: "ullVal", 4: "sllVal", 5: "siVal", 6: "usVal"}


def nvml_error_text(exc: BaseException) -> str:
    try:
        return str(exc) or type(exc).__name__
    except Exception:  # pynvml's __str__ calls into the library, which may be the broken part
        return type(exc).__name__


class NvmlDevice:
    """One NVML device handle, opened lazily; ``open()`` returns None or why it cannot be opened."""

    def __init__(
        self,
        index: int = 0,
        uuid: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        import_module: Callable[[str], Any] = importlib.import_module,
    ):
        self.index = index
        self.uuid = uuid
        self._environ = os.environ if environ is None else environ
        self._import = import_module
        self.nvml: Any = None
        self.handle: Any = None
        self._reason: str | None = None
        self._opened = False

    def open(self) -> str | None:
        if self._opened:
            return self._reason
        self._opened = True
        try:
            nvml = self._import("pynvml")
        except ImportError:
            self._reason = f"pynvml not installed: {INSTALL_HINT}"
            return self._reason
        try:
            nvml.nvmlInit()
        except Exception as exc:  # NVMLError: library not found, driver not loaded, ...
            self._reason = f"NVML unavailable: {nvml_error_text(exc)}"
            return self._reason
        self.nvml = nvml
        try:
            self.handle = self._resolve(nvml)
        except LookupError as exc:
            self._reason = str(exc)
        except Exception as exc:
            self._reason = f"NVML has no device {self._describe()}: {nvml_error_text(exc)}"
        if self._reason is not None:
            self.close()
        return self._reason

    def _describe(self) -> str:
        return f"with UUID {self.uuid}" if self.uuid else f"for CUDA device {self.index}"

    def _resolve(self, nvml: Any) -> Any:
        if self.uuid:
            uuid = self.uuid if self.uuid.startswith(("GPU-", "MIG-")) else f"GPU-{self.uuid}"
            return nvml.nvmlDeviceGetHandleByUUID(uuid)
        visible = self._environ.get("CUDA_VISIBLE_DEVICES")
        if visible is None:
            return nvml.nvmlDeviceGetHandleByIndex(self.index)
        entries = [e.strip() for e in visible.split(",") if e.strip()]
        if self.index >= len(entries):
            raise LookupError(f"CUDA device {self.index} is not among CUDA_VISIBLE_DEVICES={visible!r}")
        entry = entries[self.index]
        if entry.isdigit():
            return nvml.nvmlDeviceGetHandleByIndex(int(entry))
        if entry.startswith(("GPU-", "MIG-")) and len(entry) >= 40:
            return nvml.nvmlDeviceGetHandleByUUID(entry)
        raise LookupError(f"cannot map CUDA_VISIBLE_DEVICES entry {entry!r} to an NVML device: pass the device's full UUID")

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass
        self.nvml = None
        self.handle = None


class NvmlMeter:
    """Cumulative GPU-board energy from NVML's millijoule counter, plus power samples for the cross-check."""

    name = "nvml"
    scope = "whole GPU board (GPU and its memory), every process on it"

    def __init__(self, device: NvmlDevice):
        self.device = device
        self.counter = Counter(modulus=None)  # 64-bit millijoules: it does not wrap in practice
        self._reason: str | None = None
        self._checked = False
        self._instant_ok = True

    def available(self) -> str | None:
        if self._checked:
            return self._reason
        self._checked = True
        self._reason = self.device.open()
        if self._reason is None:
            try:
                self.counter.update(int(self.device.nvml.nvmlDeviceGetTotalEnergyConsumption(self.device.handle)))
            except Exception as exc:
                self._reason = (
                    f"NVML total-energy counter unreadable: {nvml_error_text(exc)} (nvmlDeviceGetTotalEnergyConsumption needs a Volta or newer GPU)"
                )
        return self._reason

    def read(self) -> EnergyReading:
        millijoules = self.counter.update(int(self.device.nvml.nvmlDeviceGetTotalEnergyConsumption(self.device.handle)))
        return EnergyReading({"gpu": millijoules / 1000.0}, ("gpu",))

    def power_w(self) -> float:
        """Board power in watts (NVML milliwatts; a 1 s average on Ampere-and-newer, see the module doc)."""
        return self.device.nvml.nvmlDeviceGetPowerUsage(self.device.handle) / 1000.0

    def instant_power_w(self) -> float | None:
        """Instantaneous board power in watts from NVML_FI_DEV_POWER_INSTANT, or None where unsupported."""
        if not self._instant_ok:
            return None
        nvml = self.device.nvml
        try:
            value = nvml.nvmlDeviceGetFieldValues(self.device.handle, [nvml.NVML_FI_DEV_POWER_INSTANT])[0]
            if value.nvmlReturn != 0:
                raise ValueError(value.nvmlReturn)
            return getattr(value.value, _VALUE_FIELDS[value.valueType]) / 1000.0
        except Exception:
            self._instant_ok = False
            return None

    def probes(self) -> dict[str, Callable[[], float | None]]:
        """What the window samples in the background while it is open."""
        return {"power_w": self.power_w, "instant_power_w": self.instant_power_w}

    def close(self) -> None:
        self.device.close()
