"""What every backend adapter provides, and the errors adapters and workloads raise.

An adapter is the only code that knows its framework: devices, dtype names, availability and its
reason, the environment its worker needs before the framework is imported, array conversion,
synchronisation, compilation, timers, memory counters, version strings, its profiler, its chart
colour. Every adapter exposes the names declared here (docs/writing-a-backend.md), so reading one
teaches all of them, and nothing outside ``bench/backends/`` needs to know a framework by name.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from bench import threads as thread_policy
from bench.dtypes import DTYPES


class BackendUnavailable(Exception):
    """The backend cannot run on this machine (not installed, no device, incompatible version)."""


def import_framework(module: str, label: str | None = None) -> Any:
    """``importlib.import_module(module)``, or BackendUnavailable saying why: an ImportError, or a broken
    install raising something else (an OSError from a missing shared library, undefined symbols)."""
    try:
        return importlib.import_module(module)
    except Exception as exc:
        raise BackendUnavailable(f"{label or module} is not importable: {type(exc).__name__}: {exc}") from exc


class Unsupported(Exception):
    """The backend runs, but lacks what this case needs (a dtype, a kernel, a mode)."""


@dataclass(frozen=True)
class BackendName:
    framework: str
    device: str

    @property
    def name(self) -> str:
        return f"{self.framework}:{self.device}"

    def __str__(self) -> str:
        return self.name


@dataclass
class Timer:
    """A device-side timer: ``start()``, ``stop()`` then ``elapsed_s()`` after a synchronise."""

    kind: str
    start: Callable[[], None]
    stop: Callable[[], None]
    elapsed_s: Callable[[], float]


@dataclass
class DeviceInfo:
    backend: str  # resolved name, e.g. torch:cuda for torch:gpu
    framework: str
    device: str
    device_name: str
    extra: dict[str, Any] = field(default_factory=dict)


class Adapter:
    """Base class. Subclasses (``bench/backends/<framework>.py``, or a plug-in's module) set the class
    attributes and override the methods their framework needs; the defaults suit a CPU-only backend."""

    # -- facts about the backend, read without importing its framework ---------------------------
    framework: ClassVar[str] = ""
    # Every device name accepted after "framework:". "gpu" means this machine's accelerator.
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    # Devices that name another one resolved at start-up (torch:gpu is torch:cuda or torch:mps):
    # `doctor` probes the concrete devices only.
    device_aliases: ClassVar[tuple[str, ...]] = ()
    import_name: ClassVar[str] = ""  # the top-level module whose presence means "installed"
    extra: ClassVar[str] = ""  # the pip extra that installs it: siliconbench[<extra>]
    color: ClassVar[str] = "#8d99ae"  # chart colour of this framework in the report
    env_prefixes: ClassVar[tuple[str, ...]] = ()  # environment variables recorded with every run
    # Package holding this backend's modules for workloads that have none for it (plug-in backends):
    # <implementations>.<workload> defines build(adapter, params, dtype, mode, inputs) -> Built.
    implementations: ClassVar[str | None] = None

    def __init__(self, device: str, allow_tf32: bool = False):
        self.requested_device = device
        self.allow_tf32 = allow_tf32
        self.device = self.resolve_device(device)

    # -- identity ---------------------------------------------------------------------------
    @classmethod
    def installed(cls) -> bool:
        """Whether the framework can be imported here, without importing it."""
        try:
            return bool(cls.import_name) and importlib.util.find_spec(cls.import_name) is not None
        except (ImportError, ValueError):
            return False

    @classmethod
    def install_hint(cls) -> str:
        return f"pip install 'siliconbench[{cls.extra}]'" if cls.extra else ""

    @classmethod
    def version(cls) -> dict[str, str]:
        """Framework and plugin versions; raises BackendUnavailable when not importable."""
        raise NotImplementedError

    @classmethod
    def worker_env(cls, device: str, allow_tf32: bool) -> dict[str, str]:
        """Environment variables the worker must have before the framework is imported."""
        return {}

    @classmethod
    def thread_env(cls, device: str, threads: int | None) -> dict[str, str]:
        """Environment variables that hold the framework's CPU thread pools to ``threads`` (set before
        import; None keeps the framework's defaults). The base sets the OpenMP/BLAS counts every
        framework may read; an adapter adds its own (docs/measurement.md, "CPU noise and the thread policy")."""
        return thread_policy.blas_thread_env(threads)

    def apply_thread_policy(self, threads: int | None) -> dict[str, Any]:
        """Set the framework's CPU thread pools to ``threads`` once it is imported (None: keep its
        defaults) and return what is in effect, recorded in the worker's hello. The same N for every
        framework; an adapter reports each pool it has and says where it has no control."""
        return {
            "policy": thread_policy.policy_name(threads),
            "requested": threads,
            "env": thread_policy.env_seen(self.thread_env(self.requested_device, 1)),
        }

    def resolve_device(self, device: str) -> str:
        """Map ``gpu`` to this machine's accelerator; raise BackendUnavailable with a reason."""
        raise NotImplementedError

    def device_info(self) -> DeviceInfo:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return f"{self.framework}:{self.device}"

    @property
    def accelerator(self) -> str | None:
        """``"metal"``, ``"cuda"``, ... for the accelerator this adapter runs on; None on a CPU."""
        return None

    def device_uuid(self) -> str | None:
        """The accelerator's UUID where the framework tells it (matches NVML's device to this one), else None."""
        return None

    @property
    def native_device(self) -> Any:
        """The framework's own device object (``torch.device``, a JAX ``Device``, ``mx.Device``, a TF device string)."""
        return self.device

    # -- precision ----------------------------------------------------------------------------
    def apply_precision_policy(self) -> dict[str, Any]:
        """Set fp32 matmul/conv precision (IEEE unless allow_tf32); return what was set."""
        raise NotImplementedError

    # -- arrays -------------------------------------------------------------------------------
    def supports_dtype(self, dtype: str) -> str | None:
        """None when the dtype runs here, else the reason it does not."""
        return None if dtype in DTYPES else f"unknown dtype {dtype}"

    def native_dtype(self, dtype: str) -> Any:
        """The framework's dtype object for ``fp32`` / ``fp16`` / ``bf16``."""
        raise NotImplementedError

    def from_numpy(self, array: np.ndarray, dtype: str | None = None) -> Any:
        """Copy a NumPy array to the device, cast to ``dtype`` (fp32/fp16/bf16) when given."""
        raise NotImplementedError

    def to_numpy(self, value: Any) -> np.ndarray:
        """Copy a native array back to host as float64 (or its integer type)."""
        raise NotImplementedError

    # -- execution ----------------------------------------------------------------------------
    def compile(self, fn: Callable, **options: Any) -> Callable:
        """The framework's compiler (torch.compile, tf.function, jax.jit, mx.compile)."""
        raise NotImplementedError

    def run_on_device(self, fn: Callable) -> Callable:
        """``fn`` wrapped so its ops are placed on this adapter's device (TensorFlow needs a scope)."""
        return fn

    def materialize(self, out: Any) -> None:
        """Make sure a call's work is issued (MLX is lazy); cheap, not a full synchronise."""

    def synchronize(self, out: Any = None) -> None:
        """Block until every queued operation on the device (and ``out``) is complete."""
        raise NotImplementedError

    def fetch_first(self, value: Any) -> float:
        """Copy the first element of ``value`` to the host. It waits for the work that made ``value``
        by the framework's own data dependency, not by ``synchronize``: the drain check uses it to
        catch a synchronise that returned early."""
        raise NotImplementedError

    def device_timer(self) -> Timer | None:
        """Device event timer where the framework has one (CUDA events, MPS events)."""
        return None

    # -- memory -------------------------------------------------------------------------------
    def reset_peak_memory(self) -> None:
        pass

    def peak_memory(self) -> dict[str, Any] | None:
        """{'peak_bytes': int, 'source': str} or None when the backend reports nothing."""
        return None

    # -- failures -----------------------------------------------------------------------------
    def is_oom(self, exc: BaseException) -> bool:
        return isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()

    def unsupported_reason(self, exc: BaseException) -> str | None:
        """The backend's own message when ``exc`` means it cannot run this op (a Metal plugin's
        missing op), so the case is ``unsupported`` rather than ``error``; None otherwise."""
        return None

    # -- profiling ----------------------------------------------------------------------------
    @classmethod
    def profiler_module(cls, device: str) -> str | None:
        """The module (``bench/profile/*``) whose ``profile(adapter, fn, ctx)`` profiles ``device``, or None."""
        return None


def wall_timer() -> Timer:
    state: dict[str, float] = {}
    return Timer(
        kind="wall",
        start=lambda: state.__setitem__("t0", time.perf_counter()),
        stop=lambda: state.__setitem__("t1", time.perf_counter()),
        elapsed_s=lambda: state["t1"] - state["t0"],
    )
