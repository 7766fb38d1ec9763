"""Regenerate the HTML report after a nightly run, when the report package is part of this install.

The report is another part of the project (``bench/report/`` and its ``siliconbench report
RESULTS... -o FILE`` command); this hook only calls that command, and says so when it is absent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def report_available() -> bool:
    try:
        return importlib.util.find_spec("bench.report") is not None and importlib.util.find_spec("bench.commands.report") is not None
    except (ImportError, ValueError):
        return False


def regenerate(inputs: list[Path], out_file: Path) -> tuple[bool, str]:
    """Run ``siliconbench report INPUTS -o OUT_FILE``; returns (done, message)."""
    if not report_available():
        return False, "report not regenerated: bench.report is not installed in this checkout"
    from bench.cli import main

    try:
        code = main(["report", *map(str, inputs), "-o", str(out_file)])
    except SystemExit as exc:  # argparse rejected the arguments: the report command's interface changed
        code = exc.code if isinstance(exc.code, int) else 2
    if code == 0:
        return True, f"report: {out_file}"
    return False, f"report not regenerated: `siliconbench report` exited with {code}"
