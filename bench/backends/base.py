"""What every backend adapter provides, and the errors adapters and workloads raise.

An adapter is the only code that knows its framework's device model, array conversion,
synchronisation, compilation, timers, memory counters and version strings. The four adapters
(``torch``, ``tensorflow``, ``jax``, ``mlx``) expose the same names, so reading one teaches all four.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

FRAMEWORKS = ("torch", "tensorflow", "jax", "mlx")

# Devices each framework knows. "gpu" is resolved by the adapter to this machine's accelerator.
DEVICES = {
    "torch": ("cpu", "mps", "cuda", "gpu"),
    "tensorflow": ("cpu", "gpu"),
    "jax": ("cpu", "metal", "cuda", "gpu"),
    "mlx": ("cpu", "gpu"),
}

DTYPES = ("fp32", "fp16", "bf16")


class BackendUnavailable(Exception):
    """The backend cannot run on this machine (not installed, no device, incompatible version)."""


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


def parse_backend(text: str) -> BackendName:
    """Parse ``framework:device``; raise ValueError naming the problem."""
    framework, sep, device = text.partition(":")
    if not sep:
        raise ValueError(f"backend {text!r} must be framework:device, e.g. torch:cpu")
    if framework not in DEVICES:
        raise ValueError(f"unknown framework {framework!r} in backend {text!r} (known: {', '.join(FRAMEWORKS)})")
    if device not in DEVICES[framework]:
        raise ValueError(
            f"unknown device {device!r} for {framework} in backend {text!r} (known: {', '.join(DEVICES[framework])})"
        )
    return BackendName(framework, device)


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
    """Base class. Subclasses live in ``bench/backends/<framework>.py`` and override each method."""

    framework: str = ""

    def __init__(self, device: str, allow_tf32: bool = False):
        self.requested_device = device
        self.allow_tf32 = allow_tf32
        self.device = self.resolve_device(device)

    # -- identity ---------------------------------------------------------------------------
    @classmethod
    def version(cls) -> dict[str, str]:
        """Framework and plugin versions; raises BackendUnavailable when not importable."""
        raise NotImplementedError

    def resolve_device(self, device: str) -> str:
        """Map ``gpu`` to this machine's accelerator; raise BackendUnavailable with a reason."""
        raise NotImplementedError

    def device_info(self) -> DeviceInfo:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return f"{self.framework}:{self.device}"

    # -- precision ----------------------------------------------------------------------------
    def apply_precision_policy(self) -> dict[str, Any]:
        """Set fp32 matmul/conv precision (IEEE unless allow_tf32); return what was set."""
        raise NotImplementedError

    # -- arrays -------------------------------------------------------------------------------
    def supports_dtype(self, dtype: str) -> str | None:
        """None when the dtype runs here, else the reason it does not."""
        return None

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


def wall_timer() -> Timer:
    state: dict[str, float] = {}
    return Timer(
        kind="wall",
        start=lambda: state.__setitem__("t0", time.perf_counter()),
        stop=lambda: state.__setitem__("t1", time.perf_counter()),
        elapsed_s=lambda: state["t1"] - state["t0"],
    )
