"""Workloads, found through the ``siliconbench.workloads`` entry points (the built-ins are registered there too).

A workload is a ``Workload`` instance (its spec) in a package that holds one module per framework,
``<package>.<framework>``, each defining ``build(adapter, params, dtype, mode, inputs) -> Built``. A plug-in
backend may bring modules for workloads that have none for it (``Adapter.implementations``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from types import ModuleType

from bench import plugins
from bench.workloads.base import MODES, Build, Built, Case, Workload


def names() -> list[str]:
    return sorted(plugins.registered(plugins.WORKLOADS))


@functools.cache
def get(name: str) -> Workload:
    """The workload's spec; KeyError naming the known workloads."""
    registered = plugins.registered(plugins.WORKLOADS)
    if name not in registered:
        raise KeyError(f"unknown workload {name!r} (known: {', '.join(names())})")
    spec = plugins.load(registered[name])
    if not isinstance(spec, Workload) or spec.name != name:
        raise KeyError(f"workload plug-in {name!r} ({registered[name]}) is not a Workload named {name!r}")
    return spec


def _candidates(name: str, framework: str) -> list[str]:
    """Module names that may hold the workload's ``build`` for ``framework``, in order."""
    from bench.backends import adapter_class

    package = plugins.registered(plugins.WORKLOADS)[name].partition(":")[0].rpartition(".")[0]
    out = [f"{package}.{framework}"]
    try:
        extra = adapter_class(framework).implementations
    except ValueError:
        extra = None
    if extra:
        out.append(f"{extra}.{name}")
    return out


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def implementation_exists(name: str, framework: str) -> bool:
    """Whether the workload has a module for the framework, without importing the framework."""
    return any(_exists(m) for m in _candidates(name, framework))


def implementation(name: str, framework: str) -> ModuleType | None:
    """The framework's compute module for a workload, or None when it has none."""
    for module in _candidates(name, framework):
        if _exists(module):
            return importlib.import_module(module)
    return None


__all__ = ["MODES", "Build", "Built", "Case", "Workload", "get", "implementation", "implementation_exists", "names"]
