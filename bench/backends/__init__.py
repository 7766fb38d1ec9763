"""Backend adapters, one module per framework, all exposing the same names (see base.Adapter)."""

from __future__ import annotations

import importlib

from bench.backends.base import (
    DEVICES,
    DTYPES,
    FRAMEWORKS,
    Adapter,
    BackendName,
    BackendUnavailable,
    Unsupported,
    parse_backend,
)

_ADAPTER_CLASSES = {
    "torch": ("bench.backends.torch", "TorchAdapter"),
    "tensorflow": ("bench.backends.tensorflow", "TensorflowAdapter"),
    "jax": ("bench.backends.jax", "JaxAdapter"),
    "mlx": ("bench.backends.mlx", "MlxAdapter"),
}


def adapter_class(framework: str) -> type[Adapter]:
    """The adapter class; importing it does not import the framework."""
    module, cls = _ADAPTER_CLASSES[framework]
    return getattr(importlib.import_module(module), cls)


ALL_BACKENDS = tuple(f"{fw}:{dev}" for fw in FRAMEWORKS for dev in DEVICES[fw])

__all__ = [
    "ALL_BACKENDS", "DEVICES", "DTYPES", "FRAMEWORKS", "Adapter", "BackendName", "BackendUnavailable",
    "Unsupported", "adapter_class", "parse_backend",
]
