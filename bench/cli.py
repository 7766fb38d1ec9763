"""``siliconbench`` command line: one module per subcommand under ``bench/commands/``.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Exit codes: 0 done, 1 a check failed (e.g. a regression found), 2 bad input (the message names
the file, the key and the problem).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bench.errors import UsageError
from bench.results.load import ResultsError
from bench.suite import SuiteError

COMMAND_MODULES = [
    "bench.commands.doctor",
    "bench.commands.list_cmd",
    "bench.commands.profile",
    "bench.commands.run",
    "bench.commands.report",
    "bench.commands.compare",
    "bench.commands.ab",
    "bench.commands.nightly",
    "bench.commands.calibrate",
    "bench.commands.export",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siliconbench", description="Benchmark ML workloads across PyTorch, TensorFlow, JAX and MLX.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args._run(args)
    except (SuiteError, ResultsError, UsageError) as exc:
        print(f"siliconbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output folder that cannot be made, a file that cannot be written
        print(f"siliconbench: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
