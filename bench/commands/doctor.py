"""``siliconbench doctor``: which backends run here, and why not for the others."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.backends import ALL_BACKENDS, parse_backend
from bench.commands.common import add_runtime_arguments, parse_pythons
from bench.runner.orchestrator import Orchestrator, RunOptions
from bench.timing import TimingConfig

NAME = "doctor"
HELP = "show which backends are usable on this machine, with devices and versions, or why not"


def add_arguments(parser) -> None:
    add_runtime_arguments(parser)


def run(args) -> int:
    options = RunOptions(allow_tf32=args.allow_tf32, pythons=parse_pythons(args.python))
    orchestrator = Orchestrator(options, TimingConfig())
    table = Table(title="siliconbench doctor")
    for column in ("backend", "status", "device", "versions / reason"):
        table.add_column(column, overflow="fold")
    for name in ALL_BACKENDS:
        if name.endswith(":gpu"):
            continue  # gpu is an alias; the concrete devices are listed
        hello = orchestrator.probe(parse_backend(name))
        if hello.get("available"):
            versions = ", ".join(f"{k} {v}" for k, v in (hello.get("versions") or {}).items())
            table.add_row(name, "[green]available[/]", hello["device"]["device_name"], f"{versions} (python {hello.get('python')})")
        else:
            table.add_row(name, "[yellow]unavailable[/]", "", hello.get("reason", "unknown"))
    Console().print(table)
    return 0
