"""JAX adapter: ``jax:cpu``, ``jax:cuda``, ``jax:metal`` (``jax:gpu`` = Metal on a Mac, else CUDA).

The platform is chosen before JAX initialises a backend, so one worker serves one JAX platform:
the orchestrator sets ``JAX_PLATFORMS`` for cpu/cuda; for Metal the worker asks
``metal_plugins.discover("jax")`` which installed PJRT plugin provides the device (jax-mps ``mps``,
metaljax ``metal``, metal-pjrt-plugin ``mtl``, legacy jax-metal ``METAL``, ...), sets its
environment and ``jax_platforms``, and records the package and version. A case the plugin cannot
compile is ``unsupported`` with the plugin's message. Pins, sources and what was verified where:
docs/apple-silicon.md. Each plugin pins its jax, so it runs from its own environment:
``--python jax=tox:jax-mps`` (or ``tox:metaljax``, ``tox:jax-metal``, ...).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import threads as thread_policy
from bench.backends import metal_plugins
from bench.backends.base import Adapter, BackendUnavailable, DeviceInfo, import_framework
from bench.backends.host import cpu_model_name

# Names a plugin choice for jax:metal when several are installed (metal_plugins.discover's prefer).
PREFER_ENV = "SILICONBENCH_JAX_METAL_PLUGIN"


def _jax():
    return import_framework("jax")


# XLA's CPU client with a one-thread pool deadlocks an eager ``jax.pure_callback`` (jax 0.10.2: 3 of 3
# stress runs hung within a minute; 0 of 5 with 2 threads or XLA's default; docs/measurement.md).
MIN_XLA_CPU_THREADS = 2


def xla_cpu_threads(threads: int) -> int:
    """The size of XLA's CPU pools for ``--threads N``: N, but never fewer than MIN_XLA_CPU_THREADS."""
    return max(threads, MIN_XLA_CPU_THREADS)


class JaxAdapter(Adapter):
    framework = "jax"
    devices = ("cpu", "metal", "cuda", "gpu")
    device_aliases = ("gpu",)
    import_name = "jax"
    extra = "jax"
    color = "#3b6fd8"
    env_prefixes = ("JAX_", "XLA_", "ENABLE_PJRT", "CUDA_", "NVIDIA_")

    @classmethod
    def worker_env(cls, device: str, allow_tf32: bool) -> dict[str, str]:
        # One worker serves one JAX platform, chosen before JAX initialises.
        platforms = {"cpu": "cpu", "cuda": "cuda"}.get(device)
        return {"JAX_PLATFORMS": platforms} if platforms else {}

    @classmethod
    def thread_env(cls, device: str, threads: int | None) -> dict[str, str]:
        env = super().thread_env(device, threads)
        if threads is None:
            return env
        # XLA's CPU client sizes its intra-op ("XLAEigen") and client pools from PJRT_NPROC, else from
        # the CPUs it may use (openxla/xla xla/pjrt/utils.cc, DefaultThreadPoolSize). XLA_FLAGS has no
        # thread count (`intra_op_parallelism_threads=N` there is ignored), and with PJRT_NPROC=1
        # `--xla_cpu_multi_thread_eigen=false` changed nothing measurable (jax 0.10.2, docs/measurement.md).
        # Never fewer than MIN_XLA_CPU_THREADS: with one, an eager jax.pure_callback deadlocks (measured).
        return {**env, "PJRT_NPROC": str(xla_cpu_threads(threads))}

    def apply_thread_policy(self, threads: int | None) -> dict[str, Any]:
        out = super().apply_thread_policy(threads)
        # Nothing to call after import: the pools exist once the client does.
        if threads is None:
            return {**out, "intra_op": f"PJRT_NPROC unset (XLA picks {thread_policy.schedulable_cpus()}: the CPUs this process may use)"}
        pool = xla_cpu_threads(threads)
        if pool != threads:
            out["note"] = f"XLA's CPU pools hold {pool} threads, not {threads}: with one, a host callback deadlocks (docs/measurement.md)"
        return {**out, "intra_op": pool}

    @classmethod
    def profiler_module(cls, device: str) -> str:
        return "bench.profile.jax_profile"

    @property
    def native_device(self):
        return self._device

    @property
    def accelerator(self) -> str | None:
        return None if self.device == "cpu" else self.device

    @classmethod
    def version(cls) -> dict[str, str]:
        jax = _jax()
        import jaxlib

        out = {"jax": jax.__version__, "jaxlib": jaxlib.__version__}
        out.update(metal_plugins.discover("jax").versions())
        return out

    _metal: metal_plugins.PluginStatus | None = None

    def resolve_device(self, device: str) -> str:
        if device == "metal" or (device == "gpu" and platform.system() == "Darwin"):
            return self._resolve_metal()
        jax = _jax()
        wanted = {"cpu": ["cpu"], "cuda": ["gpu", "cuda"], "gpu": ["gpu", "cuda"]}[device]
        for platform_name in wanted:
            try:
                devices = jax.devices(platform_name)
            except RuntimeError:
                continue
            except AssertionError:
                # JAX_PLATFORMS names a platform whose plugin is not installed: JAX has no backend at all.
                raise BackendUnavailable(
                    f"jax {jax.__version__} could not initialise JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS')!r}"
                    f" (no {device} plugin installed, e.g. jax[cuda13])"
                ) from None
            if devices:
                self._device = devices[0]
                return "cuda" if devices[0].platform.lower() in ("gpu", "cuda") else "cpu"
        raise BackendUnavailable(f"jax {jax.__version__} has no {device} device (backends: {', '.join(d.platform for d in jax.devices())})")

    def _resolve_metal(self) -> str:
        found = metal_plugins.discover("jax", prefer=os.environ.get(PREFER_ENV) or None)
        if found.chosen is None:
            raise BackendUnavailable(f"no JAX Metal plugin can run here: {found.why_not()}")
        # Read by the plugin when JAX initialises it, so before the first jax.devices().
        os.environ.update(found.environment(self.allow_tf32))
        jax = _jax()
        jax.config.update("jax_platforms", found.platform)
        try:
            devices = jax.devices(found.platform)
        except (RuntimeError, AssertionError) as exc:
            raise BackendUnavailable(f"{found.chosen.describe()} is installed but JAX could not start it: {exc}") from None
        self._device, self._metal, self._metal_others = devices[0], found.chosen, found.why_not()
        return "metal"

    def device_info(self) -> DeviceInfo:
        name = self._device.device_kind if self.device != "cpu" else cpu_model_name()
        extra = {"platform": self._device.platform}
        if self._metal is not None:
            extra["metal_plugin"] = f"{self._metal.plugin.distribution} {self._metal.version}"
            extra["metal_plugins_not_used"] = self._metal_others
        return DeviceInfo(self.name, self.framework, self.device, name, extra)

    def apply_precision_policy(self) -> dict[str, Any]:
        jax = _jax()
        precision = "tensorfloat32" if self.allow_tf32 else "highest"
        jax.config.update("jax_default_matmul_precision", precision)
        return {"jax_default_matmul_precision": precision}

    def supports_dtype(self, dtype: str) -> str | None:
        return self._metal.plugin.unsupported_dtypes.get(dtype) if self._metal is not None else None

    def native_dtype(self, dtype: str):
        import jax.numpy as jnp

        return {"fp32": jnp.float32, "fp16": jnp.float16, "bf16": jnp.bfloat16}[dtype]

    def from_numpy(self, array: np.ndarray, dtype: str | None = None) -> Any:
        jax = _jax()
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        x = jax.device_put(array, self._device)
        if dtype is not None:
            x = x.astype(self.native_dtype(dtype))
        return x.block_until_ready()

    def to_numpy(self, value: Any) -> np.ndarray:
        import jax.numpy as jnp

        if jnp.issubdtype(value.dtype, jnp.floating):
            return np.asarray(value.astype(jnp.float32)).astype(np.float64)
        return np.asarray(value)

    def fetch_first(self, value: Any) -> float:
        return float(value.reshape(-1)[0])

    def compile(self, fn: Callable, **options: Any) -> Callable:
        return _jax().jit(fn, **options)

    def synchronize(self, out: Any = None) -> None:
        jax = _jax()
        if out is not None:
            jax.block_until_ready(out)
        else:
            # Nothing to wait on: a trivial computation on the device drains its queue in order.
            jax.device_put(0.0, self._device).block_until_ready()

    def peak_memory(self) -> dict[str, Any] | None:
        stats = self._device.memory_stats()  # None on CPU
        if not stats or "peak_bytes_in_use" not in stats:
            return None
        return {"peak_bytes": int(stats["peak_bytes_in_use"]), "source": "jax Device.memory_stats()['peak_bytes_in_use'] (process lifetime)"}

    def is_oom(self, exc: BaseException) -> bool:
        return super().is_oom(exc) or "RESOURCE_EXHAUSTED" in str(exc)

    def unsupported_reason(self, exc: BaseException) -> str | None:
        return metal_plugins.unsupported_reason(exc, self._metal)
