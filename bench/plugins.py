"""Plug-ins: backends and workloads are found through entry points (asv-style discovery).

A distribution registers ``name = "module:attribute"`` under ``[project.entry-points."siliconbench.backends"]``
(an ``Adapter`` subclass) or ``"siliconbench.workloads"`` (a ``Workload`` instance); docs/writing-a-backend.md
and docs/writing-a-workload.md walk through it. The built-in ones are registered the same way in this
project's pyproject.toml. ``BUILTIN`` repeats that table for a checkout used without being installed (on
``PYTHONPATH``, as on a lent GPU machine); tests/test_plugins.py checks that the two agree.

Loading a registered object imports its module only: adapter modules import their framework lazily.
"""

from __future__ import annotations

import functools
import importlib
from importlib import metadata
from typing import Any

BACKENDS = "siliconbench.backends"
WORKLOADS = "siliconbench.workloads"

BUILTIN: dict[str, dict[str, str]] = {
    BACKENDS: {
        "torch": "bench.backends.torch:TorchAdapter",
        "tensorflow": "bench.backends.tensorflow:TensorflowAdapter",
        "jax": "bench.backends.jax:JaxAdapter",
        "mlx": "bench.backends.mlx:MlxAdapter",
        "executorch": "bench.backends.executorch:ExecutorchAdapter",
        "coreml": "bench.backends.coreml:CoremlAdapter",
    },
    WORKLOADS: {
        name: f"bench.workloads.{name}.spec:SPEC"
        for name in ("conv_add", "fallback_act", "llm", "matmul", "quant_linear", "sdpa", "yolo", "yolo_postprocess")
    },
}


@functools.cache
def registered(group: str) -> dict[str, str]:
    """``name -> "module:attribute"`` for ``group``: installed entry points, then the built-ins not listed there.

    The built-ins come first in iteration order, then plug-ins by name.
    """
    found = {ep.name: ep.value for ep in metadata.entry_points(group=group)}
    builtin = BUILTIN.get(group, {})
    out = {name: found.pop(name, value) for name, value in builtin.items()}
    out.update(sorted(found.items()))
    return out


def load(reference: str) -> Any:
    """The object named by ``"module:attribute"``."""
    module, sep, attribute = reference.partition(":")
    if not sep or not module or not attribute:
        raise ValueError(f"plug-in reference {reference!r} must be 'module:attribute'")
    obj: Any = importlib.import_module(module)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def is_builtin(group: str, name: str) -> bool:
    return registered(group).get(name) == BUILTIN.get(group, {}).get(name)
