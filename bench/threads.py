"""The CPU thread policy every backend's worker runs under: ``--threads N`` and ``--cpu-affinity``.

One N for every framework (docs/measurement.md, "CPU noise and the thread policy"). What each
framework needs to honour it is on its adapter (``Adapter.thread_env`` before import,
``Adapter.apply_thread_policy`` after); this module holds what they share: the OpenMP/BLAS variables
every framework's CPU kernels may read, and the CPU pinning done in the worker before any import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

FRAMEWORK_DEFAULT = "framework default"
EXPLICIT = "explicit"

# `--threads auto` (the command line's default): one thread where the workers may use at most this many
# CPUs, each framework's own default elsewhere. On 2 CPUs a framework's default pool fills the machine,
# and any other busy process then stalls it (docs/measurement.md, "CPU noise and the thread policy").
AUTO_MAX_CPUS = 2


def auto_threads(cpus: int) -> int | None:
    return 1 if cpus <= AUTO_MAX_CPUS else None


# Thread counts of the OpenMP runtimes and BLAS libraries a framework may link (read once, at load):
# OpenMP (OMP_NUM_THREADS), MKL, OpenBLAS, and Apple's Accelerate, whose VECLIB_MAXIMUM_THREADS is not
# documented by Apple but is honoured (cp2k/cp2k#1319, joblib/threadpoolctl#136).
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def policy_name(threads: int | None) -> str:
    return FRAMEWORK_DEFAULT if threads is None else EXPLICIT


def blas_thread_env(threads: int | None) -> dict[str, str]:
    """The shared variables set to ``threads``; nothing when the framework keeps its defaults."""
    return {} if threads is None else dict.fromkeys(BLAS_THREAD_VARS, str(threads))


def env_seen(names: Iterable[str]) -> dict[str, str]:
    """The variables among ``names`` that this process sees, as it sees them."""
    return {name: os.environ[name] for name in names if name in os.environ}


def affinity_supported() -> bool:
    return hasattr(os, "sched_setaffinity")


def usable_cpus() -> set[int] | None:
    """The CPUs this process may run on (Linux); None where the OS has no CPU affinity API."""
    return set(os.sched_getaffinity(0)) if affinity_supported() else None


def schedulable_cpus() -> int:
    """How many CPUs this process may use: the default pool size of TensorFlow and XLA (tsl
    ``port::MaxParallelism``, which counts the affinity mask)."""
    cpus = usable_cpus()
    return len(cpus) if cpus else (os.cpu_count() or 1)


def pin(cpus: Iterable[int] | None) -> list[int] | None:
    """Pin this process to ``cpus`` (before a framework starts its threads, which inherit the mask).

    Returns the CPUs the process may run on afterwards (None where the OS cannot tell). Raises
    OSError for a CPU the process may not use, and for pinning asked where the OS has no API for it:
    macOS has none (thread affinity tags there are hints between threads, not CPUs).
    """
    if cpus is not None:
        if not affinity_supported():
            raise OSError(f"CPU affinity needs Linux (os.sched_setaffinity); not available on {sys.platform}")
        os.sched_setaffinity(0, set(cpus))
    current = usable_cpus()
    return sorted(current) if current is not None else None


def describe(threads: int | None, cpu_affinity: Iterable[int] | None) -> dict[str, Any]:
    """The policy as asked, for the run header."""
    return {"threads": threads, "policy": policy_name(threads), "cpu_affinity": sorted(cpu_affinity) if cpu_affinity is not None else None}
