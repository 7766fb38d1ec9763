"""``siliconbench list``: workloads, the cases of a suite, backends."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench import suite as suites
from bench import workloads
from bench.backends import all_backends, frameworks
from bench.commands.common import add_max_cases_argument
from bench.text import markup

NAME = "list"
HELP = "list workloads, the cases of a suite, and backend names"


def add_arguments(parser) -> None:
    parser.add_argument("what", nargs="?", choices=["workloads", "cases", "backends"], default="workloads")
    parser.add_argument("--suite", default="quick", help="suite name (suites/NAME.toml) or path, for 'cases'")
    add_max_cases_argument(parser)


def run(args) -> int:
    console = Console()
    if args.what == "workloads":
        table = Table(title="workloads")
        for column in ("name", "description", "dtypes", "modes", "frameworks"):
            table.add_column(column)
        for name in workloads.names():
            spec = workloads.get(name)
            impls = [fw for fw in frameworks() if workloads.implementation_exists(name, fw)]
            table.add_row(
                markup(name), markup(spec.description), markup(", ".join(spec.dtypes)), markup(", ".join(spec.modes)), markup(", ".join(impls))
            )
        console.print(table)
    elif args.what == "cases":
        suite = suites.load(args.suite, args.max_cases)
        console.print(markup(f"suite {suite.name} ({suite.path}): {len(suite.cases)} cases x {len(suite.backends)} backends"))
        for case in suite.cases:
            console.print(markup(f"  {case.label}"))
        console.print(markup("backends: " + ", ".join(b.name for b in suite.backends)))
    else:
        for name in all_backends():
            console.print(markup(name))
    return 0
