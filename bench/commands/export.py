"""``siliconbench export --format pytest-benchmark RUN -o out.json``: a run in another tool's format."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.errors import UsageError
from bench.results import read_runs
from bench.text import encodable, plain

NAME = "export"
HELP = "export a run file in another tool's format (pytest-benchmark JSON)"
FORMATS = ("pytest-benchmark",)


def add_arguments(parser) -> None:
    parser.add_argument("run_file", metavar="RUN", help="one run file (results/<run_id>.json)")
    parser.add_argument("--format", choices=FORMATS, default="pytest-benchmark", help="target format (default pytest-benchmark)")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")


def run(args) -> int:
    runs = read_runs(args.run_file)
    if len(runs) != 1:
        raise UsageError(f"RUN {args.run_file}: expected one run file, found {len(runs)} runs")
    try:
        from bench.interop.pytest_benchmark import to_pytest_benchmark

        document, left_out = to_pytest_benchmark(runs[0])
    except ImportError:
        raise UsageError("--format pytest-benchmark: the pytest-benchmark package is not installed (pip install pytest-benchmark)") from None
    text = json.dumps(document, indent=2)
    if args.output:
        Path(args.output).write_text(encodable(text), encoding="utf-8")
    else:
        print(text)
    for case in left_out:
        print(plain(f"left out (status {case.status}, no timing): {case.case_id}"), file=sys.stderr)
    return 0
