"""Numeric command-line values, checked by argparse ``type=`` so a bad one is a one-line error, exit 2.

``--timeout -1``, ``--timeout nan`` or ``--resamples 1e3`` never reach the code that would use them:
argparse reports ``argument --timeout: must be a finite number > 0, got '-1'`` before anything runs or
any file is written.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from bench.text import one_line


def _shown(text: str) -> str:
    return repr(one_line(text)[:40])


def seconds(text: str) -> float:
    """A duration in seconds: finite and > 0."""
    return number(gt=0.0)(text)


def number(gt: float | None = None, ge: float | None = None, lt: float | None = None) -> Callable[[str], float]:
    """A finite float within the bounds given (``gt``/``ge`` below, ``lt`` above)."""
    bounds = " and ".join(f"{op} {b:g}" for op, b in ((">", gt), (">=", ge), ("<", lt)) if b is not None)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {_shown(text)}") from None
        ok = math.isfinite(value) and (gt is None or value > gt) and (ge is None or value >= ge) and (lt is None or value < lt)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be a finite number{' ' + bounds if bounds else ''}, got {_shown(text)}")
        return value

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse


def integer(ge: int | None = None) -> Callable[[str], int]:
    """A whole number written as one (``10``, not ``10.0`` or ``1e1``), at least ``ge``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {_shown(text)}") from None
        if ge is not None and value < ge:
            raise argparse.ArgumentTypeError(f"must be >= {ge}, got {_shown(text)}")
        return value

    parse.__name__ = "integer"
    return parse


positive_int = integer(ge=1)
non_negative_seconds = number(ge=0.0)
count = integer(ge=0)
