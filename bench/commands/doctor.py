"""``siliconbench doctor``: which backends run here, and why not for the others."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rich.console import Console
from rich.markup import escape
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
    # torch:gpu and jax:gpu are aliases of their concrete devices; tensorflow and mlx name theirs "gpu".
    names = [n for n in ALL_BACKENDS if not (n.endswith(":gpu") and n.split(":")[0] in ("torch", "jax"))]
    with ThreadPoolExecutor(max_workers=4) as pool:  # each probe is its own worker process
        hellos = list(pool.map(lambda n: orchestrator.probe(parse_backend(n)), names))
    for name, hello in zip(names, hellos):
        if hello.get("available"):
            versions = ", ".join(f"{k} {v}" for k, v in (hello.get("versions") or {}).items())
            table.add_row(name, "[green]available[/]", escape(hello["device"]["device_name"]), escape(f"{versions} (python {hello.get('python')})"))
        else:
            table.add_row(name, "[yellow]unavailable[/]", "", escape(hello.get("reason", "unknown")))
    Console().print(table)
    return 0
