"""``siliconbench doctor``: which backends run here, and why not for the others."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rich.console import Console
from rich.table import Table

from bench.backends import BackendName, adapter_classes, plugin_errors
from bench.commands.common import add_runtime_arguments, parse_pythons
from bench.runner.orchestrator import Orchestrator, RunOptions
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
    options = RunOptions(allow_tf32=args.allow_tf32, pythons=parse_pythons(args.python))
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
            table.add_row(
                escape(backend.name),
                "[green]available[/]",
                escape(hello["device"]["device_name"]),
                escape(f"{versions} (python {hello.get('python')})"),
            )
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
