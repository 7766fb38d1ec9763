"""``siliconbench`` command line: one module per subcommand under ``bench/commands/``.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Exit codes: 0 done, 1 a check failed (e.g. a regression found), 2 bad input (one line on stderr that
names the file or option, the key and the problem; docs/bad-input.md), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from typing import NoReturn

from bench.errors import UsageError
from bench.results.load import ResultsError
from bench.suite import SuiteError
from bench.text import one_line

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


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (no usage block), the way every other bad input is reported."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def error_line(message: object) -> None:
    print(f"siliconbench: error: {one_line(message)}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="siliconbench", description="Benchmark ML workloads across PyTorch, TensorFlow, JAX and MLX.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a bad option (already reported in one line)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    try:
        return args._run(args)
    except (SuiteError, ResultsError, UsageError) as exc:
        error_line(exc)
        return 2
    except OSError as exc:  # an output folder that cannot be made, a file that cannot be written
        error_line(f"{exc.filename or ''}: {exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:  # what was measured is already on disk (bench/runner/run.py)
        error_line("interrupted")
        return 130


def entry() -> NoReturn:
    """The ``siliconbench`` script and ``python -m bench``: ``main``, and once it has stopped on Ctrl-C, a
    further Ctrl-C while the interpreter exits cannot turn exit 130 into a death by SIGINT."""
    code = main()
    if code == 130:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    entry()
