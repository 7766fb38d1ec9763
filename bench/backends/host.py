"""Facts about the host machine that adapters and the environment record share."""

from __future__ import annotations

import functools
import os
import platform
import subprocess


def sysctl(name: str) -> str | None:
    """macOS ``sysctl -n NAME``; None elsewhere or when the key does not exist."""
    if platform.system() != "Darwin":
        return None
    try:
        out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def cpu_model_name() -> str:
    """ "Apple M3 Max", "Intel(R) Xeon(R) ...", or the best the OS tells."""
    brand = sysctl("machdep.cpu.brand_string")
    if brand:
        return brand
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def logical_cores() -> int:
    return os.cpu_count() or 1
