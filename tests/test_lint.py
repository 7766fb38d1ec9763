"""The code passes the project's lint, format and type checks (ruff and mypy, configured in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize(
    "argv",
    [("ruff", "check", "bench", "tests"), ("ruff", "format", "--check", "bench", "tests"), ("mypy",)],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_static_checks_pass(argv):
    if shutil.which(argv[0]) is None and _run(argv[0], "--version").returncode != 0:
        pytest.fail(f"{argv[0]} is not installed: it is part of the test extra (pip install -e '.[test]')")
    done = _run(*argv)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
