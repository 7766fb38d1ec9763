"""Workload registry: each workload is a package ``bench/workloads/<name>/`` with a ``spec.py``."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType

from bench.workloads.base import MODES, Built, Case, Workload


def names() -> list[str]:
    import bench.workloads as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.ispkg)


def get(name: str) -> Workload:
    """The workload's spec; raise KeyError naming the known workloads."""
    if name not in names():
        raise KeyError(f"unknown workload {name!r} (known: {', '.join(names())})")
    return importlib.import_module(f"bench.workloads.{name}.spec").SPEC


def implementation_exists(name: str, framework: str) -> bool:
    """Whether the workload has a module for the framework, without importing the framework."""
    return importlib.util.find_spec(f"bench.workloads.{name}.{framework}") is not None


def implementation(name: str, framework: str) -> ModuleType | None:
    """The framework's compute module for a workload, or None when it has none."""
    try:
        return importlib.import_module(f"bench.workloads.{name}.{framework}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.workloads.{name}.{framework}":
            return None
        raise


__all__ = ["MODES", "Built", "Case", "Workload", "get", "implementation", "implementation_exists", "names"]
