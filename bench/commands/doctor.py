"""``siliconbench doctor``: which backends run here, and why not for the others."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rich.console import Console
from rich.table import Table

from bench.backends import BackendName, adapter_classes, plugin_errors
from bench.commands.common import add_runtime_arguments, runtime_options
from bench.runner.orchestrator import Orchestrator
from bench.text import markup as escape
from bench.timing import TimingConfig

NAME = "doctor"
HELP = "show which backends are usable on this machine, with devices and versions, or why not"


def add_arguments(parser) -> None:
    add_runtime_arguments(parser)


def probed_backends() -> list[BackendName]:
    """Every registered backend's concrete devices (aliases such as torch:gpu resolve to one of them)."""
    return [BackendName(fw, dev) for fw, cls in adapter_classes().items() for dev in cls.devices if dev not in cls.device_aliases]


def run(args) -> int:
    options = runtime_options(args)
    orchestrator = Orchestrator(options, TimingConfig())
    table = Table(title="siliconbench doctor")
    for column in ("backend", "status", "device", "versions / reason"):
        table.add_column(column, overflow="fold")
    backends = probed_backends()
    with ThreadPoolExecutor(max_workers=4) as pool:  # each probe is its own worker process
        hellos = list(pool.map(orchestrator.probe, backends))
    classes = adapter_classes()
    for backend, hello in zip(backends, hellos):
        if hello.get("available"):
            versions = ", ".join(f"{k} {v}" for k, v in (hello.get("versions") or {}).items())
            detail = f"{versions} (python {hello.get('python')})"
            # jax:metal / tensorflow:gpu on a Mac: the plugins the worker looked for and did not use, and why
            not_used = (hello["device"].get("extra") or {}).get("metal_plugins_not_used")
            if not_used:
                detail += f"; Metal plugins not used: {not_used}"
            table.add_row(escape(backend.name), "[green]available[/]", escape(hello["device"]["device_name"]), escape(detail))
        else:
            reason = hello.get("reason", "unknown")
            cls = classes[backend.framework]
            if not cls.installed() and cls.install_hint():
                reason += f" (install: {cls.install_hint()})"
            table.add_row(escape(backend.name), "[yellow]unavailable[/]", "", escape(reason))
    for name, error in plugin_errors().items():
        table.add_row(escape(f"{name}:*"), "[red]broken plug-in[/]", "", escape(error))
    Console().print(table)
    return 0
