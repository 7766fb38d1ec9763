"""TensorFlow adapter: ``tensorflow:cpu``, ``tensorflow:gpu`` (a Metal plugin on a Mac, else CUDA).

Apple-only: TensorFlow loads a PluggableDevice from ``site-packages/tensorflow-plugins`` at import;
both Metal plugins (tensorflow-metal-plugin for TF 2.21, legacy tensorflow-metal for TF 2.18-2.19)
list the Apple GPU as ``GPU``. ``metal_plugins.discover("tensorflow")`` says which one is installed
and usable, or why none is, before TF is imported (a mismatched tensorflow-metal makes
``import tensorflow`` itself fail). On Metal, soft placement is turned off so an op without a Metal
kernel raises (``unsupported``, with TF's message) instead of running on the CPU, and
``jit_compile=True`` is dropped: XLA has no METAL compiler (NVlabs/sionna#78). Sources and what was
verified where: docs/apple-silicon.md.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import threads as thread_policy
from bench.backends import metal_plugins
from bench.backends.base import Adapter, BackendUnavailable, DeviceInfo
from bench.backends.host import cpu_model_name


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except Exception as exc:
        why = f"tensorflow is not importable: {exc}"
        if platform.system() == "Darwin":  # tensorflow-metal built for another TF breaks the import itself
            found = _metal()
            why += f" (Metal plugin: {found.chosen.describe() if found.chosen else found.why_not()})"
        raise BackendUnavailable(why) from exc
    return tf


def _metal() -> metal_plugins.Discovery:
    return metal_plugins.discover("tensorflow")


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
        out.update(_metal().versions())
        return out

    _metal_status: metal_plugins.PluginStatus | None = None

    def resolve_device(self, device: str) -> str:
        found = _metal() if device == "gpu" and platform.system() == "Darwin" else None
        if found is not None and found.chosen is None:
            raise BackendUnavailable(f"no TensorFlow Metal plugin can run here: {found.why_not()}")
        tf = _tf()
        gpus = tf.config.list_physical_devices("GPU")
        if device == "cpu":
            if gpus:
                tf.config.set_visible_devices([], "GPU")  # keep every op on the CPU
            self._tf_device = "/CPU:0"
            return "cpu"
        if not gpus:
            # tensorflow-metal-plugin offers no GPU when built for another TF minor, or with TF_DISABLE_METAL=1
            if found is not None and found.chosen is not None:
                raise BackendUnavailable(f"{found.chosen.describe()} is installed but TF lists no GPU (see its message on stderr)")
            raise BackendUnavailable("TF lists no GPU (no CUDA build or Metal plugin)")
        self._tf_device = "/GPU:0"
        self._gpu = gpus[0]
        if found is not None:
            self._metal_status, self._metal_others = found.chosen, found.why_not()
            tf.config.set_soft_device_placement(False)  # a missing Metal kernel raises instead of running on the CPU
        return "gpu"

    @property
    def accelerator(self) -> str | None:
        if self.device != "gpu":
            return None
        return "metal" if self._metal_status is not None else "cuda"

    def device_info(self) -> DeviceInfo:
        tf = _tf()
        if self.device == "gpu":
            details = tf.config.experimental.get_device_details(self._gpu)
            name = details.get("device_name") or ("Apple GPU (Metal)" if self.accelerator == "metal" else "GPU")
            extra = {"kind": self.accelerator, **{k: str(v) for k, v in details.items()}}
            if self._metal_status is not None:
                extra["metal_plugin"] = f"{self._metal_status.plugin.distribution} {self._metal_status.version}"
                extra["metal_plugins_not_used"] = self._metal_others
        else:
            name, extra = cpu_model_name(), {}
        extra["onednn"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
        return DeviceInfo(self.name, self.framework, self.device, name, extra)

    def apply_precision_policy(self) -> dict[str, Any]:
        tf = _tf()
        # TF32 is on by default in TF (enable_tensor_float_32_execution docstring).
        tf.config.experimental.enable_tensor_float_32_execution(self.allow_tf32)
        return {"tensor_float_32_execution": tf.config.experimental.tensor_float_32_execution_enabled()}

    def supports_dtype(self, dtype: str) -> str | None:
        return self._metal_status.plugin.unsupported_dtypes.get(dtype) if self._metal_status is not None else None

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

    def unsupported_reason(self, exc: BaseException) -> str | None:
        return metal_plugins.unsupported_reason(exc, self._metal_status)
