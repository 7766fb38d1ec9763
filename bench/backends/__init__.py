"""Backend adapters: one module per framework, found through the ``siliconbench.backends`` entry points.

``adapter_class("torch")`` is the class registered under that name (importing it does not import the
framework). A plug-in that fails to import is left out and its error kept (``plugin_errors``), so one
broken package cannot stop a run; ``siliconbench doctor`` shows it.
"""

from __future__ import annotations

import functools

from bench import plugins
from bench.backends.base import (
    Adapter,
    BackendName,
    BackendUnavailable,
    DeviceInfo,
    Timer,
    Unsupported,
    wall_timer,
)


@functools.cache
def _load() -> tuple[dict[str, type[Adapter]], dict[str, str]]:
    classes: dict[str, type[Adapter]] = {}
    errors: dict[str, str] = {}
    for name, reference in plugins.registered(plugins.BACKENDS).items():
        try:
            cls = plugins.load(reference)
        except Exception as exc:  # a broken plug-in costs itself, not the run
            errors[name] = f"{reference}: {type(exc).__name__}: {exc}"
            continue
        if not (isinstance(cls, type) and issubclass(cls, Adapter)) or cls.framework != name:
            errors[name] = f"{reference}: not an Adapter subclass with framework = {name!r}"
            continue
        classes[name] = cls
    return classes, errors


def adapter_classes() -> dict[str, type[Adapter]]:
    """framework -> adapter class, built-ins first."""
    return dict(_load()[0])


def plugin_errors() -> dict[str, str]:
    """Registered backends whose module could not be loaded, with the error."""
    return dict(_load()[1])


def frameworks() -> tuple[str, ...]:
    return tuple(_load()[0])


def adapter_class(framework: str) -> type[Adapter]:
    """The adapter class registered for ``framework``; ValueError naming the known ones."""
    classes = _load()[0]
    if framework not in classes:
        broken = plugin_errors().get(framework)
        raise ValueError(
            f"backend plug-in {framework!r} failed to load: {broken}" if broken else f"unknown framework {framework!r} (known: {', '.join(classes)})"
        )
    return classes[framework]


def adapter_reference(framework: str) -> str:
    """``"module:Class"`` of the framework's adapter, for a worker that may not see our entry points."""
    cls = adapter_class(framework)
    return f"{cls.__module__}:{cls.__qualname__}"


def all_backends() -> tuple[str, ...]:
    """Every ``framework:device`` name, built-ins first."""
    return tuple(f"{fw}:{dev}" for fw, cls in _load()[0].items() for dev in cls.devices)


def parse_backend(text: str) -> BackendName:
    """Parse ``framework:device``; raise ValueError naming the problem."""
    framework, sep, device = text.partition(":")
    if not sep:
        raise ValueError(f"backend {text!r} must be framework:device, e.g. torch:cpu")
    try:
        cls = adapter_class(framework)
    except ValueError as exc:
        raise ValueError(f"{exc} in backend {text!r}") from None
    if device not in cls.devices:
        raise ValueError(f"unknown device {device!r} for {framework} in backend {text!r} (known: {', '.join(cls.devices)})")
    return BackendName(framework, device)


__all__ = [
    "Adapter",
    "BackendName",
    "BackendUnavailable",
    "DeviceInfo",
    "Timer",
    "Unsupported",
    "adapter_class",
    "adapter_classes",
    "adapter_reference",
    "all_backends",
    "frameworks",
    "parse_backend",
    "plugin_errors",
    "wall_timer",
]
