"""Environment recorded with every run: machine, OS, Python, git commit, power and thermal state, env vars.

Framework versions and devices come from each backend worker's hello (the orchestrator adds them
under ``frameworks``), because a worker may run under another interpreter than this one.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.backends.host import cpu_model_name, logical_cores, sysctl

# Thread-pool variables every framework's CPU kernels read; each adapter adds its framework's own prefixes.
COMMON_ENV_PREFIXES = ("OMP_", "MKL_", "OPENBLAS_", "KMP_", "SILICONBENCH_")


def relevant_env() -> re.Pattern[str]:
    from bench.backends import adapter_classes

    prefixes = dict.fromkeys([*COMMON_ENV_PREFIXES, *(p for cls in adapter_classes().values() for p in cls.env_prefixes)])
    return re.compile("^(" + "|".join(prefixes) + ")")


def _run(cmd: list[str], timeout: float = 5) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _linux_physical_cores() -> int | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    pairs = set(re.findall(r"physical id\s*:\s*(\d+)[\s\S]*?core id\s*:\s*(\d+)", text))
    return len(pairs) or None


def _memory_bytes() -> int | None:
    mem = sysctl("hw.memsize")
    if mem:
        return int(mem)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "chip": cpu_model_name(),
        "arch": platform.machine(),
        "logical_cores": logical_cores(),
        "memory_bytes": _memory_bytes(),
    }
    if platform.system() == "Darwin":

        def as_int(key: str) -> int | None:
            value = sysctl(key)
            return int(value) if value and value.isdigit() else None

        info["physical_cores"] = as_int("hw.physicalcpu")
        info["performance_cores"] = as_int("hw.perflevel0.physicalcpu")
        info["efficiency_cores"] = as_int("hw.perflevel1.physicalcpu")
        info["model"] = sysctl("hw.model")
        info["gpu_cores"] = _apple_gpu_cores()
    else:
        info["physical_cores"] = _linux_physical_cores()
        gpus = _run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit", "--format=csv,noheader"])
        if gpus:
            info["nvidia_gpus"] = [g.strip() for g in gpus.splitlines()]
    return info


def _apple_gpu_cores() -> int | None:
    # `system_profiler SPDisplaysDataType` prints "Total Number of Cores: 40" for Apple GPUs.
    text = _run(["system_profiler", "SPDisplaysDataType"], timeout=15)
    match = re.search(r"Total Number of Cores:\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def power_and_thermal() -> dict[str, Any]:
    """macOS: ``pmset -g batt`` (power source) and ``pmset -g therm`` (thermal warning level)."""
    if platform.system() != "Darwin":
        return {"source": None, "thermal": None, "note": "power and thermal state are read on macOS only"}
    batt = _run(["pmset", "-g", "batt"]) or ""
    match = re.search(r"drawing from '([^']+)'", batt)
    therm = _run(["pmset", "-g", "therm"]) or ""
    return {"source": match.group(1) if match else None, "thermal": therm or None, "low_power_mode": _run(["pmset", "-g"])}


def git_info() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    commit = _run(["git", "-C", str(root), "rev-parse", "HEAD"])
    status = _run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def machine_id(info: dict[str, Any]) -> str:
    """Stable id of this machine, so results from different machines are never mixed."""
    key = "|".join(str(info.get(k)) for k in ("chip", "arch", "logical_cores", "memory_bytes")) + "|" + socket.gethostname()
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def capture(precision_policy: dict[str, Any]) -> dict[str, Any]:
    info = machine()
    pattern = relevant_env()
    return {
        "machine_id": machine_id(info),
        "hostname": socket.gethostname(),
        "machine": info,
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "version": platform.version(),
            "platform": platform.platform(),
            "mac_ver": platform.mac_ver()[0] or None,
        },
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(), "executable": sys.executable},
        "git": git_info(),
        "precision_policy": precision_policy,
        "power": power_and_thermal(),
        "env_vars": {k: v for k, v in sorted(os.environ.items()) if pattern.match(k)},
        "frameworks": {},
    }
