"""Shared fixtures. Framework environment is fixed before any framework is imported."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MLX_ENABLE_TF32", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib.util

import pytest

from bench.timing import TimingConfig

FAST_TIMING = TimingConfig(warmup_s=0.0, min_warmup_calls=1, block_s=0.001, min_samples=3, max_samples=5, budget_s=0.0, canary=False)


def framework_installed(framework: str) -> bool:
    module = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "mlx": "mlx.core"}[framework]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


_ADAPTERS: dict[str, object] = {}


def cpu_adapter(framework: str):
    """One CPU adapter per framework for the whole test session (importing TF takes seconds)."""
    if not framework_installed(framework):
        pytest.skip(f"{framework} is not installed")
    if framework not in _ADAPTERS:
        from bench.backends import adapter_class

        adapter = adapter_class(framework)("cpu")
        adapter.apply_precision_policy()
        _ADAPTERS[framework] = adapter
    return _ADAPTERS[framework]


@pytest.fixture(params=["torch", "tensorflow", "jax", "mlx"])
def any_cpu_adapter(request):
    return cpu_adapter(request.param)


@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch):
    """Cases run in the test process see a quiet machine, so no flag depends on who else uses this one
    (tests/test_machine_load.py tests the readings and the flag; workers in subprocesses read the real machine)."""
    from bench import machine_load
    from tests.fakes import QuietLoadReader

    monkeypatch.setattr(machine_load, "default_reader", QuietLoadReader())


@pytest.fixture
def clock(monkeypatch):
    """A simulated clock the timing engine reads (tests/fakes.py), for exact timing tests."""
    from tests.fakes import FakeClock, install_clock

    clock = FakeClock()
    install_clock(monkeypatch, clock)
    return clock
