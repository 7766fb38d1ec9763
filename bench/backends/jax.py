"""JAX adapter: ``jax:cpu``, ``jax:cuda``, ``jax:metal`` (``jax:gpu`` = CUDA or Metal).

The platform is chosen with ``JAX_PLATFORMS`` before JAX initialises (the worker sets it
from the requested device), so one worker serves one JAX platform.

Apple-only: jax-metal 0.1.1 registers the PJRT platform ``METAL``; it works only with
jax/jaxlib 0.5.0 (jax-ml/jax#26968) and has no float64 (jax-metal wheel description). Run it
from its own environment: ``--python jax=.tox/jax-metal/bin/python``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import threads as thread_policy
from bench.backends.base import Adapter, BackendUnavailable, DeviceInfo
from bench.backends.host import cpu_model_name

# What JAX_PLATFORMS must say for each device we accept.
PLATFORM_FOR_DEVICE = {"cpu": "cpu", "cuda": "cuda", "metal": "METAL", "gpu": "cuda,METAL"}


def _jax():
    try:
        import jax
    except Exception as exc:
        raise BackendUnavailable(f"jax is not importable: {exc}") from exc
    return jax


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
        return {**env, "PJRT_NPROC": str(threads)}

    def apply_thread_policy(self, threads: int | None) -> dict[str, Any]:
        out = super().apply_thread_policy(threads)
        # Nothing to call after import: the pools exist once the client does.
        return {
            **out,
            "intra_op": threads
            if threads is not None
            else f"PJRT_NPROC unset (XLA picks {thread_policy.schedulable_cpus()}: the CPUs this process may use)",
        }

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
        try:
            from importlib.metadata import version

            out["jax-metal"] = version("jax-metal")
        except Exception:
            pass
        return out

    def resolve_device(self, device: str) -> str:
        jax = _jax()
        wanted = {"cpu": ["cpu"], "cuda": ["gpu", "cuda"], "metal": ["METAL", "metal"], "gpu": ["gpu", "cuda", "METAL", "metal"]}[device]
        for platform_name in wanted:
            try:
                devices = jax.devices(platform_name)
            except RuntimeError:
                continue
            except AssertionError:
                # JAX_PLATFORMS names a platform whose plugin is not installed: JAX has no backend at all.
                raise BackendUnavailable(
                    f"jax {jax.__version__} could not initialise JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS')!r}"
                    f" (no {device} plugin installed, e.g. jax[cuda13] or jax-metal)"
                ) from None
            if devices:
                self._device = devices[0]
                plat = devices[0].platform.lower()
                return "metal" if plat == "metal" else ("cuda" if plat in ("gpu", "cuda") else "cpu")
        raise BackendUnavailable(f"jax {jax.__version__} has no {device} device (backends: {', '.join(d.platform for d in jax.devices())})")

    def device_info(self) -> DeviceInfo:
        name = self._device.device_kind if self.device != "cpu" else cpu_model_name()
        return DeviceInfo(self.name, self.framework, self.device, name, {"platform": self._device.platform})

    def apply_precision_policy(self) -> dict[str, Any]:
        jax = _jax()
        precision = "tensorfloat32" if self.allow_tf32 else "highest"
        jax.config.update("jax_default_matmul_precision", precision)
        return {"jax_default_matmul_precision": precision}

    def supports_dtype(self, dtype: str) -> str | None:
        if self.device == "metal" and dtype == "bf16":
            return "jax-metal 0.1.1 does not document bfloat16 support"
        return None

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
