"""TensorFlow adapter: ``tensorflow:cpu``, ``tensorflow:gpu`` (the Metal plugin or CUDA).

Apple-only: tensorflow-metal 1.2.0 registers a PluggableDevice that TF lists as ``GPU``
(tensorflow issue #84167; log "physical PluggableDevice (device: 0, name: METAL ...)"). It loads
only with TF 2.18-2.19 on Python <= 3.12 (tensorflow PR #126360). XLA has no METAL compiler, so
``jit_compile=True`` fails there (NVlabs/sionna#78): ``compile`` never asks for XLA on Metal.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import threads as thread_policy
from bench.backends.base import Adapter, BackendUnavailable, DeviceInfo
from bench.backends.host import cpu_model_name


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except Exception as exc:
        raise BackendUnavailable(f"tensorflow is not importable: {exc}") from exc
    return tf


def _metal_plugin_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("tensorflow-metal")
    except Exception:
        return None


class TensorflowAdapter(Adapter):
    framework = "tensorflow"
    devices = ("cpu", "gpu")
    import_name = "tensorflow"
    extra = "tensorflow"
    color = "#e8a200"
    env_prefixes = ("TF_(?!CLI_)", "CUDA_", "NVIDIA_", "OMP_", "KMP_")

    @classmethod
    def worker_env(cls, device: str, allow_tf32: bool) -> dict[str, str]:
        env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
        if device == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""  # a CUDA build of TF must not grab the GPU for a CPU run
        return env

    @classmethod
    def thread_env(cls, device: str, threads: int | None) -> dict[str, str]:
        env = super().thread_env(device, threads)
        if threads is not None:
            # Read when TF makes its pools (tensorflow/core/common_runtime/process_util.cc).
            env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
        return env

    def apply_thread_policy(self, threads: int | None) -> dict[str, Any]:
        tf = _tf()
        out = super().apply_thread_policy(threads)
        if threads is not None:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError as exc:  # only before the eager context starts; the variables still hold
                out["note"] = f"tf.config.threading not set: {exc}"
        intra, inter = tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads()
        # 0 is TF's "system picks": the CPUs this process may use (tsl port::MaxParallelism).
        picks = f"0 (TF picks {thread_policy.schedulable_cpus()}: the CPUs this process may use)"
        return {**out, "intra_op": intra or picks, "inter_op": inter or picks}

    @classmethod
    def profiler_module(cls, device: str) -> str:
        return "bench.profile.tf_profile"

    @property
    def native_device(self) -> str:
        return self._tf_device

    @classmethod
    def version(cls) -> dict[str, str]:
        tf = _tf()
        out = {"tensorflow": tf.__version__}
        try:
            import keras

            out["keras"] = keras.__version__
        except Exception:
            pass
        metal = _metal_plugin_version()
        if metal:
            out["tensorflow-metal"] = metal
        return out

    def resolve_device(self, device: str) -> str:
        tf = _tf()
        gpus = tf.config.list_physical_devices("GPU")
        if device == "cpu":
            if gpus:
                tf.config.set_visible_devices([], "GPU")  # keep every op on the CPU
            self._tf_device = "/CPU:0"
            return "cpu"
        if not gpus:
            plugin = _metal_plugin_version()
            why = f"tensorflow-metal {plugin} is installed but TF lists no GPU" if plugin else "TF lists no GPU (no CUDA build or Metal plugin)"
            raise BackendUnavailable(why)
        self._tf_device = "/GPU:0"
        self._gpu = gpus[0]
        return "gpu"

    @property
    def accelerator(self) -> str | None:
        if self.device != "gpu":
            return None
        return "metal" if _metal_plugin_version() is not None else "cuda"

    def device_info(self) -> DeviceInfo:
        tf = _tf()
        if self.device == "gpu":
            details = tf.config.experimental.get_device_details(self._gpu)
            name = details.get("device_name") or ("Apple GPU (Metal)" if self.accelerator == "metal" else "GPU")
            extra = {"kind": self.accelerator, **{k: str(v) for k, v in details.items()}}
        else:
            name, extra = cpu_model_name(), {}
        extra["onednn"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
        return DeviceInfo(self.name, self.framework, self.device, name, extra)

    def apply_precision_policy(self) -> dict[str, Any]:
        tf = _tf()
        # TF32 is on by default in TF (enable_tensor_float_32_execution docstring).
        tf.config.experimental.enable_tensor_float_32_execution(self.allow_tf32)
        return {"tensor_float_32_execution": tf.config.experimental.tensor_float_32_execution_enabled()}

    def native_dtype(self, dtype: str):
        tf = _tf()
        return {"fp32": tf.float32, "fp16": tf.float16, "bf16": tf.bfloat16}[dtype]

    def from_numpy(self, array: np.ndarray, dtype: str | None = None) -> Any:
        tf = _tf()
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        with tf.device(self._tf_device):
            x = tf.identity(tf.constant(array))
            if dtype is not None:
                x = tf.cast(x, self.native_dtype(dtype))
        return x

    def to_numpy(self, value: Any) -> np.ndarray:
        tf = _tf()
        if value.dtype.is_floating:
            return tf.cast(value, tf.float32).numpy().astype(np.float64)
        return value.numpy()

    def fetch_first(self, value: Any) -> float:
        return float(_tf().reshape(value, [-1])[0].numpy())

    def compile(self, fn: Callable, **options: Any) -> Callable:
        tf = _tf()
        if self.accelerator == "metal":
            options.pop("jit_compile", None)  # no XLA compiler for METAL
        return tf.function(fn, **options)

    def run_on_device(self, fn: Callable) -> Callable:
        """Wrap ``fn`` so that its ops are placed on this adapter's device."""
        tf = _tf()
        device = self._tf_device

        def placed(*args, **kwargs):
            with tf.device(device):
                return fn(*args, **kwargs)

        return placed

    def synchronize(self, out: Any = None) -> None:
        # tf.test.experimental.sync_devices: "primarily useful for measuring performance"; eager only.
        _tf().test.experimental.sync_devices()

    def reset_peak_memory(self) -> None:
        tf = _tf()
        try:
            tf.config.experimental.reset_memory_stats(self._tf_device.strip("/"))
        except (ValueError, RuntimeError):
            pass

    def peak_memory(self) -> dict[str, Any] | None:
        tf = _tf()
        try:
            info = tf.config.experimental.get_memory_info(self._tf_device.strip("/"))
        except (ValueError, RuntimeError):
            return None
        return {"peak_bytes": int(info["peak"]), "source": f"tf.config.experimental.get_memory_info('{self._tf_device.strip('/')}')['peak']"}

    def is_oom(self, exc: BaseException) -> bool:
        tf = _tf()
        return isinstance(exc, tf.errors.ResourceExhaustedError) or super().is_oom(exc)
