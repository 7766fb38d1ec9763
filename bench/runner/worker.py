"""Worker process: serves one backend (framework:device) over JSON lines on stdin/stdout.

Started by the orchestrator as ``python -m bench.runner.worker``, possibly under another
interpreter (``--python jax=PATH``). The protocol is in ``bench/runner/protocol.py`` and
docs/worker-protocol.md. Anything the frameworks print goes to stderr: stdout carries only
protocol lines.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import traceback
from typing import Any, TextIO

from bench.runner.protocol import PROTOCOL_VERSION


def _protocol_stream() -> TextIO:
    """Keep a private handle on stdout, then point fd 1 at stderr so C-level prints cannot corrupt it."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def _send(stream: TextIO, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message, default=_jsonable) + "\n")
    stream.flush()


def _jsonable(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
    except ImportError:
        pass
    return str(value)


def _remove_synchronisation(adapter) -> None:
    """Testing option (--unsafe-no-sync): time without device synchronisation, as broken suites do.

    It exists to show that the sync canary catches such timing; results are marked in the run.
    """
    adapter.synchronize = lambda out=None: None
    adapter.device_timer = lambda: None


def start_backend(message: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Start the backend a hello message names: (the hello reply, the adapter or None when unavailable).

    The adapter class comes from ``message["adapter"]`` (``module:Class``, sent by the orchestrator, so a
    worker under another interpreter needs no entry points) or else from the registry.
    """
    from bench import plugins
    from bench import threads as thread_policy
    from bench.backends import BackendUnavailable, adapter_class

    framework, device = message["framework"], message["device"]
    reply: dict[str, Any] = {
        "op": "hello",
        "protocol": PROTOCOL_VERSION,
        "framework": framework,
        "requested_device": device,
        "python": platform.python_version(),
        "executable": sys.executable,
        "pid": os.getpid(),
    }
    try:
        cpus = thread_policy.pin(message.get("cpu_affinity"))  # before the framework starts threads: they inherit it
        cls = plugins.load(message["adapter"]) if message.get("adapter") else adapter_class(framework)
        reply["versions"] = cls.version()
        adapter = cls(device, allow_tf32=bool(message.get("allow_tf32", False)))
        reply["threads"] = {**adapter.apply_thread_policy(message.get("threads")), "cpu_affinity": cpus}
        reply["precision"] = adapter.apply_precision_policy()
        if message.get("unsafe_no_sync"):
            _remove_synchronisation(adapter)
            reply["unsafe_no_sync"] = True
        info = adapter.device_info()
        reply["device"] = {"backend": info.backend, "device": info.device, "device_name": info.device_name, "extra": info.extra}
        reply["available"] = True
        return reply, adapter
    except BackendUnavailable as exc:
        reply.update(available=False, reason=str(exc))
    except Exception as exc:
        reply.update(available=False, reason=f"{type(exc).__name__} while starting {framework}: {exc}")
        traceback.print_exc()
    return reply, None


def start_monitor(adapter: Any, settings: dict[str, Any], reply: dict[str, Any]) -> Any:
    """The worker's energy and thermal monitor for its device (bench/monitor.py), or None with the reason in the
    hello: a missing or broken energy source costs the energy figures, never the run."""
    try:
        from bench.monitor import CaseMonitor, MonitorConfig

        config = MonitorConfig(energy=bool(settings.get("energy")), cooldown_s=float(settings.get("cooldown_s") or 0.0))
        monitor = CaseMonitor(adapter.accelerator or "cpu", 0, uuid=adapter.device_uuid(), config=config)
        reply["monitor"] = {"energy": monitor.energy_unavailable or "available", "thermal": monitor.start_run().to_dict()}
        return monitor
    except Exception as exc:
        reply["monitor"] = {"error": f"{type(exc).__name__}: {exc}"}
        traceback.print_exc()
        return None


def main() -> int:
    from bench.runner.lifeline import tie_to_parent

    tie_to_parent()  # ends with the orchestrator, however it ends
    stream = _protocol_stream()
    adapter = backend = monitor = None
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        op = message.get("op")
        if op == "hello":
            reply, adapter = start_backend(message)
            if adapter is not None:
                from bench.runner.execute import backend_ref

                backend = backend_ref(adapter, reply["device"]["device_name"])
                monitor = start_monitor(adapter, message.get("monitor") or {}, reply)
            _send(stream, reply)
        elif op == "run":
            from bench.runner.execute import run_case
            from bench.timing import TimingConfig
            from bench.workloads import Case

            if adapter is None:
                _send(stream, {"op": "error", "reason": "run before a successful hello"})
                continue
            case = Case.from_dict(message["case"])
            record = run_case(adapter, case, TimingConfig.from_dict(message.get("timing", {})), backend, monitor)
            _send(stream, {"op": "result", "case_id": message.get("case_id"), "record": record.to_dict()})
        elif op == "exit":
            break
        else:
            _send(stream, {"op": "error", "reason": f"unknown op {op!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
